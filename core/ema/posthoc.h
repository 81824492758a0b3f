// Post-hoc EMA reconstruction (spec edm2.md §8): least-squares combination of stored power-function
// EMA snapshots that best approximates the profile of any other σ_rel at a chosen time.
#pragma once

#include <cstdint>
#include <vector>

namespace diffuse {

// A stored or wanted EMA profile: training time t (images) and σ_rel.
struct EmaProfile {
  double time = 0;
  double sigma_rel = 0;
};

// ⟨p_a, p_b⟩ of two power-function profiles in L2 over τ (closed form, §8).
double profile_inner_product(double t_a, double gamma_a, double t_b, double gamma_b);

struct PosthocSolution {
  // coefficients[i][j]: weight of input i in output j; each column sums to 1.
  std::vector<std::vector<double>> coefficients;
  // Relative L2 error ‖Σ_i x_ij p_i − p_o,j‖ / ‖p_o,j‖ of each output's profile fit.
  std::vector<double> residuals;
};

// Solves X = A⁻¹B in float64 (A: Gram matrix of the inputs, B: inputs × outputs), normalises each
// column to sum 1, and reports the fit residuals. Inputs with time > the output time must not be
// passed (the caller filters). Times are rescaled so that the output time is 1 (better conditioned,
// same solution). Throws Error(kInvalidArgument) for an empty input list, an input time outside
// (0, out_time], σ_rel out of range, or a singular system.
PosthocSolution solve_posthoc(const std::vector<EmaProfile>& inputs, double out_time,
                              const std::vector<double>& out_sigma_rels);

}  // namespace diffuse
