#include "metrics/feature_distances.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "util/error.h"

namespace diffuse {
namespace {

at::Tensor as_matrix(const at::Tensor& features, const char* what) {
  if (!features.defined() || features.dim() != 2 || features.size(0) < 2 || features.size(1) < 1) {
    fail(ErrorCode::kInvalidArgument, "{}: features must be [N, D] with N >= 2", what);
  }
  return features.to(at::kCPU, at::kDouble).contiguous();
}

void check_same_width(const at::Tensor& a, const at::Tensor& b, const char* what) {
  if (a.size(1) != b.size(1)) {
    fail(ErrorCode::kInvalidArgument, "{}: feature widths differ ({} vs {})", what, a.size(1), b.size(1));
  }
}

// Symmetric PSD square root through the eigen-decomposition.
at::Tensor psd_sqrt(const at::Tensor& m) {
  auto [values, vectors] = at::linalg_eigh(m);
  return at::matmul(vectors * values.clamp_min(0).sqrt().unsqueeze(0), vectors.transpose(0, 1));
}

// Distance from each row of x to its k-th nearest other row of x.
at::Tensor kth_neighbour_radius(const at::Tensor& x, int64_t k) {
  const at::Tensor d = at::cdist(x, x);
  // Column 0 of the sorted distances is the row itself (distance 0).
  return std::get<0>(d.sort(1)).select(1, k);
}

// Fraction of rows of `query` within the radius of at least one row of `support`.
double coverage(const at::Tensor& support, const at::Tensor& radius, const at::Tensor& query) {
  const at::Tensor d = at::cdist(query, support);  // [Q, S]
  const at::Tensor inside = (d <= radius.unsqueeze(0)).any(1);
  return inside.to(at::kDouble).mean().item<double>();
}

}  // namespace

GaussianFit fit_gaussian(const at::Tensor& features) {
  const at::Tensor x = as_matrix(features, "fit_gaussian");
  const at::Tensor mean = x.mean(0);
  const at::Tensor centred = x - mean;
  const at::Tensor covariance = at::matmul(centred.transpose(0, 1), centred) / static_cast<double>(x.size(0) - 1);
  return {mean, covariance};
}

double frechet_distance(const GaussianFit& a, const GaussianFit& b) {
  if (!a.mean.defined() || !b.mean.defined() || a.mean.numel() != b.mean.numel()) {
    fail(ErrorCode::kInvalidArgument, "frechet_distance: the Gaussians differ in dimension");
  }
  const at::Tensor root_a = psd_sqrt(a.covariance);
  at::Tensor cross = at::matmul(at::matmul(root_a, b.covariance), root_a);
  cross = (cross + cross.transpose(0, 1)) / 2;  // symmetric up to rounding; make it exactly so
  const double cross_trace = at::linalg_eigvalsh(cross).clamp_min(0).sqrt().sum().item<double>();
  const double mean_term = (a.mean - b.mean).square().sum().item<double>();
  return mean_term + a.covariance.trace().item<double>() + b.covariance.trace().item<double>() - 2 * cross_trace;
}

double kernel_distance(const at::Tensor& a, const at::Tensor& b, int64_t subsets, int64_t subset_size, uint64_t seed) {
  const at::Tensor x = as_matrix(a, "kernel_distance");
  const at::Tensor y = as_matrix(b, "kernel_distance");
  check_same_width(x, y, "kernel_distance");
  if (subsets < 1) fail(ErrorCode::kInvalidArgument, "kernel_distance: subsets {} < 1", subsets);
  const int64_t m = std::min({subset_size, x.size(0), y.size(0)});
  if (m < 2) fail(ErrorCode::kInvalidArgument, "kernel_distance: subset_size {} < 2", m);
  const double d = static_cast<double>(x.size(1));
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  double total = 0;
  for (int64_t s = 0; s < subsets; ++s) {
    const at::Tensor xs = x.index_select(0, at::randperm(x.size(0), generator, at::kLong).narrow(0, 0, m));
    const at::Tensor ys = y.index_select(0, at::randperm(y.size(0), generator, at::kLong).narrow(0, 0, m));
    const at::Tensor kxx = (at::matmul(xs, xs.transpose(0, 1)) / d + 1).pow(3);
    const at::Tensor kyy = (at::matmul(ys, ys.transpose(0, 1)) / d + 1).pow(3);
    const at::Tensor kxy = (at::matmul(xs, ys.transpose(0, 1)) / d + 1).pow(3);
    const double pairs = static_cast<double>(m) * static_cast<double>(m - 1);
    const double within = (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()).item<double>() / pairs;
    total += within - 2 * kxy.mean().item<double>();
  }
  return total / static_cast<double>(subsets);
}

PrecisionRecall precision_recall(const at::Tensor& real, const at::Tensor& generated, int64_t k) {
  const at::Tensor r = as_matrix(real, "precision_recall");
  const at::Tensor g = as_matrix(generated, "precision_recall");
  check_same_width(r, g, "precision_recall");
  if (k < 1 || k >= std::min(r.size(0), g.size(0))) {
    fail(ErrorCode::kInvalidArgument, "precision_recall: k = {} must be in [1, N) for both sets", k);
  }
  PrecisionRecall out;
  out.precision = coverage(r, kth_neighbour_radius(r, k), g);
  out.recall = coverage(g, kth_neighbour_radius(g, k), r);
  return out;
}

}  // namespace diffuse
