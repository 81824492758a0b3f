// DDPM / VP discrete noise tables (spec methods.md §1.1): ᾱ_t = Π_{s≤t}(1 − β_s), t = 0 the least
// noisy; logSNR λ_t = ln(ᾱ_t/(1 − ᾱ_t)) and the EDM noise level σ_t = √((1 − ᾱ_t)/ᾱ_t) (§1.3).
#pragma once

#include <vector>

#include "diffuse.pb.h"

namespace diffuse {

struct DdpmTable {
  std::vector<double> alpha_bar;  // [T]
  std::vector<double> lambda;     // [T], decreasing in t
  std::vector<double> sigma;      // [T], increasing in t
  int64_t steps() const { return static_cast<int64_t>(alpha_bar.size()); }
};

// β linear from beta_start to beta_end over T steps (DDPM/ADM/DiT: 1e-4 → 0.02, T = 1000).
DdpmTable linear_beta_table(int64_t steps, double beta_start, double beta_end);
// iDDPM cosine: ᾱ(t) ∝ cos²(((t/T + s)/(1 + s))·π/2), s = 0.008, β clipped at 0.999.
DdpmTable cosine_table(int64_t steps);
// The table a resolved DdpmTableConfig selects.
DdpmTable make_ddpm_table(const v1::DdpmTableConfig& config);

}  // namespace diffuse
