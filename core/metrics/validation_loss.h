// Validation loss at fixed noise levels (data README "Measuring sample quality"): held-out images,
// fixed noise, σ at 10 log-spaced values from 0.002 to 80, weighted with EDM's λ(σ) whatever the
// training weighting, so that curves from different methods compare.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "nn/precond.h"

namespace diffuse {

struct ValidationResult {
  std::vector<double> sigmas;
  std::vector<double> losses;  // λ(σ)·mean over images and elements of (D − y)², per σ
  double mean = 0;             // mean over σ
};

class Validator {
 public:
  // images: float [N, C, R, R] in [-1, 1] (CPU); labels: one-hot [N, L] or undefined. The noise for
  // σ index s is drawn from a generator seeded with seed + s: the same at every evaluation.
  Validator(at::Tensor images, at::Tensor labels, uint64_t seed, double sigma_data);

  // The 10 σ values, 0.002 · (80/0.002)^(i/9).
  static std::vector<double> sigmas();

  // Evaluates `net` in eval mode without gradients (its train/eval mode is restored afterwards).
  ValidationResult evaluate(Precond& net, int64_t batch_size) const;

 private:
  at::Tensor images_, labels_;
  uint64_t seed_;
  double sigma_data_;
};

}  // namespace diffuse
