#include "noise/logsnr_density.h"

#include <cmath>
#include <limits>

#include "noise/standard_normal.h"
#include "util/error.h"

namespace diffuse {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double std_pdf(LogSnrShape s, double z) {
  switch (s) {
    case LogSnrShape::kNormal: return std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
    case LogSnrShape::kLogistic: {
      const double e = std::exp(-std::abs(z));
      return e / ((1 + e) * (1 + e));
    }
    case LogSnrShape::kLaplace: return 0.5 * std::exp(-std::abs(z));
    case LogSnrShape::kCauchy: return 1 / (M_PI * (1 + z * z));
    case LogSnrShape::kHyperbolicSecant: return 1 / (2 * M_PI * std::cosh(z / 2));
  }
  return 0;
}

// Lower-tail CDF of the standard shape, precise for z → −∞; the upper tail follows by symmetry.
double std_cdf(LogSnrShape s, double z) {
  switch (s) {
    case LogSnrShape::kNormal: return normal_cdf(z);
    case LogSnrShape::kLogistic: return z < 0 ? std::exp(z) / (1 + std::exp(z)) : 1 / (1 + std::exp(-z));
    case LogSnrShape::kLaplace: return z < 0 ? 0.5 * std::exp(z) : 1 - 0.5 * std::exp(-z);
    case LogSnrShape::kCauchy: return std::atan2(1.0, -z) / M_PI;
    case LogSnrShape::kHyperbolicSecant: return (2 / M_PI) * std::atan(std::exp(z / 2));
  }
  return 0;
}

// Quantile of the standard shape for u <= ½ (the lower half, where u carries the precision).
double std_lower_quantile(LogSnrShape s, double u) {
  if (u <= 0) return -kInf;
  switch (s) {
    case LogSnrShape::kNormal: return normal_quantile(u);
    case LogSnrShape::kLogistic: return std::log(u) - std::log1p(-u);
    case LogSnrShape::kLaplace: return std::log(2 * u);
    case LogSnrShape::kCauchy: return -1 / std::tan(M_PI * u);
    case LogSnrShape::kHyperbolicSecant: return 2 * std::log(std::tan(M_PI * u / 2));
  }
  return 0;
}

double std_quantile(LogSnrShape s, double u) {
  if (u >= 1) return kInf;
  return u <= 0.5 ? std_lower_quantile(s, u) : -std_lower_quantile(s, 1 - u);
}

}  // namespace

double LogSnrDensity::pdf(double lambda) const { return std_pdf(shape_, (lambda - location_) / scale_) / scale_; }
double LogSnrDensity::cdf(double lambda) const { return std_cdf(shape_, (lambda - location_) / scale_); }
double LogSnrDensity::sf(double lambda) const { return std_cdf(shape_, (location_ - lambda) / scale_); }
double LogSnrDensity::quantile(double u) const { return location_ + scale_ * std_quantile(shape_, u); }
double LogSnrDensity::upper_quantile(double v) const { return location_ - scale_ * std_quantile(shape_, v); }

double SigmaDensity::mass(double a, double b) const {
  if (!(b > a)) return 0;
  // Below the median the CDF is small and exact; above it the survival function is.
  if (cdf(b) <= 0.5) return cdf(b) - cdf(a);
  return sf(a) - sf(b);
}

LogSnrDensity make_logsnr_density(const v1::NoiseConfig& c) {
  switch (c.distribution()) {
    case v1::NoiseConfig::EDM_LOGNORMAL:
      return LogSnrDensity(LogSnrShape::kNormal, -2 * c.p_mean(), 2 * c.p_std());
    case v1::NoiseConfig::COSINE:
      return LogSnrDensity(LogSnrShape::kHyperbolicSecant, 0, 1);
    case v1::NoiseConfig::COSINE_SHIFTED:
      return LogSnrDensity(LogSnrShape::kHyperbolicSecant, c.mu(), 1);
    case v1::NoiseConfig::COSINE_SCALED:
      return LogSnrDensity(LogSnrShape::kHyperbolicSecant, 0, c.cosine_scale());
    case v1::NoiseConfig::CAUCHY:
      return LogSnrDensity(LogSnrShape::kCauchy, c.mu(), c.cauchy_gamma());
    case v1::NoiseConfig::LAPLACE:
      return LogSnrDensity(LogSnrShape::kLaplace, c.mu(), c.laplace_b());
    case v1::NoiseConfig::FM_OT:
      // sigmoid(λ/2): the logistic shape at scale 2.
      return LogSnrDensity(LogSnrShape::kLogistic, 0, 2);
    default:
      fail(ErrorCode::kInvalidConfig, "TrainConfig.noise.distribution: {} has no logSNR density",
           v1::NoiseConfig::Distribution_Name(c.distribution()));
  }
}

double logsnr_offset(const v1::NoiseConfig& c, double sigma_data) {
  const bool normalized = c.snr_reference() == v1::NoiseConfig::DATA_NORMALIZED &&
                          c.distribution() != v1::NoiseConfig::EDM_LOGNORMAL;
  return normalized ? 2 * std::log(sigma_data) : 0.0;
}

}  // namespace diffuse
