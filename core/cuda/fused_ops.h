// Fused magnitude-preserving ops for training: one pass over the activations forward and one back,
// where the unfused graph of nn/mp_ops.h makes two to five (the fused-kernel levers, switched by
// TrainerTuning::fused_elementwise and TrainerTuning::fused_normalize). Each op is differentiable (its own backward) and equals its
// nn/mp_ops.h expression up to rounding: the maths is mp_elementwise.h's, run by LibTorch's
// TensorIterator loops on the CPU (the reference the CPU tests check) and by CUDA kernels of the
// same functors on the GPU. On any other device the caller keeps the unfused ops.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace diffuse::kernels {

// Whether the ops below run on `device`: the CPU always, CUDA when the library was built with it.
bool has_fused_ops(const c10::Device& device);

// silu(x) / rms.
at::Tensor fused_mp_silu(const at::Tensor& x, double rms);

// silu(y·c) / rms; c [N, C, 1, 1] (broadcast over y's pixels), in y's dtype and on its device.
at::Tensor fused_modulated_mp_silu(const at::Tensor& y, const at::Tensor& c, double rms);

// lerp(a, b, t) / √((1−t)² + t²); a and b of one shape, dtype and device.
at::Tensor fused_mp_sum(const at::Tensor& a, const at::Tensor& b, double t);

// normalize(x, {dim}) of nn/mp_ops.h: x / (‖x‖/√C + eps) over `dim` (of size C), the sums in fp32 (fp64
// for fp64) and one rounding of each value; one kernel forward and one back, where the unfused graph
// makes four or five (the blocks' pixel norm and attention q, k, v, the convolutions' weight
// normalisation; TrainerTuning::fused_normalize). Any layout; x not dense is made contiguous first.
at::Tensor fused_normalize(const at::Tensor& x, int64_t dim, double eps = 1e-4);

}  // namespace diffuse::kernels
