// The elementwise maths of the fused magnitude-preserving ops (fused_ops.h), and of normalize once a
// row's sums are known, written once for the CPU loops (fused_ops.cpp) and the CUDA kernels
// (fused_ops_cuda.cu), so that the CPU tests check the very expressions the GPU runs. Each functor
// reads its inputs in T, computes in T's op-math type (fp32 for fp16 and bf16) and rounds once, where
// the unfused graph rounds after every op.
#pragma once

#include <cmath>
#include <cstdint>

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <c10/macros/Macros.h>

#include "util/seed.h"

namespace diffuse::kernels {

template <typename T>
using OpMath = at::opmath_type<T>;

// The dtypes of the fused ops: those the network trains in, and fp64 for the tests' exact checks.
#define DIFFUSE_DISPATCH_FUSED(dtype, name, ...) \
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, dtype, name, __VA_ARGS__)

template <typename O>
C10_HOST_DEVICE inline O sigmoid(O v) {
  return O(1) / (O(1) + std::exp(-v));  // std::exp: a device function too, under nvcc
}

// silu(v) / rms (silu as ATen writes it, v / (1 + e^−v)) and its derivative σ(v)·(1 + v·(1 − σ(v))) / rms.
template <typename O>
C10_HOST_DEVICE inline O mp_silu_of(O v, O rms) {
  return v / (O(1) + std::exp(-v)) / rms;
}
template <typename O>
C10_HOST_DEVICE inline O mp_silu_slope(O v, O rms) {
  const O s = sigmoid(v);
  return s * (O(1) + v * (O(1) - s)) / rms;
}

// mp_silu(x) = silu(x) / rms.
template <typename T>
struct MpSiluForward {
  OpMath<T> rms;
  C10_HOST_DEVICE T operator()(T x) const { return T(mp_silu_of(OpMath<T>(x), rms)); }
};
// ∂L/∂x from ∂L/∂y = g.
template <typename T>
struct MpSiluBackward {
  OpMath<T> rms;
  C10_HOST_DEVICE T operator()(T g, T x) const { return T(OpMath<T>(g) * mp_silu_slope(OpMath<T>(x), rms)); }
};

// mp_silu(y·c), c broadcast over the pixels (the embedding's modulation of the residual branch).
template <typename T>
struct ModulatedMpSiluForward {
  OpMath<T> rms;
  C10_HOST_DEVICE T operator()(T y, T c) const { return T(mp_silu_of(OpMath<T>(y) * OpMath<T>(c), rms)); }
};
// From g = ∂L/∂out: ∂L/∂y = d·c and d·y (summed over the pixels, that is ∂L/∂c), d = g·mp_silu'(y·c).
template <typename T>
struct ModulatedMpSiluBackward {
  OpMath<T> rms;
  C10_HOST_DEVICE OpMath<T> slope(T g, T y, T c) const {
    return OpMath<T>(g) * mp_silu_slope(OpMath<T>(y) * OpMath<T>(c), rms);
  }
  C10_HOST_DEVICE T grad_y(OpMath<T> d, T c) const { return T(d * OpMath<T>(c)); }
  C10_HOST_DEVICE T grad_c_term(OpMath<T> d, T y) const { return T(d * OpMath<T>(y)); }
};

// mp_sum(a, b, t) = lerp(a, b, t) / √((1−t)² + t²), with lerp's own two-sided formula (exact at t = 0, 1),
// then, with clip > 0, clamped to [−clip, clip] (a block's activation clipping; NaN stays NaN).
template <typename T>
struct MpSumForward {
  OpMath<T> t, norm, clip;
  C10_HOST_DEVICE T operator()(T a, T b) const {
    const OpMath<T> va(a), vb(b);
    const OpMath<T> lerp = t < OpMath<T>(0.5) ? va + t * (vb - va) : vb - (vb - va) * (OpMath<T>(1) - t);
    const OpMath<T> v = lerp / norm;
    if (clip > OpMath<T>(0)) return T(v < -clip ? -clip : v > clip ? clip : v);
    return T(v);
  }
};
// Its backward, (∂L/∂a, ∂L/∂b) = (g·wa, g·wb), wa = (1−t)/norm, wb = t/norm, from one read of g; with
// clip > 0, where |out| < clip only (out: the clamped sum). The clamp's own derivative passes a sum of
// exactly ±clip too, which out cannot tell from a clamped one: the two differ only there.
template <typename T>
struct MpSumBackward {
  OpMath<T> wa, wb, clip;
  C10_HOST_DEVICE OpMath<T> passed(T g, T out) const {
    const OpMath<T> v(out);
    return v < clip && v > -clip ? OpMath<T>(g) : OpMath<T>(0);
  }
  C10_HOST_DEVICE T grad_a(OpMath<T> g) const { return T(g * wa); }
  C10_HOST_DEVICE T grad_b(OpMath<T> g) const { return T(g * wb); }
};

// A dense tensor's memory as [outer, channels, inner], `channels` the normalized dim: row (o, i) holds
// the values at o·channels·inner + c·inner + i, c < channels.
struct RowLayout {
  int64_t outer, channels, inner;
};

// normalize(x, {dim}) over one row of C values (fused_normalize), from the row's sums: the divisor
// n = ‖x‖/√C + eps (the RMS plus eps, as nn/mp_ops.h's normalize forms it), so y = x / n; and the
// factor k of the backward ∂L/∂x = g/n − x·k, k = (Σ g·x)·(1/√C) / (n²·‖x‖). A zero row has k = 0:
// there the norm's derivative is taken as 0, as LibTorch's is.
template <typename O>
struct NormalizeRow {
  O inv_sqrt_c, eps;
  static NormalizeRow of(int64_t channels, double eps) {
    return {static_cast<O>(std::sqrt(1 / static_cast<double>(channels))), static_cast<O>(eps)};
  }
  C10_HOST_DEVICE O divisor(O sum_squares) const { return std::sqrt(sum_squares) * inv_sqrt_c + eps; }
  C10_HOST_DEVICE O backward_factor(O sum_squares, O dot, O n) const {
    const O root = std::sqrt(sum_squares);
    return root > O(0) ? dot * inv_sqrt_c / (n * n * root) : O(0);
  }
  template <typename T>
  C10_HOST_DEVICE T value(T x, O n) const {
    return T(O(x) / n);
  }
  template <typename T>
  C10_HOST_DEVICE T grad(T g, T x, O n, O k) const {
    return T(O(g) / n - O(x) * k);
  }
};

// A dense [N, C, ...] tensor's memory as N images of `size` values each, in [C, ...] order or, channels
// last, in [..., C] order; position(r) is the [C, ...] index of an image's r-th value in memory.
struct ImageLayout {
  int64_t size, channels;
  bool channels_last;
  C10_HOST_DEVICE int64_t position(int64_t r) const {
    return channels_last ? r % channels * (size / channels) + r / channels : r;
  }
};

// Dropout whose mask is a function of where a value is, not of a generator's state (fused_dropout):
// value j of an image (its index in the image's [C, H, W] order, whatever the memory layout) is kept
// iff the top 32 bits of splitmix64's j-th output from the image's block key (dropout_block_key) are
// below keep_threshold = round((1 − p)·2^32); a kept value is divided by 1 − p (inverted dropout).
template <typename T>
struct HashedDropout {
  uint64_t keep_threshold;
  OpMath<T> keep_probability;  // 1 − p
  static HashedDropout of(double p) {
    return {static_cast<uint64_t>(std::llround((1 - p) * 0x1p32)), static_cast<OpMath<T>>(1 - p)};
  }
  C10_HOST_DEVICE bool keep(uint64_t block_key, int64_t j) const {
    return (mix_seed(block_key + static_cast<uint64_t>(j) * kGoldenGamma) >> 32) < keep_threshold;
  }
  C10_HOST_DEVICE T value(T x, bool kept) const { return kept ? T(OpMath<T>(x) / keep_probability) : T(0); }
};

}  // namespace diffuse::kernels
