// TrainConfig defaults and validation: every rejection names its field.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/proto_format.h"
#include "config/train_config.h"
#include "util/error.h"

namespace diffuse::train_config_test {
namespace {

v1::TrainConfig parsed(const std::string& text) {
  v1::TrainConfig config;
  parse_config(text.data(), text.size(), ConfigFormat::kText, &config);
  return config;
}

v1::TrainConfig minimal() {
  return parsed(R"(
    model { preset: "edm2-img64-xs" img_channels: 1 }
    data { train { format: IDX path: "/x/images.gz" } }
    run { output_dir: "/tmp/run" duration_images: 1000000 }
  )");
}

TEST(TrainConfig, DefaultsFollowTheReference) {
  v1::TrainConfig config = minimal();
  config.mutable_run()->set_duration_images(int64_t{2048} << 20);  // the reference's 2147 M images
  const v1::TrainConfig c = resolve_train_config(config);
  EXPECT_EQ(c.run().batch_size(), 2048);
  EXPECT_EQ(c.run().batch_per_step(), 2048);
  EXPECT_EQ(c.run().status_images(), 128 * 1024);
  EXPECT_EQ(c.run().checkpoint_images(), 128 * 1024 * 1024);
  EXPECT_EQ(c.ema().snapshot_images(), 8 * 1024 * 1024);
  EXPECT_EQ(c.run().sample_grid_images(), 8 * 1024 * 1024);
  EXPECT_EQ(c.run().sample_grid_count(), 16);
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
  EXPECT_EQ(c.run().validation_interval_images(), 128 * 1024);  // every status line
}

// A run that sets only model, data and duration gets cadences and a warm-up that fit it: status lines
// during the run, EMA snapshots at about 8 times (post-hoc EMA needs several), a learning rate that
// reaches ref_lr, validation costing at most ~5 % of training.
TEST(TrainConfig, DefaultsScaleWithAShortRun) {
  v1::TrainConfig config = minimal();
  config.mutable_run()->set_duration_images(65536);
  const v1::TrainConfig c = resolve_train_config(config);
  EXPECT_DOUBLE_EQ(c.optimizer().rampup_images(), 6553.6);
  EXPECT_EQ(c.run().status_images(), 2048);       // 65536 / 32, one per step of 2048
  EXPECT_EQ(c.run().checkpoint_images(), 16384);  // 65536 / 4
  EXPECT_EQ(c.ema().snapshot_images(), 8192);     // 65536 / 8
  EXPECT_EQ(c.run().validation_interval_images(), 16384);  // the first status multiple >= 64 x 256
  EXPECT_EQ(c.run().sample_grid_images(), 16384);  // not more often than every 1024 x 16 images

  config.mutable_run()->set_batch_size(100);
  config.mutable_run()->set_duration_images(3000);
  const v1::TrainConfig small = resolve_train_config(config);
  EXPECT_EQ(small.run().status_images(), 100);      // not below one batch
  EXPECT_EQ(small.run().checkpoint_images(), 1000);  // not below 1000, a multiple of the batch
  EXPECT_EQ(small.ema().snapshot_images(), 1000);
  EXPECT_EQ(small.run().validation_interval_images(), 16400);
  EXPECT_EQ(small.run().sample_grid_images(), 16400);  // after the end: no grid in so short a run

  config.mutable_run()->set_sample_grid_count(64);
  config.mutable_run()->set_duration_images(int64_t{1} << 20);
  EXPECT_EQ(resolve_train_config(config).run().sample_grid_images(), 131100);  // 1 Mi / 8, a multiple of 100
  config.mutable_run()->set_duration_images(100000);
  EXPECT_EQ(resolve_train_config(config).run().sample_grid_images(), 65600);  // 1024 x 64, a multiple of 100
  EXPECT_DOUBLE_EQ(small.optimizer().rampup_images(), 300);
}

// EDM2's img512 run: SD-VAE latents of 64×64×4 from its dataset tool.
v1::TrainConfig latent_minimal() {
  return parsed(R"(
    model { preset: "edm2-img512-xs" }
    data { train { format: LATENT_FOLDER path: "/x/img512-sd.zip" } }
    run { output_dir: "/tmp/run" duration_images: 1000000 }
  )");
}

TEST(TrainConfig, LatentDataGetsTheReferencesLatentDefaults) {
  const v1::TrainConfig c = resolve_train_config(latent_minimal());
  EXPECT_DOUBLE_EQ(c.noise().p_mean(), -0.4);  // EDM2's img512 configurations
  EXPECT_DOUBLE_EQ(c.noise().p_std(), 1.0);
  EXPECT_THAT(std::vector<double>(c.data().latent_mean().begin(), c.data().latent_mean().end()),
              ::testing::ElementsAre(5.81, 3.25, 0.12, -2.15));
  EXPECT_THAT(std::vector<double>(c.data().latent_std().begin(), c.data().latent_std().end()),
              ::testing::ElementsAre(4.17, 4.62, 3.71, 3.28));
  EXPECT_EQ(c.run().sample_grid_images(), 0);  // no decoder, no grid
  EXPECT_FALSE(c.data().has_resize());         // latents are not resized or padded
  EXPECT_EQ(c.data().background_size(), 0);
  // Resolved again (as a resumed run's stored config is), it stays what it is.
  EXPECT_EQ(print_config(resolve_train_config(c), ConfigFormat::kText), print_config(c, ConfigFormat::kText));

  v1::TrainConfig eight = latent_minimal();
  eight.mutable_model()->set_img_channels(2);
  for (double v : {0.0, 1.0}) eight.mutable_data()->add_latent_mean(v);
  for (double v : {1.0, 2.0}) eight.mutable_data()->add_latent_std(v);
  eight.mutable_noise()->set_p_mean(-1.2);
  const v1::TrainConfig e = resolve_train_config(eight);
  EXPECT_DOUBLE_EQ(e.noise().p_mean(), -1.2);
  EXPECT_EQ(e.data().latent_std_size(), 2);
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
        Invalid{"SampleGridBelow1000", "run.sample_grid_images",
                [](v1::TrainConfig* c) {
                  c->mutable_run()->set_batch_size(32);
                  c->mutable_run()->set_sample_grid_images(512);
                }},
        Invalid{"SampleGridCountZero", "run.sample_grid_count", [](v1::TrainConfig* c) { c->mutable_run()->set_sample_grid_count(0); }},
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
                [](v1::TrainConfig* c) { c->mutable_run()->set_keep_checkpoints(0); }},
        // Training-acceleration methods (spec methods.md §6, §11 tests 15, 24, 32).
        Invalid{"NegativeLaplaceB", "noise.laplace_b",
                [](v1::TrainConfig* c) {
                  c->mutable_noise()->set_distribution(v1::NoiseConfig::LAPLACE);
                  c->mutable_noise()->set_laplace_b(-1);
                }},
        Invalid{"ParameterOfAnotherBase", "noise.cauchy_gamma",
                [](v1::TrainConfig* c) {
                  c->mutable_noise()->set_distribution(v1::NoiseConfig::LAPLACE);
                  c->mutable_noise()->set_cauchy_gamma(1);
                }},
        Invalid{"DdpmStepsTooFew", "noise.ddpm.steps",
                [](v1::TrainConfig* c) {
                  c->mutable_noise()->set_distribution(v1::NoiseConfig::DDPM_UNIFORM);
                  c->mutable_noise()->mutable_ddpm()->set_steps(1);
                }},
        Invalid{"UncertaintyWithMinSnr", "loss.uncertainty",
                [](v1::TrainConfig* c) {
                  c->mutable_loss()->set_weighting(v1::LossConfig::MIN_SNR);
                  c->mutable_loss()->set_uncertainty(true);
                }},
        Invalid{"UncertaintyWithConstant", "loss.uncertainty",
                [](v1::TrainConfig* c) {
                  c->mutable_loss()->set_weighting(v1::LossConfig::CONSTANT);
                  c->mutable_loss()->set_uncertainty(true);
                }},
        Invalid{"UncertaintyWithSoftMinSnr", "loss.uncertainty",
                [](v1::TrainConfig* c) {
                  c->mutable_loss()->set_weighting(v1::LossConfig::SOFT_MIN_SNR);
                  c->mutable_loss()->set_uncertainty(true);
                }},
        Invalid{"GammaWithEdm", "loss.snr_gamma", [](v1::TrainConfig* c) { c->mutable_loss()->set_snr_gamma(5); }},
        Invalid{"EpsilonTargetOnEdmNetwork", "loss.target",
                [](v1::TrainConfig* c) { c->mutable_loss()->set_target(v1::LossConfig::EPSILON); }},
        Invalid{"CltsAndClusters", "noise.clusters",
                [](v1::TrainConfig* c) {
                  c->mutable_noise()->set_curriculum(v1::NoiseConfig::CLTS);
                  c->mutable_noise()->mutable_clusters()->set_num_clusters(10);
                }},
        Invalid{"MixtureWithClusters", "noise.clts",
                [](v1::TrainConfig* c) {
                  c->mutable_noise()->set_distribution(v1::NoiseConfig::DDPM_UNIFORM);
                  c->mutable_noise()->set_curriculum(v1::NoiseConfig::CLUSTERS);
                  c->mutable_noise()->mutable_clts()->set_variant(v1::CltsConfig::MIXTURE);
                  c->mutable_noise()->mutable_clts()->set_sigma_frac(0.1);
                }},
        Invalid{"MixtureWithoutSigmaFrac", "noise.clts.sigma_frac",
                [](v1::TrainConfig* c) {
                  c->mutable_noise()->set_distribution(v1::NoiseConfig::DDPM_UNIFORM);
                  c->mutable_noise()->set_curriculum(v1::NoiseConfig::CLTS);
                  c->mutable_noise()->mutable_clts()->set_variant(v1::CltsConfig::MIXTURE);
                }},
        Invalid{"MixtureOnContinuousBase", "noise.clts.variant",
                [](v1::TrainConfig* c) {
                  c->mutable_noise()->set_distribution(v1::NoiseConfig::LAPLACE);
                  c->mutable_noise()->set_curriculum(v1::NoiseConfig::CLTS);
                  c->mutable_noise()->mutable_clts()->set_variant(v1::CltsConfig::MIXTURE);
                  c->mutable_noise()->mutable_clts()->set_sigma_frac(0.1);
                }},
        Invalid{"CltsStrengthAboveOne", "noise.clts.s_max",
                [](v1::TrainConfig* c) {
                  c->mutable_noise()->set_curriculum(v1::NoiseConfig::CLTS);
                  c->mutable_noise()->mutable_clts()->set_s_max(1.5);
                }},
        Invalid{"EqualLogWidthOnDiscreteBase", "noise.clusters.partition",
                [](v1::TrainConfig* c) {
                  c->mutable_noise()->set_distribution(v1::NoiseConfig::DDPM_UNIFORM);
                  c->mutable_noise()->set_curriculum(v1::NoiseConfig::CLUSTERS);
                  c->mutable_noise()->mutable_clusters()->set_partition(v1::ClusterCurriculumConfig::EQUAL_LOG_WIDTH);
                }},
        Invalid{"PlateauWithFixedFraction", "noise.clusters.fixed_fraction",
                [](v1::TrainConfig* c) {
                  c->mutable_noise()->set_curriculum(v1::NoiseConfig::CLUSTERS);
                  c->mutable_noise()->mutable_clusters()->set_fixed_fraction(0.2);
                }},
        Invalid{"MdlrcWithoutSchedule", "optimizer.mdlrc",
                [](v1::TrainConfig* c) { c->mutable_optimizer()->mutable_mdlrc()->set_beta1_end(0.5); }},
        Invalid{"MdlrcEndAboveStart", "optimizer.mdlrc.beta1_end",
                [](v1::TrainConfig* c) {
                  c->mutable_optimizer()->set_momentum_schedule(v1::OptimizerConfig::MDLRC);
                  c->mutable_optimizer()->mutable_mdlrc()->set_beta1_end(0.95);
                }},
        Invalid{"MdlrcEmptyWindow", "optimizer.mdlrc.p_end",
                [](v1::TrainConfig* c) {
                  c->mutable_optimizer()->set_momentum_schedule(v1::OptimizerConfig::MDLRC);
                  c->mutable_optimizer()->mutable_mdlrc()->set_p_start(0.5);
                  c->mutable_optimizer()->mutable_mdlrc()->set_p_end(0.5);
                }},
        Invalid{"CosineFractionWithEdm2", "optimizer.cosine_final_fraction",
                [](v1::TrainConfig* c) { c->mutable_optimizer()->set_cosine_final_fraction(0.1); }},
        Invalid{"LatentStatisticsForImages", "data.latent_mean",
                [](v1::TrainConfig* c) { c->mutable_data()->add_latent_mean(1); }},
        Invalid{"LatentStdForImages", "data.latent_std", [](v1::TrainConfig* c) { c->mutable_data()->add_latent_std(1); }},
        Invalid{"LatentValidationForImages", "data.validation.format",
                [](v1::TrainConfig* c) {
                  c->mutable_data()->mutable_validation()->set_format(v1::DataSource::LATENT_FOLDER);
                  c->mutable_data()->mutable_validation()->set_path("/x/val.zip");
                }},
        Invalid{"ImageValidationForLatents", "data.validation.format",
                [](v1::TrainConfig* c) {
                  *c = latent_minimal();
                  c->mutable_data()->mutable_validation()->set_format(v1::DataSource::PNG_FOLDER);
                  c->mutable_data()->mutable_validation()->set_path("/x/val.zip");
                }},
        Invalid{"LatentsWithoutDefaultsForTheirChannels", "data.latent_mean",
                [](v1::TrainConfig* c) {
                  *c = latent_minimal();
                  c->mutable_model()->set_img_channels(8);
                }},
        Invalid{"LatentStatisticsOfAnotherWidth", "data.latent_std",
                [](v1::TrainConfig* c) {
                  *c = latent_minimal();
                  for (double v : {1.0, 2.0, 3.0}) c->mutable_data()->add_latent_std(v);
                }},
        Invalid{"LatentStdNotPositive", "data.latent_std",
                [](v1::TrainConfig* c) {
                  *c = latent_minimal();
                  for (double v : {1.0, 2.0, 0.0, 3.0}) c->mutable_data()->add_latent_std(v);
                }},
        Invalid{"LatentMeanNotFinite", "data.latent_mean",
                [](v1::TrainConfig* c) {
                  *c = latent_minimal();
                  for (double v : {1.0, 2.0, std::numeric_limits<double>::quiet_NaN(), 3.0})
                    c->mutable_data()->add_latent_mean(v);
                }},
        Invalid{"LatentsResized", "data.resize",
                [](v1::TrainConfig* c) {
                  *c = latent_minimal();
                  c->mutable_data()->set_resize(v1::DataConfig::PAD);
                }},
        Invalid{"LatentsWithBackground", "data.background",
                [](v1::TrainConfig* c) {
                  *c = latent_minimal();
                  for (int i = 0; i < 3; ++i) c->mutable_data()->add_background(0);
                }},
        Invalid{"LatentsWithLabelsPath", "data.train.labels_path",
                [](v1::TrainConfig* c) {
                  *c = latent_minimal();
                  c->mutable_data()->mutable_train()->set_labels_path("/x/labels");
                }},
        Invalid{"LatentSampleGrid", "run.sample_grid_images",
                [](v1::TrainConfig* c) {
                  *c = latent_minimal();
                  c->mutable_run()->set_sample_grid_images(8 << 20);
                }}),
    [](const auto& info) { return std::string(info.param.name); });

std::vector<std::string> warnings_for(const std::string& text) {
  v1::TrainConfig config = minimal();
  config.MergeFrom(parsed(text));
  std::vector<std::string> warnings;
  resolve_train_config(config, &warnings);
  return warnings;
}

// -0 anywhere (here the noise mean and the model's balance) resolves to 0: a resolved config prints
// the same after a round trip; NaN and infinities are refused naming the field.
TEST(TrainConfig, ResolvingIsByteStableAndRefusesNonFiniteNumbers) {
  v1::TrainConfig config = minimal();
  config.mutable_noise()->set_p_mean(-0.0);
  config.mutable_model()->set_res_balance(-0.0);
  const std::string once = print_config(resolve_train_config(config), ConfigFormat::kText);
  EXPECT_EQ(print_config(resolve_train_config(parsed(once)), ConfigFormat::kText), once);
  EXPECT_EQ(once.find(": -0\n"), std::string::npos) << once;

  config = minimal();
  config.mutable_optimizer()->set_ref_lr(std::numeric_limits<double>::infinity());
  try {
    resolve_train_config(config);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("TrainConfig.optimizer.ref_lr: inf is not finite"));
  }
}

TEST(TrainConfig, DubiousCombinationsWarnNamingTheFields) {
  EXPECT_TRUE(warnings_for("").empty());
  EXPECT_TRUE(warnings_for("noise { curriculum: CLTS } optimizer { momentum_schedule: MDLRC }").empty());
  const auto laplace_clts = warnings_for("noise { distribution: LAPLACE curriculum: CLTS }");
  ASSERT_EQ(laplace_clts.size(), 2u);  // the pair, and the sampler range beyond the training quantiles
  EXPECT_THAT(laplace_clts[0], ::testing::HasSubstr("TrainConfig.noise.curriculum"));
  EXPECT_THAT(laplace_clts[0], ::testing::HasSubstr("LAPLACE"));
  EXPECT_THAT(laplace_clts[1], ::testing::HasSubstr("TrainConfig.noise.distribution"));
  const auto sgd = warnings_for("optimizer { ref_lr: 0.01 momentum_schedule: MDLRC mdlrc { compensation: SGD_EQUIVALENT } }");
  ASSERT_EQ(sgd.size(), 1u);
  EXPECT_THAT(sgd[0], ::testing::HasSubstr("TrainConfig.optimizer.mdlrc.compensation"));
  EXPECT_TRUE(warnings_for("optimizer { ref_lr: 0.001 momentum_schedule: MDLRC mdlrc { compensation: SGD_EQUIVALENT } }").empty());
  // The cosine density covers the sampler range; Laplace(0, 0.5) does not.
  EXPECT_TRUE(warnings_for("noise { distribution: COSINE }").empty());
  ASSERT_EQ(warnings_for("noise { distribution: LAPLACE }").size(), 1u);
}

TEST(TrainConfig, MethodDefaultsFollowTheSpec) {
  const v1::TrainConfig c = resolve_train_config([] {
    v1::TrainConfig config = minimal();
    config.MergeFrom(parsed(R"(
      noise { distribution: LAPLACE curriculum: CLTS }
      loss { weighting: MIN_SNR }
      optimizer { momentum_schedule: MDLRC })"));
    return config;
  }());
  EXPECT_EQ(c.noise().mu(), 0);
  EXPECT_EQ(c.noise().laplace_b(), 0.5);
  EXPECT_EQ(c.noise().snr_reference(), v1::NoiseConfig::RAW);
  EXPECT_EQ(c.noise().clts().variant(), v1::CltsConfig::SUPPRESS);
  EXPECT_EQ(c.noise().clts().s_max(), 0.5);
  EXPECT_EQ(c.noise().clts().ramp(), 0.5);
  EXPECT_EQ(c.noise().clts().sigma_data(), 0.5);
  EXPECT_EQ(c.noise().clts().grid_bins(), 4096);
  EXPECT_FALSE(c.loss().uncertainty());
  EXPECT_EQ(c.loss().snr_gamma(), 5);
  EXPECT_EQ(c.optimizer().mdlrc().beta1_start(), 0.9);
  EXPECT_EQ(c.optimizer().mdlrc().beta1_end(), 0.5);
  EXPECT_EQ(c.optimizer().mdlrc().p_end(), 0.5);
  EXPECT_EQ(c.optimizer().mdlrc().compensation(), v1::MdlrcConfig::NONE);  // bench/README.md
  EXPECT_EQ(c.optimizer().mdlrc().bias_correction(), v1::MdlrcConfig::EXACT);
  EXPECT_FALSE(c.noise().has_clusters());
  EXPECT_FALSE(c.noise().has_ddpm());
}

// Every example under samples/configs parses and validates.
TEST(TrainConfig, SampleConfigsParseAndValidate) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(DIFFUSE_SOURCE_DIR) + "/samples/configs")) {
    if (entry.path().extension() != ".textproto") continue;
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    v1::TrainConfig config;
    ASSERT_NO_THROW(parse_config(text.data(), text.size(), ConfigFormat::kText, &config)) << entry.path();
    std::vector<std::string> warnings;
    EXPECT_NO_THROW(resolve_train_config(config, &warnings)) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 10);
}

}  // namespace
}  // namespace diffuse::train_config_test
