#include "nn/mp_conv.h"

#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "cuda/fused_ops.h"
#include "nn/mp_ops.h"
#include "util/error.h"

namespace diffuse {

MPConvImpl::MPConvImpl(int64_t in_channels, int64_t out_channels, std::vector<int64_t> kernel) {
  std::vector<int64_t> shape{out_channels, in_channels};
  shape.insert(shape.end(), kernel.begin(), kernel.end());
  weight_ = register_parameter("weight", at::randn(shape));
}

at::Tensor MPConvImpl::normalized_weight() {
  // For an fp32 parameter this is the parameter itself (shared storage), so the differentiable
  // normalization below sees the already force-normalized values.
  at::Tensor w = weight_.to(at::kFloat);
  if (is_training() && !external_force_) force_normalize();
  return normalize_rows(w);
}

void MPConvImpl::force_normalize() {
  const at::NoGradGuard no_grad;
  weight_.copy_(normalize_rows(weight_.to(at::kFloat)));
}

at::Tensor MPConvImpl::normalize_rows(const at::Tensor& w) const {
  if (!fused_normalize_ || !kernels::has_fused_ops(w.device())) return normalize(w);
  return kernels::fused_normalize(w.reshape({w.size(0), -1}), 1).view(w.sizes());
}

at::Tensor MPConvImpl::apply(const at::Tensor& x, const at::Tensor& w) const {
  const at::Tensor wx = w.to(x.scalar_type());
  if (wx.dim() == 2) return at::matmul(x, wx.t());
  return at::conv2d(x, wx, /*bias=*/{}, /*stride=*/1, /*padding=*/wx.size(-1) / 2);
}

std::pair<at::Tensor, at::Tensor> MPConvImpl::inference_weights(double scale) {
  const double fan_in = static_cast<double>(weight_[0].numel());
  if (is_training() || at::GradMode::is_enabled()) {
    at::Tensor w = normalized_weight();
    return {w, at::Tensor()};
  }
  std::lock_guard<std::mutex> lock(cache_.mutex);
  const bool current =
      cache_.data == weight_.data_ptr() && cache_.version == static_cast<int64_t>(weight_._version());
  if (!current) {
    cache_.normalized = normalized_weight();
    cache_.data = weight_.data_ptr();
    cache_.version = static_cast<int64_t>(weight_._version());
  }
  if (!current || !cache_.scaled.defined() || cache_.scale != scale) {
    cache_.scaled = cache_.normalized * (scale / std::sqrt(fan_in));
    cache_.scale = scale;
  }
  return {cache_.normalized, cache_.scaled};
}

at::Tensor MPConvImpl::forward(const at::Tensor& x) {
  auto [w, scaled] = inference_weights(1.0);
  if (scaled.defined()) return apply(x, scaled);
  const double fan_in = static_cast<double>(w[0].numel());
  return apply(x, w * (1.0 / std::sqrt(fan_in)));
}

at::Tensor MPConvImpl::forward(const at::Tensor& x, const at::Tensor& gain) {
  const at::Tensor w = inference_weights(1.0).first;
  const double fan_in = static_cast<double>(w[0].numel());
  return apply(x, w * (gain / std::sqrt(fan_in)));
}

at::Tensor MPConvImpl::forward_folded(const at::Tensor& x, double scale) {
  const at::Tensor scaled = inference_weights(scale).second;
  if (!scaled.defined()) fail(ErrorCode::kInternal, "MPConv::forward_folded: called in training or under autograd");
  return apply(x, scaled);
}

at::Tensor MPConvImpl::forward_folded(const at::Tensor& x, const at::Tensor& gain, double scale) {
  // The gain is a parameter read on the device (no host synchronisation); only ŵ is cached.
  const auto [w, scaled] = inference_weights(scale);
  if (!scaled.defined()) fail(ErrorCode::kInternal, "MPConv::forward_folded: called in training or under autograd");
  const double fan_in = static_cast<double>(w[0].numel());
  return apply(x, w * (gain * (scale / std::sqrt(fan_in))));
}

std::vector<std::shared_ptr<MPConvImpl>> find_mp_convs(torch::nn::Module& root) {
  std::vector<std::shared_ptr<MPConvImpl>> convs;
  for (const std::shared_ptr<torch::nn::Module>& module : root.modules(/*include_self=*/true)) {
    if (auto conv = std::dynamic_pointer_cast<MPConvImpl>(module)) convs.push_back(std::move(conv));
  }
  return convs;
}

}  // namespace diffuse
