// The CUDA launches of fused_ops.cpp (fused_ops_cuda.cu): each runs one functor of mp_elementwise.h
// over an iterator that fused_ops.cpp built, or over the rows of RowLayout, in the dtype of its tensors
// (fp32, fp16, bf16, fp64).
#pragma once

#include <ATen/core/Tensor.h>

#include "cuda/mp_elementwise.h"

namespace at {
struct TensorIteratorBase;
}

namespace diffuse::kernels::cuda {

void mp_silu_forward(at::TensorIteratorBase& iter, double rms);
void mp_silu_backward(at::TensorIteratorBase& iter, double rms);
void modulated_mp_silu_forward(at::TensorIteratorBase& iter, double rms);
void modulated_mp_silu_backward(at::TensorIteratorBase& iter, double rms);  // two outputs: ∂L/∂y, d·y
void mp_sum_forward(at::TensorIteratorBase& iter, double t, double norm, double clip);
// Two outputs, ∂L/∂a and ∂L/∂b; inputs g, and out where clip > 0.
void mp_sum_backward(at::TensorIteratorBase& iter, double wa, double wb, double clip);

// y = normalize(x) over each row; x, y dense in one layout.
void normalize_forward(const at::Tensor& x, const at::Tensor& y, const RowLayout& rows, double eps);
// ∂L/∂x into grad_x from ∂L/∂y = grad; grad, x, grad_x dense in one layout.
void normalize_backward(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& grad_x, const RowLayout& rows,
                        double eps);

// out = x·keep/(1 − p) with HashedDropout's mask from keys (int64 [N]) and `ordinal`; x, out dense in
// the layout `images` describes.
void hashed_dropout(const at::Tensor& x, const at::Tensor& keys, const at::Tensor& out, const ImageLayout& images,
                    int64_t ordinal, double p);

}  // namespace diffuse::kernels::cuda
