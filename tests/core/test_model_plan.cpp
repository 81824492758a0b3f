// Parameter counts of the presets (spec edm2.md §3.1, §16 item 10), counted from the shape plan
// without allocating the networks.
#include <cmath>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "config/model_config.h"
#include "nn/model_plan.h"

namespace diffuse::model_plan_test {
namespace {

ModelOptions preset(const std::string& name) {
  v1::ModelConfig config;
  config.set_preset(name);
  return to_model_options(resolve_model_config(config));
}

TEST(ModelPlan, Img512PresetParameterCountsMatchSpec) {
  // Millions of parameters, rounded to 0.01 M in the spec's table.
  const std::map<std::string, double> table = {
      {"edm2-img512-xxs", 31.31}, {"edm2-img512-xs", 124.71}, {"edm2-img512-s", 280.21},
      {"edm2-img512-m", 497.81},  {"edm2-img512-l", 777.50},  {"edm2-img512-xl", 1119.28},
      {"edm2-img512-xxl", 1523.16}};
  for (const auto& [name, millions] : table) {
    const double count = static_cast<double>(count_parameters(preset(name))) / 1e6;
    EXPECT_LT(std::abs(count - millions), 0.005 + 1e-9) << name << ": " << count << " M";
  }
}

// RGB (3 channels) instead of 4 latent channels changes only the stem's input and out_conv's
// output: 9·C weights each.
TEST(ModelPlan, Img64PresetsDifferFromLatentPresetsOnlyByImageChannels) {
  const std::map<std::string, std::string> pairs = {
      {"edm2-img64-xs", "edm2-img512-xs"}, {"edm2-img64-s", "edm2-img512-s"}, {"edm2-img64-m", "edm2-img512-m"},
      {"edm2-img64-l", "edm2-img512-l"},   {"edm2-img64-xl", "edm2-img512-xl"}};
  for (const auto& [rgb, latent] : pairs) {
    const ModelOptions o = preset(rgb);
    EXPECT_EQ(o.img_channels, 3);
    EXPECT_EQ(count_parameters(preset(latent)) - count_parameters(o), 18 * o.model_channels) << rgb;
  }
}

TEST(ModelPlan, DefaultTopologyHasSpecBlockAndAttentionCounts) {
  const UNetPlan plan = plan_unet(preset("edm2-img64-xs"));
  int enc_blocks = 0, dec_blocks = 0, attention = 0;
  for (const auto& b : plan.encoder) {
    enc_blocks += !b.stem;
    attention += b.attention;
  }
  for (const auto& b : plan.decoder) {
    ++dec_blocks;
    attention += b.attention;
  }
  EXPECT_EQ(enc_blocks, 15);
  EXPECT_EQ(dec_blocks, 21);
  EXPECT_EQ(attention, 15);
  EXPECT_EQ(plan.embedding_channels, 4 * 128);
  EXPECT_EQ(plan.noise_channels, 128);
  // Decoder input channels at the lowest level: 8C, 8C, 8C, 7C (spec §3 table).
  EXPECT_EQ(plan.decoder[2].in_channels, 8 * 128);
  EXPECT_EQ(plan.decoder[5].in_channels, 7 * 128);
}

}  // namespace
}  // namespace diffuse::model_plan_test
