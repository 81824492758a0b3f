// Axis 2 loss weightings (spec methods.md §1.4, §4, §11 tests 3, 21–23): Min-SNR-γ per target with the
// zero-SNR guard, soft-min-SNR, constant and EDM, and the target conversions.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "loss/edm2_loss.h"
#include "loss/loss_weighting.h"
#include "loss/snr_weighting.h"
#include "nn/precond.h"
#include "noise/ddpm_table.h"
#include "noise_test_util.h"

namespace diffuse::loss_weighting_test {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(MinSnr, WeightsEqualTheSpecTable) {
  struct Row { double snr, eps, v, x0; };
  const std::vector<Row> rows = {{0.01, 1, 0.0099010, 0.01}, {1, 1, 0.5, 1}, {5, 1, 0.833333, 5},
                                 {10, 0.5, 0.454545, 5},     {100, 0.05, 0.0495050, 5}};
  for (const Row& r : rows) {
    EXPECT_NEAR(min_snr_weight(r.snr, 5, PredictionTarget::kEpsilon), r.eps, 1e-12) << r.snr;
    // The table rounds v to 6 decimals; the closed form is min(SNR, γ)/(SNR + 1).
    EXPECT_NEAR(min_snr_weight(r.snr, 5, PredictionTarget::kV), r.v, 5e-7) << r.snr;
    EXPECT_NEAR(min_snr_weight(r.snr, 5, PredictionTarget::kV), std::min(r.snr, 5.0) / (r.snr + 1), 1e-15) << r.snr;
    EXPECT_NEAR(min_snr_weight(r.snr, 5, PredictionTarget::kX0), r.x0, 1e-12) << r.snr;
  }
}

TEST(MinSnr, ZeroSnrGuard) {
  for (PredictionTarget t : {PredictionTarget::kEpsilon, PredictionTarget::kV, PredictionTarget::kX0, PredictionTarget::kF}) {
    EXPECT_EQ(min_snr_weight(0, 5, t, 0.25), 1.0);
  }
  EXPECT_EQ(min_snr_weight(kInf, 5, PredictionTarget::kEpsilon), 0.0);
  EXPECT_EQ(min_snr_weight(kInf, 5, PredictionTarget::kV), 0.0);
  EXPECT_EQ(min_snr_weight(kInf, 5, PredictionTarget::kX0), 5.0);
  // A zero-terminal-SNR table: every weight is finite for every target.
  const DdpmTable table = cosine_table(1000);
  std::vector<double> snr;
  for (double a : table.alpha_bar) snr.push_back(a / (1 - a));
  snr.back() = 0;  // enforce zero terminal SNR
  for (double s : snr) {
    for (PredictionTarget t : {PredictionTarget::kEpsilon, PredictionTarget::kV, PredictionTarget::kX0}) {
      EXPECT_TRUE(std::isfinite(min_snr_weight(s, 5, t))) << s;
    }
  }
  // The training weight (x0/D space) is 1 at σ = ∞ instead of NaN.
  const SnrWeighting w(v1::LossConfig::MIN_SNR, 5, 1);
  const at::Tensor sigma = at::tensor({kInf, 1.0, 0.1}, at::kDouble);
  const at::Tensor got = w.weight(sigma);
  EXPECT_EQ(got[0].item<double>(), 1.0);
  EXPECT_EQ(got[1].item<double>(), 1.0);
  EXPECT_EQ(got[2].item<double>(), 5.0);
}

TEST(MinSnr, EdmFormsAgreeInDAndFSpace) {
  // w_x0·‖D − y‖² = w_x0·c_out²·‖F − F*‖² with F* = (y − c_skip·x)/c_out, D = c_skip·x + c_out·F.
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(1);
  const double sd = 0.5;
  const at::Tensor sigma = at::rand({16}, g, at::kDouble).mul(4).sub(2).exp().reshape({-1, 1, 1, 1});
  const at::Tensor y = at::randn({16, 2, 4, 4}, g, at::kDouble), n = at::randn({16, 2, 4, 4}, g, at::kDouble);
  const at::Tensor f = at::randn({16, 2, 4, 4}, g, at::kDouble), x = y + sigma * n;
  const PrecondCoefficients c = precond_coefficients(sigma, sd);
  const at::Tensor d = c.c_skip * x + c.c_out * f, f_star = (y - c.c_skip * x) / c.c_out;
  const SnrWeighting w(v1::LossConfig::MIN_SNR, 5, 1);
  const at::Tensor wx0 = w.weight(sigma);
  const at::Tensor d_loss = (wx0 * (d - y).square()).sum({1, 2, 3});
  const at::Tensor f_loss = (wx0 * c.c_out.square() * (f - f_star).square()).sum({1, 2, 3});
  EXPECT_TRUE(at::allclose(d_loss, f_loss, 1e-10, 0));
  // The F row of the §4.2 table: σ_d²·min(1/σ², γ)·σ²/(σ² + σ_d²).
  for (double s : {0.1, 0.447, 1.0, 3.0}) {
    const double c_out2 = s * s * sd * sd / (s * s + sd * sd);
    EXPECT_NEAR(min_snr_weight(1 / (s * s), 5, PredictionTarget::kF, c_out2),
                sd * sd * std::min(1 / (s * s), 5.0) * s * s / (s * s + sd * sd), 1e-15);
  }
}

TEST(SnrWeighting, TargetConversionsPreserveTheX0Error) {
  // §1.4 on random tensors: weight_Y × MSE_Y = w_x0 × ‖x0 − x̂0‖² for ε, v and x0 (VP parameterisation).
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(2);
  for (double lambda : {-3.0, -0.5, 0.0, 1.2, 4.0}) {
    const double a = std::sqrt(1 / (1 + std::exp(-lambda))), s = std::sqrt(1 / (1 + std::exp(lambda)));
    const double snr = std::exp(lambda), w_x0 = min_snr_x0_weight(snr, 5);
    const at::Tensor x0 = at::randn({64}, g, at::kDouble), eps = at::randn({64}, g, at::kDouble);
    const at::Tensor xt = a * x0 + s * eps;
    const at::Tensor eps_hat = eps + 0.1 * at::randn({64}, g, at::kDouble);
    const at::Tensor x0_from_eps = (xt - s * eps_hat) / a;
    const double x0_err_eps = (x0 - x0_from_eps).square().sum().item<double>();
    EXPECT_NEAR(target_weight(w_x0, snr, PredictionTarget::kEpsilon) * (eps - eps_hat).square().sum().item<double>(),
                w_x0 * x0_err_eps, 1e-10 * (1 + w_x0 * x0_err_eps));
    const at::Tensor v = a * eps - s * x0, v_hat = v + 0.1 * at::randn({64}, g, at::kDouble);
    const at::Tensor x0_from_v = a * xt - s * v_hat;
    const double x0_err_v = (x0 - x0_from_v).square().sum().item<double>();
    EXPECT_NEAR(target_weight(w_x0, snr, PredictionTarget::kV) * (v - v_hat).square().sum().item<double>(),
                w_x0 * x0_err_v, 1e-10 * (1 + w_x0 * x0_err_v));
    EXPECT_EQ(target_weight(w_x0, snr, PredictionTarget::kX0), w_x0);
  }
}

TEST(SoftMinSnr, MatchesKDiffusionForm) {
  // γ = σ_d⁻² in RAW SNR: the F-weight equals (σσ_d)²/(σ² + σ_d²)².
  const double sd = 0.5;
  for (double s : {0.01, 0.3, 1.0, 7.0, 80.0}) {
    const double c_out2 = s * s * sd * sd / (s * s + sd * sd);
    const double w = target_weight(soft_min_snr_x0_weight(1 / (s * s), 1 / (sd * sd)), 1 / (s * s), PredictionTarget::kF, c_out2);
    const double expected = (s * sd) * (s * sd) / std::pow(s * s + sd * sd, 2);
    EXPECT_NEAR(w / expected, 1, 1e-12) << s;
  }
  EXPECT_NEAR(target_weight(soft_min_snr_x0_weight(1, 4), 1, PredictionTarget::kF, 0.25 / 1.25), 0.16, 1e-12);
  // The training weighting from a config (γ default σ_d⁻² = 4): x0 weight 1/(σ² + σ_d²).
  const v1::LossConfig config = test::resolved_methods_config("loss { weighting: SOFT_MIN_SNR }").loss();
  EXPECT_DOUBLE_EQ(config.snr_gamma(), 4.0);
  const auto w = make_loss_weighting(config, sd);
  const at::Tensor sigma = at::tensor({0.1, 1.0, 10.0}, at::kDouble);
  EXPECT_TRUE(at::allclose(w->weight(sigma), 1 / (sigma.square() + sd * sd), 1e-14, 0));
}

TEST(LossWeighting, EachConfiguredWeightingHasItsClosedForm) {
  const at::Tensor sigma = at::tensor({0.002, 0.1, 0.447, 1.0, 5.0, 80.0}, at::kDouble);
  const double sd = 0.5;
  auto weight_of = [&](const std::string& text) {
    return make_loss_weighting(test::resolved_methods_config("loss { " + text + " }").loss(), sd)->weight(sigma);
  };
  EXPECT_TRUE(at::allclose(weight_of("weighting: EDM"), (sigma.square() + sd * sd) / (sigma * sd).square(), 1e-14, 0));
  EXPECT_TRUE(at::equal(weight_of("weighting: CONSTANT uncertainty: false"), at::ones_like(sigma)));
  EXPECT_TRUE(at::allclose(weight_of("weighting: MIN_SNR"), at::clamp_max(1 / sigma.square(), 5.0), 1e-14, 0));
  EXPECT_TRUE(at::allclose(weight_of("weighting: MIN_SNR snr_gamma: 2 snr_reference: DATA_NORMALIZED"),
                           at::clamp_max(sd * sd / sigma.square(), 2.0), 1e-14, 0));
  // The EDM weight is 1/c_out²: unit weight on F.
  const PrecondCoefficients c = precond_coefficients(sigma, sd);
  EXPECT_TRUE(at::allclose(edm_loss_weight(sigma, sd) * c.c_out.square(), at::ones_like(sigma), 1e-14, 0));
}

}  // namespace
}  // namespace diffuse::loss_weighting_test
