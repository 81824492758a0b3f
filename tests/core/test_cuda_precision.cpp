// Reduced-precision U-Net bodies on CUDA (spec edm2.md §6 "Precision"): with fp16 (the reference
// default) or bf16 the body really runs in that dtype, stays close to the fp32 body, and training
// gets a finite loss and finite fp32 gradients. Skipped without a CUDA device.
#include <cstdio>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "loss/edm2_loss.h"
#include "nn/precond.h"
#include "nn/state_dict.h"
#include "fixtures.h"

namespace diffuse::cuda_precision_test {
namespace {

const std::string kGoldenName = "mpunet_tiny.safetensors";

at::Tensor on_cuda(const std::string& name) { return test::golden_file(kGoldenName)[name].to(at::kCUDA); }

Precond load_tiny(Precision precision) {
  const test::GoldenFile& golden = test::golden_file(kGoldenName);
  ModelOptions options = test::golden_model_options(golden.file);
  options.precision = precision;
  Precond net(options);
  load_state_dict(*net, golden.tensors, kGoldenName, "init.");
  net->to(at::kCUDA);
  return net;
}

double relative_l2(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a.detach().to(at::kCPU, at::kDouble), y = b.detach().to(at::kCPU, at::kDouble);
  return ((x - y).norm() / y.norm()).item<double>();
}

// The body's output F, recovered from D = c_skip·x + c_out·F, for the golden eval inputs.
at::Tensor body_output(Precond& net) {
  net->eval();
  const at::Tensor x = on_cuda("eval.x"), sigma = on_cuda("eval.sigma");
  const PrecondCoefficients c = precond_coefficients(sigma.reshape({-1, 1, 1, 1}), net->options().sigma_data);
  const at::Tensor d = net->forward(x, sigma, on_cuda("eval.labels")).denoised;
  return (d - c.c_skip * x) / c.c_out;
}

struct Case {
  Precision precision;
  at::ScalarType dtype;
  double max_body_error;  // relative L2 of F against the fp32 body
  double max_grad_error;  // relative L2 of all gradients against the reference's fp32 ones
};

class CudaPrecision : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  }
};

TEST_P(CudaPrecision, UNetComputesInTheBodyDtype) {
  Precond net = load_tiny(GetParam().precision);
  net->eval();
  const at::Tensor x = on_cuda("eval.x").to(GetParam().dtype);
  const at::Tensor f = net->unet()->forward(x, on_cuda("eval.sigma").log() / 4, on_cuda("eval.labels"));
  EXPECT_EQ(f.scalar_type(), GetParam().dtype);
}

TEST_P(CudaPrecision, BodyIsReducedButCloseToFp32) {
  Precond reduced = load_tiny(GetParam().precision), full = load_tiny(Precision::kFp32);
  const at::Tensor f = body_output(reduced), f32 = body_output(full);
  const double error = relative_l2(f, f32);
  std::printf("[ precision ] %s body vs fp32 body: relative L2 %.3e\n", c10::toString(GetParam().dtype), error);
  EXPECT_GT(error, 0.0) << "identical to the fp32 body: the reduced precision was not applied";
  EXPECT_LT(error, GetParam().max_body_error);
}

TEST_P(CudaPrecision, TrainingLossAndGradientsAreFiniteFp32) {
  Precond net = load_tiny(GetParam().precision);
  net->train();
  const at::Tensor x = on_cuda("eval.x"), sigma = on_cuda("train.sigma"), s4 = sigma.reshape({-1, 1, 1, 1});
  const PrecondOutput out = net->forward(x + on_cuda("train.noise") * s4, sigma, on_cuda("eval.labels"), true);
  const at::Tensor loss = uncertainty_weighted_loss(out.denoised, x, edm_loss_weight(s4, 0.5), out.logvar).sum() / 4;
  ASSERT_TRUE(at::isfinite(loss).item<bool>());
  std::printf("[ precision ] %s training loss %.6f (fp32 reference %.6f)\n", c10::toString(GetParam().dtype),
              loss.item<double>(), test::golden_file(kGoldenName)["train.loss"].item<double>());
  loss.backward();
  std::vector<at::Tensor> grads, reference;
  for (const auto& item : net->named_parameters()) {
    const at::Tensor& grad = item.value().grad();
    ASSERT_TRUE(grad.defined()) << item.key();
    EXPECT_EQ(grad.scalar_type(), at::kFloat) << item.key();
    EXPECT_TRUE(at::isfinite(grad).all().item<bool>()) << item.key();
    grads.push_back(grad.flatten());
    reference.push_back(on_cuda("grad." + item.key()).flatten());
  }
  const double error = relative_l2(at::cat(grads), at::cat(reference));
  std::printf("[ precision ] %s gradients vs the reference's fp32 gradients: relative L2 %.3e\n",
              c10::toString(GetParam().dtype), error);
  EXPECT_LT(error, GetParam().max_grad_error);
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaPrecision,
                         ::testing::Values(Case{Precision::kFp16, at::kHalf, 1e-2, 5e-2},
                                           Case{Precision::kBf16, at::kBFloat16, 5e-2, 2e-1}),
                         [](const auto& info) { return std::string(c10::toString(info.param.dtype)); });

}  // namespace
}  // namespace diffuse::cuda_precision_test
