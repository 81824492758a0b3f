// The EDM2 training loss (spec edm2.md §5): per-element (λ(σ)/e^u(σ))·(D − y)² + u(σ), with the
// learned uncertainty u(σ) flattening the loss across noise levels.
#pragma once

#include <ATen/core/Tensor.h>

namespace diffuse {

// λ(σ) = (σ² + σ_d²) / (σ·σ_d)² = 1 / c_out(σ)².
at::Tensor edm_loss_weight(const at::Tensor& sigma, double sigma_data);

// Per-element loss (weight / e^logvar)·(denoised − clean)² + logvar; weight and logvar are
// [N, 1, 1, 1] and broadcast over C, H, W. Reduce with a sum over elements and a mean over images.
at::Tensor uncertainty_weighted_loss(const at::Tensor& denoised, const at::Tensor& clean, const at::Tensor& weight,
                                     const at::Tensor& logvar);

}  // namespace diffuse
