// The on-disk formats of store/: each writer against its reader, and the reader's refusals.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/model_config.h"
#include "config/train_config.h"
#include "fixtures.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "store/checkpoint.h"
#include "store/ema_snapshot.h"
#include "store/model_file.h"
#include "store/posthoc_output.h"
#include "store/run_directory.h"
#include "store/stats_line.h"
#include "test_util.h"
#include "util/error.h"

namespace diffuse::store_test {
namespace {

using test::throws_error;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("store"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

CheckpointState sample_state() {
  CheckpointState s;
  s.net = {{"unet.out_gain", at::randn({1})}, {"unet.enc.conv.weight", at::randn({4, 3, 3, 3})}};
  s.adam_exp_avg = {{"unet.out_gain", at::randn({1})}};
  s.adam_exp_avg_sq = {{"unet.out_gain", at::rand({1})}};
  s.ema = {{"ema0.unet.out_gain", at::randn({1})}, {"ema1.unet.out_gain", at::randn({1})}};
  s.nimg = 4096;
  s.step = 128;
  s.loader_position = 4100;
  s.nonfinite_steps = 2;
  s.elapsed_seconds = 12.5;
  s.adam_steps = 128;
  s.adam_beta1_product = std::pow(0.9, 128);
  s.adam_beta2_product = std::pow(0.99, 128);
  s.interval_stats = at::arange(22, at::kDouble);
  return s;
}

v1::TrainConfig sample_config() {
  v1::TrainConfig config = test::fashion_mnist_tiny_config("/tmp/run", 4, "");
  return resolve_train_config(config);
}

bool same(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, t] : a) {
    if (!b.count(name) || !at::equal(t, b.at(name))) return false;
  }
  return true;
}

TEST_F(StoreTest, CheckpointReadsBackEveryFieldExactly) {
  const CheckpointState s = sample_state();
  const v1::TrainConfig config = sample_config();
  write_checkpoint(path("c.safetensors"), s, config);
  const CheckpointState r = read_checkpoint(path("c.safetensors"));
  EXPECT_TRUE(same(r.net, s.net));
  EXPECT_TRUE(same(r.adam_exp_avg, s.adam_exp_avg));
  EXPECT_TRUE(same(r.adam_exp_avg_sq, s.adam_exp_avg_sq));
  EXPECT_TRUE(same(r.ema, s.ema));
  EXPECT_EQ(r.nimg, s.nimg);
  EXPECT_EQ(r.step, s.step);
  EXPECT_EQ(r.loader_position, s.loader_position);
  EXPECT_EQ(r.nonfinite_steps, s.nonfinite_steps);
  EXPECT_EQ(r.adam_steps, s.adam_steps);
  EXPECT_EQ(r.elapsed_seconds, s.elapsed_seconds);
  EXPECT_EQ(r.adam_beta1_product, s.adam_beta1_product);
  EXPECT_EQ(r.adam_beta2_product, s.adam_beta2_product);
  EXPECT_TRUE(at::equal(r.interval_stats, s.interval_stats));
  EXPECT_FALSE(r.noise_curriculum.defined());
  const auto carried = checkpoint_config(SafetensorsFile::open(path("c.safetensors")));
  ASSERT_TRUE(carried.has_value());
  EXPECT_EQ(carried->SerializeAsString(), config.SerializeAsString());
}

TEST_F(StoreTest, CheckpointRefusesCountersOutOfRange) {
  const v1::TrainConfig config = sample_config();
  CheckpointState s = sample_state();
  s.nimg = std::numeric_limits<int64_t>::max();
  write_checkpoint(path("huge.safetensors"), s, config);
  EXPECT_TRUE(throws_error([&] { read_checkpoint(path("huge.safetensors")); }, ErrorCode::kCorruptFile,
                           {"huge.safetensors", "state.nimg", "out of range"}));
  s = sample_state();
  s.loader_position = -1;
  write_checkpoint(path("negative.safetensors"), s, config);
  EXPECT_TRUE(throws_error([&] { read_checkpoint(path("negative.safetensors")); }, ErrorCode::kCorruptFile,
                           {"state.loader_position"}));
  s = sample_state();
  s.adam_beta1_product = std::numeric_limits<double>::quiet_NaN();
  write_checkpoint(path("nan.safetensors"), s, config);
  EXPECT_TRUE(throws_error([&] { read_checkpoint(path("nan.safetensors")); }, ErrorCode::kCorruptFile,
                           {"state.adam_beta1_product"}));
}

TEST_F(StoreTest, CheckpointRefusesAnotherFormatAndNamesAMissingTensor) {
  write_safetensors(path("other.safetensors"), {{"x", at::zeros({1})}}, {{"format", "diffuse-ema-1"}});
  EXPECT_TRUE(throws_error([&] { read_checkpoint(path("other.safetensors")); }, ErrorCode::kCorruptFile,
                           {"not a diffuse checkpoint"}));
  write_safetensors(path("partial.safetensors"), {{"state.nimg", at::scalar_tensor(int64_t{1}, at::kLong)}},
                    {{"format", "diffuse-checkpoint-1"}});
  EXPECT_TRUE(throws_error([&] { read_checkpoint(path("partial.safetensors")); }, ErrorCode::kCorruptFile,
                           {"missing tensor 'state.step'"}));
}

// A 1-tensor file whose metadata names the 1.5-billion-parameter preset is refused from its tensor
// table, before the network is built (found by fuzzing: it did not return within 120 s).
TEST_F(StoreTest, ModelFileIsCheckedAgainstItsTensorTableBeforeTheNetworkIsBuilt) {
  write_safetensors(path("claims-xxl.safetensors"), {{"unet.out_gain", at::zeros({})}},
                    {{"model_config", R"({"preset": "edm2-img512-xxl"})"}});
  EXPECT_TRUE(throws_error([&] { load_model(path("claims-xxl.safetensors")); }, ErrorCode::kInvalidArgument,
                           {"claims-xxl.safetensors", "missing tensor 'unet.emb_noise.weight'"}));
  write_safetensors(path("wrong-shape.safetensors"), {{"unet.emb_noise.weight", at::zeros({3})}},
                    {{"model_config", R"({"preset": "edm2-img64-xs"})"}});
  EXPECT_TRUE(throws_error([&] { load_model(path("wrong-shape.safetensors")); }, ErrorCode::kInvalidArgument,
                           {"tensor 'unet.emb_noise.weight' has shape [3] but the model expects ["}));
}

TEST_F(StoreTest, EmaSnapshotCarriesItsProfileTimeAndModel) {
  EXPECT_EQ(ema_snapshot_name(0.05, 8388608), "ema-0.050-0008388.safetensors");
  const v1::ModelConfig model = sample_config().model();
  const std::string p = path(ema_snapshot_name(0.1, 2048));
  write_ema_snapshot(p, {{"unet.out_gain", at::ones({1})}}, 0.1, 2048, model);
  const EmaSnapshot info = read_ema_snapshot_info(p);
  EXPECT_EQ(info.sigma_rel, 0.1);
  EXPECT_EQ(info.nimg, 2048);
  EXPECT_EQ(snapshot_model_config(SafetensorsFile::open(p)).SerializeAsString(), model.SerializeAsString());
  const auto listed = list_ema_snapshots(dir_);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].path, p);
  write_safetensors(path("ema-0.200-0000001.safetensors"), {{"x", at::zeros({1})}},
                    {{"format", "diffuse-ema-1"}, {"sigma_rel", "0.5"}, {"nimg", "1000"}, {"model_config", "{}"}});
  EXPECT_TRUE(throws_error([&] { list_ema_snapshots(dir_); }, ErrorCode::kCorruptFile, {"sigma_rel"}));
}

TEST_F(StoreTest, PosthocOutputNameAndMetadata) {
  EXPECT_EQ(posthoc_output_name(0.075, 65536), "phema-0.075-0000065.safetensors");
  write_posthoc_output(path("p.safetensors"), {{"unet.out_gain", at::ones({1})}}, 0.075, 65536, 0.01, "{}");
  const auto meta = SafetensorsFile::open(path("p.safetensors")).metadata();
  EXPECT_EQ(meta.at("format"), "diffuse-phema-1");
  EXPECT_EQ(std::stod(meta.at("sigma_rel")), 0.075);
  EXPECT_EQ(meta.at("nimg"), "65536");
}

TEST_F(StoreTest, RunDirectoryConfigAndStatsLines) {
  RunDirectory dir(dir_);
  EXPECT_FALSE(dir.holds_run());
  v1::TrainConfig config = sample_config();
  config.mutable_run()->set_output_dir(dir_);
  dir.save_config(config);
  EXPECT_FALSE(dir.holds_run()) << "a config without a checkpoint is no run to resume";
  test::write_bytes(path("checkpoint-0000002.safetensors"), "");
  EXPECT_TRUE(dir.holds_run());
  EXPECT_EQ(resolve_train_config(RunDirectory::load_config(dir_)).SerializeAsString(), config.SerializeAsString());
  EXPECT_TRUE(throws_error([&] { RunDirectory::load_config(dir_ + "/none"); }, ErrorCode::kIo, {"config.textproto"}));

  StatsLine line;
  line.nimg = 2048;
  line.status = StatsLine::Status{};
  line.status->loss = std::numeric_limits<double>::quiet_NaN();
  line.validation = StatsLine::Validation{0.5, {0.1, 0.2}};
  const std::string text = format_stats_line(line);
  const auto json = nlohmann::json::parse(text);
  ASSERT_TRUE(json.contains("loss"));
  EXPECT_TRUE(json.at("loss").is_null());
  EXPECT_EQ(json["kimg"].get<double>(), 2.048);
  EXPECT_EQ(json["validation_loss"].get<double>(), 0.5);
  EXPECT_FALSE(json.contains("peak_device_memory_bytes"));
  EXPECT_EQ(stats_line_nimg(text), 2048);
  EXPECT_FALSE(stats_line_nimg("{\"nimg\": 1.5}").has_value());
  EXPECT_FALSE(stats_line_nimg("not json").has_value());
  dir.append_stats(text);
  line.nimg = 4096;
  dir.append_stats(format_stats_line(line));
  dir.truncate_stats(3000);
  EXPECT_EQ(read_file(dir.file("stats.jsonl")), text + "\n");
}

}  // namespace
}  // namespace diffuse::store_test
