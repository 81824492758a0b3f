// Axis 3 (spec methods.md §5, §11 tests 25–28): MDLRC's β1 schedule and compensation, Adam's exact
// bias correction under a changing β1, and the learning-rate schedules.
#include <cmath>
#include <cstdio>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include "noise_test_util.h"
#include "optim/adam.h"
#include "optim/mdlrc.h"
#include "optim/optimizer_schedule.h"
#include "test_util.h"

namespace diffuse::optim_methods_test {
namespace {

TEST(Mdlrc, Beta1AndCompensationMatchTheSpecTable) {
  MdlrcOptions o;
  EXPECT_NEAR(mdlrc_beta1(o, 0), 0.9, 1e-15);
  EXPECT_NEAR(mdlrc_beta1(o, 0.125), 0.8, 1e-15);
  EXPECT_NEAR(mdlrc_beta1(o, 0.25), 0.7, 1e-15);
  EXPECT_NEAR(mdlrc_beta1(o, 0.5), 0.5, 1e-15);
  EXPECT_NEAR(mdlrc_beta1(o, 0.9), 0.5, 1e-15);
  const auto noise = MomentumCompensation::kNoiseEquivalent, sgd = MomentumCompensation::kSgdEquivalent;
  EXPECT_NEAR(mdlrc_compensation(noise, 0.8, 0.9), 0.6882472, 1e-7);
  EXPECT_NEAR(mdlrc_compensation(sgd, 0.8, 0.9), 2, 1e-12);
  EXPECT_NEAR(mdlrc_compensation(noise, 0.7, 0.9), 0.5461187, 1e-7);
  EXPECT_NEAR(mdlrc_compensation(sgd, 0.7, 0.9), 3, 1e-12);
  EXPECT_NEAR(mdlrc_compensation(noise, 0.5, 0.9), 0.3973597, 1e-7);
  EXPECT_NEAR(mdlrc_compensation(sgd, 0.5, 0.9), 5, 1e-12);
  EXPECT_EQ(mdlrc_compensation(MomentumCompensation::kNone, 0.5, 0.9), 1.0);
  EXPECT_NEAR(mdlrc_compensation(noise, 0.5, 0.99), 0.1227818, 1e-7);
  o.cosine = true;
  const double b = mdlrc_beta1(o, 0.125);
  EXPECT_NEAR(b, 0.8414214, 1e-7);
  EXPECT_NEAR(mdlrc_compensation(noise, b, 0.9), 0.7817672, 1e-7);
  EXPECT_NEAR(mdlrc_compensation(sgd, b, 0.9), 1.5857864, 1e-7);
  // Invariants along the schedule.
  o.cosine = false;
  for (double p : {0.0, 0.1, 0.2, 0.33, 0.5, 0.8}) {
    const double beta1 = mdlrc_beta1(o, p);
    EXPECT_NEAR(mdlrc_compensation(sgd, beta1, 0.9) / (1 - beta1), 1 / (1 - 0.9), 1e-12);
    EXPECT_NEAR(mdlrc_compensation(noise, beta1, 0.9) * std::sqrt((1 - beta1) / (1 + beta1)), std::sqrt(0.1 / 1.9), 1e-12);
  }
}

TEST(Mdlrc, ScheduleAppliesBeta1AndTheCompensatedRate) {
  const v1::OptimizerConfig c = test::resolved_methods_config(
      "optimizer { lr_schedule: CONSTANT ref_lr: 0.002 rampup_images: 0 momentum_schedule: MDLRC mdlrc { compensation: SGD_EQUIVALENT } }")
                                    .optimizer();
  const OptimizerSchedule schedule(c, 64);
  const StepHyperparameters h = schedule.at(640, 0.125);
  EXPECT_NEAR(h.beta1, 0.8, 1e-15);
  EXPECT_NEAR(h.compensation, 2, 1e-12);
  EXPECT_NEAR(h.lr, 0.004, 1e-15);
  // Neutral: p < p_start keeps beta1_start and c = 1, and the rate is the plain schedule.
  const v1::OptimizerConfig late = test::resolved_methods_config(
      "optimizer { rampup_images: 10000000 momentum_schedule: MDLRC mdlrc { p_start: 0.5 p_end: 1 } }").optimizer();
  const OptimizerSchedule s2(late, 2048);
  for (int64_t nimg : {0, 5000000, 143360000}) {
    const StepHyperparameters n = s2.at(nimg, 0.3);
    EXPECT_EQ(n.beta1, 0.9);
    EXPECT_EQ(n.compensation, 1);
    EXPECT_EQ(n.lr, s2.base_lr(nimg, 0.3));
  }
  EXPECT_NEAR(s2.at(5000000, 0.1).lr, 0.005, 1e-15);
}

TEST(LrSchedule, CosineAndConstantWithWarmup) {
  const v1::OptimizerConfig c = test::resolved_methods_config(
      "optimizer { lr_schedule: COSINE ref_lr: 0.01 rampup_images: 1000 cosine_final_fraction: 0.1 }").optimizer();
  const OptimizerSchedule s(c, 32);
  EXPECT_NEAR(s.at(500, 0.0).lr, 0.005, 1e-15);
  EXPECT_NEAR(s.at(2000, 0.5).lr, 0.01 * (0.1 + 0.9 * 0.5), 1e-15);
  EXPECT_NEAR(s.at(2000, 1.0).lr, 0.001, 1e-15);
  const v1::OptimizerConfig k = test::resolved_methods_config("optimizer { lr_schedule: CONSTANT ref_lr: 1e-4 rampup_images: 0 }").optimizer();
  EXPECT_EQ(OptimizerSchedule(k, 32).at(123456, 0.7).lr, 1e-4);
}

TEST(AdamBiasCorrection, ChangingBeta1MatchesAHandComputedReference) {
  // β1 = 0.9, 0.8, 0.7 and g ≡ 1: m_3 = 0.496 and m̂_3 = 1 (EXACT) or 0.496/(1 − 0.7³) (STOCK).
  for (bool exact : {true, false}) {
    at::Tensor p = at::zeros({1}, at::kDouble).set_requires_grad(true);
    p.mutable_grad() = at::ones({1}, at::kDouble);
    Adam adam({p}, AdamOptions{0.9, 0.99, 0.0, exact});
    const std::vector<double> betas = {0.9, 0.8, 0.7};
    double m = 0, v = 0, product = 1, theta = 0;
    for (size_t t = 1; t <= betas.size(); ++t) {
      const double lr = 0.1 * static_cast<double>(t);
      adam.step(lr, betas[t - 1]);
      m = betas[t - 1] * m + (1 - betas[t - 1]);
      v = 0.99 * v + 0.01;
      product *= betas[t - 1];
      const double m_hat = m / (exact ? 1 - product : 1 - std::pow(betas[t - 1], static_cast<double>(t)));
      const double v_hat = v / (1 - std::pow(0.99, static_cast<double>(t)));
      theta -= lr * m_hat / std::sqrt(v_hat);
      EXPECT_NEAR(p.detach().item<double>(), theta, 1e-14) << t << (exact ? " exact" : " stock");
    }
    EXPECT_NEAR(adam.exp_avg()[0].item<double>(), 0.496, 1e-15);
    EXPECT_NEAR(m / (1 - product), 1.0, 1e-14);
    if (!exact) {
      EXPECT_NEAR(m / (1 - std::pow(0.7, 3)), 0.754947, 1e-6);
    }
  }
}

TEST(AdamBiasCorrection, ExactEqualsLibTorchAdamForConstantBeta1) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(3);
  at::Tensor ours = at::randn({32}, g, at::kDouble).set_requires_grad(true);
  at::Tensor theirs = ours.detach().clone().set_requires_grad(true);
  Adam adam({ours}, AdamOptions{0.9, 0.99, 1e-8, true});
  torch::optim::Adam reference({theirs}, torch::optim::AdamOptions(1e-3).betas({0.9, 0.99}).eps(1e-8));
  for (int step = 0; step < 1000; ++step) {
    const at::Tensor grad = at::randn({32}, g, at::kDouble);
    ours.mutable_grad() = grad.clone();
    theirs.mutable_grad() = grad.clone();
    adam.step(1e-3, 0.9);
    reference.step();
  }
  const double rel = ((ours.detach() - theirs.detach()).abs() / theirs.detach().abs().clamp_min(1e-3)).max().item<double>();
  EXPECT_LT(rel, 1e-12);
}

TEST(AdamBiasCorrection, NoiseEquivalentCompensationKeepsTheUpdateRms) {
  // White-noise gradients on 2000 coordinates for 3000 steps (β2 0.99), first 300 discarded.
  auto update_rms = [](double beta1, double c) {
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(17);
    at::Tensor p = at::zeros({2000}, at::kDouble).set_requires_grad(true);
    at::NoGradGuard no_grad;
    Adam adam({p}, AdamOptions{beta1, 0.99, 1e-8, true});
    double sum = 0;
    int64_t count = 0;
    for (int step = 0; step < 3000; ++step) {
      p.mutable_grad() = at::randn({2000}, g, at::kDouble);
      const at::Tensor before = p.clone();
      adam.step(1e-3 * c, beta1);
      if (step >= 300) {
        sum += (p - before).square().sum().item<double>();
        count += 2000;
      }
    }
    return std::sqrt(sum / static_cast<double>(count));
  };
  const double ratio = update_rms(0.5, 0.3973597) / update_rms(0.9, 1.0);
  std::printf("[ rms ] NOISE_EQUIVALENT update RMS ratio %.5f\n", ratio);
  EXPECT_NEAR(ratio, 1, 0.01);
  // Without compensation the update noise grows (the "over-amplification").
  EXPECT_GT(update_rms(0.5, 1.0) / update_rms(0.9, 1.0), 2.0);
}

// The multi-tensor update is the per-parameter loop, one operation at a time over all parameters:
// bit for bit on the CPU (where _foreach loops too); on CUDA the fused kernels compute in fp32 as the
// per-tensor ones do, within 1e-6 of the largest value. Parameters without a gradient stay untouched.
class AdamMultiTensor : public ::testing::TestWithParam<std::string> {};

TEST_P(AdamMultiTensor, EqualsTheLoopOverParameters) {
  const at::Device device(GetParam());
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const std::vector<std::vector<int64_t>> shapes = {{8, 3, 3, 3}, {8}, {1}, {16, 8}, {4, 4}};
  std::vector<at::Tensor> start;
  for (const auto& shape : shapes) start.push_back(at::randn(shape, gen));
  std::vector<std::vector<at::Tensor>> params(2);
  std::vector<Adam> adams;
  for (int multi = 0; multi < 2; ++multi) {
    for (const at::Tensor& t : start) params[multi].push_back(t.to(device).clone().set_requires_grad(true));
    adams.emplace_back(params[multi], AdamOptions{0.9, 0.99, 1e-8, true, multi == 1});
  }
  const double beta1s[] = {0.9, 0.85, 0.8, 0.8, 0.7};
  for (int step = 0; step < 5; ++step) {
    std::vector<at::Tensor> grads;
    for (const at::Tensor& t : start) grads.push_back(at::randn(t.sizes(), gen) * (step + 1));
    for (int multi = 0; multi < 2; ++multi) {
      adams[multi].zero_grad();
      for (size_t i = 0; i < start.size(); ++i) {
        if (i == 3) continue;  // one parameter without a gradient
        params[multi][i].mutable_grad() = grads[i].to(device);
      }
      adams[multi].step(1e-2 / (step + 1), beta1s[step]);
    }
  }
  for (size_t i = 0; i < start.size(); ++i) {
    const at::Tensor loop = params[0][i].detach().cpu(), multi = params[1][i].detach().cpu();
    if (device.is_cpu()) {
      EXPECT_TRUE(at::equal(loop, multi)) << i << ": max diff " << (loop - multi).abs().max().item<double>();
    } else {
      EXPECT_LE((loop - multi).abs().max().item<double>(), 1e-6 * loop.abs().max().item<double>()) << i;
    }
    for (int moment = 0; moment < 2; ++moment) {
      const at::Tensor a = (moment ? adams[0].exp_avg_sq() : adams[0].exp_avg())[i].cpu();
      const at::Tensor b = (moment ? adams[1].exp_avg_sq() : adams[1].exp_avg())[i].cpu();
      EXPECT_LE((a - b).abs().max().item<double>(), device.is_cpu() ? 0.0 : 1e-6 * a.abs().max().item<double>())
          << i << " moment " << moment + 1;
    }
  }
  EXPECT_TRUE(at::equal(params[1][3].detach().cpu(), start[3])) << "a parameter without a gradient moved";
  EXPECT_EQ(adams[1].step_count(), 5);
}

INSTANTIATE_TEST_SUITE_P(Devices, AdamMultiTensor, ::testing::ValuesIn(test::available_devices()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace diffuse::optim_methods_test
