#include "loss/snr_weighting.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>

namespace diffuse {

double min_snr_x0_weight(double snr, double gamma) { return std::min(snr, gamma); }

double soft_min_snr_x0_weight(double snr, double gamma) { return 1 / (1 / snr + 1 / gamma); }

double target_weight(double x0_weight, double snr, PredictionTarget target, double c_out2) {
  switch (target) {
    case PredictionTarget::kEpsilon: return x0_weight / snr;
    case PredictionTarget::kV: return x0_weight / (1 + snr);
    case PredictionTarget::kX0: return x0_weight;
    case PredictionTarget::kF: return x0_weight * c_out2;
  }
  return x0_weight;
}

double min_snr_weight(double snr, double gamma, PredictionTarget target, double c_out2) {
  // Zero terminal SNR: min(0, γ)/0 is NaN for ε; the official guard sets 1 for every target.
  if (snr == 0) return 1;
  if (std::isinf(snr)) {
    switch (target) {
      case PredictionTarget::kEpsilon:
      case PredictionTarget::kV: return 0;
      case PredictionTarget::kX0: return gamma;
      case PredictionTarget::kF: return gamma * c_out2;
    }
  }
  // ε: min(SNR, γ)/SNR written as min(1, γ/SNR), exact in floating point at the clamp.
  if (target == PredictionTarget::kEpsilon) return std::min(1.0, gamma / snr);
  return target_weight(min_snr_x0_weight(snr, gamma), snr, target, c_out2);
}

at::Tensor snr_of_sigma(const at::Tensor& sigma, double sigma_ref) { return (sigma_ref * sigma_ref) / sigma.square(); }

}  // namespace diffuse
