// MPFourier (spec edm2.md §1.5): fixed random Fourier features √2·cos(freqs·s + phases), unit RMS.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace diffuse {

class MPFourierImpl : public torch::nn::Module {
 public:
  // Draws freqs = 2π·N(0,1)·bandwidth and phases = 2π·U(0,1) from the default generator; both are
  // buffers (saved and loaded with the model, never trained).
  explicit MPFourierImpl(int64_t num_channels, double bandwidth = 1.0);

  // x: [N] noise conditioning values → [N, num_channels] in x's dtype (computed in fp32).
  at::Tensor forward(const at::Tensor& x);

 private:
  at::Tensor freqs_;
  at::Tensor phases_;
};
TORCH_MODULE(MPFourier);

}  // namespace diffuse
