// Training throughput of the diffuse trainer on a CUDA device (bench/gpu/README.md).
//
//   train_bench [--preset edm2-img64-xs] [--precision fp16|bf16|fp32] [--batch 256] [--micro 128]
//               [--steps 20] [--warmup 5] [--dropout P] [--phases] [--without LEVER]...
//
// Default: Trainer::run over random uint8 images (MEMORY data, 1000 classes), images/s over `steps`
// optimizer steps after `warmup` steps. --phases instead runs the same step from the trainer's parts
// with a device synchronisation after each phase, and prints per phase the host time to queue the
// work and the time until the device has finished it. --without turns one of the trainer's speed
// levers off (TrainerTuning), for the table of each lever's marginal effect; the row is then named
// diffuse-trainer-without-<lever>. --dropout sets the model's dropout (the xs preset has none), for
// the fused-dropout lever; its rows are named diffuse-trainer-dropout[-without-<lever>]. The phases
// draw it as the trainer does by default on CUDA (fused, from each pass's image keys).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#include "bench_args.h"
#include "config/model_config.h"
#include "config/proto_format.h"
#include "config/train_config.h"
#include "data/data_loader.h"
#include "data/dataset.h"
#include "ema/power_ema.h"
#include "loss/edm2_loss.h"
#include "loss/loss_weighting.h"
#include "nn/block.h"
#include "nn/initialize.h"
#include "nn/precond.h"
#include "noise/noise_distribution.h"
#include "optim/adam.h"
#include "train/trainer.h"
#include "util/cuda_math.h"
#include "util/device_memory.h"
#include "util/error.h"

namespace {

using Clock = std::chrono::steady_clock;

// The trainer's speed levers by the names --without takes, each turning its own off (TrainerTuning).
const std::map<std::string, std::function<void(diffuse::TrainerTuning&)>>& levers() {
  static const std::map<std::string, std::function<void(diffuse::TrainerTuning&)>> table{
      {"deferred-readback", [](diffuse::TrainerTuning& t) { t.loss_readback_steps = 1; }},
      {"multi-tensor", [](diffuse::TrainerTuning& t) { t.multi_tensor = false; }},
      {"fused-kernels", [](diffuse::TrainerTuning& t) { t.fused_elementwise = false; }},
      {"fused-normalize", [](diffuse::TrainerTuning& t) { t.fused_normalize = false; }},
      {"channels-last", [](diffuse::TrainerTuning& t) { t.channels_last = false; }},
      {"fused-attention", [](diffuse::TrainerTuning& t) { t.fused_attention = false; }},
      {"pinned-transfers", [](diffuse::TrainerTuning& t) { t.pinned_transfers = false; }},
      {"loader-noise", [](diffuse::TrainerTuning& t) { t.loader_noise = false; }},
      {"cuda-graphs", [](diffuse::TrainerTuning& t) { t.cuda_graphs = false; }},
      {"fused-dropout", [](diffuse::TrainerTuning& t) { t.fused_dropout = false; }},
  };
  return table;
}

struct Args {
  std::string preset = "edm2-img64-xs";
  std::string precision = "fp16";
  int64_t batch = 256, micro = 128, steps = 20, warmup = 5;
  std::string dropout;  // the model's, when given
  bool phases = false;
  std::vector<std::string> without;  // levers turned off
};

constexpr char kUsage[] =
    "usage: train_bench [--preset edm2-img64-xs] [--precision fp16|bf16|fp32] [--batch 256] [--micro 128]\n"
    "                   [--steps 20] [--warmup 5] [--dropout P] [--phases] [--without LEVER]...\n"
    "Training images/s and peak memory of the diffuse trainer on CUDA, as one RESULT line\n"
    "(bench/gpu/README.md). --phases times each phase of a step instead; --without turns a speed lever off:\n";

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) bench::usage_error("train_bench", k + " needs a value");
      return argv[++i];
    };
    auto count = [&](int64_t least) { return bench::parse_count("train_bench", k, value(), least); };
    if (k == "--help" || k == "-h") {
      std::printf("%s", kUsage);
      for (const auto& lever : levers()) std::printf("  %s\n", lever.first.c_str());
      std::exit(0);
    }
    if (k == "--preset") a.preset = value();
    else if (k == "--precision") {
      a.precision = value();
      bench::precision_enum("train_bench", a.precision);  // refuses an unknown one here
    }
    else if (k == "--batch") a.batch = count(1);
    else if (k == "--micro") a.micro = count(1);
    else if (k == "--steps") a.steps = count(1);
    else if (k == "--warmup") a.warmup = count(0);
    else if (k == "--dropout") a.dropout = value();
    else if (k == "--phases") a.phases = true;
    else if (k == "--without") {
      a.without.push_back(value());
      if (!levers().count(a.without.back())) {
        std::string names;
        for (const auto& lever : levers()) names += (names.empty() ? "" : ", ") + lever.first;
        bench::usage_error("train_bench", "--without takes one of " + names + ", not " + a.without.back());
      }
    }
    else bench::usage_error("train_bench", "unknown argument " + k);
  }
  return a;
}

diffuse::v1::TrainConfig make_config(const Args& a, const std::string& dir) {
  const std::string precision = bench::precision_enum("train_bench", a.precision);
  const int64_t forever = a.batch * (int64_t{1} << 30);
  const std::string dropout = a.dropout.empty() ? "" : " dropout: " + a.dropout;
  const std::string text = "model { preset: \"" + a.preset + "\" precision: " + precision + dropout + " }\n" +
                           "data { train { format: MEMORY } num_workers: 4 prefetch_batches: 4 }\n" +
                           "run { output_dir: \"" + dir + "\" device: \"cuda\" batch_size: " + std::to_string(a.batch) +
                           " batch_per_step: " + std::to_string(a.micro) + " duration_images: " + std::to_string(forever) +
                           " status_images: " + std::to_string(forever) + " checkpoint_images: 0" +
                           " validation_interval_images: 0 validation_images: 256 }\n" +
                           "ema { snapshot_images: " + std::to_string(forever) + " }\n";
  diffuse::v1::TrainConfig config;
  diffuse::parse_config(text.data(), text.size(), diffuse::ConfigFormat::kText, &config);
  return config;
}

// Random images and labels: throughput does not depend on the pixels.
std::shared_ptr<diffuse::Dataset> random_dataset(int64_t count, int64_t resolution, int64_t channels, int64_t classes) {
  std::mt19937_64 rng(1);
  std::vector<uint8_t> pixels(static_cast<size_t>(count * resolution * resolution * channels));
  for (auto& p : pixels) p = static_cast<uint8_t>(rng());
  std::vector<int64_t> labels(static_cast<size_t>(count));
  for (auto& l : labels) l = static_cast<int64_t>(rng() % static_cast<uint64_t>(classes));
  return diffuse::make_memory_dataset(pixels.data(), count, resolution, resolution, channels, labels.data());
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void run_trainer(const Args& a, const diffuse::v1::TrainConfig& config, const diffuse::HostData& data) {
  diffuse::TrainerTuning tuning;
  std::string impl = a.dropout.empty() ? "diffuse-trainer" : "diffuse-trainer-dropout";
  for (const std::string& lever : a.without) {
    levers().at(lever)(tuning);
    impl += "-without-" + lever;
  }
  auto trainer = diffuse::Trainer::create(config, data, tuning);
  trainer->run(a.warmup);
  torch::cuda::synchronize();
  const auto t0 = Clock::now();
  trainer->run(a.steps);
  torch::cuda::synchronize();
  const double s = seconds_since(t0);
  std::printf("RESULT impl=%s precision=%s batch=%lld micro=%lld images_per_s=%.1f ms_per_step=%.2f "
              "peak_bytes=%lld loss=%.4f\n",
              impl.c_str(), a.precision.c_str(), static_cast<long long>(a.batch), static_cast<long long>(a.micro),
              static_cast<double>(a.batch * a.steps) / s, 1000 * s / static_cast<double>(a.steps),
              static_cast<long long>(diffuse::peak_device_memory_bytes(at::Device(at::kCUDA))), trainer->status().loss());
}

// The trainer's step (train/trainer.cpp) from its parts, one timed phase at a time.
void run_phases(const Args& a, const diffuse::v1::TrainConfig& unresolved, const diffuse::HostData& data) {
  using namespace diffuse;
  const v1::TrainConfig config = resolve_train_config(unresolved);
  use_reference_cuda_math();
  const at::Device device(at::kCUDA);
  const ModelOptions options = to_model_options(config.model());
  Precond net(options);
  initialize_parameters(*net, at::make_generator<at::CPUGeneratorImpl>(1));
  net->to(device);
  net->train();
  net->unet()->set_fused_elementwise(true);
  net->unet()->set_fused_normalize(true);
  net->unet()->set_channels_last_training(true);
  net->unet()->set_fused_attention(true);
  // The trainer's default dropout on CUDA (TrainerTuning::fused_dropout): masks from each pass's keys.
  const auto dropout = std::make_shared<DropoutStream>();
  net->unet()->set_dropout_stream(dropout);
  Adam adam(net->parameters(), AdamOptions{});
  PowerEma ema(*net, {0.05, 0.10});
  const auto noise = make_noise_distribution(config.noise(), options.sigma_data);
  const auto weighting = make_loss_weighting(config.loss(), options.sigma_data);
  LoaderOptions lo;
  lo.batch_size = a.micro;
  lo.label_dim = options.label_dim;
  lo.num_workers = 4;
  DataLoader loader(data.train, lo);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2);

  const char* names[] = {"data", "forward", "backward", "optimizer", "ema"};
  std::map<std::string, double> queue_ms, done_ms;
  int64_t nimg = 0;
  for (int64_t step = 0; step < a.warmup + a.steps; ++step) {
    const bool timed = step >= a.warmup;
    auto phase = [&](int index, auto&& body) {
      torch::cuda::synchronize();
      const auto t0 = Clock::now();
      body();
      const double queued = seconds_since(t0);
      torch::cuda::synchronize();
      if (timed) {
        queue_ms[names[index]] += 1000 * queued;
        done_ms[names[index]] += 1000 * seconds_since(t0);
      }
    };
    adam.zero_grad();
    for (int64_t round = 0; round < a.batch / a.micro; ++round) {
      at::Tensor y, labels, sigma, noisy;
      phase(0, [&] {
        const Batch b = loader.next();
        y = b.images.to(device);
        labels = b.labels.to(device);
        sigma = noise->sample_sigma(y.size(0), TrainingProgress{}, gen, device);
        noisy = y + at::randn(y.sizes(), gen, at::TensorOptions().dtype(at::kFloat)).to(device) * sigma.reshape({-1, 1, 1, 1});
        if (options.dropout > 0) {
          dropout->seed = static_cast<uint64_t>(step);
          dropout->first_image = round * a.micro;
          dropout->keys = dropout->image_keys(y.size(0)).to(device);
        }
      });
      at::Tensor total;
      phase(1, [&] {
        const PrecondOutput out = net->forward(noisy, sigma, labels, true);
        const at::Tensor loss = uncertainty_weighted_loss(out.denoised, y, weighting->weight(sigma.reshape({-1, 1, 1, 1})), out.logvar);
        total = loss.sum() * (1.0 / static_cast<double>(a.batch));
      });
      phase(2, [&] { total.backward(); });
    }
    phase(3, [&] {
      for (auto& p : net->parameters()) p.mutable_grad().nan_to_num_(0.0, 0.0, 0.0);
      adam.step(1e-4, 0.9);
    });
    nimg += a.batch;
    phase(4, [&] { ema.update(*net, nimg, a.batch); });
  }
  double total = 0;
  for (const char* n : names) {
    const double q = queue_ms[n] / static_cast<double>(a.steps), d = done_ms[n] / static_cast<double>(a.steps);
    total += d;
    std::printf("PHASE precision=%s micro=%lld %-9s queue_ms=%8.2f done_ms=%8.2f\n", a.precision.c_str(),
                static_cast<long long>(a.micro), n, q, d);
  }
  std::printf("PHASE precision=%s micro=%lld total     done_ms=%8.2f images_per_s=%.1f (synchronised phases)\n",
              a.precision.c_str(), static_cast<long long>(a.micro), total, static_cast<double>(a.batch) * 1000 / total);
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (!torch::cuda::is_available()) {
    std::fprintf(stderr, "train_bench: no CUDA device\n");
    return 77;
  }
  try {
    const std::string dir = (std::filesystem::temp_directory_path() / ("train_bench_" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir);
    const auto config = make_config(a, dir);
    const auto model = diffuse::to_model_options(diffuse::resolve_model_config(config.model()));
    const diffuse::HostData data{random_dataset(4096, model.img_resolution, model.img_channels, model.label_dim), nullptr};
    if (a.phases) {
      run_phases(a, config, data);
    } else {
      run_trainer(a, config, data);
    }
    std::filesystem::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
