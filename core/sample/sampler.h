// Sampling EDM-preconditioned networks (spec edm2.md §9, solvers.md): EDM's Heun (2nd order) or Euler
// with optional stochastic churn, DPM-Solver++(2M), its SDE variant and Euler ancestral
// (sample/solvers.h), on the ρ-schedule or a log-linear one of noise levels, and guidance
// D̃ = D_guide + w·(D_main − D_guide) by a second network (classic CFG with an unconditional guide, or
// autoguidance with a weaker model).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "nn/precond.h"

namespace diffuse {

enum class Solver {
  kHeun,            // EDM's 2nd-order method, 2N − 1 network evaluations (edm2.md §9)
  kEuler,           // 1st order, N evaluations
  kDpmpp2m,         // DPM-Solver++(2M), 2nd-order multistep, N evaluations (solvers.md §2)
  kDpmpp2mSde,      // its stochastic variant (§3)
  kEulerAncestral,  // Euler with ancestral noise (§4)
};

enum class Schedule {
  kEdmRho,     // σ_i = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ
  kLogLinear,  // log σ_i evenly spaced from log σ_max to log σ_min
};

struct SamplerOptions {
  int num_steps = 32;  // N ≥ 1
  double sigma_min = 0.002;
  double sigma_max = 80;
  double rho = 7;
  Solver solver = Solver::kHeun;
  Schedule schedule = Schedule::kEdmRho;
  double eta = 1;  // in [0, 1]: the noise share of kDpmpp2mSde and kEulerAncestral (0: deterministic)
  // Stochastic churn of kHeun and kEuler (off when s_churn = 0).
  double s_churn = 0;
  double s_min = 0;
  double s_max = std::numeric_limits<double>::infinity();
  double s_noise = 1;  // scale of every fresh noise draw (churn, SDE, ancestral)
  double guidance = 1;     // w; 1 never evaluates the guide
  int64_t batch_size = 32; // images per network call
  // On the CPU, each batch is split over this many threads with single-threaded math
  // (run_single_threaded_jobs); 0 = one per intra-op thread but no more than the CPUs the process may
  // use (util/cpu_count.h), 1 = one call with intra-op threads.
  // Ignored on CUDA.
  int cpu_workers = 0;
  // Each network call (both networks and the guidance mix) replayed as one CUDA graph from the second
  // call of a batch on (cuda/graphed_call.h): the same kernels on the same values, launched at once.
  // Unset: on CUDA. On the CPU, true runs the calls on the graph's static buffers without a graph.
  std::optional<bool> cuda_graphs;
};

// Throws Error(kInvalidArgument) naming the first invalid option. A guide is required iff guidance ≠ 1.
void validate_sampler_options(const SamplerOptions& options, const Precond* guide);

// σ_0..σ_{N-1} of the ρ-schedule followed by σ_N = 0 (N + 1 values), in float64.
std::vector<double> edm_sigma_steps(const SamplerOptions& options);
// The same for options.schedule (solvers.md §1).
std::vector<double> sigma_steps(const SamplerOptions& options);

// Network evaluations of one sampling run (per network; guidance doubles them).
int network_evaluations(const SamplerOptions& options);

// Whether the options draw fresh noise during sampling (then the per-seed streams are needed).
bool draws_noise(const SamplerOptions& options);

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
// weights) or undefined; guide may be null (then guidance must be 1). churn_noise supplies every fresh
// noise draw (churn, SDE, ancestral; row i from image i's stream); it may be null when
// draws_noise(options) is false. Runs without autograd,
// in eval mode, in the networks' device; returns the final images [N, C, R, R] (float32, ≈ [-1, 1]).
at::Tensor edm_sample(Precond& net, Precond* guide, const at::Tensor& noise, const at::Tensor& labels,
                      const SamplerOptions& options, SeedGenerators* churn_noise = nullptr,
                      const SamplerObserver& observer = {});

// The sampler loop on any denoiser (edm_sample runs it on the guided networks), from x_0 = σ_0·noise,
// in noise's device, without autograd. Evaluates the denoiser network_evaluations(options) times.
at::Tensor edm_sample_with(const Denoiser& denoise, const at::Tensor& noise, const SamplerOptions& options,
                           SeedGenerators* churn_noise = nullptr, const SamplerObserver& observer = {});

// One-hot rows [N, label_dim] (fp32, CPU) for classes labels[i]; -1 gives an all-zero row. Throws
// Error(kInvalidArgument) for a label < -1 or ≥ label_dim.
at::Tensor one_hot_labels(const std::vector<int64_t>& labels, int64_t label_dim);

// Generates one image per seed: noise from SeedGenerators(seeds), labels[i] the class of image i (-1 =
// no label: an all-zero label row; an empty list leaves every image unlabelled), processed in batches
// of options.batch_size, each split over options.cpu_workers on the CPU. Returns [N, C, R, R] float32
// on the CPU. An image's noise and churn noise depend only on its seed; the network's kernels choose
// their algorithms by batch size, so another batching or worker count reproduces an image to float
// rounding (bit for bit at the same batching and worker count).
at::Tensor sample_images(Precond& net, Precond* guide, const std::vector<uint64_t>& seeds,
                         const std::vector<int64_t>& labels, const SamplerOptions& options);

// float images ≈ [-1, 1] → uint8 [N, C, R, R]: clip(x·127.5 + 128, 0, 255), truncated (EDM2 §10).
at::Tensor images_to_uint8(const at::Tensor& images);

// Tiles uint8 [N, C, H, W] into one uint8 [C, rows·H, columns·W] image, row-major; columns = 0 picks
// ceil(sqrt(N)), more than N are N. Unused cells are black.
at::Tensor make_grid(const at::Tensor& images, int64_t columns = 0);

}  // namespace diffuse
