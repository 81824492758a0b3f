#include "sample/solvers.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>

namespace diffuse {
namespace {

// Churn factor γ_i (edm2.md §9): min(S_churn/N, √2 − 1) while S_min ≤ σ_i ≤ S_max, else 0.
double churn_gamma(const SamplerOptions& o, double sigma) {
  if (o.s_churn <= 0 || sigma < o.s_min || sigma > o.s_max) return 0;
  return std::min(o.s_churn / o.num_steps, std::sqrt(2.0) - 1);
}

// z_i for every image of the batch, row i from image i's stream, on x's device.
at::Tensor stream_noise(SeedGenerators* streams, const at::Tensor& x) {
  return streams->randn(x.sizes().slice(1).vec()).to(x.device());
}

// h_i = λ_{i+1} − λ_i = log(σ_i / σ_{i+1}) > 0 (solvers.md §1), for σ_{i+1} > 0.
double log_step(const std::vector<double>& sigmas, int i) { return std::log(sigmas[i] / sigmas[i + 1]); }

}  // namespace

at::Tensor heun_or_euler_loop(const Denoiser& denoise, at::Tensor x, const std::vector<double>& sigmas,
                              const SamplerOptions& options, SeedGenerators* streams, const SamplerObserver& observer) {
  const int steps = options.num_steps;
  const bool heun = options.solver == Solver::kHeun;
  // fp32 throughout, noise levels included, as the reference computes.
  for (int i = 0; i < steps; ++i) {
    const float sigma = static_cast<float>(sigmas[i]);
    const float sigma_next = static_cast<float>(sigmas[i + 1]);

    // Churn (§9): raise the noise level to σ̂ = σ_i(1 + γ) with fresh noise of variance σ̂² − σ_i².
    float sigma_hat = sigma;
    at::Tensor x_hat = x;
    const double gamma = churn_gamma(options, sigmas[i]);
    if (gamma > 0) {
      sigma_hat = sigma + static_cast<float>(gamma) * sigma;
      const float scale = std::sqrt(sigma_hat * sigma_hat - sigma * sigma) * static_cast<float>(options.s_noise);
      x_hat = x + scale * stream_noise(streams, x);
    }

    // Euler (§9): d = (x̂ − D(x̂; σ̂))/σ̂, x′ = x̂ + (σ_{i+1} − σ̂)·d.
    const at::Tensor denoised = denoise(x_hat, sigma_hat);
    const at::Tensor d = (x_hat - denoised) / sigma_hat;
    at::Tensor x_next = x_hat + (sigma_next - sigma_hat) * d;

    // Heun correction (§9), skipped on the last step, which goes to σ = 0.
    if (heun && i < steps - 1) {
      const at::Tensor d_prime = (x_next - denoise(x_next, sigma_next)) / sigma_next;
      x_next = x_hat + (sigma_next - sigma_hat) * (0.5f * d + 0.5f * d_prime);
    }
    x = x_next;
    if (observer) observer(i, sigmas[i + 1], x, denoised);
  }
  return x;
}

at::Tensor dpmpp_2m_loop(const Denoiser& denoise, at::Tensor x, const std::vector<double>& sigmas,
                         const SamplerObserver& observer) {
  const int steps = static_cast<int>(sigmas.size()) - 1;
  at::Tensor previous;  // d_{i−1}
  double previous_h = 0;
  for (int i = 0; i < steps; ++i) {
    const at::Tensor denoised = denoise(x, sigmas[i]);
    if (sigmas[i + 1] == 0) {
      x = denoised;  // the first-order step to σ = 0
    } else {
      // x_{i+1} = (σ_{i+1}/σ_i)·x_i − (e^{−h} − 1)·D̂_i, with D̂_i = d_i on the first step and
      // (1 + 1/(2r))·d_i − (1/(2r))·d_{i−1}, r = h_{i−1}/h_i, after it (§2).
      const double h = log_step(sigmas, i);
      at::Tensor estimate = denoised;
      if (previous.defined()) {
        const double half_over_r = 0.5 * h / previous_h;
        estimate = denoised * static_cast<float>(1 + half_over_r) - previous * static_cast<float>(half_over_r);
      }
      x = x * static_cast<float>(sigmas[i + 1] / sigmas[i]) - estimate * static_cast<float>(std::expm1(-h));
      previous_h = h;
    }
    previous = denoised;
    if (observer) observer(i, sigmas[i + 1], x, denoised);
  }
  return x;
}

at::Tensor dpmpp_2m_sde_loop(const Denoiser& denoise, at::Tensor x, const std::vector<double>& sigmas,
                             const SamplerOptions& options, SeedGenerators* streams, const SamplerObserver& observer) {
  const int steps = static_cast<int>(sigmas.size()) - 1;
  const double eta = options.eta;
  at::Tensor previous;
  double previous_h = 0;
  for (int i = 0; i < steps; ++i) {
    const at::Tensor denoised = denoise(x, sigmas[i]);
    if (sigmas[i + 1] == 0) {
      x = denoised;
    } else {
      // x_{i+1} = (σ_{i+1}/σ_i)·e^{−ηh}·x_i + (1 − e^{−h−ηh})·d_i
      //         + ½(1 − e^{−h−ηh})·(1/r)·(d_i − d_{i−1}) + σ_{i+1}·√(1 − e^{−2ηh})·s_noise·z_i   (§3)
      const double h = log_step(sigmas, i), eta_h = eta * h;
      const double gain = -std::expm1(-h - eta_h);
      x = x * static_cast<float>(sigmas[i + 1] / sigmas[i] * std::exp(-eta_h)) + denoised * static_cast<float>(gain);
      if (previous.defined()) x = x + (denoised - previous) * static_cast<float>(0.5 * gain * h / previous_h);
      if (eta > 0) {
        const double scale = sigmas[i + 1] * std::sqrt(-std::expm1(-2 * eta_h)) * options.s_noise;
        x = x + stream_noise(streams, x) * static_cast<float>(scale);
      }
      previous_h = h;
    }
    previous = denoised;
    if (observer) observer(i, sigmas[i + 1], x, denoised);
  }
  return x;
}

at::Tensor euler_ancestral_loop(const Denoiser& denoise, at::Tensor x, const std::vector<double>& sigmas,
                                const SamplerOptions& options, SeedGenerators* streams,
                                const SamplerObserver& observer) {
  const int steps = static_cast<int>(sigmas.size()) - 1;
  for (int i = 0; i < steps; ++i) {
    const double sigma = sigmas[i], next = sigmas[i + 1];
    // σ_up = min(σ_{i+1}, η·√(σ_{i+1}²(σ_i² − σ_{i+1}²)/σ_i²)), σ_down = √(σ_{i+1}² − σ_up²)   (§4)
    const double up = std::min(next, options.eta * std::sqrt(next * next * (sigma * sigma - next * next) / (sigma * sigma)));
    const double down = std::sqrt(next * next - up * up);
    const at::Tensor denoised = denoise(x, sigma);
    x = x + (x - denoised) * static_cast<float>((down - sigma) / sigma);
    if (next > 0 && options.eta > 0) x = x + stream_noise(streams, x) * static_cast<float>(up * options.s_noise);
    if (observer) observer(i, next, x, denoised);
  }
  return x;
}

}  // namespace diffuse
