// TrainConfig defaults and validation: every rejection names its field.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/proto_format.h"
#include "config/train_config.h"
#include "util/error.h"

namespace diffuse {
namespace {

v1::TrainConfig minimal() {
  const std::string text = R"(
    model { preset: "edm2-img64-xs" img_channels: 1 }
    data { train { format: IDX path: "/x/images.gz" } }
    run { output_dir: "/tmp/run" duration_images: 1000000 }
  )";
  v1::TrainConfig config;
  parse_config(text.data(), text.size(), ConfigFormat::kText, &config);
  return config;
}

TEST(TrainConfig, DefaultsFollowTheReference) {
  const v1::TrainConfig c = resolve_train_config(minimal());
  EXPECT_EQ(c.run().batch_size(), 2048);
  EXPECT_EQ(c.run().batch_per_step(), 2048);
  EXPECT_EQ(c.run().status_images(), 128 * 1024);
  EXPECT_EQ(c.run().checkpoint_images(), 128 * 1024 * 1024);
  EXPECT_EQ(c.ema().snapshot_images(), 8 * 1024 * 1024);
  ASSERT_EQ(c.ema().sigma_rels_size(), 2);
  EXPECT_DOUBLE_EQ(c.ema().sigma_rels(0), 0.05);
  EXPECT_DOUBLE_EQ(c.ema().sigma_rels(1), 0.10);
  EXPECT_DOUBLE_EQ(c.optimizer().beta1(), 0.9);
  EXPECT_DOUBLE_EQ(c.optimizer().beta2(), 0.99);
  EXPECT_DOUBLE_EQ(c.optimizer().eps(), 1e-8);
  EXPECT_DOUBLE_EQ(c.optimizer().rampup_images(), 10e6);
  EXPECT_DOUBLE_EQ(c.optimizer().ref_batches(), 35000);  // img64 preset
  EXPECT_DOUBLE_EQ(c.noise().p_mean(), -0.8);
  EXPECT_DOUBLE_EQ(c.noise().p_std(), 1.6);
  EXPECT_TRUE(c.loss().uncertainty());
  EXPECT_TRUE(c.data().use_labels());  // the preset is class-conditional
  EXPECT_EQ(c.model().model_channels(), 128);
  EXPECT_EQ(c.run().device(), "cpu");
}

struct Invalid {
  const char* name;
  const char* field;
  void (*mutate)(v1::TrainConfig*);
};

class TrainConfigRejects : public ::testing::TestWithParam<Invalid> {};

TEST_P(TrainConfigRejects, NamingTheField) {
  v1::TrainConfig config = minimal();
  GetParam().mutate(&config);
  try {
    resolve_train_config(config);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    EXPECT_THAT(e.what(), ::testing::HasSubstr(std::string("TrainConfig.") + GetParam().field));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TrainConfigRejects,
    ::testing::Values(
        Invalid{"MissingTrainData", "data.train.format", [](v1::TrainConfig* c) { c->mutable_data()->clear_train(); }},
        Invalid{"MissingPath", "data.train.path", [](v1::TrainConfig* c) { c->mutable_data()->mutable_train()->clear_path(); }},
        Invalid{"MissingOutputDir", "run.output_dir", [](v1::TrainConfig* c) { c->mutable_run()->clear_output_dir(); }},
        Invalid{"MissingDuration", "run.duration_images", [](v1::TrainConfig* c) { c->mutable_run()->clear_duration_images(); }},
        Invalid{"MicroBatchNotDividing", "run.batch_per_step",
                [](v1::TrainConfig* c) { c->mutable_run()->set_batch_per_step(300); }},
        Invalid{"StatusNotMultipleOfBatch", "run.status_images",
                [](v1::TrainConfig* c) { c->mutable_run()->set_status_images(1000); }},
        Invalid{"SnapshotBelow1000", "ema.snapshot_images",
                [](v1::TrainConfig* c) {
                  c->mutable_run()->set_batch_size(32);
                  c->mutable_ema()->set_snapshot_images(64);
                }},
        Invalid{"BadDevice", "run.device", [](v1::TrainConfig* c) { c->mutable_run()->set_device("gpu0"); }},
        Invalid{"SigmaRelTooLarge", "ema.sigma_rels", [](v1::TrainConfig* c) { c->mutable_ema()->add_sigma_rels(0.3); }},
        Invalid{"Beta1One", "optimizer.beta1", [](v1::TrainConfig* c) { c->mutable_optimizer()->set_beta1(1.0); }},
        Invalid{"NegativePStd", "noise.p_std", [](v1::TrainConfig* c) { c->mutable_noise()->set_p_std(-1); }},
        Invalid{"NanLossScaling", "loss.loss_scaling", [](v1::TrainConfig* c) { c->mutable_loss()->set_loss_scaling(NAN); }},
        Invalid{"LabelsOnUnconditionalModel", "data.use_labels",
                [](v1::TrainConfig* c) {
                  c->mutable_model()->set_label_dim(0);
                  c->mutable_data()->set_use_labels(true);
                }},
        Invalid{"BackgroundOutOfRange", "data.background",
                [](v1::TrainConfig* c) {
                  for (int i = 0; i < 3; ++i) c->mutable_data()->add_background(300);
                }},
        Invalid{"ModelFieldsArePrefixed", "model: ModelConfig.num_blocks",
                [](v1::TrainConfig* c) { c->mutable_model()->set_num_blocks(0); }},
        Invalid{"KeepNoCheckpoints", "run.keep_checkpoints",
                [](v1::TrainConfig* c) { c->mutable_run()->set_keep_checkpoints(0); }}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace diffuse
