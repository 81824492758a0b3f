#include "loss/edm2_loss.h"

#include <ATen/ATen.h>

namespace diffuse {

at::Tensor edm_loss_weight(const at::Tensor& sigma, double sigma_data) {
  const double sd2 = sigma_data * sigma_data;
  return (sigma.square() + sd2) / (sigma * sigma_data).square();
}

at::Tensor uncertainty_weighted_loss(const at::Tensor& denoised, const at::Tensor& clean, const at::Tensor& weight,
                                     const at::Tensor& logvar) {
  return (weight / logvar.exp()) * (denoised - clean).square() + logvar;
}

}  // namespace diffuse
