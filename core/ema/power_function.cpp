#include "ema/power_function.h"

#include <cmath>

#include "util/error.h"

namespace diffuse {
namespace {

// σ_rel at γ = 0 (a uniform average); larger values have no γ ≥ 0.
const double kMaxSigmaRel = std::sqrt(1.0 / 12.0);

}  // namespace

// §7: σ_rel = √((γ+1) / ((γ+2)²·(γ+3))).
double power_function_sigma_rel(double gamma) {
  if (!(gamma > -1) || std::isinf(gamma)) {
    fail(ErrorCode::kInvalidArgument, "power-function EMA: exponent {} is outside (-1, inf)", gamma);
  }
  return std::sqrt((gamma + 1) / ((gamma + 2) * (gamma + 2) * (gamma + 3)));
}

// §7: the largest real root of g(γ) = (γ+2)²(γ+3) − (γ+1)/σ_rel², the header's cubic in factored form
// (which avoids cancelling its large γ³ and γ/σ_rel² terms).
double power_function_gamma(double sigma_rel) {
  if (!(sigma_rel > 0 && sigma_rel < kMaxSigmaRel)) {
    fail(ErrorCode::kInvalidArgument, "power-function EMA: sigma_rel {} is outside (0, {:.6f})", sigma_rel,
         kMaxSigmaRel);
  }
  const double s = 1 / (sigma_rel * sigma_rel);
  // At the root (γ+2)² = s·(γ+1)/(γ+3) < s, so γ₀ = √s − 2 lies above it. g is convex for γ > −7/3, so Newton
  // from γ₀ decreases monotonically onto the largest root without overshooting; once rounding stops the
  // decrease, γ is as close as double resolves.
  double gamma = std::sqrt(s) - 2;
  for (int iteration = 0; iteration < 100; ++iteration) {
    const double g = (gamma + 2) * (gamma + 2) * (gamma + 3) - s * (gamma + 1);
    const double dg = (gamma + 2) * (3 * gamma + 8) - s;
    const double next = gamma - g / dg;
    if (!(next < gamma)) break;
    gamma = next;
  }
  return gamma;
}

// §7: β = (1 − Δ/t_next)^(γ+1).
double power_function_beta(double sigma_rel, double t_next, double delta) {
  if (!(delta > 0) || !(t_next >= delta) || std::isinf(t_next)) {
    fail(ErrorCode::kInvalidArgument, "power-function EMA: invalid step (t_next {}, delta {})", t_next, delta);
  }
  // t_next − Δ is exact for image counts, so this is the correctly rounded 1 − Δ/t_next.
  return std::pow((t_next - delta) / t_next, power_function_gamma(sigma_rel) + 1);
}

}  // namespace diffuse
