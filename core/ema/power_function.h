// The power-function EMA profile (spec edm2.md §7): after training time t the average weights
// θ(τ) with density p_t(τ) = (γ+1)·τ^γ / t^(γ+1) on [0, t]; σ_rel is its std relative to t.
#pragma once

#include <cstdint>

namespace diffuse {

// σ_rel = √((γ+1) / ((γ+2)²·(γ+3))). Throws Error(kInvalidArgument) unless γ > −1.
double power_function_sigma_rel(double gamma);

// γ for a σ_rel in (0, 0.288675...): the largest real root of γ³ + 7γ² + (16 − σ_rel⁻²)γ + (12 − σ_rel⁻²).
// Throws Error(kInvalidArgument) outside that range.
double power_function_gamma(double sigma_rel);

// Per-step decay β = (1 − Δ/t_next)^(γ+1), where t_next is the image count after the step and Δ the
// images in the step. The first update (t_next = Δ) gives 0: the EMA starts equal to the network.
// Throws Error(kInvalidArgument) unless 0 < Δ ≤ t_next.
double power_function_beta(double sigma_rel, double t_next, double delta);

}  // namespace diffuse
