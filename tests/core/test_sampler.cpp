// The EDM sampler (spec edm2.md §9, §16 items 16-17): parity with the reference sampler
// (shared/golden/sampler_tiny.safetensors), the σ schedule, evaluation counts, churn, guidance,
// per-seed reproducibility, image conversion and grids, and the consistency of two models trained
// from different initialisations.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/model_config.h"
#include "config/proto_format.h"
#include "io/png.h"
#include "io/safetensors.h"
#include "metrics/consistency.h"
#include "nn/initialize.h"
#include "nn/precond.h"
#include "nn/state_dict.h"
#include "sample/sampler.h"
#include "fixtures.h"
#include "tensor_compare.h"
#include "test_util.h"
#include "train/trainer.h"
#include "util/error.h"

namespace diffuse::sampler_test {
namespace {

const std::string kGoldenName = "sampler_tiny.safetensors";

const SafetensorsFile& golden_file() { return test::golden_file(kGoldenName).file; }
const std::map<std::string, at::Tensor>& golden() { return test::golden_file(kGoldenName).tensors; }
const at::Tensor& g(const std::string& name) { return test::golden_file(kGoldenName)[name]; }

// The network configuration recorded in the golden file's metadata.
ModelOptions tiny_options() { return test::golden_model_options(golden_file()); }

// "net." is the main network, "gnet." the guide.
Precond load_tiny(const std::string& prefix) {
  Precond net(tiny_options());
  load_state_dict(*net, golden(), kGoldenName, prefix);
  return net;
}

SamplerOptions steps(int num_steps) {
  SamplerOptions o;
  o.num_steps = num_steps;
  return o;
}

at::Tensor sample_golden(int num_steps, double guidance) {
  Precond net = load_tiny("net.");
  Precond guide = load_tiny("gnet.");
  SamplerOptions options = steps(num_steps);
  options.guidance = guidance;
  return edm_sample(net, &guide, g("noise"), g("labels"), options);
}

TEST(SamplerGolden, EightHeunStepsMatchReference) {
  EXPECT_TRUE(test::tensors_close("out_steps8", sample_golden(8, 1), g("out_steps8"), 1e-4));
}

TEST(SamplerGolden, TwoStepsAreOneHeunStepThenEulerToZeroAsReference) {
  EXPECT_TRUE(test::tensors_close("out_steps2", sample_golden(2, 1), g("out_steps2"), 1e-4));
}

TEST(SamplerGolden, GuidanceLerpsFromGuideToMainNetworkAsReference) {
  EXPECT_TRUE(test::tensors_close("out_steps8_guid1.7", sample_golden(8, 1.7), g("out_steps8_guid1.7"), 1e-4));
}

TEST(SamplerSchedule, EightStepsGiveTheSpecNoiseLevels) {
  const std::vector<double> expected{80, 34.992189, 13.698575, 4.637075, 1.286614, 0.267475, 0.035187, 0.002, 0};
  const std::vector<double> sigmas = edm_sigma_steps(steps(8));
  ASSERT_EQ(sigmas.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(sigmas[i], expected[i], 1e-6) << "σ_" << i;
}

TEST(SamplerSchedule, ThirtyTwoStepsGiveTheSpecNoiseLevels) {
  const std::vector<double> sigmas = edm_sigma_steps(SamplerOptions{});
  ASSERT_EQ(sigmas.size(), 33u);
  EXPECT_DOUBLE_EQ(sigmas[0], 80);
  EXPECT_NEAR(sigmas[1], 66.930874, 1e-6);
  EXPECT_NEAR(sigmas[16], 2.173860, 1e-6);
  EXPECT_NEAR(sigmas[30], 0.004267, 1e-6);
  EXPECT_NEAR(sigmas[31], 0.002, 1e-12);
  EXPECT_EQ(sigmas[32], 0);
  EXPECT_TRUE(std::is_sorted(sigmas.rbegin(), sigmas.rend()));
}

TEST(SamplerSchedule, OneStepGoesFromSigmaMaxStraightToZero) {
  EXPECT_EQ(edm_sigma_steps(steps(1)), (std::vector<double>{80, 0}));
}

// Counts the evaluations of a denoiser that always answers `target`.
struct CountingDenoiser {
  at::Tensor target;
  int calls = 0;
  Denoiser denoiser() {
    return [this](const at::Tensor&, double) {
      ++calls;
      return target;
    };
  }
};

TEST(SamplerLoop, HeunEvaluatesTwiceNMinusOneTimesAndEulerNTimes) {
  const at::Tensor noise = at::randn({2, 1, 4, 4});
  for (const auto& [num_steps, heun, nfe] : std::vector<std::tuple<int, bool, int>>{
           {32, true, 63}, {8, true, 15}, {2, true, 3}, {1, true, 1}, {32, false, 32}}) {
    CountingDenoiser counter{at::zeros_like(noise)};
    SamplerOptions options = steps(num_steps);
    options.solver = heun ? Solver::kHeun : Solver::kEuler;
    int observed = 0;
    edm_sample_with(counter.denoiser(), noise, options, nullptr, [&](int, double, const at::Tensor&, const at::Tensor&) { ++observed; });
    EXPECT_EQ(counter.calls, nfe) << "N = " << num_steps << (heun ? " Heun" : " Euler");
    EXPECT_EQ(observed, num_steps);
  }
}

TEST(SamplerLoop, ObserverSeesEveryStepsNoiseLevelStateAndDenoisedEstimate) {
  const at::Tensor noise = at::randn({2, 1, 4, 4});
  const at::Tensor target = at::full_like(noise, 0.25f);
  CountingDenoiser counter{target};
  const SamplerOptions options = steps(8);
  const std::vector<double> sigmas = edm_sigma_steps(options);
  std::vector<double> seen;
  at::Tensor last;
  const at::Tensor out = edm_sample_with(counter.denoiser(), noise, options, nullptr,
                                    [&](int step, double sigma_next, const at::Tensor& x, const at::Tensor& denoised) {
                                      EXPECT_EQ(step, static_cast<int>(seen.size()));
                                      EXPECT_TRUE(at::equal(denoised, target));
                                      seen.push_back(sigma_next);
                                      last = x;
                                    });
  EXPECT_EQ(seen, std::vector<double>(sigmas.begin() + 1, sigmas.end()));
  EXPECT_TRUE(at::equal(last, out));
  // With D ≡ y the probability-flow path x(σ) = y + (x₀ − y)·σ/σ₀ is a straight line: it ends on y.
  EXPECT_TRUE(test::tensors_close("x_N", out, target, 1e-6));
}

TEST(SamplerLoop, ChurnRaisesSigmaInsideSMinSMaxWithNoiseFromEachImagesStream) {
  const std::vector<uint64_t> seeds{3, 4};
  const at::Tensor noise = at::randn({2, 1, 4, 4});
  SamplerOptions options = steps(8);
  options.s_churn = 0.8;  // γ = min(0.8/8, √2 − 1) = 0.1
  options.s_min = 0.01;   // churns σ_3..σ_6 = 4.64, 1.29, 0.267, 0.035
  options.s_max = 10;
  options.s_noise = 1.5;
  // D ≡ 0 makes every step x_{i+1} = x̂_i·σ_{i+1}/σ̂_i, so x̂ and σ̂ can be read off the calls.
  std::vector<std::pair<at::Tensor, double>> calls;
  const Denoiser record = [&](const at::Tensor& x, double sigma) {
    calls.emplace_back(x.clone(), sigma);
    return at::zeros_like(x);
  };
  std::vector<at::Tensor> states{noise * 80.0f};
  SeedGenerators churn(seeds), mirror(seeds);
  edm_sample_with(record, noise, options, &churn,
             [&](int, double, const at::Tensor& x, const at::Tensor&) { states.push_back(x.clone()); });

  const std::vector<double> sigmas = edm_sigma_steps(options);
  ASSERT_EQ(calls.size(), 15u);
  for (int i = 0; i < 8; ++i) {
    const auto& [x_hat, sigma_hat] = calls[static_cast<size_t>(2 * i)];  // the Euler evaluation of step i
    const float sigma = static_cast<float>(sigmas[static_cast<size_t>(i)]);
    const bool churned = i >= 3 && i <= 6;
    const float expected_sigma_hat = churned ? sigma + 0.1f * sigma : sigma;
    EXPECT_FLOAT_EQ(static_cast<float>(sigma_hat), expected_sigma_hat) << "step " << i;
    at::Tensor expected = states[static_cast<size_t>(i)];
    if (churned) {
      const float scale = std::sqrt(expected_sigma_hat * expected_sigma_hat - sigma * sigma) * 1.5f;
      expected = expected + scale * mirror.randn({1, 4, 4});
    }
    EXPECT_TRUE(test::tensors_close("x̂ at step " + std::to_string(i), x_hat, expected, 1e-6));
  }
}

TEST(SamplerLoop, ChurnWithoutNoiseStreamsIsRejected) {
  SamplerOptions options = steps(4);
  options.s_churn = 1;
  CountingDenoiser counter{at::zeros({1, 1, 2, 2})};
  EXPECT_THROW(edm_sample_with(counter.denoiser(), at::zeros({1, 1, 2, 2}), options), Error);
}

TEST(SamplerOptionsValidation, InvalidOptionsAreRejectedNamingTheOption) {
  const auto expect_rejected = [](const std::string& name, auto modify) {
    SamplerOptions options;
    modify(options);
    try {
      validate_sampler_options(options, nullptr);
      ADD_FAILURE() << name << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << name;
      EXPECT_NE(std::string(e.what()).find("SamplerOptions." + name), std::string::npos) << e.what();
    }
  };
  expect_rejected("num_steps", [](SamplerOptions& o) { o.num_steps = 0; });
  expect_rejected("sigma_min", [](SamplerOptions& o) { o.sigma_min = 0; });
  expect_rejected("sigma_max", [](SamplerOptions& o) { o.sigma_max = 0.001; });
  expect_rejected("rho", [](SamplerOptions& o) { o.rho = 0; });
  expect_rejected("guidance", [](SamplerOptions& o) { o.guidance = std::nan(""); });
  expect_rejected("guidance", [](SamplerOptions& o) { o.guidance = 2; });  // needs a guide
  expect_rejected("s_noise", [](SamplerOptions& o) { o.s_noise = -1; });
  expect_rejected("batch_size", [](SamplerOptions& o) { o.batch_size = 0; });
  EXPECT_THROW(edm_sigma_steps(steps(0)), Error);
}

TEST(SamplerGuidance, UnitGuidanceNeverEvaluatesTheGuide) {
  Precond net = load_tiny("net.");
  Precond poisoned = load_tiny("gnet.");
  {
    at::NoGradGuard no_grad;
    for (auto& p : poisoned->parameters()) p.fill_(std::nan(""));
  }
  const SamplerOptions options = steps(4);
  const at::Tensor unguided = edm_sample(net, nullptr, g("noise"), g("labels"), options);
  const at::Tensor with_guide = edm_sample(net, &poisoned, g("noise"), g("labels"), options);
  EXPECT_TRUE(at::isfinite(with_guide).all().item<bool>());
  EXPECT_TRUE(at::equal(with_guide, unguided));
}

TEST(SamplerModes, NetworksRunInEvalModeAndKeepTheirModeAndWeights) {
  Precond net = load_tiny("net.");
  Precond guide = load_tiny("gnet.");
  // A training-mode forward would rewrite the MPConv weights (forced weight normalisation).
  net->train();
  guide->train();
  SamplerOptions options = steps(2);
  options.guidance = 1.7;
  const at::Tensor out = edm_sample(net, &guide, g("noise"), g("labels"), options);
  EXPECT_TRUE(net->is_training());
  EXPECT_TRUE(guide->is_training());
  for (const auto& [name, tensor] : state_dict(*net)) EXPECT_TRUE(at::equal(tensor, g("net." + name))) << name;
  for (const auto& [name, tensor] : state_dict(*guide)) EXPECT_TRUE(at::equal(tensor, g("gnet." + name))) << name;
  EXPECT_FALSE(out.requires_grad());
}

// A freshly initialised network (out_gain = 0) denoises elementwise, D = c_skip·x, so its images
// are exact functions of the per-seed noise: they expose every difference in the random draws.
Precond elementwise_network() {
  Precond net(tiny_options());
  initialize_parameters(*net, at::make_generator<at::CPUGeneratorImpl>(5));
  return net;
}

at::Tensor sample_with(Precond& net, const std::vector<uint64_t>& seeds, const std::vector<int64_t>& labels,
                       int64_t batch_size, double s_churn = 0) {
  SamplerOptions options = steps(4);
  options.batch_size = batch_size;
  options.s_churn = s_churn;  // N = 4: γ = min(s_churn/4, √2 − 1) at every step
  return sample_images(net, nullptr, seeds, labels, options);
}

template <typename T>
std::vector<T> reversed(std::vector<T> v) {
  std::reverse(v.begin(), v.end());
  return v;
}

const std::vector<uint64_t> kSeeds{10, 11, 12, 13, 14};
const std::vector<int64_t> kLabels{1, -1, 3, 4, 9};

TEST(SampleImages, AnImagesRandomDrawsDependOnlyOnItsSeedNotOnBatchOrOrder) {
  Precond net = elementwise_network();
  for (const double s_churn : {0.0, 1.0}) {
    const std::string churn = s_churn > 0 ? " with churn" : "";
    const at::Tensor whole = sample_with(net, kSeeds, kLabels, 5, s_churn);
    ASSERT_EQ(whole.sizes(), (std::vector<int64_t>{5, 3, 16, 16}));
    EXPECT_TRUE(at::equal(sample_with(net, kSeeds, kLabels, 1, s_churn), whole)) << "batch 1" << churn;
    EXPECT_TRUE(at::equal(sample_with(net, kSeeds, kLabels, 2, s_churn), whole)) << "batch 2" << churn;
    EXPECT_TRUE(at::equal(sample_with(net, reversed(kSeeds), reversed(kLabels), 2, s_churn), whole.flip(0)))
        << "reversed seeds" << churn;
    // Different seeds give different images; the same seed in another list gives the same image.
    const at::Tensor other = sample_with(net, {15, 12}, {1, 3}, 2, s_churn);
    EXPECT_FALSE(at::equal(other[0], whole[0])) << churn;
    EXPECT_TRUE(at::equal(other[1], whole[2])) << churn;
  }
  EXPECT_FALSE(at::equal(sample_with(net, kSeeds, kLabels, 5, 1), sample_with(net, kSeeds, kLabels, 5)))
      << "churn must change the images";
}

TEST(SampleImages, TrainedImagesAgreeAcrossBatchingsToFloatRounding) {
  // The network's kernels pick their algorithms by batch size (oneDNN convolutions, BLAS), so other
  // batchings round differently; the same batching repeats bit for bit.
  Precond net = load_tiny("net.");
  const at::Tensor whole = sample_with(net, kSeeds, kLabels, 5, 1);
  EXPECT_TRUE(at::equal(sample_with(net, kSeeds, kLabels, 5, 1), whole)) << "repeated";
  EXPECT_TRUE(test::tensors_close("batch 1", sample_with(net, kSeeds, kLabels, 1, 1), whole, 1e-4));
  EXPECT_TRUE(test::tensors_close("batch 2", sample_with(net, kSeeds, kLabels, 2, 1), whole, 1e-4));
  EXPECT_TRUE(test::tensors_close("reversed", sample_with(net, reversed(kSeeds), reversed(kLabels), 2, 1),
                                  whole.flip(0), 1e-4));
}

TEST(SampleImages, LabelsBecomeOneHotRowsAndOutOfRangeLabelsAreRejected) {
  const at::Tensor rows = one_hot_labels({1, -1, 3}, 4);
  EXPECT_TRUE(at::equal(rows, at::tensor({0.f, 1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 1.f}).reshape({3, 4})));
  Precond net = elementwise_network();
  for (const int64_t bad : {10L, -2L}) {
    try {
      sample_with(net, {1, 2}, {0, bad}, 2);
      ADD_FAILURE() << "no error for label " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("label " + std::to_string(bad)), std::string::npos) << e.what();
    }
  }
}

TEST(SeedGenerators, EachRowComesFromItsOwnSeedsGenerator) {
  const at::Tensor noise = SeedGenerators({7, 8}).randn({3, 2, 2});
  EXPECT_TRUE(at::equal(noise[1], SeedGenerators({8}).randn({3, 2, 2})[0]));
  at::Generator seven = at::make_generator<at::CPUGeneratorImpl>(7);
  EXPECT_TRUE(at::equal(noise[0], at::randn({3, 2, 2}, seven)));
}

TEST(ImageConversion, FloatImagesMapToUint8WithClipping) {
  const at::Tensor images = at::tensor({-1.f, 1.f, 0.f, -2.f, 2.f, 0.5f, -0.999f}).reshape({1, 1, 1, 7});
  const at::Tensor bytes = images_to_uint8(images);
  EXPECT_EQ(bytes.scalar_type(), at::kByte);
  EXPECT_TRUE(at::equal(bytes, at::tensor({0, 255, 128, 0, 255, 191, 0}, at::kByte).reshape({1, 1, 1, 7})));
}

// n images 1×2×3, image i filled with i + 1.
at::Tensor numbered_images(int64_t n, int64_t channels = 1) {
  return (at::arange(1, n + 1, at::kByte).reshape({n, 1, 1, 1}) * at::ones({1, channels, 2, 3}, at::kByte));
}

TEST(ImageGrid, TilesRowMajorWithBlackFill) {
  const at::Tensor grid = make_grid(numbered_images(5));  // ceil(√5) = 3 columns, 2 rows
  ASSERT_EQ(grid.sizes(), (std::vector<int64_t>{1, 4, 9}));
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t k = 0; k < 3; ++k) {
      const int64_t cell = r * 3 + k;
      const int expected = cell < 5 ? static_cast<int>(cell + 1) : 0;
      const at::Tensor tile = grid.narrow(1, r * 2, 2).narrow(2, k * 3, 3);
      EXPECT_TRUE((tile == expected).all().item<bool>()) << "cell " << cell;
    }
  }
  const at::Tensor two_columns = make_grid(numbered_images(5), 2);
  ASSERT_EQ(two_columns.sizes(), (std::vector<int64_t>{1, 6, 6}));
  EXPECT_EQ(two_columns[0][2][3].item<int>(), 4);  // row 1, column 1: image 3
  EXPECT_EQ(two_columns[0][4][3].item<int>(), 0);  // row 2, column 1: empty
  EXPECT_EQ(make_grid(numbered_images(4)).sizes(), (std::vector<int64_t>{1, 4, 6}));
}

TEST(ImageGrid, PngOfAGridReadsBackEqual) {
  const std::string dir = test::make_temp_dir("grid");
  const at::Tensor grid = make_grid(images_to_uint8(at::rand({5, 3, 4, 4}) * 2 - 1));
  write_png(dir + "/grid.png", grid);
  EXPECT_TRUE(at::equal(read_png(dir + "/grid.png"), grid));
}

// A small class-conditional model on Fashion-MNIST at 16×16 (as in the trainer tests), `num_steps`
// optimizer steps of 32 images from initialisation seed `seed`.
std::unique_ptr<Trainer> train_tiny(uint64_t seed, int64_t num_steps) {
  v1::TrainConfig config = test::fashion_mnist_tiny_config(test::make_temp_dir("consistency"), num_steps, R"(
    ema { sigma_rels: [0.05, 0.1] snapshot_images: 0 }
    run { status_images: 1024 checkpoint_images: 0 validation_interval_images: 0 threads: 2 })");
  config.mutable_run()->set_seed(seed);
  auto trainer = Trainer::create(config);
  trainer->run(num_steps);
  return trainer;
}

TEST(Consistency, ModelsTrainedFromDifferentSeedsGiveSimilarSamplesForTheSameNoise) {
  const auto first = train_tiny(1, 100);
  const auto second = train_tiny(2, 100);
  Precond untrained(to_model_options(first->config().model()));
  initialize_parameters(*untrained, at::make_generator<at::CPUGeneratorImpl>(3));

  std::vector<uint64_t> seeds;
  std::vector<int64_t> labels;
  for (uint64_t s = 0; s < 16; ++s) {
    seeds.push_back(100 + s);
    labels.push_back(static_cast<int64_t>(s % 10));
  }
  SamplerOptions options = steps(16);
  options.batch_size = 8;
  const ConsistencyResult trained = measure_consistency(first->network(), second->network(), seeds, labels, options);
  const ConsistencyResult baseline = measure_consistency(first->network(), untrained, seeds, labels, options);

  ASSERT_EQ(trained.sigmas.size(), 16u);
  ASSERT_EQ(trained.denoised.size(), 16u);
  EXPECT_EQ(trained.sigmas.front(), 80);
  EXPECT_EQ(trained.images_a.sizes(), (std::vector<int64_t>{16, 1, 16, 16}));
  EXPECT_TRUE(at::equal(trained.images_a, baseline.images_a)) << "the same model on the same noise";
  EXPECT_LT(trained.images.relative_msd, baseline.images.relative_msd);
  EXPECT_GT(trained.images.cosine, baseline.images.cosine);
  EXPECT_LT(trained.denoised.back().relative_msd, baseline.denoised.back().relative_msd);
  // 100 steps of a tiny model: the cosine depends on the seeds' realisation (measured: 0.75 for seeds
  // 1 and 2, above 0.8 for 3 and 4); a second model left untrained gives 0.5.
  EXPECT_GT(trained.images.cosine, 0.7) << "relative MSD " << trained.images.relative_msd << " vs "
                                         << baseline.images.relative_msd << ", cosine " << trained.images.cosine
                                         << " vs " << baseline.images.cosine;
}

TEST(Consistency, SimilarityOfAModelWithItselfIsPerfect) {
  Precond net = load_tiny("net.");
  const ConsistencyResult self = measure_consistency(net, net, {1, 2, 3}, {1, 2, 5}, steps(4));
  EXPECT_EQ(self.images.relative_msd, 0);
  EXPECT_NEAR(self.images.cosine, 1, 1e-12);
  for (const Similarity& s : self.denoised) EXPECT_EQ(s.relative_msd, 0);
}

}  // namespace
}  // namespace diffuse::sampler_test
