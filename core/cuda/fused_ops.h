// Fused magnitude-preserving ops for training: one pass over the activations forward and one back,
// where the unfused graph of nn/mp_ops.h makes two to five (issue 20's fused-kernel lever, switched by
// TrainerTuning::fused_elementwise). Each op is differentiable (its own backward) and equals its
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

}  // namespace diffuse::kernels
