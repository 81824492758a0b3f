// Parity of the MP-UNet, its preconditioning, the EDM2 loss, the gradients and one Adam step with
// the reference (shared/golden/mpunet_tiny.safetensors; spec edm2.md §16 items 9, 11-15). Runs on the
// CPU, and also on CUDA when a CUDA device is present.
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>

#include "io/safetensors.h"
#include "loss/edm2_loss.h"
#include "nn/model_plan.h"
#include "nn/precond.h"
#include "nn/state_dict.h"
#include "optim/adam.h"
#include "fixtures.h"
#include "tensor_compare.h"
#include "util/error.h"
#include "test_util.h"

namespace diffuse::mpunet_golden_test {
namespace {

const std::string kGoldenName = "mpunet_tiny.safetensors";

const SafetensorsFile& golden_file() { return test::golden_file(kGoldenName).file; }
const std::map<std::string, at::Tensor>& golden() { return test::golden_file(kGoldenName).tensors; }
const at::Tensor& g(const std::string& name) { return test::golden_file(kGoldenName)[name]; }

// The network configuration recorded in the golden file's metadata.
ModelOptions tiny_options() { return test::golden_model_options(golden_file()); }

std::map<std::string, at::Tensor> with_prefix(const std::string& prefix) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, tensor] : golden()) {
    if (name.compare(0, prefix.size(), prefix) == 0) out.emplace(name.substr(prefix.size()), tensor);
  }
  return out;
}

Precond load_tiny(const at::Device& device) {
  Precond net(tiny_options());
  load_state_dict(*net, golden(), kGoldenName, "init.");
  net->to(device);
  return net;
}

TEST(MpunetStructure, StateDictNamesAndShapesEqualReference) {
  const Precond net(tiny_options());
  const NamedTensors state = state_dict(*net);
  const auto reference = with_prefix("init.");
  ASSERT_EQ(state.size(), 63u);
  ASSERT_EQ(reference.size(), 63u);
  for (const auto& [name, tensor] : state) {
    auto it = reference.find(name);
    ASSERT_NE(it, reference.end()) << "not in the reference: " << name;
    EXPECT_EQ(tensor.sizes(), it->second.sizes()) << name;
  }
  EXPECT_EQ(net->parameters().size(), 59u);
  EXPECT_EQ(net->buffers().size(), 4u);
}

TEST(MpunetStructure, PlanMatchesModuleParameters) {
  const Precond net(tiny_options());
  const auto plan = parameter_shapes(tiny_options());
  std::map<std::string, std::vector<int64_t>> planned(plan.begin(), plan.end());
  int64_t elements = 0;
  for (const auto& item : net->named_parameters()) {
    ASSERT_TRUE(planned.count(item.key())) << item.key();
    EXPECT_EQ(item.value().sizes().vec(), planned.at(item.key())) << item.key();
    elements += item.value().numel();
  }
  EXPECT_EQ(planned.size(), net->named_parameters().size());
  EXPECT_EQ(elements, 723579);
  EXPECT_EQ(count_parameters(tiny_options()), 723579);
}

TEST(MpunetStructure, FreshNetworkOutputsCSkipTimesX) {
  Precond net(tiny_options());
  net->eval();
  const at::Tensor x = at::randn({2, 3, 16, 16});
  const PrecondOutput out = net->forward(x, at::ones({2}), at::eye(10).narrow(0, 0, 2));
  EXPECT_TRUE(at::equal(out.denoised, x * 0.2f)) << "out_gain = 0 must give F = 0 exactly";
}

TEST(MpunetStructure, PrecondCoefficientsMatchSpecTable) {
  const at::Tensor sigma = at::tensor({0.01, 0.5, 1.0, 80.0}, at::kDouble);
  const PrecondCoefficients c = precond_coefficients(sigma, 0.5);
  const double c_skip[] = {0.999600, 0.5, 0.2, 3.906097e-5};
  const double c_out[] = {0.009998, 0.353553, 0.447214, 0.499990};
  const double c_in[] = {1.999600, 1.414214, 0.894427, 0.0124998};
  const double c_noise[] = {-1.151293, -0.173287, 0.0, 1.095507};
  const double weight[] = {10004.0, 8.0, 5.0, 4.000156};
  const at::Tensor lambda = edm_loss_weight(sigma, 0.5);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(c.c_skip[i].item<double>(), c_skip[i], 5e-7 + 1e-6 * c_skip[i]) << i;
    EXPECT_NEAR(c.c_out[i].item<double>(), c_out[i], 5e-7) << i;
    EXPECT_NEAR(c.c_in[i].item<double>(), c_in[i], 5e-7) << i;
    EXPECT_NEAR(c.c_noise[i].item<double>(), c_noise[i], 5e-7) << i;
    EXPECT_NEAR(lambda[i].item<double>(), weight[i], 1e-6 * weight[i]) << i;
  }
}

TEST(MpunetStructure, LoadRejectsMissingAndMisshapenTensors) {
  Precond net(tiny_options());
  auto tensors = with_prefix("init.");
  auto missing = tensors;
  missing.erase("unet.out_gain");
  try {
    load_state_dict(*net, missing, "test.safetensors");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("missing tensor 'unet.out_gain'"), std::string::npos) << e.what();
  }
  auto misshapen = tensors;
  misshapen["unet.emb_noise.weight"] = at::zeros({64, 31});
  try {
    load_state_dict(*net, misshapen, "test.safetensors");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'unet.emb_noise.weight' has shape [64, 31]"), std::string::npos) << e.what();
  }
  auto extra = tensors;
  extra["unet.bogus"] = at::zeros({1});
  EXPECT_THROW(load_state_dict(*net, extra, "test.safetensors"), Error);
}

class MpunetGolden : public ::testing::TestWithParam<std::string> {
 protected:
  at::Device device() const { return at::Device(GetParam()); }
  at::Tensor on_device(const std::string& name) const { return g(name).to(device()); }
  // The training levers that change the arithmetic, as a set.
  enum Lever : unsigned { kNone = 0, kFusedKernels = 1, kFusedNormalize = 2, kChannelsLast = 4, kFusedAttention = 8 };
  void check_training_step(unsigned levers);
  void check_eval_outputs(bool fused_attention, bool fused_normalize);
};

void MpunetGolden::check_eval_outputs(bool fused_attention, bool fused_normalize) {
  Precond net = load_tiny(device());
  net->eval();
  net->unet()->set_fused_attention(fused_attention);
  net->unet()->set_fused_normalize(fused_normalize);
  const PrecondOutput out =
      net->forward(on_device("eval.x"), on_device("eval.sigma"), on_device("eval.labels"), /*return_logvar=*/true);
  EXPECT_TRUE(test::tensors_close("eval.D", out.denoised, g("eval.D"), 1e-5));
  EXPECT_TRUE(test::tensors_close("eval.logvar", out.logvar, g("eval.logvar"), 1e-5));
}

TEST_P(MpunetGolden, EvalOutputsMatchReference) { check_eval_outputs(false, false); }
TEST_P(MpunetGolden, EvalOutputsWithFusedAttentionMatchReference) { check_eval_outputs(true, false); }
TEST_P(MpunetGolden, EvalOutputsWithFusedNormalizeMatchReference) { check_eval_outputs(false, true); }

TEST_P(MpunetGolden, EvalWithoutLabelsUsesZeroLabelRow) {
  Precond net = load_tiny(device());
  net->eval();
  const PrecondOutput out = net->forward(on_device("eval.x"), on_device("eval.sigma"));
  EXPECT_TRUE(test::tensors_close("eval.D_nolabels", out.denoised, g("eval.D_nolabels"), 1e-5));
}

// One training iteration in the reference order (spec §1.6): forward (forced WN), loss, backward,
// Adam step; with the blocks' elementwise ops and the normalisations unfused (nn/mp_ops.h) or fused
// (cuda/fused_ops.h), in the NCHW or the channels-last layout, attention by einsums or
// scaled_dot_product_attention.
void MpunetGolden::check_training_step(unsigned levers) {
  Precond net = load_tiny(device());
  net->train();
  net->unet()->set_fused_elementwise((levers & kFusedKernels) != 0);
  net->unet()->set_fused_normalize((levers & kFusedNormalize) != 0);
  net->unet()->set_channels_last_training((levers & kChannelsLast) != 0);
  net->unet()->set_fused_attention((levers & kFusedAttention) != 0);
  const at::Tensor x = on_device("eval.x");
  const at::Tensor sigma = on_device("train.sigma").reshape({-1, 1, 1, 1});
  const at::Tensor noisy = x + sigma * on_device("train.noise");
  const PrecondOutput out = net->forward(noisy, sigma, on_device("eval.labels"), /*return_logvar=*/true);
  const at::Tensor loss =
      uncertainty_weighted_loss(out.denoised, x, edm_loss_weight(sigma, 0.5), out.logvar).sum() / x.size(0);
  EXPECT_TRUE(test::tensors_close("train.loss", loss.reshape({1}), g("train.loss"), 1e-5));

  for (const auto& [name, tensor] : state_dict(*net)) {
    EXPECT_TRUE(test::tensors_close("forced_wn." + name, tensor, g("forced_wn." + name), 1e-5));
  }

  loss.backward();
  int checked = 0;
  for (const auto& item : net->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_TRUE(test::tensors_close("grad." + item.key(), item.value().grad(), g("grad." + item.key()), 1e-4));
    ++checked;
  }
  EXPECT_EQ(checked, 59);

  // Adam's first step moves every weight by lr·g/(|g| + eps) ≈ ±lr, so for the few gradient entries
  // within float32 noise of zero the sign itself is noise; the whole-tensor error stays tiny.
  Adam adam(net->parameters(), AdamOptions{0.9, 0.99, 1e-8});
  adam.step(/*lr=*/0.01);
  for (const auto& [name, tensor] : state_dict(*net)) {
    EXPECT_TRUE(test::tensors_close_l2("adam1." + name, tensor, g("adam1." + name), 1e-5));
  }
}

TEST_P(MpunetGolden, TrainingStepMatchesReference) { check_training_step(kNone); }
TEST_P(MpunetGolden, TrainingStepWithFusedKernelsMatchesReference) { check_training_step(kFusedKernels); }
TEST_P(MpunetGolden, TrainingStepWithFusedNormalizeMatchesReference) { check_training_step(kFusedNormalize); }
TEST_P(MpunetGolden, TrainingStepChannelsLastMatchesReference) { check_training_step(kChannelsLast); }
TEST_P(MpunetGolden, TrainingStepWithFusedAttentionMatchesReference) { check_training_step(kFusedAttention); }
TEST_P(MpunetGolden, TrainingStepWithEveryGpuLeverMatchesReference) {
  check_training_step(kFusedKernels | kFusedNormalize | kChannelsLast | kFusedAttention);
}

// The optimizer alone: Adam applied to the reference's own post-forward weights and gradients.
TEST_P(MpunetGolden, AdamStepOnReferenceGradientsMatchesReference) {
  Precond net(tiny_options());
  load_state_dict(*net, golden(), kGoldenName, "forced_wn.");
  net->to(device());
  for (auto& item : net->named_parameters()) item.value().mutable_grad() = on_device("grad." + item.key());
  Adam adam(net->parameters(), AdamOptions{0.9, 0.99, 1e-8});
  adam.step(/*lr=*/0.01);
  for (const auto& [name, tensor] : state_dict(*net)) {
    EXPECT_TRUE(test::tensors_close("adam1." + name, tensor, g("adam1." + name), 1e-6));
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, MpunetGolden, ::testing::ValuesIn(test::available_devices()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace diffuse::mpunet_golden_test
