// Fused ops for training: the magnitude-preserving ops and dropout in one pass over the activations
// forward and one back, where the unfused graph of nn/mp_ops.h makes two to five (the fused-kernel
// levers, switched by TrainerTuning::fused_elementwise, fused_normalize and fused_dropout). Each op
// is differentiable (its own backward) and equals its nn/mp_ops.h expression up to rounding (dropout:
// its own definition, exactly): the maths is mp_elementwise.h's, run by CPU loops (the reference the
// CPU tests check) and by CUDA kernels of the same functors on the GPU. On any other device the
// caller keeps the unfused ops.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "util/seed.h"

namespace diffuse::kernels {

// Whether the ops below run on `device`: the CPU always, CUDA when the library was built with it.
bool has_fused_ops(const c10::Device& device);

// silu(x) / rms.
at::Tensor fused_mp_silu(const at::Tensor& x, double rms);

// silu(y·c) / rms; c [N, C, 1, 1] (broadcast over y's pixels), in y's dtype and on its device.
at::Tensor fused_modulated_mp_silu(const at::Tensor& y, const at::Tensor& c, double rms);

// lerp(a, b, t) / √((1−t)² + t²); a and b of one shape, dtype and device. With clip > 0, then clamped to
// [−clip, clip] in the same pass (a block's activation clipping after its last mp_sum), and its backward
// passes the gradient where the result is inside (−clip, clip). The backward is one pass either way.
at::Tensor fused_mp_sum(const at::Tensor& a, const at::Tensor& b, double t, double clip = 0);

// normalize(x, {dim}) of nn/mp_ops.h: x / (‖x‖/√C + eps) over `dim` (of size C), the sums in fp32 (fp64
// for fp64) and one rounding of each value; one kernel forward and one back, where the unfused graph
// makes four or five (the blocks' pixel norm and attention q, k, v, the convolutions' weight
// normalisation; TrainerTuning::fused_normalize). Any layout; x not dense is made contiguous first.
at::Tensor fused_normalize(const at::Tensor& x, int64_t dim, double eps = 1e-4);

// Inverted dropout, x·keep/(1 − p), whose mask is a function of (image, block, position) rather than of
// a generator's state (HashedDropout of mp_elementwise.h): keep[n, j] holds with probability 1 − p,
// drawn from keys[n] (int64 [N] on x's device, a uint64's bits per image), `ordinal` (the block's) and
// j, the value's [C, H, W] index. An image's mask is so the same in any batch, pass or layout; a CUDA
// graph replays it with the keys in a static buffer; the backward makes it again instead of keeping
// it. p in [0, 1); x [N, ...], any layout.
at::Tensor fused_dropout(const at::Tensor& x, const at::Tensor& keys, int64_t ordinal, double p);

// An image's mask in block `ordinal`, from the image's key: what fused_dropout draws it from, and the
// seed of the unfused dropout's generator. constexpr: the CUDA kernels call it too.
constexpr uint64_t dropout_block_key(uint64_t image_key, int64_t ordinal) {
  return mix_seed(image_key + static_cast<uint64_t>(ordinal));
}

}  // namespace diffuse::kernels
