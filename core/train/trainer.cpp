#include "train/trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/ranges.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include "config/model_config.h"
#include "config/proto_format.h"
#include "config/train_config.h"
#include "cuda/graphed_call.h"
#include "data/data_loader.h"
#include "dist/communicator.h"
#include "dist/world.h"
#include "ema/power_ema.h"
#include "io/atomic_file.h"
#include "io/png.h"
#include "io/safetensors.h"
#include "log/log.h"
#include "metrics/validation_loss.h"
#include "loss/edm2_loss.h"
#include "loss/loss_weighting.h"
#include "nn/initialize.h"
#include "nn/state_dict.h"
#include "noise/noise_distribution.h"
#include "optim/adam.h"
#include "optim/optimizer_schedule.h"
#include "sample/sampler.h"
#include "store/checkpoint.h"
#include "store/ema_snapshot.h"
#include "store/event_file.h"
#include "store/run_directory.h"
#include "store/stats_line.h"
#include "store/tensor_table.h"
#include "train/step_noise.h"
#include "train/tensorboard_scalars.h"
#include "train/training_data.h"
#include "train/training_stats.h"
#include "util/device.h"
#include "util/cpu_count.h"
#include "util/device_memory.h"
#include "util/error.h"
#include "util/seed.h"
#include "util/single_threaded_jobs.h"

namespace diffuse {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// The sub-stream of a step's seed that the dropout masks draw from (the noise's: train/step_noise.cpp).
constexpr uint64_t kDropoutStream = 2;
// The sampler of the sample grids (run.sample_grid_images): EDM's Heun on 16 noise levels, 31 network
// evaluations, enough to judge a run's progress at a fraction of the 32 steps that quality needs.
constexpr int kSampleGridSteps = 16;

}  // namespace

struct Trainer::Impl {
  v1::TrainConfig config;
  RunDirectory dir;
  at::Device device{at::kCPU};
  Precond net{nullptr};
  std::unique_ptr<Adam> adam;
  std::unique_ptr<PowerEma> ema;
  std::unique_ptr<NoiseDistribution> noise;
  std::unique_ptr<LossWeighting> weighting;
  std::unique_ptr<OptimizerSchedule> schedule;
  std::shared_ptr<const Dataset> train_data;
  std::unique_ptr<DataLoader> loader;
  std::unique_ptr<Validator> validator;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(0);        // the step's sigma
  at::Generator image_generator = at::make_generator<at::CPUGeneratorImpl>(0);  // per image (CPU dropout)
  std::shared_ptr<DropoutStream> dropout = std::make_shared<DropoutStream>();
  bool fused_dropout = false;  // dropout with masks from each pass's image keys (TrainerTuning::fused_dropout)

  // Data parallelism (dist/): null when the process was not launched as one of several.
  std::unique_ptr<Communicator> comm;
  World world;  // a world of one when the process was not launched as one of several
  int64_t local_batch = 0;  // images of each step on this process
  int64_t pass_batch = 0;   // images per forward/backward pass
  std::string log_path;
  std::unique_ptr<RunDirectory::Lock> lock;  // rank 0's, while it writes the directory
  std::unique_ptr<EventFile> events;          // rank 0's: this session's TensorBoard event file

  // State that a checkpoint carries.
  int64_t nimg = 0;
  int64_t step = 0;
  int64_t nonfinite_steps = 0;
  double elapsed_seconds = 0;
  TrainingStats interval_stats;

  // Live status, not part of the checkpoint.
  StepHyperparameters last_hyper;
  NoiseStatus last_noise;
  double last_loss = kNaN;
  double last_validation = kNaN;
  double images_per_second = 0, seconds_per_step = 0;
  int64_t last_snapshot_nimg = -1, last_checkpoint_nimg = -1, last_stats_nimg = -1, last_grid_nimg = -1;
  std::atomic<bool> stop_requested{false};
  double stats_communication_seconds = 0, stats_elapsed_seconds = 0;  // at the last stats line
  std::function<void(const v1::TrainStatus&)> step_callback;

  // Steps whose losses wait on the device for one read (TrainerTuning::loss_readback_steps): each
  // one's σ (host), per-image losses and mean loss (device), and images seen after it.
  struct PendingLosses {
    at::Tensor sigma, losses, mean;
    int64_t nimg;
  };
  std::vector<PendingLosses> pending_losses;
  TrainerTuning tuning;
  std::unique_ptr<kernels::GraphedCall> graphed_pass;  // TrainerTuning::cuda_graphs
  int64_t cpu_parts = 1;  // TrainerTuning::cpu_workers: the parts of each pass
  std::vector<std::shared_ptr<MPConvImpl>> mp_convs;  // force-normalised before each split pass
  std::vector<at::Generator> part_generators;          // each part's own (the unfused dropout's masks)

  Impl(const v1::TrainConfig& resolved, TrainerTuning tuning_)
      : config(resolved), dir(resolved.run().output_dir()), tuning(tuning_) {
    local_batch = config.run().batch_size();
    pass_batch = config.run().batch_per_step();
  }

  ~Impl() {
    if (!log_path.empty()) remove_log_file(log_path);
  }

  // Joins the data-parallel world the launcher's environment describes, if any, and checks that
  // every rank runs the same code on the same config.
  void join_world() {
    const std::optional<World> launched = world_from_environment();
    if (!launched) return;
    world = *launched;
    const v1::RunConfig& run = config.run();
    if (run.batch_size() % world.size != 0) {
      fail(ErrorCode::kInvalidConfig, "TrainConfig.run.batch_size: {} images do not split over {} processes",
           run.batch_size(), world.size);
    }
    local_batch = run.batch_size() / world.size;
    pass_batch = std::min(run.batch_per_step(), local_batch);
    if (local_batch % pass_batch != 0) {
      fail(ErrorCode::kInvalidConfig,
           "TrainConfig.run.batch_per_step: {} does not divide the {} images of each of {} processes", pass_batch,
           local_batch, world.size);
    }
    CommunicatorOptions options;
    const v1::DistributedConfig& d = run.distributed();
    options.backend = d.backend() == v1::DistributedConfig::NCCL ? CommunicatorOptions::Backend::kNccl
                                                                 : CommunicatorOptions::Backend::kGloo;
    options.device = parse_device(device_name(), "TrainConfig.run.device");
    options.timeout_seconds = d.timeout_seconds();
    options.bucket_mib = d.bucket_mib();
    comm = std::make_unique<Communicator>(world, options);
    comm->require_same("code version", fmt::format("diffuse {} on LibTorch {}", DIFFUSE_VERSION_STRING, TORCH_VERSION));
    comm->require_same("TrainConfig", print_config(config, ConfigFormat::kText));
  }

  // "cuda" means this process's own GPU (cuda:LOCAL_RANK) in a data-parallel run.
  std::string device_name() const {
    const std::string& name = config.run().device();
    return world.size > 1 && name == "cuda" ? fmt::format("cuda:{}", world.local_rank) : name;
  }

  // Rank 0 alone does `work` (it owns the run directory); the others wait for it and share its error.
  template <typename Work>
  void on_rank0(const std::string& what, Work&& work) {
    if (!comm) return work();
    if (world.rank != 0) return comm->await_outcome(what);
    try {
      work();
    } catch (const Error& e) {
      comm->publish_outcome(what, static_cast<int>(e.code()), e.what());
      throw;
    }
    comm->publish_outcome(what, 0, "");
  }

  void build(const HostData& host) {
    log_path = world.rank == 0 ? dir.log_file() : dir.file(fmt::format("log-rank{}.txt", world.rank));
    add_log_file(log_path);
    const v1::RunConfig& run = config.run();
    at::set_num_threads(run.threads() > 0 ? run.threads() : threads_per_process(world, usable_cpu_count()));
    device = open_device(device_name(), "TrainConfig.run.device");

    const ModelOptions options = to_model_options(config.model());
    net = Precond(options);
    initialize_parameters(*net, at::make_generator<at::CPUGeneratorImpl>(derive_seed(run.seed(), SeedPurpose::kInit, 0)));
    net->to(device);
    net->train();
    dropout->generator = device.is_cpu() ? image_generator : at::globalContext().defaultGenerator(device);
    net->unet()->set_dropout_stream(dropout);

    std::vector<at::Tensor> params;
    for (const auto& p : net->parameters()) params.push_back(p);
    const v1::OptimizerConfig& opt = config.optimizer();
    // STOCK bias correction exists only as an MDLRC option; otherwise Adam's running products are exact.
    const bool stock = opt.momentum_schedule() == v1::OptimizerConfig::MDLRC &&
                       opt.mdlrc().bias_correction() == v1::MdlrcConfig::STOCK;
    adam = std::make_unique<Adam>(params, AdamOptions{opt.beta1(), opt.beta2(), opt.eps(), !stock, tuning.multi_tensor});
    ema = std::make_unique<PowerEma>(*net, std::vector<double>(config.ema().sigma_rels().begin(),
                                                               config.ema().sigma_rels().end()),
                                     tuning.multi_tensor);
    if (tuning.loss_readback_steps <= 0) tuning.loss_readback_steps = device.is_cuda() ? 32 : 1;
    if (!tuning.fused_elementwise) tuning.fused_elementwise = device.is_cuda();
    net->unet()->set_fused_elementwise(*tuning.fused_elementwise);
    if (!tuning.fused_normalize) tuning.fused_normalize = device.is_cuda();
    net->unet()->set_fused_normalize(*tuning.fused_normalize);
    if (!tuning.channels_last) tuning.channels_last = device.is_cuda();
    net->unet()->set_channels_last_training(*tuning.channels_last);
    if (!tuning.fused_attention) tuning.fused_attention = device.is_cuda() && BlockImpl::has_fused_attention();
    net->unet()->set_fused_attention(*tuning.fused_attention);
    if (!tuning.fused_dropout) tuning.fused_dropout = device.is_cuda();
    fused_dropout = options.dropout > 0 && *tuning.fused_dropout;
    const bool unfused_dropout = options.dropout > 0 && !fused_dropout;
    if (!tuning.cuda_graphs) tuning.cuda_graphs = kernels::GraphedCall::has_graphs(device) && !unfused_dropout;
    if (*tuning.cuda_graphs && unfused_dropout) {
      log_info("training without CUDA graphs: the unfused dropout's masks are seeded per image from the host "
               "(TrainerTuning::fused_dropout)");
      tuning.cuda_graphs = false;
    }
    if (*tuning.cuda_graphs) {
      graphed_pass = std::make_unique<kernels::GraphedCall>(
          [this](const std::vector<at::Tensor>& in) { return train_pass(in); }, "TrainerTuning.cuda_graphs",
          kernels::GraphedCall::OnCaptureFailure::kRunEagerly);
    }
    const int64_t workers = tuning.cpu_workers > 0 ? tuning.cpu_workers : default_job_count();
    // Fewer images than workers would leave cores idle that the intra-op threads use.
    if (device.is_cpu() && !graphed_pass && pass_batch >= workers) cpu_parts = workers;
    if (cpu_parts > 1) {
      mp_convs = net->convs(config.loss().uncertainty());
      for (const auto& conv : mp_convs) conv->set_external_force(true);
      for (int64_t k = 0; k < cpu_parts; ++k) part_generators.push_back(at::make_generator<at::CPUGeneratorImpl>(0));
    }
    noise = make_noise_distribution(config.noise(), options.sigma_data);
    weighting = make_loss_weighting(config.loss(), options.sigma_data);
    schedule = std::make_unique<OptimizerSchedule>(config.optimizer(), run.batch_size());
    build_data(host);
  }

  void build_data(const HostData& host) {
    const TrainingData data = open_training_data(config, host);
    train_data = data.train;
    loader_template.batch_size = pass_batch;
    loader_template.group_images = config.run().batch_size();
    loader_template.group_offset = world.rank * local_batch;
    loader_template.group_take = local_batch;
    loader_template.seed = derive_seed(config.run().seed(), SeedPurpose::kData, 0);
    loader_template.xflip = config.data().xflip();
    loader_template.label_dim = data.label_dim;
    loader_template.transform = data.transform;
    loader_template.latent = data.latent;
    loader_template.num_workers = config.data().num_workers();
    loader_template.prefetch_batches = config.data().prefetch_batches();
    loader_template.pin_memory = pinned();
    if (!tuning.loader_noise) tuning.loader_noise = device.is_cuda();
    if (*tuning.loader_noise) {
      loader_template.noise = [seed = config.run().seed(), batch = config.run().batch_size()](int64_t first,
                                                                                           const at::Tensor& out) {
        fill_step_noise(seed, batch, first, out);
      };
    }
    validator = make_validator(config, data);
  }

  LoaderOptions loader_template;

  void start_loader(int64_t position) { loader = std::make_unique<DataLoader>(train_data, loader_template, position); }

  bool done() const { return nimg >= config.run().duration_images(); }

  // TrainerTuning::pinned_transfers: a step's host inputs in page-locked memory, copied without waiting.
  bool pinned() const { return tuning.pinned_transfers && device.is_cuda(); }
  at::Tensor to_device(const at::Tensor& host) const {
    return host.to(device, host.scalar_type(), /*non_blocking=*/pinned());
  }

  // One pass's forward and backward on {clean images, noise, σ, the images' dropout keys if the dropout
  // is fused, labels if any}: accumulates its share of the step's loss gradient and returns its images'
  // losses (float32 [n]). A function of its inputs and the parameters alone, so that a CUDA graph can
  // replay it (TrainerTuning::cuda_graphs).
  at::Tensor train_pass(const std::vector<at::Tensor>& in) {
    const PassInputs pass = unpack(in);
    dropout->keys = pass.dropout_keys;
    const at::Tensor loss = pass_loss(pass.y, pass.eps, pass.sigma, pass.labels);
    (loss.sum() * loss_scale()).backward();
    return loss.detach().mean({1, 2, 3}).to(at::kFloat);
  }

  struct PassInputs {
    at::Tensor y, eps, sigma, dropout_keys, labels;  // the last two undefined where the pass has none
  };
  PassInputs unpack(const std::vector<at::Tensor>& in) const {
    PassInputs pass{in[0], in[1], in[2], {}, {}};
    size_t next = 3;
    if (fused_dropout) pass.dropout_keys = in[next++];
    if (in.size() > next) pass.labels = in[next];
    return pass;
  }

  // The weighted loss of each pixel of images y noised by eps·σ.
  at::Tensor pass_loss(const at::Tensor& y, const at::Tensor& eps, const at::Tensor& sigma, const at::Tensor& labels) {
    const bool uncertainty = config.loss().uncertainty();
    const at::Tensor sigma4 = sigma.reshape({-1, 1, 1, 1});
    const PrecondOutput out = net->forward(y + eps * sigma4, sigma, labels, uncertainty);
    const at::Tensor w = weighting->weight(sigma4);
    return uncertainty ? uncertainty_weighted_loss(out.denoised, y, w, out.logvar) : w * (out.denoised - y).square();
  }

  // The factor of the summed loss whose gradient a step takes.
  double loss_scale() const {
    return config.loss().loss_scaling() / static_cast<double>(config.run().batch_size());
  }

  // train_pass in cpu_parts parts at once (TrainerTuning::cpu_workers). The weights are
  // force-normalised once, here, as the pass's single forward would; each part draws its images'
  // dropout masks from a stream of its own (a DropoutStream::Scope on its thread); each part's
  // gradients come back apart (autograd::grad) and are added in part order, so the sum does not
  // depend on which thread ends first.
  at::Tensor train_pass_in_parts(const std::vector<at::Tensor>& in) {
    const PassInputs pass = unpack(in);
    const at::Tensor &y = pass.y, &eps = pass.eps, &sigma = pass.sigma, &labels = pass.labels;
    for (const auto& conv : mp_convs) conv->force_normalize();
    const std::vector<at::Tensor> params = net->parameters();
    std::vector<std::vector<at::Tensor>> grads(static_cast<size_t>(cpu_parts));
    std::vector<at::Tensor> losses(static_cast<size_t>(cpu_parts));
    run_single_threaded_jobs(cpu_parts, [&](int64_t k) {
      const PartRange range = part_range(y.size(0), cpu_parts, k);
      const auto part = [&](const at::Tensor& t) { return t.defined() ? t.narrow(0, range.first, range.count) : t; };
      DropoutStream part_dropout = *dropout;
      part_dropout.first_image += range.first;
      part_dropout.generator = part_generators[static_cast<size_t>(k)];
      part_dropout.keys = part(pass.dropout_keys);
      const DropoutStream::Scope scope(part_dropout);
      const at::Tensor loss = pass_loss(part(y), part(eps), part(sigma), part(labels));
      grads[static_cast<size_t>(k)] = torch::autograd::grad({loss.sum() * loss_scale()}, params, /*grad_outputs=*/{},
                                                             /*retain_graph=*/false, /*create_graph=*/false,
                                                             /*allow_unused=*/true);
      losses[static_cast<size_t>(k)] = loss.detach().mean({1, 2, 3}).to(at::kFloat);
    });
    for (size_t i = 0; i < params.size(); ++i) {
      at::Tensor sum;
      for (const std::vector<at::Tensor>& part : grads) {
        if (part[i].defined()) sum = sum.defined() ? sum + part[i] : part[i];
      }
      if (!sum.defined()) continue;
      at::Tensor& grad = params[i].mutable_grad();
      if (grad.defined()) {
        grad.add_(sum);
      } else {
        grad = sum;
      }
    }
    return at::cat(losses);
  }

  // One optimizer step (spec edm2.md §6 "Order per iteration"). In a data-parallel run this process
  // trains on images [world.rank * local_batch, (world.rank + 1) * local_batch) of the step's global batch.
  void train_step() {
    const v1::RunConfig& run = config.run();
    const int64_t batch = run.batch_size();
    const double progress = std::min(1.0, static_cast<double>(nimg) / static_cast<double>(run.duration_images()));
    const TrainingProgress where{progress, step};
    const StepHyperparameters hyper = schedule->at(nimg, progress);

    // Every random draw of this step comes from streams seeded by (seed, nimg) (resumable) and
    // belongs to an image of the global batch (the same on any world size): sigma for the whole
    // batch on every process, noise and dropout masks from per-image seeds.
    const uint64_t step_seed = derive_seed(run.seed(), SeedPurpose::kStep, static_cast<uint64_t>(nimg));
    generator.set_current_seed(step_seed);
    at::Tensor sigma_all = noise->sample_sigma(batch, where, generator, at::kCPU);
    if (pinned()) sigma_all = sigma_all.pin_memory();
    dropout->seed = mix_seed(step_seed ^ kDropoutStream);

    adam->zero_grad();
    const int64_t first = world.rank * local_batch;
    std::vector<at::Tensor> pass_losses;
    for (int64_t index = 0; index < local_batch / pass_batch; ++index) {
      const Batch b = loader->next();
      const int64_t offset = first + index * pass_batch;  // the pass's first image in the global batch
      if (b.position != nimg + offset) {
        fail(ErrorCode::kInternal, "training step at {} images: the loader's batch starts at position {}, not {}", nimg,
             b.position, nimg + offset);
      }
      at::Tensor host_eps = b.noise;  // drawn by the loader (TrainerTuning::loader_noise) or here
      if (!host_eps.defined()) {
        host_eps = at::empty(b.images.sizes(), at::TensorOptions(at::kFloat).pinned_memory(pinned()));
        fill_step_noise(run.seed(), batch, b.position, host_eps);
      }
      const at::Tensor y = to_device(b.images);
      const at::Tensor labels = b.labels.defined() ? to_device(b.labels) : at::Tensor();
      const int64_t n = y.size(0);
      const at::Tensor sigma = to_device(sigma_all.narrow(0, offset, n));
      const at::Tensor eps = to_device(host_eps);
      dropout->first_image = offset;
      std::vector<at::Tensor> inputs{y, eps, sigma};
      if (fused_dropout) inputs.push_back(to_device(dropout->image_keys(n, pinned())));
      if (labels.defined()) inputs.push_back(labels);
      pass_losses.push_back(graphed_pass    ? (*graphed_pass)(inputs)
                            : cpu_parts > 1 ? train_pass_in_parts(inputs)
                                            : train_pass(inputs));
    }
    at::Tensor losses = at::cat(pass_losses);  // per image: this process's share
    if (comm) {
      // One all-reduce carries the gradients and a vector that holds every image's loss at its index
      // in the global batch (zeros elsewhere, so the sum is exact).
      at::Tensor shared = at::zeros({batch}, losses.options());
      shared.narrow(0, first, local_batch).copy_(losses);
      std::vector<at::Tensor> tensors;
      for (auto& p : net->parameters()) {
        if (p.grad().defined()) tensors.push_back(p.mutable_grad());
      }
      tensors.push_back(shared);
      comm->allreduce_sum(tensors);
      losses = shared;
    }
    // Non-finite gradient entries become 0; the step still happens (spec edm2.md §6).
    for (auto& p : net->parameters()) {
      if (p.grad().defined()) p.mutable_grad().nan_to_num_(0.0, 0.0, 0.0);
    }
    adam->step(hyper.lr, hyper.beta1);
    nimg += batch;
    ++step;
    ema->update(*net, nimg, batch);

    last_hyper = hyper;
    last_noise = noise->status(where);
    pending_losses.push_back({sigma_all, losses, losses.to(at::kDouble).mean(), nimg});
    if (static_cast<int64_t>(pending_losses.size()) >= tuning.loss_readback_steps || noise->paced_by_loss()) {
      read_losses();
    }
  }

  // Brings the pending steps' losses to the host in one copy and takes them in step order: the
  // interval statistics, the status's loss, the curriculum's pacing and the non-finite guard, which
  // stops the run (before any checkpoint, which reads first) naming the step where it tripped.
  void read_losses() {
    if (pending_losses.empty()) return;
    std::vector<at::Tensor> losses, means;
    for (const PendingLosses& p : pending_losses) {
      losses.push_back(p.losses);
      means.push_back(p.mean);
    }
    const std::vector<at::Tensor> host_losses = at::stack(losses).to(at::kCPU).unbind(0);
    const at::Tensor host_means = at::stack(means).to(at::kCPU);
    const std::vector<PendingLosses> steps = std::move(pending_losses);
    pending_losses.clear();
    for (size_t i = 0; i < steps.size(); ++i) {
      interval_stats.add(steps[i].sigma, host_losses[i]);
      last_loss = host_means[static_cast<int64_t>(i)].item<double>();
      if (std::isfinite(last_loss)) {
        noise->observe_loss(last_loss);  // loss-plateau pacing of the cluster curriculum
        nonfinite_steps = 0;
      } else if (++nonfinite_steps >= config.run().max_nonfinite_steps()) {
        fail(ErrorCode::kDiverged, "training diverged: the loss was not finite for {} consecutive steps (at {} images)",
             nonfinite_steps, steps[i].nimg);
      } else {
        log_warn("non-finite loss at {} images ({} in a row)", steps[i].nimg, nonfinite_steps);
      }
    }
  }

  // Whether to stop before the next step: a stop request here or, in a data-parallel run, on any rank
  // (so that all stop at the same step).
  bool stop_now() {
    const bool here = stop_requested.exchange(false);
    if (!comm) return here;
    const at::Tensor votes = at::full({1}, here ? 1.0f : 0.0f, at::TensorOptions().device(device));
    comm->allreduce_sum({votes});
    return votes.item<float>() > 0;
  }

  static bool due(int64_t nimg, int64_t every) { return every > 0 && nimg % every == 0; }

  void after_step(bool final) {
    const v1::RunConfig& run = config.run();
    const bool status = due(nimg, run.status_images()) || final;
    const bool validate = due(nimg, run.validation_interval_images()) || (final && run.validation_interval_images() > 0);
    if ((status || validate) && last_stats_nimg != nimg) write_stats(status, validate);
    if (due(nimg, run.sample_grid_images()) && last_grid_nimg != nimg) write_sample_grid();
    if ((due(nimg, config.ema().snapshot_images()) || final) && last_snapshot_nimg != nimg) write_snapshots();
    if ((due(nimg, run.checkpoint_images()) || final) && last_checkpoint_nimg != nimg) write_checkpoint();
  }

  // Where the steps run: " on cpu, 2 CPU threads (rank 0 of 2, 16 images per step each)".
  std::string world_note() const {
    std::string note = fmt::format(" on {}, {} CPU thread{}", device.str(), at::get_num_threads(),
                                   at::get_num_threads() == 1 ? "" : "s");
    if (cpu_parts > 1) note += fmt::format(", each pass in {} parts at once", cpu_parts);
    if (comm) note += fmt::format(" (rank {} of {}, {} images per step each)", world.rank, world.size, local_batch);
    return note;
  }

  // Rank 0 writes the run directory; the other ranks keep their state in step and write nothing.
  bool writes() const { return world.rank == 0; }

  void write_stats(bool status, bool validate) {
    read_losses();
    if (!writes()) {
      if (status) interval_stats.reset();
      last_stats_nimg = nimg;
      return;
    }
    StatsLine line;
    line.nimg = nimg;
    line.step = step;
    line.progress = std::min(1.0, static_cast<double>(nimg) / static_cast<double>(config.run().duration_images()));
    if (status) {
      StatsLine::Status& st = line.status.emplace();
      st.loss = interval_stats.mean_loss();
      st.loss_per_sigma_bin = interval_stats.mean_loss_per_bin();
      st.samples_per_sigma_bin = interval_stats.count_per_bin();
      st.lr = last_hyper.lr;
      st.beta1 = last_hyper.beta1;
      st.lr_compensation = last_hyper.compensation;
      if (config.noise().curriculum() == v1::NoiseConfig::CLTS) st.clts_strength = last_noise.strength;
      if (config.noise().curriculum() == v1::NoiseConfig::CLUSTERS) st.curriculum_stage = last_noise.stage;
      interval_stats.reset();
    }
    if (validate) {
      const ValidationResult v = validator->evaluate(net, config.run().batch_per_step());
      line.validation = StatsLine::Validation{v.mean, v.losses};
      last_validation = v.mean;
    }
    line.images_per_second = images_per_second;
    line.seconds_per_step = seconds_per_step;
    line.elapsed_seconds = elapsed_seconds;
    line.peak_memory_bytes = peak_host_memory_bytes();
    if (device.is_cuda()) line.peak_device_memory_bytes = peak_device_memory_bytes(device);
    if (comm) {
      const double busy = comm->communication_seconds() - stats_communication_seconds;
      const double interval = elapsed_seconds - stats_elapsed_seconds;
      line.world_size = world.size;
      line.communication_fraction = interval > 0 ? busy / interval : 0.0;
      stats_communication_seconds = comm->communication_seconds();
      stats_elapsed_seconds = elapsed_seconds;
    }
    dir.append_stats(format_stats_line(line));
    if (events) events->write_scalars(nimg, tensorboard_scalars(line));
    last_stats_nimg = nimg;
    std::string message = fmt::format("{:.1f} kimg", static_cast<double>(nimg) / 1000.0);
    if (status) message += fmt::format("  loss {:.4f}  lr {:.3g}  {:.1f} img/s", line.status->loss, last_hyper.lr, images_per_second);
    if (validate) message += fmt::format("  validation {:.4f}", last_validation);
    log_info("{}", message);
  }

  // A grid of the same seeds at every call (run.sample_grid_*): the EMA of the first profile sampled
  // into samples/grid-<kimg>.png and the event file's image `samples`. Images depend only on their seeds
  // and the network (sample/sampler.h), and the trainer's own generators are not touched, so the grid
  // changes nothing of the training.
  void write_sample_grid() {
    last_grid_nimg = nimg;
    if (!writes()) return;
    const v1::RunConfig& run = config.run();
    Precond grid_net = net;
    if (!ema->sigma_rels().empty()) {
      grid_net = Precond(to_model_options(config.model()));
      std::map<std::string, at::Tensor> state;
      for (const auto& [name, t] : ema->averaged_state(0, *net)) state.emplace(name, t);
      load_state_dict(*grid_net, state, fmt::format("the EMA with sigma_rel {}", ema->sigma_rels()[0]));
      grid_net->to(device);
    }
    const int64_t count = run.sample_grid_count();
    std::vector<uint64_t> seeds;
    std::vector<int64_t> labels;
    const int64_t label_dim = config.model().label_dim();
    for (int64_t i = 0; i < count; ++i) {
      seeds.push_back(static_cast<uint64_t>(i));
      if (config.data().use_labels() && label_dim > 0) labels.push_back(i % label_dim);
    }
    SamplerOptions options;
    options.num_steps = kSampleGridSteps;
    options.batch_size = std::min(count, pass_batch);
    const at::Tensor grid = make_grid(images_to_uint8(sample_images(grid_net, nullptr, seeds, labels, options)));
    const std::string png = encode_png(grid);
    const std::string path = dir.sample_grid_file(nimg);
    write_file_atomic(path, png.data(), png.size());
    if (events) events->write_image(nimg, "samples", png, grid.size(1), grid.size(2), static_cast<int>(grid.size(0)));
    log_info("sample grid at {} images: samples/{}", nimg, std::filesystem::path(path).filename().string());
  }

  void require_finite_state(const char* what) const {
    for (const auto& item : net->named_parameters()) {
      if (!at::isfinite(item.value()).all().item<bool>()) {
        fail(ErrorCode::kDiverged, "refusing to write {}: parameter '{}' is not finite", what, item.key());
      }
    }
  }

  // Whether `path` holds a snapshot of another time (or one that cannot be read).
  bool holds_other_time(const std::string& path) const {
    if (!std::filesystem::exists(path)) return false;
    try {
      return read_ema_snapshot_info(path).nimg != nimg;
    } catch (const Error&) {
      return true;
    }
  }

  void write_snapshots() {
    require_finite_state("EMA snapshots");
    if (!writes()) {
      last_snapshot_nimg = nimg;
      return;
    }
    const at::ScalarType dtype = config.ema().snapshot_dtype() == v1::EmaConfig::FP32 ? at::kFloat : at::kHalf;
    for (size_t i = 0; i < ema->sigma_rels().size(); ++i) {
      NamedTensors tensors;
      for (const auto& [name, t] : ema->averaged_state(i, *net)) tensors.emplace_back(name, t.to(dtype));
      const double sigma_rel = ema->sigma_rels()[i];
      const std::string path = dir.file(ema_snapshot_name(sigma_rel, nimg));
      // The final snapshot of a run that ends within 1000 images of a periodic one would take its
      // name (kimg); the periodic one is kept, since post-hoc EMA needs distinct times.
      if (holds_other_time(path)) {
        log_warn("not writing the EMA snapshot at {} images: {} already holds an earlier time", nimg, path);
        continue;
      }
      write_ema_snapshot(path, tensors, sigma_rel, nimg, config.model());
    }
    last_snapshot_nimg = nimg;
  }

  void write_checkpoint() {
    read_losses();
    require_finite_state("a checkpoint");
    if (!writes()) {
      last_checkpoint_nimg = nimg;
      return;
    }
    CheckpointState state;
    for (const auto& [name, t] : state_dict(*net)) state.net.emplace(name, t);
    const auto params = net->named_parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      state.adam_exp_avg.emplace(params[i].key(), adam->exp_avg()[i]);
      state.adam_exp_avg_sq.emplace(params[i].key(), adam->exp_avg_sq()[i]);
    }
    for (auto& [name, t] : ema->checkpoint_state()) state.ema.emplace(name, t);
    state.nimg = nimg;
    state.step = step;
    state.loader_position = loader->position();
    state.nonfinite_steps = nonfinite_steps;
    state.elapsed_seconds = elapsed_seconds;
    state.adam_steps = adam->step_count();
    state.adam_beta1_product = adam->beta1_product();
    state.adam_beta2_product = adam->beta2_product();
    state.interval_stats = interval_stats.state();
    state.noise_curriculum = noise->state();
    diffuse::write_checkpoint(dir.file(RunDirectory::checkpoint_name(nimg)), state, config);
    last_checkpoint_nimg = nimg;
    dir.prune_checkpoints(config.run().keep_checkpoints());
    log_info("checkpoint at {} images: {}", nimg, RunDirectory::checkpoint_name(nimg));
  }

  // The counters of a checkpoint of this run obey its config: every step adds batch_size images,
  // one Adam step and batch_size loader positions, and the run stops once duration_images are seen.
  void check_counters(const CheckpointState& s, const std::string& path) const {
    const v1::RunConfig& run = config.run();
    const int64_t batch = run.batch_size();
    const char* wrong = nullptr;
    if (s.nimg < 0 || s.nimg % batch != 0 || s.nimg >= run.duration_images() + batch) wrong = "images seen";
    else if (s.step != s.nimg / batch) wrong = "step";
    else if (s.loader_position != s.nimg) wrong = "loader position";
    else if (s.adam_steps != s.step) wrong = "Adam steps";
    else if (s.nonfinite_steps < 0 || s.nonfinite_steps >= run.max_nonfinite_steps()) wrong = "non-finite steps";
    if (wrong) {
      fail(ErrorCode::kCorruptFile,
           "{}: its counters do not fit the run, {} first (images seen {}, step {}, loader position {}, Adam "
           "steps {}, non-finite steps {}; batch_size {}, duration_images {})",
           path, wrong, s.nimg, s.step, s.loader_position, s.adam_steps, s.nonfinite_steps, batch, run.duration_images());
    }
  }

  void load_checkpoint(const std::string& path) {
    const CheckpointState s = read_checkpoint(path);
    check_counters(s, path);
    load_state_dict(*net, s.net, path + " (tensors net.*)");
    std::vector<std::string> names;
    for (const auto& item : net->named_parameters()) names.push_back(item.key());
    restore_adam_moments(s, names, adam->exp_avg(), adam->exp_avg_sq());
    ema->load_checkpoint_state(s.ema, path);
    nimg = s.nimg;
    step = s.step;
    nonfinite_steps = s.nonfinite_steps;
    elapsed_seconds = s.elapsed_seconds;
    adam->restore_counters(s.adam_steps, s.adam_beta1_product, s.adam_beta2_product);
    interval_stats.load_state(s.interval_stats, path + " (tensor state.interval_stats)");
    if (noise->state().defined()) {
      if (!s.noise_curriculum.defined()) fail(ErrorCode::kCorruptFile, "{}: missing tensor 'state.noise_curriculum'", path);
      noise->load_state(s.noise_curriculum);
    }
    start_loader(s.loader_position);
    last_checkpoint_nimg = nimg;
    last_stats_nimg = nimg;  // lines up to nimg are already in stats.jsonl
    last_grid_nimg = nimg;   // as is a grid due at nimg (written before the checkpoint)
    last_snapshot_nimg = due(nimg, config.ema().snapshot_images()) ? nimg : -1;
  }
};

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::~Trainer() = default;

std::unique_ptr<Trainer> Trainer::create(const v1::TrainConfig& config, HostData host_data, TrainerTuning tuning) {
  const v1::TrainConfig resolved = resolve_train_config(config);
  auto impl = std::make_unique<Impl>(resolved, tuning);
  impl->join_world();
  impl->on_rank0("creating the run directory", [&] {
    impl->lock = impl->dir.lock();
    if (impl->dir.holds_run()) {
      fail(ErrorCode::kInvalidArgument,
           "TrainConfig.run.output_dir: {} already holds a run; resume it or choose another directory", impl->dir.path());
    }
    const std::vector<std::string> removed = impl->dir.clear_unfinished_run();
    if (!removed.empty()) {
      log_warn("{}: starting over: the run there ended before its first checkpoint (removed {})", impl->dir.path(),
               fmt::join(removed, ", "));
    }
    impl->dir.save_config(resolved);
    impl->events = std::make_unique<EventFile>(impl->dir.path(), 0);
  });
  impl->build(host_data);
  impl->start_loader(0);
  // The untrained network's validation loss anchors the curve.
  if (resolved.run().validation_interval_images() > 0) impl->write_stats(/*status=*/false, /*validate=*/true);
  log_info("new run in {}: {} parameters, {} training images{}", impl->dir.path(),
           count_parameters(to_model_options(resolved.model())), impl->train_data->size(), impl->world_note());
  return std::unique_ptr<Trainer>(new Trainer(std::move(impl)));
}

std::unique_ptr<Trainer> Trainer::resume(const std::string& run_dir, HostData host_data, TrainerTuning tuning) {
  const v1::TrainConfig config = RunDirectory::load_config(run_dir);
  auto impl = std::make_unique<Impl>(resolve_train_config(config), tuning);
  impl->join_world();
  impl->on_rank0("cleaning the run directory", [&] {
    impl->lock = impl->dir.lock();
    impl->dir.remove_stale_temporaries();
  });
  std::vector<std::string> checkpoints = impl->dir.checkpoints();
  if (checkpoints.empty()) {
    fail(ErrorCode::kNotFound,
         "{}: no checkpoint to resume from (the run ended before its first); start it again from its config, "
         "e.g. diffuse train {}/config.textproto",
         run_dir, run_dir);
  }
  // Newest first; an unreadable checkpoint (which atomic writes should prevent) falls back to the previous
  // one. Tensor tables are checked against the config before the network is built: a config.textproto
  // edited to a larger network fails here instead of allocating it.
  const ModelOptions model_options = to_model_options(impl->config.model());
  std::vector<std::string> candidates;
  for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
    try {
      require_parameter_table(SafetensorsFile::open(*it), model_options, kCheckpointNetPrefix, ErrorCode::kCorruptFile);
      candidates.push_back(*it);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kCorruptFile || (candidates.empty() && std::next(it) == checkpoints.rend())) throw;
      log_warn("skipping unreadable checkpoint: {}", e.what());
    }
  }
  impl->build(host_data);
  for (auto it = candidates.begin(); it != candidates.end(); ++it) {
    try {
      impl->load_checkpoint(*it);
      break;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kCorruptFile || std::next(it) == candidates.end()) throw;
      log_warn("skipping unreadable checkpoint: {}", e.what());
    }
  }
  if (impl->comm) impl->comm->require_same("resume point", fmt::format("{} images", impl->nimg));
  if (impl->writes()) {
    impl->dir.truncate_stats(impl->nimg);
    // TensorBoard drops the events of earlier files at steps >= this session's START: at nimg + 1, the
    // events it keeps are those of the stats.jsonl lines kept (nimg <= the checkpoint's).
    impl->events = std::make_unique<EventFile>(impl->dir.path(), impl->nimg + 1);
  }
  log_info("resumed {} at {} images{}", run_dir, impl->nimg, impl->world_note());
  return std::unique_ptr<Trainer>(new Trainer(std::move(impl)));
}

int64_t Trainer::run(int64_t max_steps) {
  Impl& m = *impl_;
  int64_t taken = 0;
  const auto start = Clock::now();
  const int64_t start_nimg = m.nimg;
  while (taken < max_steps && !m.done()) {
    if (m.stop_now()) {
      if (m.last_checkpoint_nimg != m.nimg) m.write_checkpoint();
      m.read_losses();
      return taken;
    }
    const auto t0 = Clock::now();
    m.train_step();
    ++taken;
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    m.elapsed_seconds += dt;
    const double since_start = std::chrono::duration<double>(Clock::now() - start).count();
    m.images_per_second = since_start > 0 ? static_cast<double>(m.nimg - start_nimg) / since_start : 0;
    m.seconds_per_step = since_start / static_cast<double>(taken);
    m.after_step(m.done());
    if (m.step_callback) m.step_callback(status());
  }
  m.read_losses();
  return taken;
}

void Trainer::request_stop() { impl_->stop_requested.store(true); }

void Trainer::set_step_callback(std::function<void(const v1::TrainStatus&)> callback) {
  impl_->step_callback = std::move(callback);
}

void Trainer::save_checkpoint() { impl_->write_checkpoint(); }

v1::TrainStatus Trainer::status() const {
  const Impl& m = *impl_;
  const int64_t total = m.config.run().duration_images();
  v1::TrainStatus s;
  s.set_run_dir(m.dir.path());
  s.set_images_seen(m.nimg);
  s.set_images_total(total);
  s.set_steps(m.step);
  s.set_loss(m.last_loss);
  s.set_learning_rate(m.last_hyper.lr);
  s.set_beta1(m.last_hyper.beta1);
  s.set_images_per_second(m.images_per_second);
  s.set_seconds_per_step(m.seconds_per_step);
  s.set_elapsed_seconds(m.elapsed_seconds);
  s.set_eta_seconds(m.images_per_second > 0 ? static_cast<double>(std::max<int64_t>(0, total - m.nimg)) / m.images_per_second : 0);
  s.set_validation_loss(m.last_validation);
  s.set_done(m.done());
  s.set_rank(m.world.rank);
  s.set_world_size(m.world.size);
  return s;
}

bool Trainer::done() const { return impl_->done(); }
const v1::TrainConfig& Trainer::config() const { return impl_->config; }
const std::string& Trainer::run_dir() const { return impl_->dir.path(); }
Precond& Trainer::network() { return impl_->net; }
const PowerEma& Trainer::ema() const { return *impl_->ema; }

}  // namespace diffuse
