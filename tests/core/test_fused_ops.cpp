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
#include "util/seed.h"

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

// mp_sum followed by the activation clipping, in one pass each way: the values clamp(mp_sum(a, b, t),
// ±clip) and the gradients of that composition, about a third of the values clamped. Where the sum lies
// within a few roundoffs of ±clip, a rounding decides whether the clamp passes the gradient (the
// fused op decides on its rounded, clamped output, the unfused one on the rounded sum), so g is 0
// there; a and b in another layout than g.
TEST_P(FusedOps, MpSumWithClipEqualsTheClampedSumWithItsGradients) {
  const double clip = 1.0;
  for (const double t : {0.0, 0.3, 1.0}) {
    auto [a, a64] = input(kShape, 12, 1.5);
    auto [b, b64] = input(kShape, 13, 1.5);
    auto [g, g64] = input(kShape, 14);
    const at::Tensor sum64 = mp_sum(a64, b64, t);
    const at::Tensor near_clip = (sum64.abs() - clip).abs() < 8 * unit_roundoff(dtype()) * clip;
    g64 = g64.masked_fill(near_clip, 0);
    g = g64.to(dtype()).to(device());
    a = a.contiguous(at::MemoryFormat::ChannelsLast);
    const double clamped = (sum64.abs() > clip).to(at::kDouble).mean().item<double>();
    EXPECT_GT(clamped, 0.2) << "t=" << t;
    EXPECT_LT(clamped, 0.6) << "t=" << t;
    for (at::Tensor* v : {&a, &a64, &b, &b64}) v->requires_grad_(true);
    const at::Tensor out = kernels::fused_mp_sum(a, b, t, clip);
    const at::Tensor out64 = mp_sum(a64, b64, t).clamp(-clip, clip);
    const std::string what = "clipped mp_sum t=" + std::to_string(t);
    // The bound is relative to the output's largest value, clip; the sums' roundings to that of a, b
    // (up to 4 clip).
    EXPECT_TRUE(close_to(what, out, out64.detach(), 12));
    EXPECT_LE(out.abs().max().item<double>(), clip);
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

// fused_dropout's definition (cuda/fused_ops.h), computed here on the host: the keep mask of x's
// shape in fp64 (1 kept, 0 dropped), value [n, c, h, w] from image n's key, `ordinal` and its [C, H, W]
// index j, kept iff the top 32 bits of mix_seed(block key + j·γ) are below round((1 − p)·2^32).
at::Tensor dropout_mask(const std::vector<int64_t>& keys, at::IntArrayRef shape, int64_t ordinal, double p) {
  at::Tensor keep = at::empty(shape, at::kDouble);
  auto k = keep.accessor<double, 4>();
  const auto threshold = static_cast<uint64_t>(std::llround((1 - p) * 0x1p32));
  for (int64_t n = 0; n < shape[0]; ++n) {
    const uint64_t block_key = mix_seed(static_cast<uint64_t>(keys[n]) + static_cast<uint64_t>(ordinal));
    for (int64_t j = 0; j < shape[1] * shape[2] * shape[3]; ++j) {
      const uint64_t bits = mix_seed(block_key + static_cast<uint64_t>(j) * kGoldenGamma) >> 32;
      k[n][j / (shape[2] * shape[3])][j / shape[3] % shape[2]][j % shape[3]] = bits < threshold ? 1 : 0;
    }
  }
  return keep;
}

at::Tensor key_tensor(const std::vector<int64_t>& keys, const at::Device& device) {
  return at::tensor(keys, at::kLong).to(device);
}

// The mask is its definition exactly (on CUDA too: the same integer hash), in any memory layout of x
// and of the incoming gradient; the kept values are x/(1 − p) up to one rounding; the backward drops
// the same values; and an image's mask is its own in a batch of any size.
TEST_P(FusedOps, DropoutEqualsItsDefinitionInEveryLayoutWithItsGradient) {
  const double p = 0.3;
  const int64_t ordinal = 7;
  const std::vector<int64_t> keys{11, -5, 1LL << 62};  // any 64 bits
  const at::Tensor keep = dropout_mask(keys, kShape, ordinal, p);
  for (const std::string layout : {"contiguous", "channels-last", "permuted", "not dense"}) {
    auto [x, x64] = input(kShape, 50);
    auto [g, g64] = input(kShape, 51);
    if (layout == "channels-last") x = x.contiguous(at::MemoryFormat::ChannelsLast);
    if (layout == "permuted") x = x.transpose(2, 3).contiguous().transpose(2, 3);  // dense, W before H
    if (layout == "not dense") x = at::cat({x, x}, 1).narrow(1, 0, kShape[1]);     // a view into a larger tensor
    if (layout != "channels-last") g = g.contiguous(at::MemoryFormat::ChannelsLast);  // another layout than x's
    x.requires_grad_(true);
    const at::Tensor y = kernels::fused_dropout(x, key_tensor(keys, device()), ordinal, p);
    const std::string what = "dropout (" + layout + ")";
    const at::Tensor kept = y.detach().ne(0).to(at::kCPU, at::kDouble);
    EXPECT_TRUE(at::equal(kept, keep)) << what << ": " << (kept - keep).abs().sum().item<double>()
                                       << " values kept or dropped against the definition";
    EXPECT_TRUE(close_to(what, y, x64 * keep / (1 - p), 2));
    y.backward(g);
    EXPECT_TRUE(close_to(what + "'", x.grad(), g64 * keep / (1 - p), 2));

    const at::Tensor two = kernels::fused_dropout(x.detach().narrow(0, 1, 2), key_tensor({keys[1], keys[2]}, device()),
                                                  ordinal, p);
    EXPECT_TRUE(at::equal(two, y.detach().narrow(0, 1, 2))) << what << ": images 1, 2 alone";
  }
}

// The keep rate is 1 − p, and masks are independent across positions, blocks and images: over
// 2^19 values the fraction kept, and the fractions where a value and its neighbour, the same value in
// the next block, and in the next image are both kept, lie within 5 standard deviations of 1 − p and
// (1 − p)². The hash is integer arithmetic, the same on every device: this runs on the CPU.
TEST(FusedDropout, KeepsEachValueWithProbability1MinusPIndependently) {
  const double p = 0.1, q = 1 - p;
  const std::vector<int64_t> shape{8, 64, 32, 32};
  std::vector<int64_t> keys;
  for (int64_t n = 0; n < shape[0]; ++n) keys.push_back(static_cast<int64_t>(mix_seed(static_cast<uint64_t>(n))));
  const at::Tensor ones = at::ones(shape, at::kFloat), key = key_tensor(keys, at::kCPU);
  const at::Tensor a = kernels::fused_dropout(ones, key, 3, p).ne(0).flatten(1).to(at::kDouble);
  const at::Tensor b = kernels::fused_dropout(ones, key, 4, p).ne(0).flatten(1).to(at::kDouble);
  const auto within = [](const std::string& what, const at::Tensor& both, double rate) {
    const double n = static_cast<double>(both.numel()), fraction = both.mean().item<double>();
    const double sd = std::sqrt(rate * (1 - rate) / n);
    EXPECT_NEAR(fraction, rate, 5 * sd) << what << " over " << n << " values";
  };
  within("kept", a, q);
  within("kept with its neighbour", a.narrow(1, 0, a.size(1) - 1) * a.narrow(1, 1, a.size(1) - 1), q * q);
  within("kept in the next block", a * b, q * q);
  within("kept in the next image", a.narrow(0, 0, 7) * a.narrow(0, 1, 7), q * q);
  EXPECT_EQ(kernels::fused_dropout(ones, key, 3, 0.0).min().item<double>(), 1.0) << "p = 0 keeps every value";
}

TEST_P(FusedOps, RefusesMismatchedOperands) {
  const at::Tensor a = input(kShape, 10).first;
  EXPECT_ANY_THROW(kernels::fused_mp_sum(a, a.narrow(0, 0, 2), 0.3));
  EXPECT_ANY_THROW(kernels::fused_mp_sum(a, a, 0.3, -1.0));
  EXPECT_ANY_THROW(kernels::fused_modulated_mp_silu(a, a, kSiluRms));
  EXPECT_ANY_THROW(kernels::fused_normalize(a.to(at::kInt), 1));
  const at::Tensor keys = key_tensor({1, 2, 3}, device());
  EXPECT_ANY_THROW(kernels::fused_dropout(a, keys.narrow(0, 0, 2), 0, 0.1));
  EXPECT_ANY_THROW(kernels::fused_dropout(a, keys.to(at::kInt), 0, 0.1));
  EXPECT_ANY_THROW(kernels::fused_dropout(a, keys, 0, 1.0));
  EXPECT_ANY_THROW(kernels::fused_dropout(a, keys, 0, std::nan("")));
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
