#include "nn/mp_ops.h"

#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

namespace diffuse {

at::Tensor normalize(const at::Tensor& x, std::vector<int64_t> dims, double eps) {
  if (dims.empty()) {
    for (int64_t d = 1; d < x.dim(); ++d) dims.push_back(d);
  }
  // fp32 accumulation for fp16/bf16/fp32 inputs; fp64 stays fp64.
  const at::ScalarType acc = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const at::Tensor norm = at::linalg_vector_norm(x, 2, dims, /*keepdim=*/true, acc);
  // RMS = ‖x‖ / sqrt(n_D); eps is added to the RMS, not inside it.
  const double inv_sqrt_n = std::sqrt(static_cast<double>(norm.numel()) / static_cast<double>(x.numel()));
  return x / norm.mul(inv_sqrt_n).add(eps).to(x.scalar_type());
}

at::Tensor mp_silu(const at::Tensor& x) { return at::silu(x) / kSiluRms; }

at::Tensor mp_sum(const at::Tensor& a, const at::Tensor& b, double t) {
  return a.lerp(b, t) / std::sqrt((1 - t) * (1 - t) + t * t);
}

at::Tensor mp_cat(const at::Tensor& a, const at::Tensor& b, double t, int64_t dim) {
  const double na = static_cast<double>(a.size(dim));
  const double nb = static_cast<double>(b.size(dim));
  const double c = std::sqrt((na + nb) / ((1 - t) * (1 - t) + t * t));
  const double wa = c / std::sqrt(na) * (1 - t);
  const double wb = c / std::sqrt(nb) * t;
  if (at::GradMode::is_enabled()) return at::cat({wa * a, wb * b}, dim);
  // Without autograd each input is scaled straight into its part of the output: one pass, and the
  // output keeps the inputs' memory format (channels-last while sampling).
  std::vector<int64_t> sizes = a.sizes().vec();
  sizes[static_cast<size_t>(dim)] += b.size(dim);
  at::Tensor out = at::empty(sizes, a.options().memory_format(a.suggest_memory_format()));
  at::Tensor part_a = out.narrow(dim, 0, a.size(dim)), part_b = out.narrow(dim, a.size(dim), b.size(dim));
  at::mul_out(part_a, a, at::scalar_tensor(wa, at::kDouble));
  at::mul_out(part_b, b, at::scalar_tensor(wb, at::kDouble));
  return out;
}

at::Tensor resample(const at::Tensor& x, Resample mode) {
  switch (mode) {
    case Resample::kKeep:
      return x;
    case Resample::kDown:
      return at::avg_pool2d(x, {2, 2});
    case Resample::kUp: {
      const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
      // The same copies; upsample_nearest2d keeps a channels-last input channels-last (its backward
      // sums each 2×2 window as the expand's does, in another order).
      if (!at::GradMode::is_enabled() || x.suggest_memory_format() == at::MemoryFormat::ChannelsLast) {
        return at::upsample_nearest2d(x, std::vector<int64_t>{2 * h, 2 * w}, c10::nullopt, c10::nullopt);
      }
      return x.reshape({n, c, h, 1, w, 1}).expand({n, c, h, 2, w, 2}).reshape({n, c, 2 * h, 2 * w});
    }
  }
  return x;
}

}  // namespace diffuse
