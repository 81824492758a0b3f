// The standard normal distribution in double precision: CDF, survival function and quantile.
#pragma once

namespace diffuse {

double normal_cdf(double z);  // Φ(z)
double normal_sf(double z);   // 1 − Φ(z), accurate in the upper tail
// Φ⁻¹(u) for u in (0, 1); −∞ / +∞ at 0 / 1. Relative error below 1e-14.
double normal_quantile(double u);

}  // namespace diffuse
