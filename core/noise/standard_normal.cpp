#include "noise/standard_normal.h"

#include <cmath>
#include <limits>

namespace diffuse {

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

namespace {

// Acklam's rational approximation (relative error 1.15e-9) for the lower half u <= 0.5.
double quantile_initial(double u) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01,  -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  if (u < 0.02425) {
    const double q = std::sqrt(-2 * std::log(u));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double q = u - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

}  // namespace

double normal_quantile(double u) {
  if (u <= 0) return -std::numeric_limits<double>::infinity();
  if (u >= 1) return std::numeric_limits<double>::infinity();
  // Work in the lower half, where u itself (not 1 − u) carries the precision.
  if (u > 0.5) return -normal_quantile(1 - u);
  double z = quantile_initial(u);
  // Two Halley steps on Φ(z) − u bring the approximation to full double precision.
  for (int i = 0; i < 2; ++i) {
    const double e = normal_cdf(z) - u;
    const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
    const double step = e / pdf;
    z -= step / (1 + 0.5 * z * step);
  }
  return z;
}

}  // namespace diffuse
