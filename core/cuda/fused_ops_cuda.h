// The CUDA launches of fused_ops.cpp (fused_ops_cuda.cu): each runs one functor of mp_elementwise.h
// over an iterator that fused_ops.cpp built, in the dtype of its tensors (fp32, fp16, bf16, fp64).
#pragma once

#include <ATen/core/Tensor.h>

namespace at {
struct TensorIteratorBase;
}

namespace diffuse::kernels::cuda {

void mp_silu_forward(at::TensorIteratorBase& iter, double rms);
void mp_silu_backward(at::TensorIteratorBase& iter, double rms);
void modulated_mp_silu_forward(at::TensorIteratorBase& iter, double rms);
void modulated_mp_silu_backward(at::TensorIteratorBase& iter, double rms);  // two outputs: ∂L/∂y, d·y
void mp_sum_forward(at::TensorIteratorBase& iter, double t, double norm);

}  // namespace diffuse::kernels::cuda
