#include "optim/adam.h"

#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/version.h>

namespace diffuse {

Adam::Adam(std::vector<at::Tensor> params, AdamOptions options) : params_(std::move(params)), options_(options) {
  for (const at::Tensor& p : params_) {
    exp_avg_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
  }
}

void Adam::step(double lr, double beta1) {
  at::NoGradGuard no_grad;
  const double beta2 = options_.beta2;
  ++step_count_;
  beta1_product_ *= beta1;
  beta2_product_ *= beta2;
  const double bias_correction1 =
      options_.exact_bias_correction ? 1 - beta1_product_ : 1 - std::pow(beta1, static_cast<double>(step_count_));
  const double bias_correction2_sqrt = std::sqrt(1 - beta2_product_);
  const double step_size = lr / bias_correction1;
#if TORCH_VERSION_MAJOR >= 2
  if (options_.multi_tensor) {
    // The loop below, one operation at a time over every parameter that has a gradient.
    std::vector<at::Tensor> params, grads, exp_avg, exp_avg_sq;
    for (size_t i = 0; i < params_.size(); ++i) {
      if (!params_[i].grad().defined()) continue;
      params.push_back(params_[i]);
      grads.push_back(params_[i].grad());
      exp_avg.push_back(exp_avg_[i]);
      exp_avg_sq.push_back(exp_avg_sq_[i]);
    }
    if (params.empty()) return;
    at::_foreach_lerp_(exp_avg, grads, 1 - beta1);
    at::_foreach_mul_(exp_avg_sq, beta2);
    at::_foreach_addcmul_(exp_avg_sq, grads, grads, 1 - beta2);
    std::vector<at::Tensor> denom = at::_foreach_sqrt(exp_avg_sq);
    at::_foreach_div_(denom, bias_correction2_sqrt);
    at::_foreach_add_(denom, options_.eps);
    at::_foreach_addcdiv_(params, exp_avg, denom, -step_size);
    return;
  }
#endif
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    exp_avg_[i].lerp_(g, 1 - beta1);
    exp_avg_sq_[i].mul_(beta2).addcmul_(g, g, 1 - beta2);
    const at::Tensor denom = (exp_avg_sq_[i].sqrt() / bias_correction2_sqrt).add_(options_.eps);
    p.addcdiv_(exp_avg_[i], denom, -step_size);
  }
}

void Adam::restore_counters(int64_t step_count, double beta1_product, double beta2_product) {
  step_count_ = step_count;
  beta1_product_ = beta1_product;
  beta2_product_ = beta2_product;
}

void Adam::zero_grad() {
  std::vector<at::Tensor> grads;
  for (at::Tensor& p : params_) {
    if (p.grad().defined()) grads.push_back(p.mutable_grad());
  }
  if (options_.multi_tensor && !grads.empty()) {
    at::_foreach_zero_(grads);
  } else {
    for (at::Tensor& g : grads) g.zero_();
  }
}

}  // namespace diffuse
