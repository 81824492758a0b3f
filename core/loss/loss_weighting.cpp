#include "loss/loss_weighting.h"

#include <ATen/ATen.h>

#include "loss/edm2_loss.h"
#include "loss/snr_weighting.h"
#include "util/error.h"

namespace diffuse {

at::Tensor EdmWeighting::weight(const at::Tensor& sigma) const { return edm_loss_weight(sigma, sigma_data_); }

at::Tensor SnrWeighting::weight(const at::Tensor& sigma) const {
  if (kind_ == v1::LossConfig::CONSTANT) return at::ones_like(sigma);
  const at::Tensor snr = snr_of_sigma(sigma, sigma_ref_);
  if (kind_ == v1::LossConfig::SOFT_MIN_SNR) return 1 / (1 / snr + 1 / gamma_);
  // min(SNR, γ), and 1 where SNR = 0 (σ = ∞; the zero-terminal-SNR guard).
  return at::where(snr == 0, at::ones_like(snr), at::clamp_max(snr, gamma_));
}

std::unique_ptr<LossWeighting> make_loss_weighting(const v1::LossConfig& config, double sigma_data) {
  switch (config.weighting()) {
    case v1::LossConfig::EDM:
      return std::make_unique<EdmWeighting>(sigma_data);
    case v1::LossConfig::MIN_SNR:
    case v1::LossConfig::SOFT_MIN_SNR:
    case v1::LossConfig::CONSTANT: {
      const double sigma_ref = config.snr_reference() == v1::NoiseConfig::DATA_NORMALIZED ? sigma_data : 1.0;
      return std::make_unique<SnrWeighting>(config.weighting(), config.snr_gamma(), sigma_ref);
    }
    default:
      fail(ErrorCode::kInvalidConfig, "TrainConfig.loss.weighting: {} is not supported",
           static_cast<int>(config.weighting()));
  }
}

}  // namespace diffuse
