// Axis 2 of a training recipe (spec methods.md §6): the per-sample weight w(σ) of the denoising error.
#pragma once

#include <memory>

#include <ATen/core/Tensor.h>

#include "diffuse.pb.h"

namespace diffuse {

class LossWeighting {
 public:
  virtual ~LossWeighting() = default;
  // w(σ), same shape as sigma.
  virtual at::Tensor weight(const at::Tensor& sigma) const = 0;
};

// λ(σ) = (σ² + σ_d²)/(σ·σ_d)² (EDM, spec edm2.md §5).
class EdmWeighting : public LossWeighting {
 public:
  explicit EdmWeighting(double sigma_data) : sigma_data_(sigma_data) {}
  at::Tensor weight(const at::Tensor& sigma) const override;

 private:
  double sigma_data_;
};

std::unique_ptr<LossWeighting> make_loss_weighting(const v1::LossConfig& config, double sigma_data);

}  // namespace diffuse
