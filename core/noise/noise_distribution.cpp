#include "noise/noise_distribution.h"

#include <algorithm>
#include <cmath>

#include "noise/base_samplers.h"
#include "noise/clts.h"
#include "noise/cluster_curriculum.h"

namespace diffuse {
namespace {

CltsOptions clts_options(const v1::CltsConfig& c, const DdpmTable* table) {
  CltsOptions o;
  o.s_max = c.s_max();
  o.ramp = c.ramp();
  o.cosine = c.shape() == v1::CltsConfig::COSINE;
  o.exponent = c.exponent();
  o.sigma_data = c.sigma_data();
  o.rejection = c.method() == v1::CltsConfig::REJECTION;
  o.grid_bins = c.grid_bins();
  o.grid_sigma_min = c.grid_sigma_min();
  o.grid_sigma_max = c.grid_sigma_max();
  o.s_quantum = c.s_quantum();
  o.sigma_frac = c.sigma_frac();
  o.final_weight = c.final_weight();
  if (table != nullptr) {
    o.center = c.mu_frac() * static_cast<double>(table->steps());
    if (c.has_center_lambda()) {
      // The table index whose RAW logSNR is nearest to the requested centre.
      size_t best = 0;
      for (size_t k = 1; k < table->lambda.size(); ++k) {
        if (std::abs(table->lambda[k] - c.center_lambda()) < std::abs(table->lambda[best] - c.center_lambda())) best = k;
      }
      o.center = static_cast<double>(best);
    }
  }
  return o;
}

ClusterOptions cluster_options(const v1::ClusterCurriculumConfig& c) {
  ClusterOptions o;
  o.num_clusters = c.num_clusters();
  o.equal_log_width = c.partition() == v1::ClusterCurriculumConfig::EQUAL_LOG_WIDTH;
  o.plateau = c.pacing() != v1::ClusterCurriculumConfig::FIXED;
  o.patience = c.patience();
  o.smoothing = c.smoothing();
  o.min_delta = c.min_delta();
  o.fixed_fraction = c.fixed_fraction();
  o.fixed_stage_iterations = c.fixed_stage_iterations();
  return o;
}

}  // namespace

std::unique_ptr<NoiseDistribution> make_noise_distribution(const v1::NoiseConfig& config, double sigma_data) {
  BaseNoise base = make_base_noise(config, sigma_data);
  switch (config.curriculum()) {
    case v1::NoiseConfig::CLTS: {
      const CltsOptions options = clts_options(config.clts(), base.table.get());
      if (config.clts().variant() == v1::CltsConfig::MIXTURE) {
        return std::make_unique<CltsMixtureNoise>(std::move(base), options);
      }
      return std::make_unique<CltsSuppressNoise>(std::move(base), options);
    }
    case v1::NoiseConfig::CLUSTERS:
      return std::make_unique<ClusterCurriculumNoise>(std::move(base), cluster_options(config.clusters()));
    default:
      return std::move(base.sampler);
  }
}

std::pair<double, double> training_sigma_quantiles(const v1::NoiseConfig& config, double sigma_data, double q) {
  BaseNoise base = make_base_noise(config, sigma_data);
  const bool clts = config.curriculum() == v1::NoiseConfig::CLTS;
  if (base.discrete()) {
    std::vector<double> pmf = base.pmf;
    if (clts) {
      const CltsOptions options = clts_options(config.clts(), base.table.get());
      if (config.clts().variant() == v1::CltsConfig::MIXTURE) {
        pmf = CltsMixtureNoise(make_base_noise(config, sigma_data), options).pmf(options.final_weight);
      } else {
        pmf = CltsSuppressNoise(make_base_noise(config, sigma_data), options).pmf_at(1.0);
      }
    }
    double total = 0;
    for (double v : pmf) total += v;
    double cumulative = 0;
    double lo = base.table->sigma.front(), hi = base.table->sigma.back();
    bool lo_found = false;
    for (size_t k = 0; k < pmf.size(); ++k) {
      cumulative += pmf[k] / total;
      if (!lo_found && cumulative >= q) {
        lo = base.table->sigma[k];
        lo_found = true;
      }
      if (cumulative <= 1 - q) hi = base.table->sigma[std::min(k + 1, pmf.size() - 1)];
    }
    return {lo, hi};
  }
  const SigmaDensity& d = *base.density;
  if (!clts) return {std::exp(d.quantile(q)), std::exp(d.upper_quantile(q))};
  CltsOptions options = clts_options(config.clts(), nullptr);
  options.rejection = false;
  const CltsTable table = build_clts_table(d, options, options.s_max);
  // Bisection on the table's CDF over ln σ.
  auto quantile = [&](double u) {
    double a = -40, b = 40;
    for (int i = 0; i < 200; ++i) {
      const double m = 0.5 * (a + b);
      (table.cdf(d, m) < u ? a : b) = m;
    }
    return std::exp(0.5 * (a + b));
  };
  return {quantile(q), quantile(1 - q)};
}

}  // namespace diffuse
