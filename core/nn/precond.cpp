#include "nn/precond.h"

#include <ATen/ATen.h>

namespace diffuse {
namespace {

at::ScalarType body_dtype(const ModelOptions& o, const at::Tensor& x, bool force_fp32) {
  if (force_fp32 || !x.is_cuda()) return at::kFloat;
  switch (o.precision) {
    case Precision::kFp16: return at::kHalf;
    case Precision::kBf16: return at::kBFloat16;
    case Precision::kFp32: return at::kFloat;
  }
  return at::kFloat;
}

}  // namespace

PrecondCoefficients precond_coefficients(const at::Tensor& sigma, double sigma_data) {
  const double sd2 = sigma_data * sigma_data;
  const at::Tensor sigma2 = sigma.square();
  return {sd2 / (sigma2 + sd2), sigma * sigma_data / (sigma2 + sd2).sqrt(), 1 / (sd2 + sigma2).sqrt(),
          sigma.log() / 4};
}

PrecondImpl::PrecondImpl(const ModelOptions& o) : options_(o) {
  unet_ = register_module("unet", UNet(o));
  logvar_fourier_ = register_module("logvar_fourier", MPFourier(o.logvar_channels));
  logvar_linear_ = register_module("logvar_linear", MPConv(o.logvar_channels, 1, std::vector<int64_t>{}));
}

PrecondOutput PrecondImpl::forward(const at::Tensor& x_in, const at::Tensor& sigma_in, const at::Tensor& class_labels,
                                   bool return_logvar, bool force_fp32) {
  const at::Tensor x = x_in.to(at::kFloat);
  const at::Tensor sigma = sigma_in.to(x.device(), at::kFloat).reshape({-1, 1, 1, 1});
  at::Tensor labels;
  if (options_.label_dim > 0) {
    labels = class_labels.defined() ? class_labels.to(x.device(), at::kFloat).reshape({-1, options_.label_dim})
                                    : at::zeros({1, options_.label_dim}, x.options());
  }

  const PrecondCoefficients c = precond_coefficients(sigma, options_.sigma_data);
  const at::Tensor c_noise = c.c_noise.flatten();

  const at::Tensor f = unet_->forward((c.c_in * x).to(body_dtype(options_, x, force_fp32)), c_noise, labels);
  PrecondOutput out;
  out.denoised = c.c_skip * x + c.c_out * f.to(at::kFloat);
  if (return_logvar) out.logvar = logvar_linear_->forward(logvar_fourier_->forward(c_noise)).reshape({-1, 1, 1, 1});
  return out;
}

std::vector<std::shared_ptr<MPConvImpl>> PrecondImpl::convs(bool return_logvar) {
  std::vector<std::shared_ptr<MPConvImpl>> all = find_mp_convs(*unet_);
  if (return_logvar) all.push_back(logvar_linear_.ptr());
  return all;
}

}  // namespace diffuse
