// Distances between two sets of feature vectors (data README "Measuring sample quality"): the Fréchet
// distance of their Gaussian fits, the kernel (KID-style) distance, and k-NN precision/recall. Features
// are [N, D] tensors on any device; every computation runs in float64 on the CPU.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace diffuse {

// Mean and covariance (unbiased, 1/(N−1)) of features [N, D], N ≥ 2.
struct GaussianFit {
  at::Tensor mean;        // [D] float64
  at::Tensor covariance;  // [D, D] float64
};
GaussianFit fit_gaussian(const at::Tensor& features);

// ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½): the Fréchet (2-Wasserstein²) distance of two Gaussians.
// The trace of the cross term is taken from the eigenvalues of the symmetric Σ₁^½ Σ₂ Σ₁^½ (negative
// rounding residue clipped to 0), so it is exact for PSD inputs, with no complex square roots.
double frechet_distance(const GaussianFit& a, const GaussianFit& b);

// Unbiased MMD² with the cubic polynomial kernel k(x, y) = (x·y / D + 1)³, averaged over `subsets`
// random subsets of `subset_size` vectors from each set (without replacement within a subset;
// subset_size is capped at the smaller set), drawn from `seed`. ≈ 0 (and may be slightly negative)
// for two samples of one distribution.
double kernel_distance(const at::Tensor& a, const at::Tensor& b, int64_t subsets, int64_t subset_size, uint64_t seed);

// Improved precision and recall (k-NN manifolds): precision is the fraction of `generated` vectors
// inside the union of balls around the `real` vectors, each ball's radius the distance to its k-th
// nearest other real vector; recall the same with the roles swapped.
struct PrecisionRecall {
  double precision = 0;
  double recall = 0;
};
PrecisionRecall precision_recall(const at::Tensor& real, const at::Tensor& generated, int64_t k);

}  // namespace diffuse
