// Axis 1 of a training recipe (spec methods.md §6): the distribution the training noise levels σ are
// drawn from. A base density (base_samplers.h) optionally modified by one curriculum (clts.h,
// cluster_curriculum.h). Progress-driven distributions recompute everything from p; the one stateful
// curriculum (loss-plateau pacing) exposes its state for checkpoints, so a resumed run draws the same
// values.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "diffuse.pb.h"

namespace diffuse {

// Training progress at the pre-step image count (§1.6).
struct TrainingProgress {
  double p = 0;           // nimg / duration, clamped to [0, 1]
  int64_t iteration = 0;  // optimizer steps taken before this one
};

// What stats.jsonl reports about the curriculum.
struct NoiseStatus {
  double strength = 0;  // CLTS: quantised s(p) or ω(p); 0 without a curriculum
  int64_t stage = 0;    // clusters: stage m (1..N); 0 without
};

class NoiseDistribution {
 public:
  virtual ~NoiseDistribution() = default;
  // n noise levels σ > 0, float32 [n] on `device`, drawn from `generator` (the iteration's stream).
  virtual at::Tensor sample_sigma(int64_t n, const TrainingProgress& progress, at::Generator generator,
                                  at::Device device) const = 0;
  // The optimised loss of each finished iteration (loss-plateau pacing); ignored by the others.
  virtual void observe_loss(double /*loss*/) {}
  // Whether observe_loss changes what the next iteration draws (so the trainer reads every step's loss).
  virtual bool paced_by_loss() const { return false; }
  // State a checkpoint must carry (float64), undefined when there is none.
  virtual at::Tensor state() const { return {}; }
  // Throws Error(kCorruptFile) if `state` does not fit.
  virtual void load_state(const at::Tensor& /*state*/) {}
  virtual NoiseStatus status(const TrainingProgress& /*progress*/) const { return {}; }
};

// The distribution a resolved NoiseConfig selects; sigma_data is the model's σ_d (DATA_NORMALIZED SNR,
// CLTS's default σ_d).
std::unique_ptr<NoiseDistribution> make_noise_distribution(const v1::NoiseConfig& config, double sigma_data);

// The σ at the q and 1 − q quantiles of the final training distribution (the base, or CLTS at full
// strength; the cluster curriculum ends in its base). For the sampler-coverage warning of §6.
std::pair<double, double> training_sigma_quantiles(const v1::NoiseConfig& config, double sigma_data, double q);

}  // namespace diffuse
