// The ramp shapes shared by the progress-driven methods (spec methods.md §3.2, §5.2): g(r) for
// r in [0, 1], LINEAR g = r or COSINE g = (1 − cos πr)/2.
#pragma once

#include <algorithm>
#include <cmath>

namespace diffuse {

inline double ramp_shape(double r, bool cosine) {
  r = std::clamp(r, 0.0, 1.0);
  return cosine ? 0.5 * (1 - std::cos(M_PI * r)) : r;
}

// g(clamp(p/ramp, 0, 1)); ramp = 0 means full strength from the start.
inline double progress_ramp(double p, double ramp, bool cosine) {
  return ramp > 0 ? ramp_shape(p / ramp, cosine) : 1.0;
}

}  // namespace diffuse
