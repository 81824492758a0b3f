#include "loss/loss_weighting.h"

#include "loss/edm2_loss.h"
#include "util/error.h"

namespace diffuse {

at::Tensor EdmWeighting::weight(const at::Tensor& sigma) const { return edm_loss_weight(sigma, sigma_data_); }

std::unique_ptr<LossWeighting> make_loss_weighting(const v1::LossConfig& config, double sigma_data) {
  switch (config.weighting()) {
    case v1::LossConfig::EDM:
      return std::make_unique<EdmWeighting>(sigma_data);
    default:
      fail(ErrorCode::kInvalidConfig, "TrainConfig.loss.weighting: {} is not supported",
           static_cast<int>(config.weighting()));
  }
}

}  // namespace diffuse
