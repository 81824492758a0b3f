// Magnitude-preserving primitives against the exact values of spec edm2.md §16 (items 1-8).
#include <cmath>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include "nn/block.h"
#include "nn/mp_conv.h"
#include "nn/mp_fourier.h"
#include "nn/mp_ops.h"
#include "tensor_compare.h"

namespace diffuse::mp_ops_test {
namespace {

TEST(MpOps, NormalizeAddsEpsToTheRms) {
  const at::Tensor ones = at::ones({2, 3, 4}, at::kDouble);
  EXPECT_TRUE(at::allclose(normalize(ones), at::full({2, 3, 4}, 0.99990001, at::kDouble), 0, 1e-8));
  const at::Tensor x = at::tensor({3.0, 4.0}).reshape({1, 2});
  const at::Tensor y = normalize(x);
  EXPECT_NEAR(y[0][0].item<double>(), 0.84850414, 1e-7);
  EXPECT_NEAR(y[0][1].item<double>(), 1.13133885, 1e-7);
}

TEST(MpOps, NormalizeOverChannelsIsPerPixel) {
  const at::Tensor x = at::randn({2, 5, 3, 3}, at::kDouble);
  const at::Tensor y = normalize(x, {1});
  const at::Tensor rms = x.square().mean({1}, true).sqrt();
  EXPECT_TRUE(at::allclose(y, x / (rms + 1e-4), 1e-6, 1e-9));
}

TEST(MpOps, MpSiluValuesAndUnitRms) {
  EXPECT_NEAR(mp_silu(at::tensor({1.0})).item<double>(), 1.2266084, 1e-6);
  EXPECT_NEAR(mp_silu(at::tensor({-1.0})).item<double>(), -0.4512440, 1e-6);
  at::manual_seed(0);
  const double rms = mp_silu(at::randn({1000000}, at::kDouble)).square().mean().sqrt().item<double>();
  EXPECT_NEAR(rms, 1.0008, 0.002);
}

TEST(MpOps, MpSumCoefficients) {
  const at::Tensor one = at::ones({1}, at::kDouble), zero = at::zeros({1}, at::kDouble);
  EXPECT_NEAR(mp_sum(one, zero, 0.3).item<double>(), 0.9191450, 1e-7);
  EXPECT_NEAR(mp_sum(zero, one, 0.3).item<double>(), 0.3939193, 1e-7);
  EXPECT_NEAR(mp_sum(one, zero, 0.5).item<double>(), 0.7071068, 1e-7);
  EXPECT_NEAR(mp_sum(zero, one, 0.5).item<double>(), 0.7071068, 1e-7);
}

TEST(MpOps, MpCatWeightsAndChannelOrder) {
  const at::Tensor a = at::ones({1, 4, 1, 1}, at::kDouble), b = at::ones({1, 3, 1, 1}, at::kDouble);
  const at::Tensor y = mp_cat(a, 2 * b, 0.5);
  ASSERT_EQ(y.size(1), 7);
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(y[0][c].item<double>(), 0.9354143, 1e-7);
  for (int c = 4; c < 7; ++c) EXPECT_NEAR(y[0][c].item<double>(), 2 * 1.0801234, 1e-7);
  const at::Tensor z = mp_cat(a, 3 * a, 0.5);
  EXPECT_NEAR(z[0][0].item<double>(), 1.0, 1e-12);
  EXPECT_NEAR(z[0][4].item<double>(), 3.0, 1e-12);
}

TEST(MpOps, ResampleIsAveragePoolNearestUpAndIdentity) {
  const at::Tensor x = at::randn({2, 3, 4, 6});
  const at::Tensor down = resample(x, Resample::kDown);
  const at::Tensor expected_down = x.reshape({2, 3, 2, 2, 3, 2}).mean({3, 5});
  EXPECT_TRUE(at::allclose(down, expected_down, 1e-6, 1e-7));
  const at::Tensor up = resample(x, Resample::kUp);
  EXPECT_TRUE(at::equal(up, x.repeat_interleave(2, 2).repeat_interleave(2, 3)));
  EXPECT_TRUE(at::equal(resample(x, Resample::kKeep), x));
}

TEST(MpFourier, IsRootTwoCosineOfItsBuffers) {
  MPFourier fourier(64);
  const at::Tensor s = at::linspace(-3, 3, 101);
  const at::Tensor y = fourier->forward(s);
  const auto buffers = fourier->named_buffers();
  const at::Tensor expected = std::sqrt(2.0) * (at::outer(s, *buffers.find("freqs")) + *buffers.find("phases")).cos();
  EXPECT_TRUE(at::allclose(y, expected, 1e-5, 1e-6));
  EXPECT_NEAR(y.square().mean().sqrt().item<double>(), 1.0, 0.1);
}

TEST(MpConv, TrainingForwardForcesUnitRmsFilters) {
  MPConv conv(6, 5, std::vector<int64_t>{3, 3});
  conv->train();
  const at::Tensor rms_before = conv->weight().detach().square().mean({1, 2, 3}).sqrt();
  conv->forward(at::randn({2, 6, 8, 8}));
  const at::Tensor rms = conv->weight().detach().square().mean({1, 2, 3}).sqrt();
  // normalize() divides by (eps + RMS): the new RMS is RMS/(eps + RMS), i.e. 1 up to eps.
  EXPECT_TRUE(at::allclose(rms, rms_before / (rms_before + 1e-4), 1e-6, 0));
  EXPECT_TRUE(at::allclose(rms, at::ones({5}), 0, 2e-4));
}

TEST(MpConv, EvalForwardLeavesWeightUntouched) {
  MPConv conv(6, 5, std::vector<int64_t>{3, 3});
  conv->eval();
  const at::Tensor before = conv->weight().detach().clone();
  conv->forward(at::randn({2, 6, 8, 8}));
  EXPECT_TRUE(at::equal(conv->weight(), before));
}

// Without autograd in eval mode the normalized weight is cached: the same outputs bit for bit as
// computing it on every call, until the parameter changes.
TEST(MpConv, InferenceCacheGivesTheUncachedResultUntilTheWeightChanges) {
  MPConv conv(3, 4, std::vector<int64_t>{3, 3});
  conv->eval();
  const at::Tensor x = at::randn({2, 3, 5, 5});
  const at::Tensor gain = at::scalar_tensor(0.7);
  const at::Tensor uncached = conv->forward(x), uncached_gain = conv->forward(x, gain);  // autograd on: no cache
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(conv->forward(x), uncached));
  EXPECT_TRUE(at::equal(conv->forward(x), uncached));  // from the cache
  EXPECT_TRUE(at::equal(conv->forward(x, gain), uncached_gain));
  conv->weight().mul_(-1);  // a new version of the parameter
  EXPECT_TRUE(at::equal(conv->forward(x), -uncached));
  conv->weight().set_data(at::randn({4, 3, 3, 3}));  // new storage
  EXPECT_FALSE(at::equal(conv->forward(x), -uncached));
}

TEST(MpConv, EffectiveFilterNormEqualsGain) {
  MPConv linear(7, 4, std::vector<int64_t>{});
  linear->eval();
  const at::Tensor gain = at::tensor(2.5);
  // Feeding the identity returns the effective weight transposed: one column per output filter.
  const at::Tensor w_eff = linear->forward(at::eye(7), gain);
  const at::Tensor norms = w_eff.square().sum(0).sqrt();
  EXPECT_TRUE(at::allclose(norms, at::full({4}, 2.5), 1e-3, 0));
}

TEST(MpConv, GradientHasNoRadialComponent) {
  MPConv conv(6, 5, std::vector<int64_t>{3, 3});
  conv->train();
  const at::Tensor y = conv->forward(at::randn({2, 6, 8, 8}));
  y.square().sum().backward();
  const at::Tensor w = conv->weight().detach(), g = conv->weight().grad();
  const at::Tensor radial = (w * g).sum({1, 2, 3}) / (w.norm(2, {1, 2, 3}) * g.norm(2, {1, 2, 3}));
  EXPECT_LT(radial.abs().max().item<double>(), 1e-3);
}

// Two heads, so both the q/k/v interleave ((h·C_head + c)·3 + j) and the head order are exercised.
TEST(Block, AttentionReadsQkvChannelsInReferenceLayout) {
  ModelOptions o;
  o.channels_per_head = 4;
  const BlockPlan plan{"8x8_block0", false, 8, 8, BlockFlavor::kEnc, Resample::kKeep, true};
  Block block(plan, 16, o);
  block->eval();
  ASSERT_EQ(block->num_heads(), 2);
  const at::Tensor x = at::randn({2, 8, 3, 3});
  const at::Tensor y = block->attention(x);

  // Independent computation with explicit channel indexing.
  const auto params = block->named_parameters();
  auto effective = [](const at::Tensor& w) {
    const at::Tensor v = w.detach().flatten(1);
    return (v / (v.square().mean(1, true).sqrt() + 1e-4)) / std::sqrt(static_cast<double>(v.size(1)));
  };
  const at::Tensor wqkv = effective(*params.find("attn_qkv.weight"));
  const at::Tensor wproj = effective(*params.find("attn_proj.weight"));
  const at::Tensor tokens = x.flatten(2);                             // [N, C, L]
  const at::Tensor qkv = at::einsum("oc,ncl->nol", {wqkv, tokens});  // [N, 3C, L]
  std::vector<at::Tensor> heads;
  for (int h = 0; h < 2; ++h) {
    std::vector<at::Tensor> parts;
    for (int j = 0; j < 3; ++j) {
      std::vector<int64_t> idx;
      for (int c = 0; c < 4; ++c) idx.push_back((h * 4 + c) * 3 + j);
      at::Tensor part = qkv.index_select(1, at::tensor(idx));  // [N, 4, L]
      parts.push_back(part / (part.square().mean(1, true).sqrt() + 1e-4));
    }
    const at::Tensor w = (at::matmul(parts[0].transpose(1, 2), parts[1]) / 2.0).softmax(2);  // [N, Lq, Lk]
    heads.push_back(at::matmul(parts[2], w.transpose(1, 2)));                               // [N, 4, Lq]
  }
  const at::Tensor out = at::einsum("oc,ncl->nol", {wproj, at::cat(heads, 1)}).reshape(x.sizes());
  EXPECT_TRUE(test::tensors_close("attention", y, out, 1e-5));
}

}  // namespace
}  // namespace diffuse::mp_ops_test
