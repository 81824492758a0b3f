// The sampling loops over a denoiser D(x; σ), on a decreasing list of noise levels σ_0 > … > σ_N = 0,
// from x_0 = σ_0·noise (spec solvers.md, edm2.md §9). sample/sampler.h chooses one by
// SamplerOptions.solver and passes the guided denoiser; each loop calls the observer after step i with
// σ_{i+1}, x_{i+1} and the denoised estimate that step used.
//
// Sources: Karras et al. 2022 (EDM), Algorithms 1 and 2 (Heun, churn, ancestral steps); Lu et al. 2022,
// "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic Models", §4 and
// Algorithm 2 (multistep 2M) and the appendix's 2M SDE; Song et al. 2021 for the ancestral split of the
// variance. In the EDM parameterisation x(σ) = y + σ·n the probability-flow ODE is
// dx/dσ = (x − D(x; σ))/σ; with λ = −log σ and h_i = λ_{i+1} − λ_i it integrates exactly over the
// exponential part: x_{i+1} = (σ_{i+1}/σ_i)·x_i + (1 − e^{−h_i})·D̂, D̂ an estimate of D over the step.
#pragma once

#include <vector>

#include <ATen/core/Tensor.h>

#include "sample/sampler.h"

namespace diffuse {

// EDM's Heun (2nd order, the last step Euler to σ = 0) or Euler, with optional stochastic churn
// (edm2.md §9). `streams` gives the churn noise; it may be null when s_churn = 0.
at::Tensor heun_or_euler_loop(const Denoiser& denoise, at::Tensor x, const std::vector<double>& sigmas,
                              const SamplerOptions& options, SeedGenerators* streams, const SamplerObserver& observer);

// DPM-Solver++(2M) (solvers.md §2): a deterministic second-order multistep exponential integrator in
// λ = −log σ; one network evaluation per step.
at::Tensor dpmpp_2m_loop(const Denoiser& denoise, at::Tensor x, const std::vector<double>& sigmas,
                         const SamplerObserver& observer);

// DPM-Solver++(2M) SDE (solvers.md §3): η·h of each step is spent on fresh noise from the streams;
// η = 0 is §2.
at::Tensor dpmpp_2m_sde_loop(const Denoiser& denoise, at::Tensor x, const std::vector<double>& sigmas,
                             const SamplerOptions& options, SeedGenerators* streams, const SamplerObserver& observer);

// Euler ancestral (solvers.md §4): an Euler step down to σ_down, then noise up to σ_{i+1}; η = 0 is Euler.
at::Tensor euler_ancestral_loop(const Denoiser& denoise, at::Tensor x, const std::vector<double>& sigmas,
                                const SamplerOptions& options, SeedGenerators* streams,
                                const SamplerObserver& observer);

}  // namespace diffuse
