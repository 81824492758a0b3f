#include "cuda/fused_ops.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/AccumulateType.h>
#include <ATen/Parallel.h>
#include <ATen/WrapDimUtils.h>
#include <ATen/native/TensorIterator.h>
#include <ATen/native/cpu/Loops.h>
#include <torch/csrc/autograd/custom_function.h>

#include "cuda/fused_ops_cuda.h"
#include "cuda/mp_elementwise.h"
#include "util/error.h"

namespace diffuse::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The CUDA launch, in a build with CUDA (elsewhere has_fused_ops refuses CUDA tensors first).
#ifdef DIFFUSE_WITH_CUDA
#define DIFFUSE_ON_CUDA(launch) launch
#else
#define DIFFUSE_ON_CUDA(launch) fail(ErrorCode::kInternal, "fused ops: built without CUDA")
#endif

at::TensorIterator unary(const at::Tensor& out, const at::Tensor& x) {
  return at::TensorIteratorConfig().add_output(out).add_input(x).build();
}

at::TensorIterator binary(const at::Tensor& out, const at::Tensor& a, const at::Tensor& b) {
  return at::TensorIteratorConfig().add_output(out).add_input(a).add_input(b).build();
}

// Runs Functor<T>{params...} (params in T's op-math type) over the iterator with LibTorch's CPU loops.
template <template <typename> class Functor, typename... Params>
void on_cpu(at::TensorIterator& iter, Params... params) {
  DIFFUSE_DISPATCH_FUSED(iter.dtype(), "fused_ops", [&] {
    at::native::cpu_kernel(iter, Functor<scalar_t>{static_cast<OpMath<scalar_t>>(params)...});
  });
}

// ---- the kernels: one launch each, on the CPU (TensorIterator's loops) or on CUDA -----------------

at::Tensor mp_silu_forward(const at::Tensor& x, double rms) {
  at::Tensor out = at::empty_like(x);
  at::TensorIterator iter = unary(out, x);
  if (x.is_cuda()) {
    DIFFUSE_ON_CUDA(cuda::mp_silu_forward(iter, rms));
  } else {
    on_cpu<MpSiluForward>(iter, rms);
  }
  return out;
}

at::Tensor mp_silu_backward(const at::Tensor& grad, const at::Tensor& x, double rms) {
  at::Tensor out = at::empty_like(x);
  at::TensorIterator iter = binary(out, grad, x);
  if (x.is_cuda()) {
    DIFFUSE_ON_CUDA(cuda::mp_silu_backward(iter, rms));
  } else {
    on_cpu<MpSiluBackward>(iter, rms);
  }
  return out;
}

at::Tensor modulated_mp_silu_forward(const at::Tensor& y, const at::Tensor& c, double rms) {
  at::Tensor out = at::empty_like(y);
  at::TensorIterator iter = binary(out, y, c);
  if (y.is_cuda()) {
    DIFFUSE_ON_CUDA(cuda::modulated_mp_silu_forward(iter, rms));
  } else {
    on_cpu<ModulatedMpSiluForward>(iter, rms);
  }
  return out;
}

// (∂L/∂y, ∂L/∂c): the first from one pass over (g, y, c), which also leaves d·y for the sum over
// the pixels that gives the second.
std::pair<at::Tensor, at::Tensor> modulated_mp_silu_backward(const at::Tensor& grad, const at::Tensor& y,
                                                             const at::Tensor& c, double rms) {
  at::Tensor grad_y = at::empty_like(y), terms = at::empty_like(y);
  at::TensorIterator iter = at::TensorIteratorConfig()
                                .add_output(grad_y)
                                .add_output(terms)
                                .add_input(grad)
                                .add_input(y)
                                .add_input(c)
                                .build();
  if (y.is_cuda()) {
    DIFFUSE_ON_CUDA(cuda::modulated_mp_silu_backward(iter, rms));
  } else {
    DIFFUSE_DISPATCH_FUSED(y.scalar_type(), "modulated_mp_silu_backward", [&] {
      const ModulatedMpSiluBackward<scalar_t> f{static_cast<OpMath<scalar_t>>(rms)};
      at::native::cpu_kernel_multiple_outputs(iter, [f](scalar_t g, scalar_t v, scalar_t m) {
        const OpMath<scalar_t> d = f.slope(g, v, m);
        return std::make_tuple(f.grad_y(d, m), f.grad_c_term(d, v));
      });
    });
  }
  // Summed in fp32 whatever the dtype, as LibTorch sums fp16/bf16.
  at::Tensor grad_c = terms.sum({2, 3}, /*keepdim=*/true, at::kFloat).to(c.scalar_type());
  return {grad_y, grad_c};
}

double mp_sum_norm(double t) { return std::sqrt((1 - t) * (1 - t) + t * t); }

at::Tensor mp_sum_forward(const at::Tensor& a, const at::Tensor& b, double t, double clip) {
  at::Tensor out = at::empty_like(a);
  at::TensorIterator iter = binary(out, a, b);
  const double norm = mp_sum_norm(t);
  if (a.is_cuda()) {
    DIFFUSE_ON_CUDA(cuda::mp_sum_forward(iter, t, norm, clip));
  } else {
    on_cpu<MpSumForward>(iter, t, norm, clip);
  }
  return out;
}

// (∂L/∂a, ∂L/∂b) in one pass over g (and, clipped, the saved output), in the layout TensorIterator
// picks for them.
std::pair<at::Tensor, at::Tensor> mp_sum_backward(const at::Tensor& grad, const at::Tensor& out, double t,
                                                  double clip) {
  const at::Tensor unallocated;  // both outputs: allocated by the iterator
  at::TensorIteratorConfig config;
  config.add_output(unallocated).add_output(unallocated).add_input(grad);
  if (clip > 0) config.add_input(out);
  at::TensorIterator iter = config.build();
  const double norm = mp_sum_norm(t), wa = (1 - t) / norm, wb = t / norm;
  if (grad.is_cuda()) {
    DIFFUSE_ON_CUDA(cuda::mp_sum_backward(iter, wa, wb, clip));
  } else {
    DIFFUSE_DISPATCH_FUSED(grad.scalar_type(), "mp_sum_backward", [&] {
      using O = OpMath<scalar_t>;
      const MpSumBackward<scalar_t> f{static_cast<O>(wa), static_cast<O>(wb), static_cast<O>(clip)};
      if (clip > 0) {
        at::native::cpu_kernel_multiple_outputs(iter, [f](scalar_t g, scalar_t o) {
          const O v = f.passed(g, o);
          return std::make_tuple(f.grad_a(v), f.grad_b(v));
        });
      } else {
        at::native::cpu_kernel_multiple_outputs(
            iter, [f](scalar_t g) { return std::make_tuple(f.grad_a(O(g)), f.grad_b(O(g))); });
      }
    });
  }
  return {iter.output(0), iter.output(1)};
}

// normalize over rows (RowLayout). On the CPU the rows (o, ·) of one o are summed side by side, each
// channel's `inner` values in one sweep, so that memory is read in order whatever the layout. A row's
// sums run over c in order, so they accumulate in LibTorch's CPU accumulation type (fp64 for fp32): in
// fp32 such a sum was measured 2-3x less accurate than LibTorch's own reduction. The CUDA kernels sum
// in fp32, a row split over a warp's lanes or, strided, in one thread.

// x's memory as rows over `dim`. A dense tensor's dims of smaller stride than `dim` span its stride
// exactly, those of larger stride whole multiples of size·stride.
RowLayout rows_of(const at::Tensor& x, int64_t dim) {
  const int64_t channels = x.size(dim);
  const int64_t inner = channels == 1 ? x.numel() : x.stride(dim);
  const int64_t row_block = channels * inner;
  return {row_block == 0 ? 0 : x.numel() / row_block, channels, inner};
}

template <typename T>
using CpuSum = at::acc_type<T, /*is_cuda=*/false>;

template <typename T, typename Row>
void for_each_row_group(const RowLayout& rows, Row row) {
  at::parallel_for(0, rows.outer, 1, [&](int64_t begin, int64_t end) {
    std::vector<CpuSum<T>> sums(static_cast<size_t>(rows.inner)), dots(static_cast<size_t>(rows.inner));
    for (int64_t o = begin; o < end; ++o) row(o * rows.channels * rows.inner, sums.data(), dots.data());
  });
}

template <typename T>
void normalize_forward_cpu(const T* x, T* y, const RowLayout& rows, double eps) {
  using O = OpMath<T>;
  using S = CpuSum<T>;
  const auto f = NormalizeRow<O>::of(rows.channels, eps);
  const int64_t inner = rows.inner;
  for_each_row_group<T>(rows, [&](int64_t base, S* sums, S*) {
    std::fill(sums, sums + inner, S(0));
    for (int64_t c = 0; c < rows.channels; ++c) {
      const T* xc = x + base + c * inner;
      for (int64_t i = 0; i < inner; ++i) sums[i] += S(xc[i]) * S(xc[i]);
    }
    for (int64_t i = 0; i < inner; ++i) sums[i] = f.divisor(O(sums[i]));  // now the divisors
    for (int64_t c = 0; c < rows.channels; ++c) {
      const int64_t at = base + c * inner;
      for (int64_t i = 0; i < inner; ++i) y[at + i] = f.value(x[at + i], O(sums[i]));
    }
  });
}

template <typename T>
void normalize_backward_cpu(const T* g, const T* x, T* gx, const RowLayout& rows, double eps) {
  using O = OpMath<T>;
  using S = CpuSum<T>;
  const auto f = NormalizeRow<O>::of(rows.channels, eps);
  const int64_t inner = rows.inner;
  for_each_row_group<T>(rows, [&](int64_t base, S* sums, S* dots) {
    std::fill(sums, sums + inner, S(0));
    std::fill(dots, dots + inner, S(0));
    for (int64_t c = 0; c < rows.channels; ++c) {
      const int64_t at = base + c * inner;
      for (int64_t i = 0; i < inner; ++i) {
        const S v = x[at + i];
        sums[i] += v * v;
        dots[i] += S(g[at + i]) * v;
      }
    }
    // sums become the divisors n, dots the factors k.
    for (int64_t i = 0; i < inner; ++i) {
      const O n = f.divisor(O(sums[i]));
      dots[i] = f.backward_factor(O(sums[i]), O(dots[i]), n);
      sums[i] = n;
    }
    for (int64_t c = 0; c < rows.channels; ++c) {
      const int64_t at = base + c * inner;
      for (int64_t i = 0; i < inner; ++i) gx[at + i] = f.grad(g[at + i], x[at + i], O(sums[i]), O(dots[i]));
    }
  });
}

// x dense; the output in x's layout.
at::Tensor normalize_forward(const at::Tensor& x, int64_t dim, double eps) {
  at::Tensor y = at::empty_like(x);
  const RowLayout rows = rows_of(x, dim);
  if (x.is_cuda()) {
    DIFFUSE_ON_CUDA(cuda::normalize_forward(x, y, rows, eps));
  } else {
    DIFFUSE_DISPATCH_FUSED(x.scalar_type(), "fused_normalize", [&] {
      normalize_forward_cpu(x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), rows, eps);
    });
  }
  return y;
}

at::Tensor normalize_backward(const at::Tensor& grad, const at::Tensor& x, int64_t dim, double eps) {
  // The gradient in x's layout, so that one RowLayout indexes both.
  at::Tensor g = grad;
  if (g.strides() != x.strides() || g.scalar_type() != x.scalar_type()) g = at::empty_like(x).copy_(grad);
  at::Tensor grad_x = at::empty_like(x);
  const RowLayout rows = rows_of(x, dim);
  if (x.is_cuda()) {
    DIFFUSE_ON_CUDA(cuda::normalize_backward(g, x, grad_x, rows, eps));
  } else {
    DIFFUSE_DISPATCH_FUSED(x.scalar_type(), "fused_normalize_backward", [&] {
      normalize_backward_cpu(g.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), grad_x.data_ptr<scalar_t>(), rows, eps);
    });
  }
  return grad_x;
}

// x's memory as images: [N, C, ...] contiguous, or channels-last (4-d), else made contiguous first.
std::pair<at::Tensor, ImageLayout> images_of(const at::Tensor& x) {
  const bool channels_last = x.dim() == 4 && !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor dense = channels_last || x.is_contiguous() ? x : x.contiguous();
  const int64_t size = x.size(0) == 0 ? 0 : x.numel() / x.size(0);
  return {dense, ImageLayout{size, x.dim() > 1 ? x.size(1) : 1, channels_last}};
}

// x·keep/(1 − p), keep from HashedDropout: the forward on the activations and, with the same keys,
// the backward on their gradient.
at::Tensor hashed_dropout(const at::Tensor& input, const at::Tensor& keys, int64_t ordinal, double p) {
  // Named, not a structured binding: C++17 lambdas (the loops below) cannot capture one.
  const std::pair<at::Tensor, ImageLayout> dense = images_of(input);
  const at::Tensor& x = dense.first;
  const ImageLayout images = dense.second;
  at::Tensor out = at::empty_like(x);
  if (x.is_cuda()) {
    DIFFUSE_ON_CUDA(cuda::hashed_dropout(x, keys, out, images, ordinal, p));
    return out;
  }
  const int64_t* image_keys = keys.data_ptr<int64_t>();
  DIFFUSE_DISPATCH_FUSED(x.scalar_type(), "fused_dropout", [&] {
    const auto f = HashedDropout<scalar_t>::of(p);
    const scalar_t* in = x.data_ptr<scalar_t>();
    scalar_t* to = out.data_ptr<scalar_t>();
    at::parallel_for(0, x.size(0), 1, [&](int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; ++n) {
        const uint64_t key = dropout_block_key(static_cast<uint64_t>(image_keys[n]), ordinal);
        const int64_t base = n * images.size;
        for (int64_t r = 0; r < images.size; ++r) to[base + r] = f.value(in[base + r], f.keep(key, images.position(r)));
      }
    });
  });
  return out;
}

// ---- the differentiable ops ------------------------------------------------------------------------

struct MpSilu : torch::autograd::Function<MpSilu> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, double rms) {
    ctx->save_for_backward({x});
    ctx->saved_data["rms"] = rms;
    return mp_silu_forward(x, rms);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    return {mp_silu_backward(grads[0], x, ctx->saved_data["rms"].toDouble()), at::Tensor()};
  }
};

// Saves y and c, not their product (which the unfused graph keeps for silu's backward).
struct ModulatedMpSilu : torch::autograd::Function<ModulatedMpSilu> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& y, const at::Tensor& c, double rms) {
    ctx->save_for_backward({y, c});
    ctx->saved_data["rms"] = rms;
    return modulated_mp_silu_forward(y, c, rms);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    auto [grad_y, grad_c] = modulated_mp_silu_backward(grads[0], saved[0], saved[1], ctx->saved_data["rms"].toDouble());
    return {grad_y, grad_c, at::Tensor()};
  }
};

// Saves nothing, or with clip > 0 its output (for where the clamp passes the gradient).
struct MpSum : torch::autograd::Function<MpSum> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b, double t, double clip) {
    ctx->saved_data["t"] = t;
    ctx->saved_data["clip"] = clip;
    at::Tensor out = mp_sum_forward(a, b, t, clip);
    if (clip > 0) ctx->save_for_backward({out});
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const double clip = ctx->saved_data["clip"].toDouble();
    const at::Tensor out = clip > 0 ? ctx->get_saved_variables()[0] : at::Tensor();
    auto [grad_a, grad_b] = mp_sum_backward(grads[0], out, ctx->saved_data["t"].toDouble(), clip);
    return {grad_a, grad_b, at::Tensor(), at::Tensor()};
  }
};

// Saves x (dense), not the divisors: the backward sums the row again with Σ g·x, in the same pass.
struct Normalize : torch::autograd::Function<Normalize> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t dim, double eps) {
    const at::Tensor dense = x.is_non_overlapping_and_dense() ? x : x.contiguous();
    ctx->save_for_backward({dense});
    ctx->saved_data["dim"] = dim;
    ctx->saved_data["eps"] = eps;
    return normalize_forward(dense, dim, eps);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    return {normalize_backward(grads[0], x, ctx->saved_data["dim"].toInt(), ctx->saved_data["eps"].toDouble()),
            at::Tensor(), at::Tensor()};
  }
};

// The mask is made again from the keys for the backward, not kept.
struct FusedDropout : torch::autograd::Function<FusedDropout> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& keys, int64_t ordinal,
                            double p) {
    ctx->save_for_backward({keys});
    ctx->saved_data["ordinal"] = ordinal;
    ctx->saved_data["p"] = p;
    return hashed_dropout(x, keys, ordinal, p);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor keys = ctx->get_saved_variables()[0];
    return {hashed_dropout(grads[0], keys, ctx->saved_data["ordinal"].toInt(), ctx->saved_data["p"].toDouble()),
            at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

void check_device(const at::Tensor& x, const char* op) {
  if (!has_fused_ops(x.device())) {
    fail(ErrorCode::kInternal, "{}: no fused kernel for device {}", op, x.device().str());
  }
}

}  // namespace

bool has_fused_ops(const c10::Device& device) {
#ifdef DIFFUSE_WITH_CUDA
  if (device.is_cuda()) return true;
#endif
  return device.is_cpu();
}

at::Tensor fused_mp_silu(const at::Tensor& x, double rms) {
  check_device(x, "fused_mp_silu");
  return MpSilu::apply(x, rms);
}

at::Tensor fused_modulated_mp_silu(const at::Tensor& y, const at::Tensor& c, double rms) {
  check_device(y, "fused_modulated_mp_silu");
  if (c.dim() != 4 || c.size(0) != y.size(0) || c.size(1) != y.size(1) || c.size(2) != 1 || c.size(3) != 1 ||
      c.scalar_type() != y.scalar_type() || c.device() != y.device()) {
    fail(ErrorCode::kInternal, "fused_modulated_mp_silu: c must be [N, C, 1, 1] in y's dtype and device");
  }
  return ModulatedMpSilu::apply(y, c, rms);
}

at::Tensor fused_mp_sum(const at::Tensor& a, const at::Tensor& b, double t, double clip) {
  check_device(a, "fused_mp_sum");
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type() || a.device() != b.device()) {
    fail(ErrorCode::kInternal, "fused_mp_sum: a and b must have one shape, dtype and device");
  }
  if (!(clip >= 0)) fail(ErrorCode::kInternal, "fused_mp_sum: clip = {} is not 0 (none) or positive", clip);
  return MpSum::apply(a, b, t, clip);
}

at::Tensor fused_normalize(const at::Tensor& x, int64_t dim, double eps) {
  check_device(x, "fused_normalize");
  if (!at::isFloatingType(x.scalar_type()) || x.dim() == 0) {
    fail(ErrorCode::kInternal, "fused_normalize: x must be a floating-point tensor of at least one dim");
  }
  return Normalize::apply(x, at::maybe_wrap_dim(dim, x.dim()), eps);
}

at::Tensor fused_dropout(const at::Tensor& x, const at::Tensor& keys, int64_t ordinal, double p) {
  check_device(x, "fused_dropout");
  if (!at::isFloatingType(x.scalar_type()) || x.dim() == 0) {
    fail(ErrorCode::kInternal, "fused_dropout: x must be a floating-point tensor of at least one dim");
  }
  if (keys.dim() != 1 || keys.size(0) != x.size(0) || keys.scalar_type() != at::kLong || keys.device() != x.device() ||
      !keys.is_contiguous()) {
    fail(ErrorCode::kInternal, "fused_dropout: keys must be one int64 per image ({}) on {}, not {}-d {} of {} on {}",
         x.size(0), x.device().str(), keys.dim(), c10::toString(keys.scalar_type()), keys.numel(), keys.device().str());
  }
  if (!(p >= 0 && p < 1)) fail(ErrorCode::kInternal, "fused_dropout: p = {} is not in [0, 1)", p);
  return FusedDropout::apply(x, keys, ordinal, p);
}

}  // namespace diffuse::kernels
