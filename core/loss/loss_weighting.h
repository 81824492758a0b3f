// Axis 2 of a training recipe (spec methods.md §4, §6): the per-sample weight w(σ) on the EDM
// denoising error ‖D − y‖² (the x0-space weight; on F it is w·c_out²).
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

// λ(σ) = (σ² + σ_d²)/(σ·σ_d)² = 1/c_out²: unit weight on F (EDM, spec edm2.md §5).
class EdmWeighting : public LossWeighting {
 public:
  explicit EdmWeighting(double sigma_data) : sigma_data_(sigma_data) {}
  at::Tensor weight(const at::Tensor& sigma) const override;

 private:
  double sigma_data_;
};

// The SNR-based weightings, replacing λ(σ) (never stacked on it, §4.2): MIN_SNR min(SNR, γ) with the
// zero-SNR guard, SOFT_MIN_SNR 1/(1/SNR + 1/γ), CONSTANT 1. SNR = σ_ref²/σ².
class SnrWeighting : public LossWeighting {
 public:
  SnrWeighting(v1::LossConfig::Weighting kind, double gamma, double sigma_ref)
      : kind_(kind), gamma_(gamma), sigma_ref_(sigma_ref) {}
  at::Tensor weight(const at::Tensor& sigma) const override;

 private:
  v1::LossConfig::Weighting kind_;
  double gamma_, sigma_ref_;
};

std::unique_ptr<LossWeighting> make_loss_weighting(const v1::LossConfig& config, double sigma_data);

}  // namespace diffuse
