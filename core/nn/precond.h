// EDM preconditioning around the U-Net and the learned uncertainty head (spec edm2.md §4):
// D(x; σ) = c_skip·x + c_out·F(c_in·x; c_noise), u(σ) = logvar_linear(logvar_fourier(c_noise)).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "nn/model_options.h"
#include "nn/mp_conv.h"
#include "nn/mp_fourier.h"
#include "nn/unet.h"

namespace diffuse {

// EDM preconditioning coefficients for σ (any shape), σ_d = sigma_data (§4 table).
struct PrecondCoefficients {
  at::Tensor c_skip;   // σ_d² / (σ² + σ_d²)
  at::Tensor c_out;    // σ·σ_d / √(σ² + σ_d²)
  at::Tensor c_in;     // 1 / √(σ² + σ_d²)
  at::Tensor c_noise;  // ln(σ) / 4
};
PrecondCoefficients precond_coefficients(const at::Tensor& sigma, double sigma_data);

struct PrecondOutput {
  at::Tensor denoised;  // D(x; σ), fp32, shape of x
  at::Tensor logvar;    // u(σ), fp32 [N, 1, 1, 1]; undefined unless requested
};

class PrecondImpl : public torch::nn::Module {
 public:
  explicit PrecondImpl(const ModelOptions& options);

  // x: [N, C, R, R]; sigma: [N] or a scalar (broadcast); class_labels: [N, label_dim] (one-hot or
  // any weights), or undefined: then a conditional network sees an all-zero label row. On CUDA the
  // U-Net body runs in the configured reduced precision unless force_fp32.
  PrecondOutput forward(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& class_labels = {},
                        bool return_logvar = false, bool force_fp32 = false);

  const ModelOptions& options() const { return options_; }
  UNet& unet() { return unet_; }
  // The MPConvs that forward(..., return_logvar) runs (for MPConvImpl::set_external_force).
  std::vector<std::shared_ptr<MPConvImpl>> convs(bool return_logvar);

 private:
  ModelOptions options_;
  UNet unet_{nullptr};
  MPFourier logvar_fourier_{nullptr};
  MPConv logvar_linear_{nullptr};
};
TORCH_MODULE(Precond);

}  // namespace diffuse
