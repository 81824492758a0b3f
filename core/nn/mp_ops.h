// Magnitude-preserving fixed-function layers (spec edm2.md §1). Each keeps unit-variance inputs at
// unit variance, so no normalization layers are needed elsewhere in the network.
#pragma once

#include <vector>

#include <ATen/core/Tensor.h>

#include "nn/model_plan.h"

namespace diffuse {

// §1.1: x / (eps + RMS of x over `dims`); dims empty = every dim except 0. The norm is accumulated
// in fp32 and cast back to x's dtype.
at::Tensor normalize(const at::Tensor& x, std::vector<int64_t> dims = {}, double eps = 1e-4);

// §1.2: silu(x) / 0.596, the RMS of silu over N(0, 1).
constexpr double kSiluRms = 0.596;
at::Tensor mp_silu(const at::Tensor& x);

// §1.3: ((1-t)·a + t·b) / sqrt((1-t)² + t²).
at::Tensor mp_sum(const at::Tensor& a, const at::Tensor& b, double t);

// §1.4: concat([w_a·a, w_b·b], dim) with C = sqrt((N_a+N_b)/((1-t)²+t²)), w_a = C(1-t)/sqrt(N_a),
// w_b = C·t/sqrt(N_b).
at::Tensor mp_cat(const at::Tensor& a, const at::Tensor& b, double t, int64_t dim = 1);

// §1.7: kDown = 2×2 average pooling, kUp = nearest-neighbour 2× upsampling, kKeep = identity.
at::Tensor resample(const at::Tensor& x, Resample mode);

}  // namespace diffuse
