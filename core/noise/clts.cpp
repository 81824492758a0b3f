#include "noise/clts.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <ATen/ATen.h>

#include "util/ramp.h"

namespace diffuse {
namespace {

double quantize(double value, double quantum) { return quantum * std::round(value / quantum); }

}  // namespace

double clts_strength(const CltsOptions& o, double p) {
  return quantize(o.s_max * progress_ramp(p, o.ramp, o.cosine), o.s_quantum);
}

double clts_easiness(double sigma, double sigma_data, double exponent) {
  const double s2 = sigma * sigma;
  return std::pow(s2 / (s2 + sigma_data * sigma_data), exponent);
}

CltsTable build_clts_table(const SigmaDensity& density, const CltsOptions& o, double s) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const int g = o.grid_bins;
  const double b0 = std::log(o.grid_sigma_min), delta = (std::log(o.grid_sigma_max) - b0) / g;
  CltsTable t;
  double sum = 0;
  for (int j = 0; j <= g + 1; ++j) {
    // Cell 0 is (−∞, b_0), cells 1..G the grid, cell G+1 is (b_G, +∞): no base mass is dropped.
    const double lo = j == 0 ? -kInf : b0 + (j - 1) * delta;
    const double hi = j == g + 1 ? kInf : b0 + j * delta;
    const double mid = j == 0 ? hi : (j == g + 1 ? lo : 0.5 * (lo + hi));
    const double mass = density.mass(lo, hi);
    sum += mass * (1 - s * clts_easiness(std::exp(mid), o.sigma_data, o.exponent));
    t.lower.push_back(lo);
    t.upper.push_back(hi);
    t.base_mass.push_back(mass);
    t.cumulative.push_back(sum);
  }
  return t;
}

double CltsTable::cdf(const SigmaDensity& density, double l) const {
  const auto it = std::upper_bound(upper.begin(), upper.end(), l);
  const size_t j = static_cast<size_t>(it - upper.begin());
  if (j >= upper.size()) return 1;
  const double before = j == 0 ? 0 : cumulative[j - 1];
  const double weight = cumulative[j] - before;
  const double inside = base_mass[j] > 0 ? weight * density.mass(lower[j], l) / base_mass[j] : 0;
  return (before + inside) / total();
}

CltsSuppressNoise::CltsSuppressNoise(BaseNoise base, CltsOptions options)
    : base_(std::move(base)), options_(options) {}

void CltsSuppressNoise::rebuild(double s) const {
  if (s == cached_s_) return;
  cached_s_ = s;
  ++builds_;
  if (base_.discrete()) {
    // §3.2 discrete bases: P(t) ∝ p0(t)·(1 − s·h(σ_t)).
    pmf_.resize(base_.pmf.size());
    double z = 0;
    for (size_t t = 0; t < pmf_.size(); ++t) {
      pmf_[t] = base_.pmf[t] * (1 - s * clts_easiness(base_.table->sigma[t], options_.sigma_data, options_.exponent));
      z += pmf_[t];
    }
    for (double& v : pmf_) v /= z;
    pmf_tensor_ = at::tensor(pmf_, at::TensorOptions().dtype(at::kDouble));
  } else if (!options_.rejection) {
    table_ = build_clts_table(*base_.density, options_, s);
  }
}

const CltsTable& CltsSuppressNoise::table_at(double p) const {
  rebuild(clts_strength(options_, p));
  return table_;
}

const std::vector<double>& CltsSuppressNoise::pmf_at(double p) const {
  rebuild(clts_strength(options_, p));
  return pmf_;
}

at::Tensor CltsSuppressNoise::sample_sigma(int64_t n, const TrainingProgress& progress, at::Generator generator,
                                           at::Device device) const {
  const double s = clts_strength(options_, progress.p);
  // Inactive: the base sampler itself, same values and same RNG consumption (§1.7(5)).
  if (s == 0) return base_.sampler->sample_sigma(n, progress, generator, device);
  if (options_.rejection && !base_.discrete()) {
    // Base draws in blocks of n, each kept with probability 1 − s·h(σ), in draw order.
    std::vector<float> kept;
    while (static_cast<int64_t>(kept.size()) < n) {
      const at::Tensor candidates = base_.sampler->sample_sigma(n, progress, generator, at::kCPU).contiguous();
      const at::Tensor u = at::rand({n}, generator, at::TensorOptions().dtype(at::kDouble));
      const float* cp = candidates.data_ptr<float>();
      const double* up = u.data_ptr<double>();
      for (int64_t i = 0; i < n && static_cast<int64_t>(kept.size()) < n; ++i) {
        ++candidates_;
        if (up[i] < 1 - s * clts_easiness(cp[i], options_.sigma_data, options_.exponent)) kept.push_back(cp[i]);
      }
    }
    return at::tensor(kept, at::TensorOptions().dtype(at::kFloat)).to(device);
  }
  rebuild(s);
  if (base_.discrete()) return sample_table_sigma(*base_.table, pmf_tensor_, n, generator, device);
  // Inverse CDF: a cell by its weight, then an exact base-conditional draw inside it.
  const SigmaDensity& d = *base_.density;
  const at::Tensor u = at::rand({n, 2}, generator, at::TensorOptions().dtype(at::kDouble));
  const double* up = u.data_ptr<double>();
  std::vector<double> l(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double target = up[2 * i] * table_.total();
    size_t j = static_cast<size_t>(std::upper_bound(table_.cumulative.begin(), table_.cumulative.end(), target) -
                                   table_.cumulative.begin());
    j = std::min(j, table_.cumulative.size() - 1);
    const double lo = table_.lower[j], m = table_.base_mass[j] * up[2 * i + 1];
    const double below = d.cdf(lo);
    l[static_cast<size_t>(i)] = below <= 0.5 ? d.quantile(below + m) : d.upper_quantile(d.sf(lo) - m);
  }
  return sigma_from_log(l, device);
}

NoiseStatus CltsSuppressNoise::status(const TrainingProgress& progress) const {
  return NoiseStatus{clts_strength(options_, progress.p), 0};
}

CltsMixtureNoise::CltsMixtureNoise(BaseNoise base, CltsOptions options) : base_(std::move(base)), options_(options) {
  const size_t t = base_.pmf.size();
  const double width = options_.sigma_frac * static_cast<double>(t);
  double sum = 0;
  for (size_t k = 0; k < t; ++k) {
    const double d = static_cast<double>(k) - options_.center;
    gaussian_.push_back(std::exp(-d * d / (2 * width * width)));
    sum += gaussian_.back();
  }
  for (double& g : gaussian_) g /= sum;
}

double CltsMixtureNoise::weight(double p) const {
  const double omega = options_.final_weight * progress_ramp(p, options_.ramp, options_.cosine);
  return std::min(quantize(omega, options_.s_quantum), options_.final_weight);
}

std::vector<double> CltsMixtureNoise::pmf(double omega) const {
  const double uniform = (1 - omega) / static_cast<double>(gaussian_.size());
  std::vector<double> out(gaussian_.size());
  for (size_t k = 0; k < out.size(); ++k) out[k] = omega * gaussian_[k] + uniform;
  return out;
}

at::Tensor CltsMixtureNoise::sample_sigma(int64_t n, const TrainingProgress& progress, at::Generator generator,
                                          at::Device device) const {
  const double omega = weight(progress.p);
  if (omega == 0) return base_.sampler->sample_sigma(n, progress, generator, device);
  if (omega != cached_omega_) {
    cached_omega_ = omega;
    pmf_tensor_ = at::tensor(pmf(omega), at::TensorOptions().dtype(at::kDouble));
  }
  return sample_table_sigma(*base_.table, pmf_tensor_, n, generator, device);
}

NoiseStatus CltsMixtureNoise::status(const TrainingProgress& progress) const {
  return NoiseStatus{weight(progress.p), 0};
}

}  // namespace diffuse
