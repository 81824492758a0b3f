// Post-hoc EMA on a real run directory (spec edm2.md §8, §16 item 21): snapshots written by the
// trainer on Fashion-MNIST are listed, combined into tracked and untracked profiles, written, and
// swept on the run's validation set.
#include <cfloat>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/core.h>
#include <gtest/gtest.h>

#include "config/model_config.h"
#include "config/proto_format.h"
#include "config/train_config.h"
#include "ema/posthoc.h"
#include "train/posthoc_reconstruct.h"
#include "train/posthoc_sweep.h"
#include "ema/power_ema.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "nn/precond.h"
#include "nn/state_dict.h"
#include "tensor_compare.h"
#include "fixtures.h"
#include "test_util.h"
#include "train/trainer.h"
#include "train/training_data.h"
#include "util/error.h"

namespace diffuse::posthoc_reconstruct_test {
namespace {

using test::throws_error;

namespace fs = std::filesystem;
constexpr int64_t kSteps = 96;  // 3072 images: snapshots at 1024, 2048 and 3072

// The trainer test's tiny model on Fashion-MNIST at 16×16, batch 32, with a snapshot every 1024
// images. It also tracks σ_rel 0.07; those snapshots are moved out of the run directory and serve as
// the true EMA that the reconstruction from 0.05 and 0.10 approximates.
v1::TrainConfig tiny_config(const std::string& dir) {
  return test::fashion_mnist_tiny_config(dir, kSteps, R"(
    ema { sigma_rels: [0.05, 0.07, 0.1] snapshot_images: 1024 snapshot_dtype: FP32 }
    run { status_images: 1024 checkpoint_images: 0 validation_interval_images: 0 threads: 1 })");
}

struct SharedRun {
  std::string dir;    // what a run tracking 0.05 and 0.10 leaves
  std::string truth;  // the 0.07 snapshots of the same training
};

// One short training shared by every test.
const SharedRun& shared_run() {
  static const SharedRun run = [] {
    SharedRun r{test::make_temp_dir("phema-run"), test::make_temp_dir("phema-truth")};
    Trainer::create(tiny_config(r.dir))->run(kSteps);
    for (const auto& entry : fs::directory_iterator(r.dir)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("ema-0.070-", 0) == 0) fs::rename(entry.path(), fs::path(r.truth) / name);
    }
    return r;
  }();
  return run;
}

std::map<std::string, at::Tensor> read_tensors(const std::string& path) {
  return SafetensorsFile::open(path).read_all();
}

PosthocOutput reconstruct_one(double sigma_rel, int64_t nimg = -1, bool force = false) {
  PosthocOptions options;
  options.sigma_rels = {sigma_rel};
  options.nimg = nimg;
  options.force = force;
  return reconstruct_posthoc(shared_run().dir, options).at(0);
}

// Squared L2 distance between two state dicts over every tensor.
double distance_sq(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b) {
  double sum = 0;
  for (const auto& [name, t] : a) sum += (t.to(at::kDouble) - b.at(name).to(at::kDouble)).square().sum().item<double>();
  return sum;
}

std::map<std::string, at::Tensor> as_map(const NamedTensors& state) { return {state.begin(), state.end()}; }

TEST(PosthocReconstruct, ListsSnapshotsFromMetadataAndIgnoresOtherFiles) {
  const auto snapshots = list_ema_snapshots(shared_run().dir);
  ASSERT_EQ(snapshots.size(), 6u);  // beside config.textproto, stats.jsonl, log.txt and a checkpoint
  const std::vector<std::pair<int64_t, double>> expected = {{1024, 0.05}, {1024, 0.1}, {2048, 0.05},
                                                            {2048, 0.1},  {3072, 0.05}, {3072, 0.1}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(snapshots[i].nimg, expected[i].first) << i;
    EXPECT_EQ(snapshots[i].sigma_rel, expected[i].second) << i;
    EXPECT_EQ(fs::path(snapshots[i].path).filename().string(),
              ema_snapshot_name(expected[i].second, expected[i].first));
  }
}

// §16 item 21: a tracked profile is reconstructed from a one-hot column, i.e. it is the snapshot itself.
TEST(PosthocReconstruct, TrackedProfilesAreReproducedExactly) {
  for (const int64_t nimg : {int64_t{3072}, int64_t{2048}}) {
    PosthocOptions options;
    options.sigma_rels = {0.05, 0.10};
    options.nimg = nimg;
    const auto outputs = reconstruct_posthoc(shared_run().dir, options);
    ASSERT_EQ(outputs.size(), 2u);
    for (const PosthocOutput& out : outputs) {
      SCOPED_TRACE(::testing::Message() << "sigma_rel " << out.sigma_rel << " at " << nimg);
      EXPECT_EQ(out.nimg, nimg);
      EXPECT_LT(out.residual, 1e-6);
      ASSERT_EQ(out.inputs.size(), static_cast<size_t>(nimg / 1024 * 2));
      ASSERT_EQ(out.coefficients.size(), out.inputs.size());
      for (size_t i = 0; i < out.inputs.size(); ++i) {
        const bool match = out.inputs[i].nimg == nimg && out.inputs[i].sigma_rel == out.sigma_rel;
        EXPECT_NEAR(out.coefficients[i], match ? 1.0 : 0.0, 1e-9) << i;
      }
      const auto tracked = read_tensors(shared_run().dir + "/" + ema_snapshot_name(out.sigma_rel, nimg));
      ASSERT_EQ(out.state.size(), tracked.size());
      double worst = 0;
      for (const auto& [name, t] : out.state) {
        EXPECT_EQ(t.scalar_type(), at::kFloat) << name;
        const double err = test::max_relative_error(t, tracked.at(name));
        EXPECT_LE(err, 1e-4) << name;
        worst = std::max(worst, err);
      }
      ::testing::Test::RecordProperty(fmt::format("tracked_{:.2f}_{}_max_relative_error", out.sigma_rel, nimg),
                                      fmt::format("{:.3e}", worst));
    }
  }
}

// 0.07 is fitted from 0.05 and 0.10; the same training also tracked 0.07, so the reconstruction can be
// measured against the true EMA. The continuous profiles ignore the discrete steps (96 here, where a
// profile spans only ~7 of them), so it is close rather than exact: much closer to the truth than
// the two tracked neighbours are to each other, and between them.
TEST(PosthocReconstruct, IntermediateTargetApproximatesItsTrackedEma) {
  const PosthocOutput out = reconstruct_one(0.07);
  EXPECT_LT(out.residual, 0.05);
  const auto rec = as_map(out.state);
  const auto at_05 = read_tensors(shared_run().dir + "/" + ema_snapshot_name(0.05, 3072));
  const auto at_10 = read_tensors(shared_run().dir + "/" + ema_snapshot_name(0.10, 3072));
  const auto truth = read_tensors(shared_run().truth + "/" + ema_snapshot_name(0.07, 3072));
  const double span = std::sqrt(distance_sq(at_05, at_10));
  const double to_05 = std::sqrt(distance_sq(rec, at_05)), to_10 = std::sqrt(distance_sq(rec, at_10));
  const double to_truth = std::sqrt(distance_sq(rec, truth));
  EXPECT_LT(to_05, span);
  EXPECT_LT(to_10, span);
  EXPECT_LT(to_truth, 0.25 * span);
  ::testing::Test::RecordProperty("residual_0.07", fmt::format("{:.4g}", out.residual));
  ::testing::Test::RecordProperty("distance_05_10", fmt::format("{:.4g}", span));
  ::testing::Test::RecordProperty("distance_rec_05", fmt::format("{:.4g}", to_05));
  ::testing::Test::RecordProperty("distance_rec_10", fmt::format("{:.4g}", to_10));
  ::testing::Test::RecordProperty("distance_rec_truth", fmt::format("{:.4g}", to_truth));
}

TEST(PosthocReconstruct, ShortTargetIsRefusedUnlessForced) {
  EXPECT_TRUE(throws_error([] { reconstruct_one(0.01); }, ErrorCode::kInvalidArgument,
                           {"sigma_rel 0.01", "residual", "limit 0.05", "--force", "force=true"}));
  // The refusal says how many evenly spaced snapshot times of the tracked profiles would fit the target
  // (exactly the fewest), or that up to 64 would not.
  const auto residual = [](int times) {
    std::vector<EmaProfile> profiles;
    for (int k = 1; k <= times; ++k) {
      for (double s : {0.05, 0.10}) profiles.push_back({1.0 * k / times, s});
    }
    return solve_posthoc(profiles, 1.0, {0.01}).residuals[0];
  };
  try {
    reconstruct_one(0.01);
    ADD_FAILURE() << "not refused";
  } catch (const Error& e) {
    const std::string message = e.what();
    const size_t at = message.find(" evenly spaced times would fit it");
    if (at == std::string::npos) {
      EXPECT_NE(message.find("more snapshot times would not fit it: track a sigma_rel near it"), std::string::npos)
          << message;
      EXPECT_GT(residual(64), 0.05);
    } else {
      const int m = std::stoi(message.substr(message.rfind(' ', at - 1) + 1));
      EXPECT_LE(residual(m), 0.05) << message;
      EXPECT_GT(residual(m - 1), 0.05) << message;
    }
  }
  const PosthocOutput out = reconstruct_one(0.01, -1, /*force=*/true);
  EXPECT_GT(out.residual, 0.05);
  ::testing::Test::RecordProperty("residual_0.01", fmt::format("{:.4g}", out.residual));
  const std::string out_dir = test::make_temp_dir("phema-forced");
  const auto paths = write_posthoc(shared_run().dir, {out}, out_dir, /*fp16=*/false);
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_EQ(paths[0], out_dir + "/phema-0.010-0000003.safetensors");
  EXPECT_EQ(std::stod(SafetensorsFile::open(paths[0]).metadata().at("residual")), out.residual);
}

TEST(PosthocReconstruct, WrittenFilesLoadBack) {
  PosthocOptions options;
  options.sigma_rels = {0.07, 0.10};
  const auto outputs = reconstruct_posthoc(shared_run().dir, options);
  const SafetensorsFile snapshot = SafetensorsFile::open(shared_run().dir + "/" + ema_snapshot_name(0.10, 3072));
  for (const bool fp16 : {true, false}) {
    const std::string out_dir = test::make_temp_dir("phema-out") + "/nested";
    const auto paths = write_posthoc(shared_run().dir, outputs, out_dir, fp16);
    ASSERT_EQ(paths.size(), 2u);
    EXPECT_EQ(paths[0], out_dir + "/phema-0.070-0000003.safetensors");
    EXPECT_EQ(paths[1], out_dir + "/phema-0.100-0000003.safetensors");
    for (size_t j = 0; j < outputs.size(); ++j) {
      const SafetensorsFile file = SafetensorsFile::open(paths[j]);
      const auto& meta = file.metadata();
      EXPECT_EQ(meta.at("format"), "diffuse-phema-1");
      EXPECT_EQ(std::stod(meta.at("sigma_rel")), outputs[j].sigma_rel);
      EXPECT_EQ(meta.at("nimg"), "3072");
      EXPECT_EQ(std::stod(meta.at("residual")), outputs[j].residual);
      EXPECT_EQ(meta.at("model_config"), snapshot.metadata().at("model_config"));
      // Same names in the same (state-dict) order as the trainer's snapshots.
      ASSERT_EQ(file.entries().size(), snapshot.entries().size());
      for (size_t k = 0; k < file.entries().size(); ++k) {
        EXPECT_EQ(file.entries()[k].name, snapshot.entries()[k].name);
        EXPECT_EQ(file.entries()[k].dtype, fp16 ? "F16" : "F32");
      }
      const auto loaded = file.read_all();
      for (const auto& [name, t] : outputs[j].state) {
        EXPECT_TRUE(at::equal(loaded.at(name), t.to(fp16 ? at::kHalf : at::kFloat))) << name;
      }
    }
  }
  const std::string dup_dir = test::make_temp_dir("phema-dup");
  EXPECT_TRUE(throws_error([&] { write_posthoc(shared_run().dir, {outputs[0], outputs[0]}, dup_dir, true); },
                           ErrorCode::kInvalidArgument, {"phema-0.070-0000003.safetensors"}));
}

TEST(PosthocReconstruct, TargetTimeMustBeASnapshotTime) {
  EXPECT_TRUE(throws_error([] { reconstruct_one(0.07, 3000); }, ErrorCode::kInvalidArgument,
                           {"3000 images is not a snapshot time", "1024, 2048, 3072"}));
  EXPECT_TRUE(throws_error([] { reconstruct_one(0.07, 4096); }, ErrorCode::kInvalidArgument, {"1024, 2048, 3072"}));
}

// §16 item 21: Σ_i X_ij·θ_i (accumulated in fp32) equals the float64 sum, with X solved independently.
TEST(PosthocReconstruct, CombinationEqualsFloat64Sum) {
  for (const double sigma_rel : {0.01, 0.15}) {
    SCOPED_TRACE(::testing::Message() << "sigma_rel " << sigma_rel);
    const PosthocOutput out = reconstruct_one(sigma_rel, -1, /*force=*/true);
    const auto snapshots = list_ema_snapshots(shared_run().dir);
    std::vector<EmaProfile> profiles;
    for (const auto& s : snapshots) profiles.push_back({static_cast<double>(s.nimg), s.sigma_rel});
    const PosthocSolution solution = solve_posthoc(profiles, 3072, {sigma_rel});
    std::vector<std::map<std::string, at::Tensor>> inputs;
    for (const auto& s : snapshots) inputs.push_back(read_tensors(s.path));

    double worst = 0, max_coefficient = 0;
    for (size_t i = 0; i < snapshots.size(); ++i) {
      max_coefficient = std::max(max_coefficient, std::abs(solution.coefficients[i][0]));
    }
    // Buffers are copied rather than combined, but they never change during training, so Σ_i x_i·b = b.
    for (const auto& [name, t] : out.state) {
      at::Tensor sum = at::zeros(t.sizes(), at::kDouble), magnitude = at::zeros(t.sizes(), at::kDouble);
      for (size_t i = 0; i < snapshots.size(); ++i) {
        const double x = solution.coefficients[i][0];
        sum += x * inputs[i].at(name).to(at::kDouble);
        magnitude += std::abs(x) * inputs[i].at(name).to(at::kDouble).abs();
      }
      // fp32 rounding of each product and of each of the n additions: ≤ (n + 2)·ε·Σ|x_i·θ_i| per element.
      const at::Tensor bound = magnitude * (static_cast<double>(snapshots.size() + 2) * FLT_EPSILON);
      const at::Tensor diff = (t.to(at::kDouble) - sum).abs();
      EXPECT_TRUE((diff <= bound).all().item<bool>()) << name;
      worst = std::max(worst, test::max_relative_error(t, sum));
    }
    ::testing::Test::RecordProperty(fmt::format("float64_{:.2f}_max_relative_error", sigma_rel),
                                    fmt::format("{:.3e}", worst));
    ::testing::Test::RecordProperty(fmt::format("float64_{:.2f}_max_abs_coefficient", sigma_rel),
                                    fmt::format("{:.4g}", max_coefficient));
  }
}

// The run's validator on a snapshot, built here independently of the sweep.
double validation_of(const std::string& snapshot) {
  const std::string text = read_file(shared_run().dir + "/config.textproto");
  v1::TrainConfig config;
  parse_config(text.data(), text.size(), ConfigFormat::kText, &config);
  config = resolve_train_config(config);
  const auto validator = make_validator(config, open_training_data(config, HostData{}));
  Precond net(to_model_options(config.model()));
  load_state_dict(*net, read_tensors(snapshot), snapshot);
  return validator->evaluate(net, config.run().batch_per_step()).mean;
}

TEST(PosthocReconstruct, SweepReportsValidationLossPerTarget) {
  PosthocSweepOptions options;
  options.posthoc.sigma_rels = {0.05, 0.07, 0.10};
  options.batch = 2;
  const auto points = sweep_posthoc(shared_run().dir, options);
  ASSERT_EQ(points.size(), 3u);
  PosthocOptions direct;
  direct.sigma_rels = options.posthoc.sigma_rels;
  const auto outputs = reconstruct_posthoc(shared_run().dir, direct);
  for (size_t j = 0; j < points.size(); ++j) {
    SCOPED_TRACE(::testing::Message() << "sigma_rel " << points[j].sigma_rel);
    EXPECT_EQ(points[j].sigma_rel, options.posthoc.sigma_rels[j]);
    EXPECT_EQ(points[j].nimg, 3072);
    EXPECT_EQ(points[j].residual, outputs[j].residual);
    EXPECT_TRUE(std::isfinite(points[j].validation.mean));
    ASSERT_EQ(points[j].validation.losses.size(), 10u);
    for (const double loss : points[j].validation.losses) EXPECT_TRUE(std::isfinite(loss));
    ::testing::Test::RecordProperty(fmt::format("sweep_{:.2f}_validation", points[j].sigma_rel),
                                    fmt::format("{:.6g}", points[j].validation.mean));
  }
  // The tracked 0.10 reconstructs to its own snapshot, so the sweep measures what the validator does.
  const double tracked = validation_of(shared_run().dir + "/" + ema_snapshot_name(0.10, 3072));
  EXPECT_NEAR(points[2].validation.mean, tracked, 1e-5 * tracked);

  options.posthoc.sigma_rels = {0.01};
  EXPECT_TRUE(
      throws_error([&] { sweep_posthoc(shared_run().dir, options); }, ErrorCode::kInvalidArgument, {"--force"}));
}

TEST(PosthocReconstruct, CorruptSnapshotIsNamed) {
  const std::string dir = test::make_temp_dir("phema-corrupt");
  EXPECT_TRUE(throws_error([&] { list_ema_snapshots(dir); }, ErrorCode::kNotFound, {dir}));

  const std::string bad_meta = dir + "/ema-0.050-0000001.safetensors";
  write_safetensors(bad_meta, {{"w", at::zeros({2})}},
                    {{"format", "diffuse-ema-1"}, {"nimg", "1024"}, {"model_config", "{}"}});
  EXPECT_TRUE(throws_error([&] { list_ema_snapshots(dir); }, ErrorCode::kCorruptFile, {bad_meta, "sigma_rel"}));
  EXPECT_TRUE(throws_error([&] { reconstruct_posthoc(dir, PosthocOptions{{0.05}}); },
                           ErrorCode::kCorruptFile, {bad_meta}));

  write_safetensors(bad_meta, {{"w", at::zeros({2})}},
                    {{"format", "diffuse-ema-1"}, {"sigma_rel", "0.3"}, {"nimg", "1024"}, {"model_config", "{}"}});
  EXPECT_TRUE(throws_error([&] { list_ema_snapshots(dir); }, ErrorCode::kCorruptFile, {bad_meta, "sigma_rel"}));

  const std::string garbage = dir + "/ema-0.100-0000001.safetensors";
  fs::remove(bad_meta);
  const std::string bytes = "not a safetensors file";
  write_file_atomic(garbage, bytes.data(), bytes.size());
  EXPECT_TRUE(throws_error([&] { list_ema_snapshots(dir); }, ErrorCode::kCorruptFile, {garbage}));
}

TEST(PosthocReconstruct, SnapshotThatDoesNotMatchTheModelIsNamed) {
  const std::string dir = test::make_temp_dir("phema-mismatch");
  for (const auto& s : list_ema_snapshots(shared_run().dir)) {
    fs::copy_file(s.path, dir + "/" + fs::path(s.path).filename().string());
  }
  const std::string victim = dir + "/" + ema_snapshot_name(0.05, 1024);
  const SafetensorsFile file = SafetensorsFile::open(victim);
  NamedTensors tensors;
  for (const auto& e : file.entries()) {
    const at::Tensor t = file.read(e.name);
    tensors.emplace_back(e.name, e.name == "unet.out_conv.weight" ? t.flatten() : t);
  }
  write_safetensors(victim, tensors, file.metadata());
  EXPECT_TRUE(throws_error([&] { reconstruct_posthoc(dir, PosthocOptions{{0.07}}); }, ErrorCode::kCorruptFile,
                           {victim, "unet.out_conv.weight", "shape"}));
}

}  // namespace
}  // namespace diffuse::posthoc_reconstruct_test
