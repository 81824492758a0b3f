// The EDM sampler (spec edm2.md §9): Heun's 2nd-order method (or Euler) on the ρ-schedule of noise
// levels, optional stochastic churn, and guidance D̃ = D_guide + w·(D_main − D_guide) by a second
// network (classic CFG with an unconditional guide, or autoguidance with a weaker model).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include <ATen/core/Tensor.h>

#include "nn/precond.h"

namespace diffuse {

struct SamplerOptions {
  int num_steps = 32;  // N ≥ 1
  double sigma_min = 0.002;
  double sigma_max = 80;
  double rho = 7;
  bool heun = true;  // false: Euler (1st order) at every step
  // Stochastic churn (off when s_churn = 0).
  double s_churn = 0;
  double s_min = 0;
  double s_max = std::numeric_limits<double>::infinity();
  double s_noise = 1;
  double guidance = 1;     // w; 1 never evaluates the guide
  int64_t batch_size = 32; // images per network call
};

// Throws Error(kInvalidArgument) naming the first invalid option. A guide is required iff guidance ≠ 1.
void validate_sampler_options(const SamplerOptions& options, const Precond* guide);

// σ_0..σ_{N-1} of the ρ-schedule followed by σ_N = 0 (N + 1 values), in float64.
std::vector<double> edm_sigma_steps(const SamplerOptions& options);

// Called after each step i with σ_{i+1}, the new state x_{i+1} and the denoised estimate that step
// used, D̃(x̂_i; σ̂_i). Used by the consistency measure; may be empty.
using SamplerObserver = std::function<void(int step, double sigma_next, const at::Tensor& x, const at::Tensor& denoised)>;

// A denoiser D(x; σ) for the sampler loop: x [N, C, R, R], σ one noise level for the whole batch.
using Denoiser = std::function<at::Tensor(const at::Tensor& x, double sigma)>;

// Per-image random streams: image i draws from its own generator seeded with seeds[i] (mod 2^64), so
// an image's random draws depend only on its seed, never on the batch it is generated in.
class SeedGenerators {
 public:
  explicit SeedGenerators(const std::vector<uint64_t>& seeds);
  // Unit normal noise [N, shape...] (float32, CPU), row i from generator i.
  at::Tensor randn(const std::vector<int64_t>& shape);
  size_t size() const { return generators_.size(); }
  // Streams begin..begin+count-1, sharing their state with this object (drawing from one advances both).
  SeedGenerators range(size_t begin, size_t count) const;

 private:
  SeedGenerators() = default;
  std::vector<at::Generator> generators_;
};

// Runs the sampler from x_0 = σ_0·noise. noise: [N, C, R, R] unit normal; labels: [N, L] (one-hot or
// weights) or undefined; guide may be null (then guidance must be 1). churn_noise supplies the ε′ of
// churn steps (row i from image i's stream); it may be null when s_churn = 0. Runs without autograd,
// in eval mode, in the networks' device; returns the final images [N, C, R, R] (float32, ≈ [-1, 1]).
at::Tensor edm_sample(Precond& net, Precond* guide, const at::Tensor& noise, const at::Tensor& labels,
                      const SamplerOptions& options, SeedGenerators* churn_noise = nullptr,
                      const SamplerObserver& observer = {});

// The sampler loop on any denoiser (edm_sample runs it on the guided networks), from x_0 = σ_0·noise,
// in noise's device, without autograd. Evaluates the denoiser 2N − 1 times with Heun, N with Euler.
at::Tensor edm_sample_with(const Denoiser& denoise, const at::Tensor& noise, const SamplerOptions& options,
                           SeedGenerators* churn_noise = nullptr, const SamplerObserver& observer = {});

// One-hot rows [N, label_dim] (fp32, CPU) for classes labels[i]; -1 gives an all-zero row. Throws
// Error(kInvalidArgument) for a label < -1 or ≥ label_dim.
at::Tensor one_hot_labels(const std::vector<int64_t>& labels, int64_t label_dim);

// Generates one image per seed: noise from SeedGenerators(seeds), labels[i] the class of image i (-1 =
// no label: an all-zero label row; an empty list leaves every image unlabelled), processed in batches
// of options.batch_size. Returns [N, C, R, R] float32 on the CPU. An image's noise and churn noise
// depend only on its seed; the network's kernels choose their algorithms by batch size, so another
// batching of the same seeds reproduces an image to float rounding (bit for bit at the same batching).
at::Tensor sample_images(Precond& net, Precond* guide, const std::vector<uint64_t>& seeds,
                         const std::vector<int64_t>& labels, const SamplerOptions& options);

// float images ≈ [-1, 1] → uint8 [N, C, R, R]: clip(x·127.5 + 128, 0, 255), truncated (EDM2 §10).
at::Tensor images_to_uint8(const at::Tensor& images);

// Tiles uint8 [N, C, H, W] into one uint8 [C, rows·H, columns·W] image, row-major; columns = 0 picks
// ceil(sqrt(N)). Unused cells are black.
at::Tensor make_grid(const at::Tensor& images, int64_t columns = 0);

}  // namespace diffuse
