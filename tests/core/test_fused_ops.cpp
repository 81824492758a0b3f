// The fused magnitude-preserving ops (core/cuda/fused_ops.h) against their definitions: values and
// gradients computed in fp64 by the unfused ops of nn/mp_ops.h from the same (rounded) inputs. On the
// CPU this checks the functors that the CUDA kernels run; with a CUDA device present the same tests
// run there too (bench/gpu/device-check.sh's core suite).
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "cuda/fused_ops.h"
#include "nn/mp_ops.h"
#include "test_util.h"

namespace diffuse::fused_ops_test {
namespace {

// Worst error allowed, as a multiple of the dtype's unit roundoff and of the reference's largest
// value: one rounding of the result (and of the fp32 operations before it) for the elementwise
// outputs; for ∂L/∂c, a sum over the pixels of rounded terms.
double unit_roundoff(at::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble: return 0x1p-53;
    case at::kFloat: return 0x1p-24;
    case at::kHalf: return 0x1p-11;
    case at::kBFloat16: return 0x1p-8;
    default: return 1;
  }
}

::testing::AssertionResult close_to(const std::string& what, const at::Tensor& actual, const at::Tensor& exact,
                                    double ulps) {
  const at::Tensor a = actual.detach().to(at::kCPU, at::kDouble);
  const double scale = exact.abs().max().item<double>();
  const double error = (a - exact).abs().max().item<double>();
  const double bound = ulps * unit_roundoff(actual.scalar_type()) * scale;
  if (actual.sizes() == exact.sizes() && error <= bound) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << " (" << actual.scalar_type() << "): max error " << error
                                       << " > " << bound << " (" << ulps << " roundoffs of " << scale << ")";
}

class FusedOps : public ::testing::TestWithParam<std::tuple<std::string, at::ScalarType>> {
 protected:
  at::Device device() const { return at::Device(std::get<0>(GetParam())); }
  at::ScalarType dtype() const { return std::get<1>(GetParam()); }
  // Standard-normal values of `shape` in the test's dtype and on its device, from a fixed seed, and the
  // same values (after that rounding) in fp64 on the CPU.
  std::pair<at::Tensor, at::Tensor> input(at::IntArrayRef shape, uint64_t seed, double scale = 1) const {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const at::Tensor values = (at::randn(shape, gen, at::kDouble) * scale).to(dtype()).to(device());
    return {values, values.to(at::kCPU, at::kDouble)};
  }
};

// Odd sizes (no vectorised fast path hides a tail) and an input in the channels-last layout.
const std::vector<int64_t> kShape{3, 5, 7, 9};

TEST_P(FusedOps, MpSiluEqualsItsDefinitionWithItsGradient) {
  for (const bool channels_last : {false, true}) {
    auto [x, x64] = input(kShape, 1, 3.0);
    if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    auto [g, g64] = input(kShape, 2);
    x.requires_grad_(true);
    x64.requires_grad_(true);
    const at::Tensor y = kernels::fused_mp_silu(x, kSiluRms);
    const at::Tensor y64 = mp_silu(x64);
    EXPECT_TRUE(close_to("mp_silu", y, y64.detach(), 2));
    y.backward(g);
    y64.backward(g64);
    EXPECT_TRUE(close_to("mp_silu'", x.grad(), x64.grad(), 4));
  }
}

TEST_P(FusedOps, ModulatedMpSiluEqualsItsDefinitionWithItsGradients) {
  auto [y, y64] = input(kShape, 3, 2.0);
  auto [c, c64] = input({kShape[0], kShape[1], 1, 1}, 4);
  auto [g, g64] = input(kShape, 5);
  for (at::Tensor* t : {&y, &y64, &c, &c64}) t->requires_grad_(true);
  const at::Tensor out = kernels::fused_modulated_mp_silu(y, c, kSiluRms);
  const at::Tensor out64 = mp_silu(y64 * c64);
  EXPECT_TRUE(close_to("mp_silu(y c)", out, out64.detach(), 2));
  out.backward(g);
  out64.backward(g64);
  EXPECT_TRUE(close_to("d/dy", y.grad(), y64.grad(), 4));
  // 63 pixels of terms, each rounded once, summed in fp32.
  EXPECT_TRUE(close_to("d/dc", c.grad(), c64.grad(), 16));

  // One embedding row broadcast over the batch (an expanded c): its gradient sums over the batch too.
  auto [c1, c164] = input({1, kShape[1], 1, 1}, 6);
  c1.requires_grad_(true);
  c164.requires_grad_(true);
  kernels::fused_modulated_mp_silu(y.detach(), c1.expand({kShape[0], -1, -1, -1}), kSiluRms).backward(g);
  mp_silu(y64.detach() * c164).backward(g64);
  EXPECT_TRUE(close_to("d/dc broadcast", c1.grad(), c164.grad(), 48));
}

TEST_P(FusedOps, MpSumEqualsItsDefinitionWithItsGradients) {
  for (const double t : {0.0, 0.3, 0.5, 0.7, 1.0}) {
    auto [a, a64] = input(kShape, 7);
    auto [b, b64] = input(kShape, 8);
    auto [g, g64] = input(kShape, 9);
    for (at::Tensor* v : {&a, &a64, &b, &b64}) v->requires_grad_(true);
    const at::Tensor out = kernels::fused_mp_sum(a, b, t);
    const at::Tensor out64 = mp_sum(a64, b64, t);
    const std::string what = "mp_sum t=" + std::to_string(t);
    EXPECT_TRUE(close_to(what, out, out64.detach(), 3));
    out.backward(g);
    out64.backward(g64);
    EXPECT_TRUE(close_to(what + " d/da", a.grad(), a64.grad(), 2));
    EXPECT_TRUE(close_to(what + " d/db", b.grad(), b64.grad(), 2));
  }
}

// normalize over one dim, in each layout the network gives it: rows whose values are contiguous (the
// pixel norm of channels-last activations, q/k/v tokens-first, weights [out, fan_in]; one CUDA warp per
// row) and rows strided over an inner block (NCHW's pixel norm, the einsum path's q/k/v; one CUDA
// thread per row), a row of one value, more channels than a warp has lanes, and an input that is not
// dense.
TEST_P(FusedOps, NormalizeEqualsItsDefinitionWithItsGradient) {
  struct Case {
    std::string name;
    std::vector<int64_t> shape;
    int64_t dim;
    bool channels_last = false, strided = false;
  };
  const std::vector<Case> cases{
      {"NCHW pixel norm", kShape, 1},
      {"channels-last pixel norm", kShape, 1, true},
      {"last dim", kShape, 3},
      {"first dim", kShape, 0},
      {"weight rows", {6, 300}, 1},
      {"strided inner block", {2, 70, 3}, 1},
      {"one channel", {3, 1, 7, 9}, 1},
      {"not dense", kShape, 2, false, true},
  };
  uint64_t seed = 20;
  for (const Case& c : cases) {
    auto [x, x64] = input(c.shape, seed++, 2.0);
    auto [g, g64] = input(c.shape, seed++);
    if (c.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    if (c.strided) {  // every other column of a wider tensor
      std::vector<int64_t> wide = c.shape;
      wide.back() *= 2;
      at::Tensor storage = at::zeros(wide, x.options());
      storage.slice(-1, 0, wide.back(), 2).copy_(x);
      x = storage.slice(-1, 0, wide.back(), 2);
      ASSERT_FALSE(x.is_non_overlapping_and_dense());
    }
    x.requires_grad_(true);
    x64.requires_grad_(true);
    const at::Tensor y = kernels::fused_normalize(x, c.dim);
    const at::Tensor y64 = normalize(x64, {c.dim});
    EXPECT_TRUE(close_to("normalize " + c.name, y, y64.detach(), 4));
    y.backward(g);
    y64.backward(g64);
    EXPECT_TRUE(close_to("normalize' " + c.name, x.grad(), x64.grad(), 8));
  }
}

// A row of zeros: the output is 0 and the gradient g/eps (the norm's derivative at 0 taken as 0, as
// LibTorch's autograd takes it), not NaN.
TEST_P(FusedOps, NormalizeOfAZeroRowHasAFiniteGradient) {
  for (const bool channels_last : {false, true}) {
    auto [x, x64] = input(kShape, 40);
    auto [g, g64] = input(kShape, 41);
    x = x.clone();
    x.select(2, 0).select(2, 0).zero_();  // the pixel (h, w) = (0, 0) of every image: zero channels
    x64 = x.detach().to(at::kCPU, at::kDouble);
    if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    x.requires_grad_(true);
    x64.requires_grad_(true);
    const at::Tensor y = kernels::fused_normalize(x, 1);
    normalize(x64, {1}).backward(g64);
    y.backward(g);
    EXPECT_EQ(y.select(2, 0).select(2, 0).abs().max().item<double>(), 0.0);
    EXPECT_TRUE(x.grad().isfinite().all().item<bool>());
    EXPECT_TRUE(close_to("normalize' with zero rows", x.grad(), x64.grad(), 8));
  }
}

TEST_P(FusedOps, RefusesMismatchedOperands) {
  const at::Tensor a = input(kShape, 10).first;
  EXPECT_ANY_THROW(kernels::fused_mp_sum(a, a.narrow(0, 0, 2), 0.3));
  EXPECT_ANY_THROW(kernels::fused_modulated_mp_silu(a, a, kSiluRms));
  EXPECT_ANY_THROW(kernels::fused_normalize(a.to(at::kInt), 1));
}

std::vector<std::tuple<std::string, at::ScalarType>> cases() {
  std::vector<std::tuple<std::string, at::ScalarType>> list;
  for (const std::string& device : test::available_devices()) {
    for (const at::ScalarType dtype : {at::kDouble, at::kFloat, at::kHalf, at::kBFloat16}) {
      list.emplace_back(device, dtype);
    }
  }
  return list;
}

INSTANTIATE_TEST_SUITE_P(Devices, FusedOps, ::testing::ValuesIn(cases()), [](const auto& info) {
  return std::get<0>(info.param) + "_" + std::string(c10::toString(std::get<1>(info.param)));
});

}  // namespace
}  // namespace diffuse::fused_ops_test
