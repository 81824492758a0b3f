#include "sample/sampler.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <fmt/ranges.h>

#include "cuda/graphed_call.h"
#include "sample/solvers.h"
#include "util/error.h"
#include "util/single_threaded_jobs.h"

namespace diffuse {
namespace {

void validate_schedule(const SamplerOptions& o) {
  if (o.num_steps < 1) fail(ErrorCode::kInvalidArgument, "SamplerOptions.num_steps: must be ≥ 1, got {}", o.num_steps);
  if (!(o.sigma_min > 0)) fail(ErrorCode::kInvalidArgument, "SamplerOptions.sigma_min: must be > 0, got {}", o.sigma_min);
  if (!(o.sigma_max > o.sigma_min) || !std::isfinite(o.sigma_max)) {
    fail(ErrorCode::kInvalidArgument, "SamplerOptions.sigma_max: must be finite and > sigma_min ({}), got {}",
         o.sigma_min, o.sigma_max);
  }
  if (!(o.rho > 0) || !std::isfinite(o.rho)) fail(ErrorCode::kInvalidArgument, "SamplerOptions.rho: must be > 0, got {}", o.rho);
}

bool churns(const SamplerOptions& o) { return o.solver == Solver::kHeun || o.solver == Solver::kEuler; }

// Every option; the guide's presence is checked by validate_sampler_options.
void validate_loop(const SamplerOptions& o) {
  validate_schedule(o);
  if (!(o.s_churn >= 0) || !std::isfinite(o.s_churn)) {
    fail(ErrorCode::kInvalidArgument, "SamplerOptions.s_churn: must be finite and ≥ 0, got {}", o.s_churn);
  }
  if (std::isnan(o.s_min) || std::isnan(o.s_max)) {
    fail(ErrorCode::kInvalidArgument, "SamplerOptions.s_min/s_max: must not be NaN, got {} / {}", o.s_min, o.s_max);
  }
  if (!(o.s_noise >= 0) || !std::isfinite(o.s_noise)) {
    fail(ErrorCode::kInvalidArgument, "SamplerOptions.s_noise: must be finite and ≥ 0, got {}", o.s_noise);
  }
  if (!std::isfinite(o.guidance)) fail(ErrorCode::kInvalidArgument, "SamplerOptions.guidance: must be finite, got {}", o.guidance);
  if (o.s_churn > 0 && !churns(o)) {
    fail(ErrorCode::kInvalidArgument, "SamplerOptions.s_churn: {} applies to HEUN and EULER only (the other solvers have eta)",
         o.s_churn);
  }
  if (!(o.eta >= 0 && o.eta <= 1)) fail(ErrorCode::kInvalidArgument, "SamplerOptions.eta: must be in [0, 1], got {}", o.eta);
  if (o.batch_size < 1) fail(ErrorCode::kInvalidArgument, "SamplerOptions.batch_size: must be ≥ 1, got {}", o.batch_size);
  if (o.cpu_workers < 0) fail(ErrorCode::kInvalidArgument, "SamplerOptions.cpu_workers: must be ≥ 0, got {}", o.cpu_workers);
}

void validate_noise(const at::Tensor& noise) {
  if (!noise.defined() || noise.dim() != 4 || noise.size(0) < 1) {
    fail(ErrorCode::kInvalidArgument, "edm_sample: noise must be [N, C, R, R] with N ≥ 1, got {}",
         noise.defined() ? noise.sizes().vec() : std::vector<int64_t>{});
  }
}

at::Device module_device(torch::nn::Module& module) {
  const auto parameters = module.parameters();
  return parameters.empty() ? at::Device(at::kCPU) : parameters.front().device();
}

// Puts a module in eval mode for the guard's lifetime and restores its previous mode after.
class EvalModeGuard {
 public:
  // A module already in eval mode is not written to, so threads sampling from one network at once
  // (sample_images' workers) only read it.
  explicit EvalModeGuard(torch::nn::Module* module) : module_(module), was_training_(module && module->is_training()) {
    if (was_training_) module_->eval();
  }
  ~EvalModeGuard() {
    if (was_training_) module_->train(true);
  }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  torch::nn::Module* module_;
  bool was_training_;
};

}  // namespace

void validate_sampler_options(const SamplerOptions& options, const Precond* guide) {
  validate_loop(options);
  if (options.guidance != 1 && guide == nullptr) {
    fail(ErrorCode::kInvalidArgument, "SamplerOptions.guidance: {} needs a guide network (1 = no guidance)",
         options.guidance);
  }
}

std::vector<double> edm_sigma_steps(const SamplerOptions& options) {
  validate_schedule(options);
  // §9: σ_i = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, then σ_N = 0. N = 1 starts at σ_max.
  const double a = std::pow(options.sigma_max, 1 / options.rho);
  const double b = std::pow(options.sigma_min, 1 / options.rho);
  const int n = options.num_steps;
  std::vector<double> sigmas;
  sigmas.reserve(n + 1);
  for (int i = 0; i < n; ++i) {
    const double t = n == 1 ? 0.0 : static_cast<double>(i) / (n - 1);
    sigmas.push_back(std::pow(a + t * (b - a), options.rho));
  }
  sigmas.push_back(0);
  return sigmas;
}

std::vector<double> sigma_steps(const SamplerOptions& options) {
  if (options.schedule == Schedule::kEdmRho) return edm_sigma_steps(options);
  validate_schedule(options);
  // solvers.md §1: log σ_i evenly spaced from log σ_max to log σ_min, then σ_N = 0.
  const int n = options.num_steps;
  const double a = std::log(options.sigma_max), b = std::log(options.sigma_min);
  std::vector<double> sigmas;
  sigmas.reserve(n + 1);
  for (int i = 0; i < n; ++i) sigmas.push_back(std::exp(a + (n == 1 ? 0.0 : static_cast<double>(i) / (n - 1)) * (b - a)));
  sigmas.front() = options.sigma_max;  // the ends exactly, not through exp(log(·))
  if (n > 1) sigmas[n - 1] = options.sigma_min;
  sigmas.push_back(0);
  return sigmas;
}

int network_evaluations(const SamplerOptions& options) {
  return options.solver == Solver::kHeun ? 2 * options.num_steps - 1 : options.num_steps;
}

bool draws_noise(const SamplerOptions& options) {
  if (churns(options)) return options.s_churn > 0;
  return options.solver != Solver::kDpmpp2m && options.eta > 0;
}

SeedGenerators::SeedGenerators(const std::vector<uint64_t>& seeds) {
  generators_.reserve(seeds.size());
  for (const uint64_t seed : seeds) generators_.push_back(at::make_generator<at::CPUGeneratorImpl>(seed));
}

at::Tensor SeedGenerators::randn(const std::vector<int64_t>& shape) {
  std::vector<int64_t> sizes{static_cast<int64_t>(generators_.size())};
  sizes.insert(sizes.end(), shape.begin(), shape.end());
  at::Tensor out = at::empty(sizes, at::TensorOptions().dtype(at::kFloat));
  for (size_t i = 0; i < generators_.size(); ++i) out.select(0, static_cast<int64_t>(i)).normal_(0, 1, generators_[i]);
  return out;
}

SeedGenerators SeedGenerators::range(size_t begin, size_t count) const {
  if (begin + count > generators_.size()) {
    fail(ErrorCode::kInvalidArgument, "SeedGenerators::range: {}+{} exceeds {} streams", begin, count, generators_.size());
  }
  SeedGenerators out;
  out.generators_.assign(generators_.begin() + static_cast<std::ptrdiff_t>(begin),
                         generators_.begin() + static_cast<std::ptrdiff_t>(begin + count));
  return out;
}

at::Tensor edm_sample_with(const Denoiser& denoise, const at::Tensor& noise, const SamplerOptions& options,
                           SeedGenerators* churn_noise, const SamplerObserver& observer) {
  validate_loop(options);
  validate_noise(noise);
  const int64_t n = noise.size(0);
  if (draws_noise(options) && (churn_noise == nullptr || churn_noise->size() != static_cast<size_t>(n))) {
    fail(ErrorCode::kInvalidArgument, "edm_sample: these SamplerOptions draw noise: they need noise streams for all {} images", n);
  }
  at::NoGradGuard no_grad;
  const std::vector<double> sigmas = sigma_steps(options);
  // fp32 throughout, noise levels included, as the reference computes.
  const at::Tensor x = noise.to(at::kFloat) * static_cast<float>(sigmas[0]);
  switch (options.solver) {
    case Solver::kHeun:
    case Solver::kEuler: return heun_or_euler_loop(denoise, x, sigmas, options, churn_noise, observer);
    case Solver::kDpmpp2m: return dpmpp_2m_loop(denoise, x, sigmas, observer);
    case Solver::kDpmpp2mSde: return dpmpp_2m_sde_loop(denoise, x, sigmas, options, churn_noise, observer);
    case Solver::kEulerAncestral: return euler_ancestral_loop(denoise, x, sigmas, options, churn_noise, observer);
  }
  fail(ErrorCode::kInvalidArgument, "SamplerOptions.solver: unknown value {}", static_cast<int>(options.solver));
}

at::Tensor edm_sample(Precond& net, Precond* guide, const at::Tensor& noise, const at::Tensor& labels,
                      const SamplerOptions& options, SeedGenerators* churn_noise, const SamplerObserver& observer) {
  validate_sampler_options(options, guide);
  validate_noise(noise);
  // w = 1 is the main network alone: the guide is never touched.
  Precond* const used_guide = options.guidance == 1 ? nullptr : guide;
  const at::Device device = module_device(*net);
  if (used_guide != nullptr && module_device(**used_guide) != device) {
    fail(ErrorCode::kInvalidArgument, "edm_sample: the guide is on {}, the network on {}", module_device(**used_guide).str(),
         device.str());
  }
  const int64_t label_dim = net->options().label_dim;
  if (labels.defined() &&
      (labels.dim() != 2 || labels.size(0) != noise.size(0) || (label_dim > 0 && labels.size(1) != label_dim))) {
    fail(ErrorCode::kInvalidArgument, "edm_sample: labels must be [N, {}] for noise {}, got {}", label_dim,
         noise.sizes().vec(), labels.sizes().vec());
  }

  at::NoGradGuard no_grad;
  const EvalModeGuard net_mode(net.get());
  const EvalModeGuard guide_mode(used_guide != nullptr ? used_guide->get() : nullptr);
  const at::Tensor class_labels = labels.defined() ? labels.to(device, at::kFloat) : labels;
  const double w = options.guidance;

  // Guided denoiser (§9): D̃ = D_guide + w·(D_main − D_guide), both nets on the same x, σ and labels.
  // σ is a device tensor so that a captured graph reads each call's value, not the first one's.
  const kernels::GraphedCall::Function network_call = [&](const std::vector<at::Tensor>& in) {
    const at::Tensor &x = in[0], &sigma = in[1];
    const at::Tensor main = net->forward(x, sigma, class_labels).denoised;
    if (used_guide == nullptr) return main;
    return at::lerp((*used_guide)->forward(x, sigma, class_labels).denoised, main, w);
  };
  const bool graphed = options.cuda_graphs.value_or(kernels::GraphedCall::has_graphs(device));
  kernels::GraphedCall graph(network_call, "SamplerConfig.cuda_graphs");
  const Denoiser denoise = [&](const at::Tensor& x, double sigma) {
    const std::vector<at::Tensor> in{x, at::scalar_tensor(sigma, x.options())};
    return graphed ? graph(in) : network_call(in);
  };
  return edm_sample_with(denoise, noise.to(device), options, churn_noise, observer);
}

at::Tensor one_hot_labels(const std::vector<int64_t>& labels, int64_t label_dim) {
  at::Tensor out = at::zeros({static_cast<int64_t>(labels.size()), label_dim}, at::TensorOptions().dtype(at::kFloat));
  auto rows = out.accessor<float, 2>();
  for (size_t i = 0; i < labels.size(); ++i) {
    const int64_t label = labels[i];
    if (label < -1 || label >= label_dim) {
      fail(ErrorCode::kInvalidArgument, "label {} of image {}: must be -1 (none) or in [0, {})", label, i, label_dim);
    }
    if (label >= 0) rows[static_cast<int64_t>(i)][label] = 1;
  }
  return out;
}

at::Tensor sample_images(Precond& net, Precond* guide, const std::vector<uint64_t>& seeds,
                         const std::vector<int64_t>& labels, const SamplerOptions& options) {
  validate_sampler_options(options, guide);
  if (seeds.empty()) fail(ErrorCode::kInvalidArgument, "sample_images: no seeds");
  if (!labels.empty() && labels.size() != seeds.size()) {
    fail(ErrorCode::kInvalidArgument, "sample_images: {} labels for {} seeds", labels.size(), seeds.size());
  }
  const ModelOptions& model = net->options();
  // No labels: the network itself uses an all-zero label row.
  const at::Tensor class_labels = labels.empty() ? at::Tensor() : one_hot_labels(labels, model.label_dim);

  // Every image's noise comes first from its own stream; its churn noise then continues that stream.
  SeedGenerators generators(seeds);
  const at::Tensor noise = generators.randn({model.img_channels, model.img_resolution, model.img_resolution});
  const int64_t n = noise.size(0);
  const bool on_cpu = module_device(*net).is_cpu();
  const int64_t workers = !on_cpu ? 1 : options.cpu_workers > 0 ? options.cpu_workers : default_job_count();
  const EvalModeGuard net_mode(net.get());
  // w = 1 never touches the guide (edm_sample does not use it).
  const EvalModeGuard guide_mode(guide != nullptr && options.guidance != 1 ? guide->get() : nullptr);

  // Images begin..begin+count-1, in one call.
  auto sample_part = [&](int64_t begin, int64_t count) {
    SeedGenerators part_generators = generators.range(static_cast<size_t>(begin), static_cast<size_t>(count));
    const at::Tensor part_labels = class_labels.defined() ? class_labels.narrow(0, begin, count) : at::Tensor();
    return edm_sample(net, guide, noise.narrow(0, begin, count), part_labels, options, &part_generators).cpu();
  };
  std::vector<at::Tensor> batches;
  for (int64_t begin = 0; begin < n; begin += options.batch_size) {
    const int64_t count = std::min(options.batch_size, n - begin);
    const int64_t parts = std::min(workers, count);
    if (parts <= 1) {
      batches.push_back(sample_part(begin, count));
      continue;
    }
    std::vector<at::Tensor> results(static_cast<size_t>(parts));
    run_single_threaded_jobs(parts, [&](int64_t k) {
      const PartRange part = part_range(count, parts, k);
      results[static_cast<size_t>(k)] = sample_part(begin + part.first, part.count);
    });
    batches.insert(batches.end(), results.begin(), results.end());
  }
  return at::cat(batches);
}

at::Tensor images_to_uint8(const at::Tensor& images) {
  if (images.dim() != 4 || !at::isFloatingType(images.scalar_type())) {
    fail(ErrorCode::kInvalidArgument, "images_to_uint8: expected floating [N, C, R, R], got {} {}",
         c10::toString(images.scalar_type()), images.sizes().vec());
  }
  // EDM2 §10: clip(x·127.5 + 128, 0, 255), truncated toward zero by the conversion.
  return (images.to(at::kFloat) * 127.5f + 128.0f).clamp(0, 255).to(at::kByte);
}

at::Tensor make_grid(const at::Tensor& images, int64_t columns) {
  if (images.dim() != 4 || images.scalar_type() != at::kByte || images.size(0) < 1) {
    fail(ErrorCode::kInvalidArgument, "make_grid: expected uint8 [N, C, H, W] with N ≥ 1, got {} {}",
         c10::toString(images.scalar_type()), images.sizes().vec());
  }
  if (columns < 0) fail(ErrorCode::kInvalidArgument, "make_grid: columns must be ≥ 0, got {}", columns);
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  if (columns == 0) {
    columns = static_cast<int64_t>(std::sqrt(static_cast<double>(n)));
    while (columns * columns < n) ++columns;
  }
  columns = std::min(columns, n);  // more columns than images: one row, no empty cells
  const int64_t rows = (n + columns - 1) / columns;
  at::Tensor cells = at::zeros({rows * columns, c, h, w}, images.options());
  cells.narrow(0, 0, n).copy_(images);
  // [rows, columns, C, H, W] → [C, rows, H, columns, W]: cell (r, k) lands at rows r·H.., columns k·W...
  return cells.reshape({rows, columns, c, h, w}).permute({2, 0, 3, 1, 4}).reshape({c, rows * h, columns * w});
}

}  // namespace diffuse
