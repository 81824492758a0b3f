#include "noise/base_samplers.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <ATen/ATen.h>

namespace diffuse {

at::Tensor LogNormalNoise::sample_sigma(int64_t n, const TrainingProgress& /*progress*/, at::Generator generator,
                                        at::Device device) const {
  // Drawn on the CPU so that the values do not depend on the device.
  const at::Tensor z = at::randn({n}, generator, at::TensorOptions().dtype(at::kFloat));
  return (z * p_std_ + p_mean_).exp().to(device);
}

at::Tensor sigma_from_log(const std::vector<double>& log_sigma, at::Device device) {
  at::Tensor out = at::empty({static_cast<int64_t>(log_sigma.size())}, at::kFloat);
  float* p = out.data_ptr<float>();
  for (size_t i = 0; i < log_sigma.size(); ++i) {
    p[i] = static_cast<float>(std::exp(std::clamp(log_sigma[i], -kLogSigmaClamp, kLogSigmaClamp)));
  }
  return out.to(device);
}

at::Tensor ContinuousNoise::sample_sigma(int64_t n, const TrainingProgress& /*progress*/, at::Generator generator,
                                         at::Device device) const {
  const at::Tensor u = at::rand({n}, generator, at::TensorOptions().dtype(at::kDouble));
  const double* up = u.data_ptr<double>();
  std::vector<double> l(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) l[static_cast<size_t>(i)] = density_.quantile(up[i]);
  return sigma_from_log(l, device);
}

DiscreteNoise::DiscreteNoise(std::shared_ptr<const DdpmTable> table, std::vector<double> pmf)
    : table_(std::move(table)), pmf_(std::move(pmf)) {
  probabilities_ = at::tensor(pmf_, at::TensorOptions().dtype(at::kDouble));
}

at::Tensor DiscreteNoise::sample_index(int64_t n, at::Generator generator) const {
  return at::multinomial(probabilities_, n, /*replacement=*/true, generator);
}

at::Tensor sample_table_sigma(const DdpmTable& table, const at::Tensor& pmf, int64_t n, at::Generator generator,
                              at::Device device) {
  const at::Tensor index = at::multinomial(pmf, n, /*replacement=*/true, generator);
  const int64_t* ip = index.data_ptr<int64_t>();
  at::Tensor out = at::empty({n}, at::kFloat);
  float* p = out.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(table.sigma[static_cast<size_t>(ip[i])]);
  return out.to(device);
}

at::Tensor DiscreteNoise::sample_sigma(int64_t n, const TrainingProgress& /*progress*/, at::Generator generator,
                                       at::Device device) const {
  return sample_table_sigma(*table_, probabilities_, n, generator, device);
}

std::vector<double> discretized_pmf(const LogSnrDensity& density, double offset, const DdpmTable& table) {
  const size_t t = table.lambda.size();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // Edge k lies between λ_{k−1} and λ_k: e_0 = +∞, e_T = −∞.
  auto edge = [&](size_t k) {
    if (k == 0) return kInf;
    if (k == t) return -kInf;
    return 0.5 * (table.lambda[k - 1] + table.lambda[k]) + offset;
  };
  std::vector<double> pmf(t);
  for (size_t k = 0; k < t; ++k) {
    const double hi = edge(k), lo = edge(k + 1);
    // Mass of (lo, hi], on the side of the median where it keeps its precision.
    pmf[k] = density.cdf(hi) <= 0.5 ? density.cdf(hi) - density.cdf(lo) : density.sf(lo) - density.sf(hi);
  }
  return pmf;
}

BaseNoise make_base_noise(const v1::NoiseConfig& config, double sigma_data) {
  BaseNoise base;
  const bool uniform = config.distribution() == v1::NoiseConfig::DDPM_UNIFORM;
  if (uniform || config.discrete()) {
    base.table = std::make_shared<const DdpmTable>(make_ddpm_table(config.ddpm()));
    const size_t t = base.table->lambda.size();
    base.pmf = uniform ? std::vector<double>(t, 1.0 / static_cast<double>(t))
                       : discretized_pmf(make_logsnr_density(config), logsnr_offset(config, sigma_data), *base.table);
    base.sampler = std::make_unique<DiscreteNoise>(base.table, base.pmf);
    return base;
  }
  base.density.emplace(make_logsnr_density(config), logsnr_offset(config, sigma_data));
  if (config.distribution() == v1::NoiseConfig::EDM_LOGNORMAL) {
    base.sampler = std::make_unique<LogNormalNoise>(config.p_mean(), config.p_std());
  } else {
    base.sampler = std::make_unique<ContinuousNoise>(*base.density);
  }
  return base;
}

}  // namespace diffuse
