#include "cuda/fused_ops_cuda.h"

#include <algorithm>
#include <limits>

#include <ATen/cuda/CUDAContext.h>
#include <ATen/native/TensorIterator.h>
#include <ATen/native/cuda/Loops.cuh>
#include <c10/cuda/CUDAException.h>

#include "cuda/fused_ops.h"
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

// ---- normalize over rows (RowLayout) ------------------------------------------------------------------
// A row whose values are contiguous (inner = 1: channels-last activations, q/k/v laid out for the fused
// attention, weights) is summed by one warp, its lanes reading consecutive values; otherwise each thread
// takes one row, and the threads of a warp read consecutive rows at each channel.

constexpr int kThreads = 256, kWarp = 32;

template <typename O>
__device__ O warp_sum(O v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <typename T>
__global__ void normalize_forward_warps(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t channels,
                                        NormalizeRow<OpMath<T>> f) {
  using O = OpMath<T>;
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = static_cast<int>(threadIdx.x % kWarp);
  if (row >= rows) return;  // the whole warp: the shuffles below see every lane
  const T* xr = x + row * channels;
  T* yr = y + row * channels;
  O sum = 0;
  for (int64_t c = lane; c < channels; c += kWarp) {
    const O v = xr[c];
    sum += v * v;
  }
  const O n = f.divisor(warp_sum(sum));
  for (int64_t c = lane; c < channels; c += kWarp) yr[c] = f.value(xr[c], n);
}

template <typename T>
__global__ void normalize_backward_warps(const T* __restrict__ g, const T* __restrict__ x, T* __restrict__ gx,
                                         int64_t rows, int64_t channels, NormalizeRow<OpMath<T>> f) {
  using O = OpMath<T>;
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = static_cast<int>(threadIdx.x % kWarp);
  if (row >= rows) return;
  const int64_t base = row * channels;
  O sum = 0, dot = 0;
  for (int64_t c = lane; c < channels; c += kWarp) {
    const O v = x[base + c];
    sum += v * v;
    dot += O(g[base + c]) * v;
  }
  sum = warp_sum(sum);
  dot = warp_sum(dot);
  const O n = f.divisor(sum), k = f.backward_factor(sum, dot, n);
  for (int64_t c = lane; c < channels; c += kWarp) gx[base + c] = f.grad(g[base + c], x[base + c], n, k);
}

template <typename T>
__global__ void normalize_forward_threads(const T* __restrict__ x, T* __restrict__ y, RowLayout rows,
                                          NormalizeRow<OpMath<T>> f) {
  using O = OpMath<T>;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= rows.outer * rows.inner) return;
  const int64_t base = row / rows.inner * rows.channels * rows.inner + row % rows.inner;
  O sum = 0;
  for (int64_t c = 0; c < rows.channels; ++c) {
    const O v = x[base + c * rows.inner];
    sum += v * v;
  }
  const O n = f.divisor(sum);
  for (int64_t c = 0; c < rows.channels; ++c) y[base + c * rows.inner] = f.value(x[base + c * rows.inner], n);
}

template <typename T>
__global__ void normalize_backward_threads(const T* __restrict__ g, const T* __restrict__ x, T* __restrict__ gx,
                                           RowLayout rows, NormalizeRow<OpMath<T>> f) {
  using O = OpMath<T>;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= rows.outer * rows.inner) return;
  const int64_t base = row / rows.inner * rows.channels * rows.inner + row % rows.inner;
  O sum = 0, dot = 0;
  for (int64_t c = 0; c < rows.channels; ++c) {
    const O v = x[base + c * rows.inner];
    sum += v * v;
    dot += O(g[base + c * rows.inner]) * v;
  }
  const O n = f.divisor(sum), k = f.backward_factor(sum, dot, n);
  for (int64_t c = 0; c < rows.channels; ++c) {
    const int64_t at = base + c * rows.inner;
    gx[at] = f.grad(g[at], x[at], n, k);
  }
}

// ---- hashed dropout: a thread per value, consecutive threads at consecutive addresses ----------------

template <typename T>
__global__ void hashed_dropout_kernel(const T* __restrict__ x, const int64_t* __restrict__ keys, T* __restrict__ out,
                                      int64_t numel, ImageLayout images, int64_t ordinal, HashedDropout<T> f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < numel; i += stride) {
    const int64_t n = i / images.size, r = i - n * images.size;
    const uint64_t key = dropout_block_key(static_cast<uint64_t>(keys[n]), ordinal);
    out[i] = f.value(x[i], f.keep(key, images.position(r)));
  }
}

// Blocks of kThreads for `threads` threads.
unsigned int blocks_for(int64_t threads) {
  const int64_t blocks = (threads + kThreads - 1) / kThreads;
  TORCH_CHECK(blocks <= std::numeric_limits<int>::max(), "fused_normalize: ", threads, " threads is too many");
  return static_cast<unsigned int>(blocks);
}

}  // namespace

void normalize_forward(const at::Tensor& x, const at::Tensor& y, const RowLayout& rows, double eps) {
  if (x.numel() == 0) return;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  DIFFUSE_DISPATCH_FUSED(x.scalar_type(), "fused_normalize", [&] {
    const auto f = NormalizeRow<OpMath<scalar_t>>::of(rows.channels, eps);
    if (rows.inner == 1) {
      normalize_forward_warps<<<blocks_for(rows.outer * kWarp), kThreads, 0, stream>>>(
          x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), rows.outer, rows.channels, f);
    } else {
      normalize_forward_threads<<<blocks_for(rows.outer * rows.inner), kThreads, 0, stream>>>(
          x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), rows, f);
    }
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

void normalize_backward(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& grad_x, const RowLayout& rows,
                        double eps) {
  if (x.numel() == 0) return;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  DIFFUSE_DISPATCH_FUSED(x.scalar_type(), "fused_normalize_backward", [&] {
    const auto f = NormalizeRow<OpMath<scalar_t>>::of(rows.channels, eps);
    if (rows.inner == 1) {
      normalize_backward_warps<<<blocks_for(rows.outer * kWarp), kThreads, 0, stream>>>(
          grad.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), grad_x.data_ptr<scalar_t>(), rows.outer, rows.channels, f);
    } else {
      normalize_backward_threads<<<blocks_for(rows.outer * rows.inner), kThreads, 0, stream>>>(
          grad.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), grad_x.data_ptr<scalar_t>(), rows, f);
    }
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

void hashed_dropout(const at::Tensor& x, const at::Tensor& keys, const at::Tensor& out, const ImageLayout& images,
                    int64_t ordinal, double p) {
  const int64_t numel = x.numel();
  if (numel == 0) return;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  // Enough blocks to fill the device several times over; the grid-stride loop covers the rest.
  const int64_t max_blocks = 32LL * at::cuda::getCurrentDeviceProperties()->multiProcessorCount;
  const auto blocks = static_cast<unsigned int>(std::min((numel + kThreads - 1) / kThreads, max_blocks));
  DIFFUSE_DISPATCH_FUSED(x.scalar_type(), "fused_dropout", [&] {
    hashed_dropout_kernel<<<blocks, kThreads, 0, stream>>>(x.data_ptr<scalar_t>(), keys.data_ptr<int64_t>(),
                                                          out.data_ptr<scalar_t>(), numel, images, ordinal,
                                                          HashedDropout<scalar_t>::of(p));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

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

void mp_sum_forward(at::TensorIteratorBase& iter, double t, double norm, double clip) {
  on_cuda<MpSumForward>(iter, t, norm, clip);
}

void mp_sum_backward(at::TensorIteratorBase& iter, double wa, double wb, double clip) {
  DIFFUSE_DISPATCH_FUSED(iter.dtype(), "mp_sum_backward", [&] {
    using O = OpMath<scalar_t>;
    const MpSumBackward<scalar_t> f{static_cast<O>(wa), static_cast<O>(wb), static_cast<O>(clip)};
    if (clip > 0) {
      at::native::gpu_kernel_multiple_outputs(
          iter, [f] GPU_LAMBDA(scalar_t g, scalar_t out) -> thrust::tuple<scalar_t, scalar_t> {
            const O v = f.passed(g, out);
            return thrust::make_tuple(f.grad_a(v), f.grad_b(v));
          });
    } else {
      at::native::gpu_kernel_multiple_outputs(iter, [f] GPU_LAMBDA(scalar_t g) -> thrust::tuple<scalar_t, scalar_t> {
        return thrust::make_tuple(f.grad_a(O(g)), f.grad_b(O(g)));
      });
    }
  });
}

}  // namespace diffuse::kernels::cuda
