#include "noise/noise_distribution.h"

#include <ATen/ATen.h>

#include "util/error.h"

namespace diffuse {

at::Tensor LogNormalNoise::sample_sigma(int64_t n, double /*progress*/, at::Generator generator,
                                        at::Device device) const {
  // Drawn on the CPU so that the values do not depend on the device.
  const at::Tensor z = at::randn({n}, generator, at::TensorOptions().dtype(at::kFloat));
  return (z * p_std_ + p_mean_).exp().to(device);
}

std::unique_ptr<NoiseDistribution> make_noise_distribution(const v1::NoiseConfig& config) {
  switch (config.distribution()) {
    case v1::NoiseConfig::EDM_LOGNORMAL:
      return std::make_unique<LogNormalNoise>(config.p_mean(), config.p_std());
    default:
      fail(ErrorCode::kInvalidConfig, "TrainConfig.noise.distribution: {} is not supported",
           static_cast<int>(config.distribution()));
  }
}

}  // namespace diffuse
