#include "ema/posthoc.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "ema/power_function.h"
#include "util/error.h"

namespace diffuse {
namespace {

using Matrix = std::vector<std::vector<double>>;  // row-major

// Solves A·X = B by Gaussian elimination with partial pivoting (the algorithm of LAPACK's dgesv, which the
// reference calls through numpy). Gram matrices of neighbouring snapshots are nearly singular, so pivoting on
// the largest entry matters more than symmetry (Cholesky can meet a non-positive pivot there); n is at most a
// few hundred snapshots, so O(n³) in plain double costs milliseconds and needs no LAPACK.
Matrix solve_linear(Matrix a, Matrix b) {
  const size_t n = a.size();
  const size_t m = b.empty() ? 0 : b[0].size();
  for (size_t k = 0; k < n; ++k) {
    size_t pivot = k;
    for (size_t i = k + 1; i < n; ++i) {
      if (std::abs(a[i][k]) > std::abs(a[pivot][k])) pivot = i;
    }
    // Exact zero only, as LAPACK: an ill-conditioned but regular system still has a least-squares use.
    if (a[pivot][k] == 0) {
      fail(ErrorCode::kInvalidArgument, "post-hoc EMA: the input profiles are linearly dependent (singular system)");
    }
    std::swap(a[k], a[pivot]);
    std::swap(b[k], b[pivot]);
    for (size_t i = k + 1; i < n; ++i) {
      const double f = a[i][k] / a[k][k];
      for (size_t j = k + 1; j < n; ++j) a[i][j] -= f * a[k][j];
      for (size_t j = 0; j < m; ++j) b[i][j] -= f * b[k][j];
    }
  }
  for (size_t k = n; k-- > 0;) {
    for (size_t j = 0; j < m; ++j) {
      double sum = b[k][j];
      for (size_t i = k + 1; i < n; ++i) sum -= a[k][i] * b[i][j];
      b[k][j] = sum / a[k][k];
    }
  }
  return b;
}

}  // namespace

// §8: ⟨p_a, p_b⟩ = (γ_a+1)(γ_b+1)·(t_a/t_b)^γ_b / ((γ_a+γ_b+1)·t_b) for t_a ≤ t_b, symmetric otherwise.
double profile_inner_product(double t_a, double gamma_a, double t_b, double gamma_b) {
  if (t_a > t_b) return profile_inner_product(t_b, gamma_b, t_a, gamma_a);
  return (gamma_a + 1) * (gamma_b + 1) * std::pow(t_a / t_b, gamma_b) / ((gamma_a + gamma_b + 1) * t_b);
}

// §8: X = A⁻¹B, columns normalised to sum 1.
PosthocSolution solve_posthoc(const std::vector<EmaProfile>& inputs, double out_time,
                              const std::vector<double>& out_sigma_rels) {
  if (inputs.empty()) fail(ErrorCode::kInvalidArgument, "post-hoc EMA: no input snapshots");
  if (!(out_time > 0) || std::isinf(out_time)) {
    fail(ErrorCode::kInvalidArgument, "post-hoc EMA: invalid output time {}", out_time);
  }
  const size_t n = inputs.size();
  const size_t m = out_sigma_rels.size();
  // Every inner product is homogeneous of degree −1 in time, so t_o = 1 changes nothing but the scale.
  std::vector<double> time(n), gamma(n), out_gamma(m);
  for (size_t i = 0; i < n; ++i) {
    if (!(inputs[i].time > 0 && inputs[i].time <= out_time)) {
      fail(ErrorCode::kInvalidArgument, "post-hoc EMA: input {} has time {} outside (0, {}]", i, inputs[i].time,
           out_time);
    }
    time[i] = inputs[i].time / out_time;
    gamma[i] = power_function_gamma(inputs[i].sigma_rel);
  }
  for (size_t j = 0; j < m; ++j) out_gamma[j] = power_function_gamma(out_sigma_rels[j]);

  Matrix a(n, std::vector<double>(n)), b(n, std::vector<double>(m));
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < n; ++k) a[i][k] = profile_inner_product(time[i], gamma[i], time[k], gamma[k]);
    for (size_t j = 0; j < m; ++j) b[i][j] = profile_inner_product(time[i], gamma[i], 1, out_gamma[j]);
  }

  PosthocSolution solution;
  solution.coefficients = solve_linear(a, b);
  solution.residuals.resize(m);
  for (size_t j = 0; j < m; ++j) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += solution.coefficients[i][j];
    for (size_t i = 0; i < n; ++i) {
      double& x = solution.coefficients[i][j];
      x /= sum;
      if (!std::isfinite(x)) {
        fail(ErrorCode::kInvalidArgument, "post-hoc EMA: the system for sigma_rel {} is numerically singular",
             out_sigma_rels[j]);
      }
    }
    // ‖Σ x_i p_i − p_o‖² = xᵀAx − 2xᵀb + ⟨p_o,p_o⟩; an exact fit can round to a tiny negative.
    const double norm_sq = profile_inner_product(1, out_gamma[j], 1, out_gamma[j]);
    double error_sq = norm_sq;
    for (size_t i = 0; i < n; ++i) {
      const double xi = solution.coefficients[i][j];
      double ax = 0;
      for (size_t k = 0; k < n; ++k) ax += a[i][k] * solution.coefficients[k][j];
      error_sq += xi * (ax - 2 * b[i][j]);
    }
    solution.residuals[j] = std::sqrt(std::max(error_sq, 0.0) / norm_sq);
  }
  return solution;
}

}  // namespace diffuse
