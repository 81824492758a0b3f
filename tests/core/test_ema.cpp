// Learning-rate schedule, power-function EMA and post-hoc EMA reconstruction against
// shared/golden/ema_lr.json and spec edm2.md §6-§8, §16 items 18-21.
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

#include "ema/posthoc.h"
#include "ema/power_ema.h"
#include "store/ema_snapshot.h"
#include "ema/power_function.h"
#include "optim/lr_schedule.h"
#include "fixtures.h"
#include "test_util.h"
#include "util/error.h"

namespace diffuse::ema_test {
namespace {

using test::throws_error;

const nlohmann::json& golden() {
  static const nlohmann::json data = [] {
    std::ifstream in(test::golden_path("ema_lr.json"));
    EXPECT_TRUE(in.good()) << test::golden_path("ema_lr.json");
    return nlohmann::json::parse(in);
  }();
  return data;
}

double relative_error(double actual, double expected) {
  return expected == 0 ? std::abs(actual) : std::abs(actual - expected) / std::abs(expected);
}

// ---- §6 learning-rate schedule ------------------------------------------------------------------

TEST(LearningRate, MatchesGolden) {
  const auto& cases = golden().at("learning_rate_schedule");
  ASSERT_EQ(cases.size(), 6u);
  double worst = 0;
  for (const auto& c : cases) {
    const double lr = edm2_learning_rate(c.at("cur_nimg").get<int64_t>(), c.at("ref_lr").get<double>(),
                                         c.at("ref_batches").get<double>(), c.at("batch_size").get<int64_t>(),
                                         c.at("rampup_Mimg").get<double>() * 1e6);
    const double err = relative_error(lr, c.at("lr").get<double>());
    EXPECT_LE(err, 1e-12) << "nimg " << c.at("cur_nimg") << ": " << lr << " vs " << c.at("lr");
    worst = std::max(worst, err);
  }
  RecordProperty("max_relative_error", fmt::format("{:.3g}", worst));
}

TEST(LearningRate, PresetS) {
  EXPECT_NEAR(edm2_learning_rate(5'000'000, 0.010, 70000, 2048, 10e6), 0.005, 1e-15);
  EXPECT_NEAR(edm2_learning_rate(143'360'000, 0.010, 70000, 2048, 10e6), 0.010, 1e-15);
  EXPECT_NEAR(edm2_learning_rate(int64_t{1} << 31, 0.010, 70000, 2048, 10e6), 0.0025837, 1e-7);
  // The first step runs at the pre-step count 0, so its rate is 0.
  EXPECT_EQ(edm2_learning_rate(0, 0.010, 70000, 2048, 10e6), 0.0);
  EXPECT_EQ(edm2_learning_rate(0, 0.010, 70000, 2048, 0), 0.010);
}

// ---- §7 power function --------------------------------------------------------------------------

TEST(PowerFunction, BetaMatchesGolden) {
  const auto& g = golden().at("power_function_beta");
  const auto& steps = g.at("steps_nimg_batch");
  double worst = 0;
  for (const auto& sigma_rel : g.at("std")) {
    const std::string key = fmt::format("{:.3f}", sigma_rel.get<double>());
    const auto& expected = g.at("beta").at(key);
    ASSERT_EQ(expected.size(), steps.size());
    for (size_t s = 0; s < steps.size(); ++s) {
      // (k, batch): the update after k steps of `batch` images.
      const double k = steps[s][0].get<double>();
      const double batch = steps[s][1].get<double>();
      const double beta = power_function_beta(sigma_rel.get<double>(), k * batch, batch);
      const double err = relative_error(beta, expected[s].get<double>());
      EXPECT_LE(err, 1e-12) << "sigma_rel " << key << ", k " << k << ": " << beta << " vs " << expected[s];
      worst = std::max(worst, err);
    }
  }
  // The first update gives exactly 0, so the EMA starts equal to the net.
  EXPECT_EQ(power_function_beta(0.05, 256, 256), 0.0);
  RecordProperty("max_relative_error", fmt::format("{:.3g}", worst));
}

TEST(PowerFunction, GammaMatchesGolden) {
  double worst = 0;
  for (const auto& [key, expected] : golden().at("std_to_exp").items()) {
    const double gamma = power_function_gamma(std::stod(key));
    const double err = relative_error(gamma, expected.get<double>());
    EXPECT_LE(err, 1e-12) << "sigma_rel " << key << ": " << gamma << " vs " << expected;
    worst = std::max(worst, err);
  }
  RecordProperty("max_relative_error", fmt::format("{:.3g}", worst));
}

TEST(PowerFunction, RoundTrip) {
  double worst = 0;
  for (double sigma_rel = 0.001; sigma_rel < 0.2887; sigma_rel += 0.0005) {
    const double err = relative_error(power_function_sigma_rel(power_function_gamma(sigma_rel)), sigma_rel);
    EXPECT_LE(err, 1e-12) << "sigma_rel " << sigma_rel;
    worst = std::max(worst, err);
  }
  EXPECT_LE(relative_error(power_function_sigma_rel(power_function_gamma(0.28867)), 0.28867), 1e-12);
  RecordProperty("max_relative_error", fmt::format("{:.3g}", worst));
}

TEST(PowerFunction, RejectsInvalidSigmaRel) {
  for (double sigma_rel : {0.0, -0.05, 0.2887, 0.3, std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity()}) {
    EXPECT_TRUE(throws_error([&] { power_function_gamma(sigma_rel); }, ErrorCode::kInvalidArgument, {"sigma_rel"}))
        << sigma_rel;
  }
  EXPECT_TRUE(throws_error([] { power_function_beta(0.05, 128, 256); }, ErrorCode::kInvalidArgument, {"step"}));
  EXPECT_TRUE(throws_error([] { power_function_beta(0.05, 256, 0); }, ErrorCode::kInvalidArgument, {"step"}));
}

// ---- §8 post-hoc reconstruction -----------------------------------------------------------------

struct PosthocCase {
  std::vector<EmaProfile> inputs;
  double out_time = 0;
  std::vector<double> out_sigma_rels;
};

PosthocCase golden_posthoc_case() {
  const auto& g = golden().at("posthoc");
  PosthocCase c;
  const auto& times = g.at("in_ofs");
  const auto& stds = g.at("in_std");
  for (size_t i = 0; i < times.size(); ++i) c.inputs.push_back({times[i].get<double>(), stds[i].get<double>()});
  c.out_time = g.at("out_ofs").get<double>();
  c.out_sigma_rels = g.at("out_std").get<std::vector<double>>();
  return c;
}

TEST(Posthoc, MatchesGolden) {
  const PosthocCase c = golden_posthoc_case();
  const PosthocSolution solution = solve_posthoc(c.inputs, c.out_time, c.out_sigma_rels);
  const auto& expected = golden().at("posthoc").at("coefficients_in_by_out");
  ASSERT_EQ(solution.coefficients.size(), expected.size());
  double worst = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(solution.coefficients[i].size(), expected[i].size());
    for (size_t j = 0; j < expected[i].size(); ++j) {
      const double err = std::abs(solution.coefficients[i][j] - expected[i][j].get<double>());
      EXPECT_LE(err, 1e-10) << "input " << i << ", output " << j;
      worst = std::max(worst, err);
    }
  }
  for (size_t j = 0; j < c.out_sigma_rels.size(); ++j) {
    double sum = 0;
    for (const auto& row : solution.coefficients) sum += row[j];
    EXPECT_NEAR(sum, 1.0, 1e-14) << "output " << j;
  }
  RecordProperty("max_abs_error", fmt::format("{:.3g}", worst));
}

// Targets equal to a stored profile at the output time select exactly that snapshot and fit it perfectly.
TEST(Posthoc, StoredProfilesAreOneHot) {
  const PosthocCase c = golden_posthoc_case();
  const PosthocSolution solution = solve_posthoc(c.inputs, c.out_time, {0.05, 0.10, 0.02});
  const size_t match[2] = {7, 15};  // σ_rel 0.05 and 0.10 at 8 Mi
  for (size_t j = 0; j < 2; ++j) {
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      EXPECT_NEAR(solution.coefficients[i][j], i == match[j] ? 1.0 : 0.0, 1e-12) << "input " << i << ", output " << j;
    }
    EXPECT_LT(solution.residuals[j], 1e-6) << "output " << j;
  }
  EXPECT_GT(solution.residuals[2], 1e-4);
  RecordProperty("one_hot_residuals", fmt::format("{} {}", solution.residuals[0], solution.residuals[1]));
  RecordProperty("residual_0.02", fmt::format("{:.3g}", solution.residuals[2]));
}

TEST(Posthoc, TimeScaleInvariant) {
  const PosthocCase c = golden_posthoc_case();
  const PosthocSolution reference = solve_posthoc(c.inputs, c.out_time, c.out_sigma_rels);
  for (double scale : {1e-3, 1.0 / 8388608, 7.25}) {
    std::vector<EmaProfile> scaled = c.inputs;
    for (EmaProfile& p : scaled) p.time *= scale;
    const PosthocSolution solution = solve_posthoc(scaled, c.out_time * scale, c.out_sigma_rels);
    for (size_t i = 0; i < scaled.size(); ++i) {
      for (size_t j = 0; j < c.out_sigma_rels.size(); ++j) {
        EXPECT_NEAR(solution.coefficients[i][j], reference.coefficients[i][j], 1e-12)
            << "scale " << scale << ", input " << i << ", output " << j;
      }
    }
  }
}

TEST(Posthoc, RejectsInvalidInputs) {
  EXPECT_TRUE(throws_error([] { solve_posthoc({}, 1, {0.05}); }, ErrorCode::kInvalidArgument, {"no input"}));
  EXPECT_TRUE(throws_error([] { solve_posthoc({{2, 0.05}}, 1, {0.05}); }, ErrorCode::kInvalidArgument, {"time"}));
  EXPECT_TRUE(throws_error([] { solve_posthoc({{1, 0.05}, {1, 0.05}}, 1, {0.10}); }, ErrorCode::kInvalidArgument,
                           {"singular"}));
  EXPECT_TRUE(throws_error([] { solve_posthoc({{1, 0.05}}, 1, {0.5}); }, ErrorCode::kInvalidArgument, {"sigma_rel"}));
}

// ---- §7 PowerEma --------------------------------------------------------------------------------

// One parameter and one buffer.
struct TinyNet : torch::nn::Module {
  explicit TinyNet(at::ScalarType dtype) {
    const auto options = at::TensorOptions().dtype(dtype);
    weight = register_parameter("weight", at::randn({3, 4}, options));
    scale = register_buffer("scale", at::randn({4}, options));
  }
  // New values, as an optimizer step would write them.
  void perturb() {
    at::NoGradGuard no_grad;
    weight.add_(at::randn_like(weight));
  }
  at::Tensor weight, scale;
};

TEST(PowerEma, FirstUpdateCopiesNet) {
  TinyNet net(at::kFloat);
  PowerEma ema(net, {0.05, 0.10});
  net.perturb();
  ema.update(net, 2048, 2048);
  for (size_t p = 0; p < 2; ++p) {
    const NamedTensors state = ema.averaged_state(p, net);
    ASSERT_EQ(state.size(), 2u);
    EXPECT_EQ(state[0].first, "weight");
    EXPECT_EQ(state[0].second.scalar_type(), at::kFloat);
    EXPECT_TRUE(at::equal(state[0].second, net.weight)) << "profile " << p;
  }
}

TEST(PowerEma, ThreeStepsMatchHandComputed) {
  at::manual_seed(3);
  TinyNet net(at::kDouble);
  const std::vector<double> sigma_rels = {0.05, 0.10};
  PowerEma ema(net, sigma_rels);
  const int64_t batch = 256;
  std::vector<std::vector<double>> expected(2);
  double worst = 0;
  for (int64_t k = 1; k <= 3; ++k) {
    net.perturb();
    ema.update(net, k * batch, batch);
    const at::Tensor theta = net.weight.detach().contiguous();
    const double* t = theta.data_ptr<double>();
    for (size_t p = 0; p < 2; ++p) {
      const double beta = std::pow(1.0 - 1.0 / static_cast<double>(k), power_function_gamma(sigma_rels[p]) + 1);
      if (k == 1) expected[p].assign(t, t + theta.numel());
      for (int64_t e = 0; e < theta.numel(); ++e) expected[p][e] = beta * expected[p][e] + (1 - beta) * t[e];
      const at::Tensor average = ema.averaged_state(p, net)[0].second.contiguous();
      ASSERT_EQ(average.scalar_type(), at::kDouble);
      const double* a = average.data_ptr<double>();
      for (int64_t e = 0; e < theta.numel(); ++e) {
        const double err = std::abs(a[e] - expected[p][e]);
        EXPECT_LE(err, 1e-14 * std::max(1.0, std::abs(expected[p][e]))) << "k " << k << ", profile " << p;
        worst = std::max(worst, err);
      }
    }
  }
  // After three steps the average differs from the net (the steps are not all weighted alike).
  EXPECT_FALSE(at::allclose(ema.averaged_state(0, net)[0].second, net.weight));
  RecordProperty("max_abs_error", fmt::format("{:.3g}", worst));
}

TEST(PowerEma, BuffersAreCopiedNotAveraged) {
  TinyNet net(at::kFloat);
  PowerEma ema(net, {0.10});
  for (int64_t k = 1; k <= 3; ++k) {
    net.perturb();
    ema.update(net, k * 512, 512);
  }
  {
    at::NoGradGuard no_grad;
    net.scale.fill_(7);
  }
  const NamedTensors state = ema.averaged_state(0, net);
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state[1].first, "scale");
  EXPECT_TRUE(state[1].second.is_same(net.scale));
  EXPECT_FALSE(state[0].second.is_same(net.weight));
  EXPECT_FALSE(at::equal(state[0].second, net.weight));
}

TEST(PowerEma, CheckpointRoundTripIsBitwise) {
  TinyNet net(at::kFloat);
  PowerEma ema(net, {0.05, 0.10});
  for (int64_t k = 1; k <= 5; ++k) {
    net.perturb();
    ema.update(net, k * 2048, 2048);
  }
  const NamedTensors saved = ema.checkpoint_state();
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved[0].first, "ema0.weight");
  EXPECT_EQ(saved[1].first, "ema1.weight");
  std::map<std::string, at::Tensor> tensors;
  for (const auto& [name, tensor] : saved) tensors[name] = tensor.clone();

  TinyNet other(at::kFloat);
  PowerEma restored(other, {0.05, 0.10});
  restored.load_checkpoint_state(tensors, "ckpt.safetensors");
  const NamedTensors loaded = restored.checkpoint_state();
  ASSERT_EQ(loaded.size(), saved.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    EXPECT_EQ(loaded[i].first, saved[i].first);
    EXPECT_TRUE(at::equal(loaded[i].second, saved[i].second)) << saved[i].first;
  }
}

TEST(PowerEma, LoadRejectsMissingOrMisshapenTensor) {
  TinyNet net(at::kFloat);
  PowerEma ema(net, {0.05, 0.10});
  std::map<std::string, at::Tensor> tensors;
  for (const auto& [name, tensor] : ema.checkpoint_state()) tensors[name] = tensor.clone();

  auto missing = tensors;
  missing.erase("ema1.weight");
  EXPECT_TRUE(throws_error([&] { ema.load_checkpoint_state(missing, "ckpt.safetensors"); }, ErrorCode::kCorruptFile,
                           {"ckpt.safetensors", "ema1.weight"}));

  auto misshapen = tensors;
  misshapen["ema0.weight"] = at::zeros({4, 3});
  EXPECT_TRUE(throws_error([&] { ema.load_checkpoint_state(misshapen, "ckpt.safetensors"); }, ErrorCode::kCorruptFile,
                           {"ckpt.safetensors", "ema0.weight", "[4, 3]"}));

  auto extra = tensors;
  extra["ema2.weight"] = at::zeros({3, 4});
  EXPECT_TRUE(throws_error([&] { ema.load_checkpoint_state(extra, "ckpt.safetensors"); }, ErrorCode::kCorruptFile,
                           {"ckpt.safetensors", "ema2.weight"}));
}

TEST(PowerEma, SnapshotName) {
  EXPECT_EQ(ema_snapshot_name(0.05, 8388608), "ema-0.050-0008388.safetensors");
  EXPECT_EQ(ema_snapshot_name(0.10, int64_t{1} << 31), "ema-0.100-2147483.safetensors");
}

// The multi-tensor update (one _foreach_lerp_ per profile) is the per-parameter loop: bit for bit on
// the CPU, within 1e-6 of the largest value on CUDA; an fp16 parameter is averaged in fp32 either way.
class PowerEmaMultiTensor : public ::testing::TestWithParam<std::string> {};

struct EmaNet : torch::nn::Module {
  EmaNet(at::Generator& gen, at::Device device) {
    register_parameter("conv", at::randn({6, 3, 3, 3}, gen).to(device));
    register_parameter("gain", at::randn({1}, gen).to(device));
    register_parameter("half", at::randn({5, 7}, gen).to(device, at::kHalf));
  }
};

TEST_P(PowerEmaMultiTensor, EqualsTheLoopOverParameters) {
  const at::Device device(GetParam());
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(9);
  EmaNet net(gen, device);
  PowerEma loop(net, {0.05, 0.1}, /*multi_tensor=*/false), multi(net, {0.05, 0.1}, /*multi_tensor=*/true);
  for (int64_t step = 1; step <= 6; ++step) {
    {
      at::NoGradGuard no_grad;
      for (auto& p : net.parameters()) p.add_(at::randn(p.sizes(), gen).to(p.device(), p.scalar_type()));
    }
    loop.update(net, step * 32, 32);
    multi.update(net, step * 32, 32);
  }
  const NamedTensors a = loop.checkpoint_state(), b = multi.checkpoint_state();
  ASSERT_EQ(a.size(), 6u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].second.scalar_type(), at::kFloat) << a[i].first;
    const at::Tensor x = a[i].second.cpu(), y = b[i].second.cpu();
    EXPECT_LE((x - y).abs().max().item<double>(), device.is_cpu() ? 0.0 : 1e-6 * x.abs().max().item<double>())
        << a[i].first;
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, PowerEmaMultiTensor, ::testing::ValuesIn(test::available_devices()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace diffuse::ema_test
