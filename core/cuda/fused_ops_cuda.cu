#include "cuda/fused_ops_cuda.h"

#include <ATen/native/TensorIterator.h>
#include <ATen/native/cuda/Loops.cuh>

#include "cuda/mp_elementwise.h"

namespace diffuse::kernels::cuda {
namespace {

// Runs Functor<T>{params...} (params in T's op-math type) over the iterator as one CUDA kernel.
template <template <typename> class Functor, typename... Params>
void on_cuda(at::TensorIteratorBase& iter, Params... params) {
  DIFFUSE_DISPATCH_FUSED(iter.dtype(), "fused_ops", [&] {
    at::native::gpu_kernel(iter, Functor<scalar_t>{static_cast<OpMath<scalar_t>>(params)...});
  });
}

}  // namespace

void mp_silu_forward(at::TensorIteratorBase& iter, double rms) { on_cuda<MpSiluForward>(iter, rms); }

void mp_silu_backward(at::TensorIteratorBase& iter, double rms) { on_cuda<MpSiluBackward>(iter, rms); }

void modulated_mp_silu_forward(at::TensorIteratorBase& iter, double rms) {
  on_cuda<ModulatedMpSiluForward>(iter, rms);
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

void mp_sum_forward(at::TensorIteratorBase& iter, double t, double norm) { on_cuda<MpSumForward>(iter, t, norm); }

}  // namespace diffuse::kernels::cuda
