// Sample-quality metrics: closed forms (Fréchet distance of Gaussians, the kernel distance on a
// hand-computed case, precision/recall on separated clusters), and on real Fashion-MNIST test images
// with the committed feature classifier, that noise, blur and dropped classes rank in the right order.
#include <cmath>
#include <filesystem>
#include <string>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "data/dataset.h"
#include "fixtures.h"
#include "metrics/evaluate.h"
#include "metrics/feature_classifier.h"
#include "metrics/feature_distances.h"
#include "metrics/sliced_wasserstein.h"
#include "test_util.h"

namespace diffuse::metrics_test {
namespace {

at::Tensor random_rotation(int64_t d, at::Generator& g) {
  return std::get<0>(at::linalg_qr(at::randn({d, d}, g, at::kDouble)));
}

TEST(FeatureDistances, FitGaussianIsTheSampleMeanAndUnbiasedCovariance) {
  const at::Tensor x = at::tensor({1.0, 2.0, 3.0, 5.0, 5.0, 11.0}, at::kDouble).reshape({3, 2});
  const GaussianFit fit = fit_gaussian(x);
  EXPECT_NEAR(fit.mean[0].item<double>(), 3.0, 1e-15);
  EXPECT_NEAR(fit.mean[1].item<double>(), 6.0, 1e-15);
  // x0: 1, 3, 5 (var 4); x1: 2, 5, 11 (var 21); cov((−2, 0, 2), (−4, −1, 5)) = (8 + 0 + 10) / 2 = 9.
  EXPECT_NEAR(fit.covariance[0][0].item<double>(), 4.0, 1e-14);
  EXPECT_NEAR(fit.covariance[1][1].item<double>(), 21.0, 1e-14);
  EXPECT_NEAR(fit.covariance[0][1].item<double>(), 9.0, 1e-14);
  EXPECT_THROW(fit_gaussian(at::zeros({1, 3})), Error);
}

TEST(FeatureDistances, FrechetDistanceOfCommutingGaussiansHasItsClosedForm) {
  // Σ₁ = R diag(a) Rᵀ, Σ₂ = R diag(b) Rᵀ: FD = ‖μ₁ − μ₂‖² + Σ (√aᵢ − √bᵢ)².
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(3);
  const int64_t d = 8;
  const at::Tensor r = random_rotation(d, g);
  const at::Tensor a = at::rand({d}, g, at::kDouble) * 4 + 0.1;
  const at::Tensor b = at::rand({d}, g, at::kDouble) * 4 + 0.1;
  const GaussianFit p{at::randn({d}, g, at::kDouble), at::matmul(r * a, r.t())};
  const GaussianFit q{at::randn({d}, g, at::kDouble), at::matmul(r * b, r.t())};
  const double expected =
      (p.mean - q.mean).square().sum().item<double>() + (a.sqrt() - b.sqrt()).square().sum().item<double>();
  EXPECT_NEAR(frechet_distance(p, q), expected, 1e-10 * expected);
  EXPECT_NEAR(frechet_distance(p, p), 0.0, 1e-10);
}

TEST(FeatureDistances, FrechetDistanceIsSymmetricForNonCommutingGaussians) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(4);
  const at::Tensor m1 = at::randn({6, 6}, g, at::kDouble), m2 = at::randn({6, 6}, g, at::kDouble);
  const GaussianFit p{at::zeros({6}, at::kDouble), at::matmul(m1, m1.t())};
  const GaussianFit q{at::ones({6}, at::kDouble), at::matmul(m2, m2.t())};
  const double pq = frechet_distance(p, q), qp = frechet_distance(q, p);
  EXPECT_GT(pq, 0);
  EXPECT_NEAR(pq, qp, 1e-9 * pq);
  // One dimension: (μ₁ − μ₂)² + (σ₁ − σ₂)².
  const GaussianFit u{at::full({1}, 1.0, at::kDouble), at::full({1, 1}, 4.0, at::kDouble)};
  const GaussianFit v{at::full({1}, -2.0, at::kDouble), at::full({1, 1}, 9.0, at::kDouble)};
  EXPECT_NEAR(frechet_distance(u, v), 9.0 + 1.0, 1e-12);
}

TEST(FeatureDistances, KernelDistanceOfATwoPointCaseMatchesTheHandComputation) {
  // D = 1, x = {0, 1}, y = {2, 3}, k(s, t) = (s·t + 1)³. Within x: k(0, 1) = 1; within y: k(2, 3) = 343;
  // across: k(0,2) = 1, k(0,3) = 1, k(1,2) = 27, k(1,3) = 64 → mean 93/4.
  // MMD² = (2·1 + 2·343) / 2 − 2 · 93/4 = 344 − 46.5 = 297.5.
  const at::Tensor x = at::tensor({0.0, 1.0}, at::kDouble).reshape({2, 1});
  const at::Tensor y = at::tensor({2.0, 3.0}, at::kDouble).reshape({2, 1});
  EXPECT_NEAR(kernel_distance(x, y, 3, 2, 0), 297.5, 1e-12);
}

TEST(FeatureDistances, KernelDistanceIsNearZeroWithinADistributionAndGrowsWithAShift) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(5);
  const at::Tensor a = at::randn({1000, 16}, g, at::kDouble), b = at::randn({1000, 16}, g, at::kDouble);
  const double same = kernel_distance(a, b, 20, 500, 1);
  const double shifted = kernel_distance(a, b + 0.5, 20, 500, 1);
  EXPECT_LT(std::abs(same), 0.01);
  EXPECT_GT(shifted, 20 * std::abs(same));
}

TEST(FeatureDistances, PrecisionAndRecallOfAHandComputedCase) {
  // k = 1, real {0, 1, 3}: radii 1, 1, 2; generated {0.5, 2.5, 10}: radii 2, 2, 7.5.
  // 0.5 and 2.5 lie in real balls, 10 does not → precision 2/3; every real point lies in a generated
  // ball → recall 1.
  const at::Tensor real = at::tensor({0.0, 1.0, 3.0}, at::kDouble).reshape({3, 1});
  const at::Tensor generated = at::tensor({0.5, 2.5, 10.0}, at::kDouble).reshape({3, 1});
  const PrecisionRecall pr = precision_recall(real, generated, 1);
  EXPECT_DOUBLE_EQ(pr.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(pr.recall, 1.0);
  EXPECT_THROW(precision_recall(real, generated, 0), Error);
  EXPECT_THROW(precision_recall(real, generated, 3), Error);
}

TEST(FeatureDistances, PrecisionAndRecallSeeMissingAndSpuriousModes) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(6);
  // Real data: two tight clusters at ±10. Generated: the same distribution, then only the +10
  // cluster (a dropped mode): recall halves, precision stays.
  const auto two_clusters = [&](int64_t n) {
    return at::cat({at::randn({n, 4}, g, at::kDouble) - 10, at::randn({n, 4}, g, at::kDouble) + 10});
  };
  const at::Tensor real = two_clusters(200);
  const PrecisionRecall full = precision_recall(real, two_clusters(200), 3);
  const PrecisionRecall half = precision_recall(real, at::randn({400, 4}, g, at::kDouble) + 10, 3);
  EXPECT_GT(full.precision, 0.85);
  EXPECT_GT(full.recall, 0.85);
  EXPECT_GT(half.precision, 0.85);
  EXPECT_NEAR(half.recall, full.recall / 2, 0.04);
  // Generated far from everything real: neither precise nor covering.
  const PrecisionRecall none = precision_recall(real, at::randn({400, 4}, g, at::kDouble) + 100, 3);
  EXPECT_EQ(none.precision, 0.0);
  EXPECT_EQ(none.recall, 0.0);
}

TEST(SlicedWasserstein, IsSmallForOneDistributionAndGrowsWithNoise) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(7);
  const at::Tensor base = at::rand({64, 1, 16, 16}, g, at::kFloat) * 2 - 1;
  const at::Tensor other = at::rand({64, 1, 16, 16}, g, at::kFloat) * 2 - 1;
  const double same = sliced_wasserstein(base, other);
  const double noisy = sliced_wasserstein(base, other + 0.3 * at::randn({64, 1, 16, 16}, g, at::kFloat));
  const double noisier = sliced_wasserstein(base, other + 0.6 * at::randn({64, 1, 16, 16}, g, at::kFloat));
  EXPECT_LT(same, noisy);
  EXPECT_LT(noisy, noisier);
  EXPECT_EQ(sliced_wasserstein(base, base, {7, 64, 256, 9}), sliced_wasserstein(base, base, {7, 64, 256, 9}));
  EXPECT_THROW(sliced_wasserstein(base, at::zeros({4, 1, 8, 8})), Error);
  EXPECT_THROW(sliced_wasserstein(at::zeros({4, 1, 5, 5}), at::zeros({4, 1, 5, 5})), Error);
}

// Fashion-MNIST test images as uint8 [N, 1, 28, 28] with labels, and the committed classifier.
struct RealData {
  at::Tensor images, labels;
  FeatureClassifier net{nullptr};
};

RealData& real_data() {
  static RealData data = [] {
    RealData d;
    const std::string dir = test::fashion_mnist_dir();
    const auto dataset = open_idx_dataset(dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz");
    std::vector<at::Tensor> xs;
    std::vector<int64_t> ys;
    for (int64_t i = 0; i < 2000; ++i) {
      const Example e = dataset->get(i);
      xs.push_back(e.image);
      ys.push_back(e.label);
    }
    d.images = at::stack(xs);
    d.labels = at::tensor(ys, at::kLong);
    d.net = load_feature_classifier(std::string(DIFFUSE_SOURCE_DIR) + "/metrics/fashion-mnist-classifier.safetensors");
    return d;
  }();
  return data;
}

TEST(FeatureClassifier, CommittedWeightsClassifyFashionMnist) {
  RealData& d = real_data();
  const double accuracy = classifier_accuracy(d.net, d.images, d.labels);
  EXPECT_GT(accuracy, 0.85);
  EXPECT_EQ(d.net->classes(), 10);
  const std::string dir = test::make_temp_dir("classifier");
  test::write_bytes(dir + "/bad.safetensors", "garbage");
  EXPECT_TRUE(test::throws_error([&] { load_feature_classifier(dir + "/bad.safetensors"); }, ErrorCode::kCorruptFile,
                                 {"bad.safetensors"}));
}

TEST(FeatureClassifier, MetricsRankNoiseBlurAndDroppedClasses) {
  RealData& d = real_data();
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(8);
  const at::Tensor x = d.images.to(at::kFloat).div(127.5).sub(1);
  const at::Tensor a = x.narrow(0, 0, 1000), b = x.narrow(0, 1000, 1000);
  const at::Tensor b_labels = d.labels.narrow(0, 1000, 1000);
  const auto features = [&](const at::Tensor& images) { return classifier_features(d.net, images); };
  const at::Tensor fa = features(a);
  const GaussianFit ga = fit_gaussian(fa);
  const auto fd = [&](const at::Tensor& images) { return frechet_distance(ga, fit_gaussian(features(images))); };

  const at::Tensor noisy = (b + 0.2 * at::randn(b.sizes(), g, at::kFloat)).clamp(-1, 1);
  const at::Tensor noisier = (b + 0.5 * at::randn(b.sizes(), g, at::kFloat)).clamp(-1, 1);
  const at::Tensor blurred = at::avg_pool2d(b, 3, 1, 1, false, false);
  // Classes 0–4 only, repeated to 1000 images.
  const at::Tensor kept = at::nonzero(b_labels < 5).squeeze(1);
  const at::Tensor dropped = b.index_select(0, kept.repeat(1000 / kept.size(0) + 1).narrow(0, 0, 1000));

  const double fd_real = fd(b);
  const double fd_noisy = fd(noisy);
  const double fd_noisier = fd(noisier);
  const double fd_blur = fd(blurred);
  const double fd_dropped = fd(dropped);
  EXPECT_LT(fd_real, fd_noisy);
  EXPECT_LT(fd_noisy, fd_noisier);
  EXPECT_LT(fd_real * 3, fd_blur);
  EXPECT_LT(fd_real * 3, fd_dropped);
  const double kid_real = kernel_distance(fa, features(b), 10, 500, 0);
  EXPECT_LT(kid_real, kernel_distance(fa, features(noisier), 10, 500, 0));
  EXPECT_LT(kid_real, kernel_distance(fa, features(dropped), 10, 500, 0));
  const PrecisionRecall pr_real = precision_recall(fa, features(b), 3);
  const PrecisionRecall pr_dropped = precision_recall(fa, features(dropped), 3);
  EXPECT_GT(pr_real.recall, pr_dropped.recall + 0.2);  // half the classes are gone
  EXPECT_GT(pr_real.precision, 0.6);
  const double swd_real = sliced_wasserstein(a, b), swd_noisy = sliced_wasserstein(a, noisier);
  EXPECT_LT(swd_real, swd_noisy);
  std::printf("FD_cls: real %.3f, noise 0.2 %.3f, noise 0.5 %.3f, blur %.3f, classes 0-4 %.3f; recall real %.3f, "
              "classes 0-4 %.3f; SWD real %.2f, noise 0.5 %.2f\n",
              fd_real, fd_noisy, fd_noisier, fd_blur, fd_dropped, pr_real.recall, pr_dropped.recall, swd_real,
              swd_noisy);
}

TEST(EvalConfigPaths, RelativePathsResolveAgainstBaseDirAndTheClassifierIsSearchedFor) {
  v1::EvalConfig config;
  EXPECT_EQ(eval_path(config, "data/x.gz"), "data/x.gz");  // no base_dir: the working directory
  config.set_base_dir("/cfg");
  EXPECT_EQ(eval_path(config, "data/x.gz"), "/cfg/data/x.gz");
  EXPECT_EQ(eval_path(config, "/abs/x.gz"), "/abs/x.gz");

  const std::string dir = test::make_temp_dir("eval-paths");
  std::filesystem::create_directories(dir + "/config");
  std::filesystem::create_directories(dir + "/first/metrics");
  std::filesystem::create_directories(dir + "/second/metrics");
  test::write_bytes(dir + "/second/metrics/c.safetensors", "x");
  config.set_base_dir(dir + "/config");
  config.set_classifier("metrics/c.safetensors");
  EXPECT_EQ(find_classifier(config, {dir + "/first", dir + "/second"}), dir + "/second/metrics/c.safetensors");
  test::write_bytes(dir + "/config/metrics.safetensors", "x");
  config.set_classifier("metrics.safetensors");
  EXPECT_EQ(find_classifier(config, {dir + "/first"}), dir + "/config/metrics.safetensors");  // base_dir first
  config.set_classifier("metrics/none.safetensors");
  EXPECT_TRUE(test::throws_error([&] { find_classifier(config, {dir + "/first", dir + "/second"}); },
                                 ErrorCode::kNotFound,
                                 {"EvalConfig.classifier: metrics/none.safetensors not found",
                                  dir + "/config/metrics/none.safetensors", dir + "/first/metrics/none.safetensors",
                                  dir + "/second/metrics/none.safetensors"}));
  config.set_classifier(dir + "/absent.safetensors");  // an absolute name is looked for only where it says
  EXPECT_TRUE(test::throws_error([&] { find_classifier(config, {dir + "/second"}); }, ErrorCode::kNotFound,
                                 {"(looked for " + dir + "/absent.safetensors)"}));
}

}  // namespace
}  // namespace diffuse::metrics_test
