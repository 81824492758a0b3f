// Kim et al.'s task-difficulty cluster curriculum (spec methods.md §3.4). The base is cut into N
// clusters of equal base mass, C_1 the cleanest (hardest) to C_N the noisiest (easiest); stage m
// trains on the m noisiest, A_m = C_{N−m+1} ∪ … ∪ C_N, and stage N is the base itself. Stages advance
// on a loss plateau (stateful, checkpointed) or on a fixed progress schedule.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "noise/base_samplers.h"

namespace diffuse {

struct ClusterOptions {
  int num_clusters = 20;
  bool equal_log_width = false;  // clusters of equal width in ln σ over [0.002, 80]
  bool plateau = true;           // PLATEAU pacing; FIXED otherwise
  int patience = 200;
  double smoothing = 0.99;
  double min_delta = 0;
  double fixed_fraction = 0.1;
  int64_t fixed_stage_iterations = 0;
};

// Equal-mass boundaries σ^(i) = Q0(i/N), i = 1..N−1.
std::vector<double> cluster_boundaries(const SigmaDensity& density, int num_clusters);

// FIXED pacing: m = min(N, 1 + ⌊n/S⌋) when S > 0, else min(N, 1 + ⌊p(N − 1)/f⌋).
int64_t fixed_stage(const ClusterOptions& options, const TrainingProgress& progress);

// PLATEAU pacing (§3.4): the smoothed loss L̃, the best L̃ of the stage and the count c of iterations
// without a new best; after `patience` of them the next stage starts with best and L̃ reset.
class PlateauPacer {
 public:
  PlateauPacer(int num_clusters, int patience, double smoothing, double min_delta)
      : n_(num_clusters), patience_(patience), smoothing_(smoothing), min_delta_(min_delta) {}
  void observe(double loss);
  int64_t stage() const { return stage_; }
  // [m, c, best, L̃, fresh] as float64.
  at::Tensor state() const;
  void load_state(const at::Tensor& state);

 private:
  int n_, patience_;
  double smoothing_, min_delta_;
  int64_t stage_ = 1, count_ = 0;
  double best_ = std::numeric_limits<double>::infinity();
  double smoothed_ = 0;
  bool fresh_ = true;  // the next loss is the stage's first
};

class ClusterCurriculumNoise : public NoiseDistribution {
 public:
  ClusterCurriculumNoise(BaseNoise base, ClusterOptions options);
  at::Tensor sample_sigma(int64_t n, const TrainingProgress& progress, at::Generator generator,
                          at::Device device) const override;
  void observe_loss(double loss) override;
  bool paced_by_loss() const override { return true; }
  at::Tensor state() const override;
  void load_state(const at::Tensor& state) override;
  NoiseStatus status(const TrainingProgress& progress) const override;
  int64_t stage(const TrainingProgress& progress) const;

 private:
  BaseNoise base_;
  ClusterOptions options_;
  PlateauPacer pacer_;
};

}  // namespace diffuse
