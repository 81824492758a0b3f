// Loss statistics accumulated between two stats.jsonl lines: the mean loss per element overall and
// per σ bin (10 bins, log-spaced over the sampler range 0.002..80, open at both ends). Accumulated in
// float64 on the CPU so a resumed run reproduces them exactly.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace diffuse {

class TrainingStats {
 public:
  static constexpr int kBins = 10;

  // Upper σ edge of bin i (i < kBins - 1); the last bin is open.
  static double bin_upper_edge(int i);
  static int bin_of(double sigma);

  // sigma [n], per_image_loss [n]: each image's loss averaged over its elements.
  void add(const at::Tensor& sigma, const at::Tensor& per_image_loss);
  void reset();

  int64_t count() const { return count_; }
  double mean_loss() const;                // NaN when empty
  std::vector<double> mean_loss_per_bin() const;  // NaN for empty bins
  std::vector<int64_t> count_per_bin() const;     // images per σ bin: the sampled distribution

  // Exact state for checkpoints: [sum, count, bin sums..., bin counts...] as float64.
  at::Tensor state() const;
  // Throws Error(kCorruptFile) naming `what` (the file and tensor) for a state of another size or type,
  // or a count that is not a whole number from 0 to 2^53.
  void load_state(const at::Tensor& state, const std::string& what);

 private:
  double sum_ = 0;
  int64_t count_ = 0;
  std::array<double, kBins> bin_sum_{};
  std::array<int64_t, kBins> bin_count_{};
};

}  // namespace diffuse
