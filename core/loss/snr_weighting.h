// SNR-based loss weights (spec methods.md §1.4, §4.2, §4.3). A weighting is stated as an x0-space
// weight w_x0(SNR); the weight on another target's MSE follows from ‖x0 − x̂0‖²:
//   ε: w_x0/SNR,  v: w_x0/(1 + SNR),  x0: w_x0,  EDM F: w_x0·c_out².
#pragma once

#include <ATen/core/Tensor.h>

namespace diffuse {

enum class PredictionTarget { kF, kEpsilon, kV, kX0 };

// Min-SNR-γ x0-space weight min(SNR, γ).
double min_snr_x0_weight(double snr, double gamma);
// Soft-min-SNR x0-space weight 1/(1/SNR + 1/γ).
double soft_min_snr_x0_weight(double snr, double gamma);
// The weight on `target`'s MSE for an x0-space weight; c_out2 = c_out² (F only).
double target_weight(double x0_weight, double snr, PredictionTarget target, double c_out2 = 0);
// Min-SNR-γ on `target`'s MSE (the official forms, §4.2 table) with the zero-terminal-SNR guard:
// weight 1 wherever SNR = 0; at SNR = +∞, ε and v get 0 and x0 gets γ.
double min_snr_weight(double snr, double gamma, PredictionTarget target, double c_out2 = 0);

// SNR of EDM noise levels: σ_ref²/σ², σ_ref = 1 (RAW) or σ_d (DATA_NORMALIZED).
at::Tensor snr_of_sigma(const at::Tensor& sigma, double sigma_ref);

}  // namespace diffuse
