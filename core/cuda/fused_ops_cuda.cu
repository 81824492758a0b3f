#include "cuda/fused_ops_cuda.h"

#include <ATen/native/TensorIterator.h>
#include <ATen/native/cuda/Loops.cuh>

#include "cuda/mp_elementwise.h"

namespace diffuse::kernels::cuda {

void mp_silu_forward(at::TensorIteratorBase& iter, double rms) {
  DIFFUSE_DISPATCH_FUSED(iter.dtype(), "mp_silu_forward", [&] {
    const MpSiluForward<scalar_t> f{static_cast<OpMath<scalar_t>>(rms)};
    at::native::gpu_kernel(iter, [f] GPU_LAMBDA(scalar_t v) -> scalar_t { return f(v); });
  });
}

void mp_silu_backward(at::TensorIteratorBase& iter, double rms) {
  DIFFUSE_DISPATCH_FUSED(iter.dtype(), "mp_silu_backward", [&] {
    const MpSiluBackward<scalar_t> f{static_cast<OpMath<scalar_t>>(rms)};
    at::native::gpu_kernel(iter, [f] GPU_LAMBDA(scalar_t g, scalar_t v) -> scalar_t { return f(g, v); });
  });
}

void modulated_mp_silu_forward(at::TensorIteratorBase& iter, double rms) {
  DIFFUSE_DISPATCH_FUSED(iter.dtype(), "modulated_mp_silu_forward", [&] {
    const ModulatedMpSiluForward<scalar_t> f{static_cast<OpMath<scalar_t>>(rms)};
    at::native::gpu_kernel(iter, [f] GPU_LAMBDA(scalar_t y, scalar_t c) -> scalar_t { return f(y, c); });
  });
}

void modulated_mp_silu_backward(at::TensorIteratorBase& iter, double rms) {
  DIFFUSE_DISPATCH_FUSED(iter.dtype(), "modulated_mp_silu_backward", [&] {
    const ModulatedMpSiluBackward<scalar_t> f{static_cast<OpMath<scalar_t>>(rms)};
    at::native::gpu_kernel_multiple_outputs(
        iter, [f] GPU_LAMBDA(scalar_t g, scalar_t y, scalar_t c) -> thrust::tuple<scalar_t, scalar_t> {
          const OpMath<scalar_t> d = f.slope(g, y, c);
          return thrust::make_tuple(f.grad_y(d, c), f.grad_c_term(d, y));
        });
  });
}

void mp_sum_forward(at::TensorIteratorBase& iter, double t, double norm) {
  DIFFUSE_DISPATCH_FUSED(iter.dtype(), "mp_sum_forward", [&] {
    using O = OpMath<scalar_t>;
    const MpSumForward<scalar_t> f{static_cast<O>(t), static_cast<O>(norm)};
    at::native::gpu_kernel(iter, [f] GPU_LAMBDA(scalar_t a, scalar_t b) -> scalar_t { return f(a, b); });
  });
}

}  // namespace diffuse::kernels::cuda
