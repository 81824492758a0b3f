// ModelConfig: the three wire formats, presets, defaults and validation (spec edm2.md §3, §4, §6.1).
#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include "config/model_config.h"
#include "config/proto_format.h"
#include "util/error.h"

namespace diffuse::model_config_test {
namespace {

using ::testing::HasSubstr;

constexpr ConfigFormat kFormats[] = {ConfigFormat::kBinary, ConfigFormat::kText, ConfigFormat::kJson};

const char* name_of(ConfigFormat format) {
  switch (format) {
    case ConfigFormat::kBinary: return "binary";
    case ConfigFormat::kText: return "text";
    case ConfigFormat::kJson: return "json";
  }
  return "?";
}

v1::ModelConfig parse(const std::string& bytes, ConfigFormat format) {
  v1::ModelConfig config;
  parse_config(bytes.data(), bytes.size(), format, &config);
  return config;
}

// Runs `body`, expecting Error(kInvalidConfig); returns its message.
std::string invalid_config_message(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kInvalidConfig) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "no Error was thrown";
  return "";
}

std::string parse_error(const std::string& bytes, ConfigFormat format) {
  return invalid_config_message([&] { parse(bytes, format); });
}

std::string resolve_error(const v1::ModelConfig& config) {
  return invalid_config_message([&] { resolve_model_config(config); });
}

// A config that sets a preset, scalars (one of them to 0), repeated fields and an enum.
v1::ModelConfig sample_config() {
  v1::ModelConfig config;
  config.set_preset("edm2-img512-xs");
  config.set_img_resolution(32);
  config.add_channel_mult(1);
  config.add_channel_mult(2);
  config.add_attn_resolutions(16);
  config.set_dropout(0.25);
  config.set_clip_act(0.0);
  config.set_precision(v1::PRECISION_BF16);
  return config;
}

// The golden tiny network of spec edm2.md §3.2.
v1::ModelConfig tiny_golden_config() {
  v1::ModelConfig config;
  config.set_img_resolution(16);
  config.set_img_channels(3);
  config.set_label_dim(10);
  config.set_model_channels(32);
  config.add_channel_mult(1);
  config.add_channel_mult(2);
  config.set_num_blocks(1);
  config.add_attn_resolutions(8);
  config.set_logvar_channels(16);
  return config;
}

std::vector<int> ints(const google::protobuf::RepeatedField<int32_t>& field) {
  return std::vector<int>(field.begin(), field.end());
}

// Every non-repeated field of the resolved config is present.
void expect_every_field_set(const v1::ModelConfig& config) {
  const google::protobuf::Descriptor* descriptor = config.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    if (field->is_repeated()) continue;
    EXPECT_TRUE(config.GetReflection()->HasField(config, field)) << field->name();
  }
}

void expect_defaults_except_shape(const v1::ModelConfig& resolved) {
  EXPECT_EQ(resolved.channels_per_head(), 64);
  EXPECT_DOUBLE_EQ(resolved.dropout(), 0.0);
  EXPECT_DOUBLE_EQ(resolved.res_balance(), 0.3);
  EXPECT_DOUBLE_EQ(resolved.attn_balance(), 0.3);
  EXPECT_DOUBLE_EQ(resolved.label_balance(), 0.5);
  EXPECT_DOUBLE_EQ(resolved.concat_balance(), 0.5);
  EXPECT_DOUBLE_EQ(resolved.clip_act(), 256.0);
  EXPECT_DOUBLE_EQ(resolved.sigma_data(), 0.5);
  EXPECT_EQ(resolved.precision(), v1::PRECISION_FP16);
  EXPECT_FALSE(resolved.no_attn_resolutions());
}

// --- wire formats --------------------------------------------------------------------------------

TEST(ModelConfigFormat, SameConfigParsesIdenticallyFromBinaryTextAndJson) {
  const v1::ModelConfig expected = sample_config();
  const std::string binary = expected.SerializeAsString();
  const std::string text = R"(
    preset: "edm2-img512-xs"
    img_resolution: 32
    channel_mult: [1, 2]
    attn_resolutions: 16
    dropout: 0.25
    clip_act: 0
    precision: PRECISION_BF16
  )";
  const std::string json_proto_names = R"({"preset": "edm2-img512-xs", "img_resolution": 32,
    "channel_mult": [1, 2], "attn_resolutions": [16], "dropout": 0.25, "clip_act": 0,
    "precision": "PRECISION_BF16"})";
  const std::string json_camel_case = R"({"preset": "edm2-img512-xs", "imgResolution": 32,
    "channelMult": [1, 2], "attnResolutions": [16], "dropout": 0.25, "clipAct": 0,
    "precision": "PRECISION_BF16"})";

  EXPECT_EQ(parse(binary, ConfigFormat::kBinary).ShortDebugString(), expected.ShortDebugString());
  EXPECT_EQ(parse(text, ConfigFormat::kText).ShortDebugString(), expected.ShortDebugString());
  EXPECT_EQ(parse(json_proto_names, ConfigFormat::kJson).ShortDebugString(), expected.ShortDebugString());
  EXPECT_EQ(parse(json_camel_case, ConfigFormat::kJson).ShortDebugString(), expected.ShortDebugString());
}

TEST(ModelConfigFormat, ExplicitZeroStaysDistinctFromUnsetInEveryFormat) {
  for (ConfigFormat format : kFormats) {
    SCOPED_TRACE(name_of(format));
    const v1::ModelConfig parsed = parse(print_config(sample_config(), format), format);
    EXPECT_TRUE(parsed.has_clip_act());
    EXPECT_EQ(parsed.clip_act(), 0.0);
    EXPECT_FALSE(parsed.has_label_dim());
  }
}

TEST(ModelConfigFormat, PrintThenParseRoundTripsInEveryFormat) {
  const std::vector<v1::ModelConfig> configs = {sample_config(), resolve_model_config(tiny_golden_config()),
                                                resolve_model_config(v1::ModelConfig())};
  for (const v1::ModelConfig& config : configs) {
    for (ConfigFormat format : kFormats) {
      SCOPED_TRACE(std::string(name_of(format)) + ": " + config.ShortDebugString());
      EXPECT_EQ(parse(print_config(config, format), format).ShortDebugString(), config.ShortDebugString());
    }
  }
}

TEST(ModelConfigFormat, JsonIsPrintedWithProtoFieldNames) {
  const std::string json = print_config(sample_config(), ConfigFormat::kJson);
  EXPECT_THAT(json, HasSubstr("\"img_resolution\""));
  EXPECT_THAT(json, HasSubstr("\"clip_act\""));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("imgResolution")));
}

TEST(ModelConfigFormat, RejectsUnknownFieldInBinary) {
  // Field 99, varint 1: tag (99 << 3 | 0) = 792 = 0x98 0x06.
  const std::string bytes = sample_config().SerializeAsString() + std::string("\x98\x06\x01", 3);
  const std::string message = parse_error(bytes, ConfigFormat::kBinary);
  EXPECT_THAT(message, HasSubstr("diffuse.v1.ModelConfig (binary)"));
  EXPECT_THAT(message, HasSubstr("unknown field number 99"));
}

TEST(ModelConfigFormat, RejectsUnknownFieldInsideNestedMessageInBinary) {
  google::protobuf::FileDescriptorProto file;
  file.add_message_type()->set_name("Inner");
  const std::string inner = file.message_type(0).SerializeAsString() + std::string("\x98\x06\x01", 3);
  // Field 4 (message_type), length-delimited: tag 0x22.
  const std::string bytes = std::string("\x22", 1) + static_cast<char>(inner.size()) + inner;
  google::protobuf::FileDescriptorProto parsed;
  const std::string message =
      invalid_config_message([&] { parse_config(bytes.data(), bytes.size(), ConfigFormat::kBinary, &parsed); });
  EXPECT_THAT(message, HasSubstr("unknown field number 99 in google.protobuf.FileDescriptorProto.message_type[0]"));
}

TEST(ModelConfigFormat, RejectsUnknownFieldInText) {
  const std::string message = parse_error("img_resolution: 32\nbogus_field: 1\n", ConfigFormat::kText);
  EXPECT_THAT(message, HasSubstr("diffuse.v1.ModelConfig (text): 2:"));
  EXPECT_THAT(message, HasSubstr("bogus_field"));
}

TEST(ModelConfigFormat, RejectsUnknownFieldInJson) {
  const std::string message = parse_error(R"({"img_resolution": 32, "bogus_field": 1})", ConfigFormat::kJson);
  EXPECT_THAT(message, HasSubstr("diffuse.v1.ModelConfig (json)"));
  EXPECT_THAT(message, HasSubstr("bogus_field"));
}

TEST(ModelConfigFormat, RejectsInvalidUtf8StringInText) {
  // 0xFF never occurs in UTF-8, then an overlong '/', a surrogate, a code point above U+10FFFF and a
  // three-byte sequence cut off after two.
  for (const char* escaped :
       {R"(\xff)", R"(\xc0\xaf)", R"(\xed\xa0\x80)", R"(\xf4\x90\x80\x80)", R"(ok\xe2\x82)"}) {
    SCOPED_TRACE(escaped);
    EXPECT_THAT(parse_error(std::string("preset: \"") + escaped + "\"", ConfigFormat::kText),
                HasSubstr("diffuse.v1.ModelConfig (text): invalid UTF-8 in diffuse.v1.ModelConfig.preset"));
  }
}

TEST(ModelConfigFormat, AcceptsMultiByteUtf8StringInText) {
  // U+00E9, U+20AC and U+1F600 in their two-, three- and four-byte forms.
  const std::string preset = "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  EXPECT_EQ(parse("preset: \"" + preset + "\"", ConfigFormat::kText).preset(), preset);
}

TEST(ModelConfigFormat, RejectsGarbageBytesInBinary) {
  EXPECT_THAT(parse_error(std::string(8, '\xff'), ConfigFormat::kBinary),
              HasSubstr("diffuse.v1.ModelConfig (binary)"));
  // Tag of field 2 (varint) with its value cut off.
  EXPECT_THAT(parse_error(std::string("\x10", 1), ConfigFormat::kBinary),
              HasSubstr("diffuse.v1.ModelConfig (binary)"));
}

TEST(ModelConfigFormat, TextErrorsNameLineAndColumnWithoutPrintingToStderr) {
  ::testing::internal::CaptureStderr();
  const std::string message = parse_error("num_blocks: 2\nimg_resolution: \"x\"\n", ConfigFormat::kText);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_THAT(message, HasSubstr("diffuse.v1.ModelConfig (text): 2:17: "));
}

TEST(ModelConfigFormat, RejectsMalformedJsonWithParserMessage) {
  const std::string message = parse_error(R"({"img_resolution": "x"})", ConfigFormat::kJson);
  EXPECT_THAT(message, HasSubstr("diffuse.v1.ModelConfig (json)"));
  EXPECT_THAT(message, HasSubstr("img_resolution"));
}

TEST(ModelConfigFormat, ParsingReplacesPreviousContent) {
  v1::ModelConfig config = sample_config();
  const std::string text = "num_blocks: 2";
  parse_config(text.data(), text.size(), ConfigFormat::kText, &config);
  EXPECT_EQ(config.ShortDebugString(), "num_blocks: 2");
}

// --- presets and defaults ------------------------------------------------------------------------

TEST(ModelConfigResolve, DefaultsFillEveryUnsetField) {
  const v1::ModelConfig resolved = resolve_model_config(v1::ModelConfig());
  expect_every_field_set(resolved);
  EXPECT_EQ(resolved.preset(), "");
  EXPECT_EQ(resolved.img_resolution(), 64);
  EXPECT_EQ(resolved.img_channels(), 3);
  EXPECT_EQ(resolved.label_dim(), 0);
  EXPECT_EQ(resolved.model_channels(), 192);
  EXPECT_EQ(ints(resolved.channel_mult()), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(resolved.num_blocks(), 3);
  EXPECT_EQ(ints(resolved.attn_resolutions()), (std::vector<int>{16, 8}));
  EXPECT_EQ(resolved.logvar_channels(), 128);
  expect_defaults_except_shape(resolved);
}

struct PresetSpec {
  const char* name;
  int img_channels;
  int model_channels;
  double dropout;
};

// Spec edm2.md §6.1.
const PresetSpec kPresetSpecs[] = {
    {"edm2-img64-xs", 3, 128, 0.0},  {"edm2-img64-s", 3, 192, 0.0},   {"edm2-img64-m", 3, 256, 0.1},
    {"edm2-img64-l", 3, 320, 0.1},   {"edm2-img64-xl", 3, 384, 0.1},  {"edm2-img512-xxs", 4, 64, 0.0},
    {"edm2-img512-xs", 4, 128, 0.0}, {"edm2-img512-s", 4, 192, 0.0},  {"edm2-img512-m", 4, 256, 0.1},
    {"edm2-img512-l", 4, 320, 0.1},  {"edm2-img512-xl", 4, 384, 0.1}, {"edm2-img512-xxl", 4, 448, 0.1},
};

TEST(ModelConfigResolve, PresetNamesAreTheTwelveSpecPresets) {
  std::vector<std::string> expected;
  for (const PresetSpec& spec : kPresetSpecs) expected.emplace_back(spec.name);
  EXPECT_EQ(model_preset_names(), expected);
}

TEST(ModelConfigResolve, EveryPresetResolvesToItsSpecValues) {
  for (const PresetSpec& spec : kPresetSpecs) {
    SCOPED_TRACE(spec.name);
    v1::ModelConfig config;
    config.set_preset(spec.name);
    const v1::ModelConfig resolved = resolve_model_config(config);
    expect_every_field_set(resolved);
    EXPECT_EQ(resolved.preset(), spec.name);
    EXPECT_EQ(resolved.img_resolution(), 64);
    EXPECT_EQ(resolved.img_channels(), spec.img_channels);
    EXPECT_EQ(resolved.label_dim(), 1000);
    EXPECT_EQ(resolved.model_channels(), spec.model_channels);
    EXPECT_DOUBLE_EQ(resolved.dropout(), spec.dropout);
    EXPECT_EQ(ints(resolved.channel_mult()), (std::vector<int>{1, 2, 3, 4}));
    EXPECT_EQ(resolved.num_blocks(), 3);
    EXPECT_EQ(ints(resolved.attn_resolutions()), (std::vector<int>{16, 8}));
    EXPECT_EQ(resolved.channels_per_head(), 64);
    EXPECT_EQ(resolved.logvar_channels(), 128);
    EXPECT_EQ(resolved.precision(), v1::PRECISION_FP16);
  }
}

TEST(ModelConfigResolve, ExplicitFieldsOverridePreset) {
  const v1::ModelConfig resolved = resolve_model_config(sample_config());
  EXPECT_EQ(resolved.preset(), "edm2-img512-xs");
  EXPECT_EQ(resolved.img_resolution(), 32);
  EXPECT_EQ(ints(resolved.channel_mult()), (std::vector<int>{1, 2}));
  EXPECT_EQ(ints(resolved.attn_resolutions()), (std::vector<int>{16}));
  EXPECT_DOUBLE_EQ(resolved.dropout(), 0.25);
  EXPECT_DOUBLE_EQ(resolved.clip_act(), 0.0);
  EXPECT_EQ(resolved.precision(), v1::PRECISION_BF16);
  // Not overridden: the preset's values.
  EXPECT_EQ(resolved.img_channels(), 4);
  EXPECT_EQ(resolved.label_dim(), 1000);
  EXPECT_EQ(resolved.model_channels(), 128);
}

TEST(ModelConfigResolve, ExplicitZeroOverridesPreset) {
  v1::ModelConfig config;
  config.set_preset("edm2-img64-m");
  config.set_label_dim(0);
  config.set_dropout(0.0);
  const v1::ModelConfig resolved = resolve_model_config(config);
  EXPECT_EQ(resolved.label_dim(), 0);
  EXPECT_DOUBLE_EQ(resolved.dropout(), 0.0);
}

TEST(ModelConfigResolve, UnknownPresetIsRejectedListingValidNames) {
  v1::ModelConfig config;
  config.set_preset("edm2-img64-xxl");
  const std::string message = resolve_error(config);
  EXPECT_THAT(message, HasSubstr("ModelConfig.preset: \"edm2-img64-xxl\""));
  for (const std::string& name : model_preset_names()) EXPECT_THAT(message, HasSubstr(name));
}

TEST(ModelConfigResolve, TinyGoldenConfigResolvesWithOtherFieldsAtDefaults) {
  const v1::ModelConfig resolved = resolve_model_config(tiny_golden_config());
  expect_every_field_set(resolved);
  EXPECT_EQ(resolved.img_resolution(), 16);
  EXPECT_EQ(resolved.img_channels(), 3);
  EXPECT_EQ(resolved.label_dim(), 10);
  EXPECT_EQ(resolved.model_channels(), 32);
  EXPECT_EQ(ints(resolved.channel_mult()), (std::vector<int>{1, 2}));
  EXPECT_EQ(resolved.num_blocks(), 1);
  EXPECT_EQ(ints(resolved.attn_resolutions()), (std::vector<int>{8}));
  EXPECT_EQ(resolved.logvar_channels(), 16);
  expect_defaults_except_shape(resolved);
}

TEST(ModelConfigResolve, ChannelsPerHeadNeedNotDivideLevelsWithoutAttention) {
  v1::ModelConfig config = tiny_golden_config();
  config.set_channels_per_head(64);  // 32 channels at 16x16 (no attention), 64 at 8x8
  EXPECT_NO_THROW(resolve_model_config(config));
}

TEST(ModelConfigResolve, NoAttnResolutionsClearsTheDefaultAttentionResolutions) {
  v1::ModelConfig config;
  config.set_no_attn_resolutions(true);
  const v1::ModelConfig resolved = resolve_model_config(config);
  EXPECT_TRUE(resolved.no_attn_resolutions());
  EXPECT_EQ(resolved.attn_resolutions_size(), 0);
  EXPECT_TRUE(to_model_options(resolved).attn_resolutions.empty());
}

TEST(ModelConfigResolve, ResolvingAResolvedConfigChangesNothing) {
  std::vector<v1::ModelConfig> configs = {v1::ModelConfig(), sample_config(), tiny_golden_config()};
  configs.emplace_back().set_no_attn_resolutions(true);
  for (const std::string& name : model_preset_names()) configs.emplace_back().set_preset(name);
  for (const v1::ModelConfig& config : configs) {
    SCOPED_TRACE(config.ShortDebugString());
    const v1::ModelConfig resolved = resolve_model_config(config);
    EXPECT_EQ(resolve_model_config(resolved).ShortDebugString(), resolved.ShortDebugString());
  }
}

TEST(ModelConfigResolve, ErrorMessageStatesValueAndRule) {
  v1::ModelConfig config;
  config.set_img_resolution(32);
  config.set_model_channels(32);
  config.add_channel_mult(1);
  config.add_channel_mult(3);
  config.add_attn_resolutions(16);
  EXPECT_EQ(resolve_error(config),
            "ModelConfig.channels_per_head: 64 does not divide the 96 channels at resolution 16 (attention)");
}

// --- ModelOptions --------------------------------------------------------------------------------

TEST(ModelConfigOptions, ToModelOptionsCopiesEveryField) {
  v1::ModelConfig config = tiny_golden_config();
  config.set_dropout(0.1);
  config.set_res_balance(0.2);
  config.set_attn_balance(0.4);
  config.set_label_balance(0.6);
  config.set_concat_balance(0.7);
  config.set_clip_act(128.0);
  config.set_channels_per_head(32);
  config.set_sigma_data(1.5);
  config.set_precision(v1::PRECISION_FP32);
  const ModelOptions options = to_model_options(resolve_model_config(config));
  EXPECT_EQ(options.img_resolution, 16);
  EXPECT_EQ(options.img_channels, 3);
  EXPECT_EQ(options.label_dim, 10);
  EXPECT_EQ(options.model_channels, 32);
  EXPECT_EQ(options.channel_mult, (std::vector<int>{1, 2}));
  EXPECT_EQ(options.num_blocks, 1);
  EXPECT_EQ(options.attn_resolutions, (std::vector<int>{8}));
  EXPECT_EQ(options.channels_per_head, 32);
  EXPECT_DOUBLE_EQ(options.dropout, 0.1);
  EXPECT_DOUBLE_EQ(options.res_balance, 0.2);
  EXPECT_DOUBLE_EQ(options.attn_balance, 0.4);
  EXPECT_DOUBLE_EQ(options.label_balance, 0.6);
  EXPECT_DOUBLE_EQ(options.concat_balance, 0.7);
  EXPECT_DOUBLE_EQ(options.clip_act, 128.0);
  EXPECT_EQ(options.logvar_channels, 16);
  EXPECT_DOUBLE_EQ(options.sigma_data, 1.5);
  EXPECT_EQ(options.precision, Precision::kFp32);
}

TEST(ModelConfigOptions, UnspecifiedPrecisionMeansFp16) {
  v1::ModelConfig resolved = resolve_model_config(v1::ModelConfig());
  const std::pair<v1::Precision, Precision> cases[] = {
      {v1::PRECISION_UNSPECIFIED, Precision::kFp16},
      {v1::PRECISION_FP16, Precision::kFp16},
      {v1::PRECISION_FP32, Precision::kFp32},
      {v1::PRECISION_BF16, Precision::kBf16},
  };
  for (const auto& [precision, expected] : cases) {
    resolved.set_precision(precision);
    EXPECT_EQ(to_model_options(resolved).precision, expected) << v1::Precision_Name(precision);
  }
}

// --- validation ----------------------------------------------------------------------------------

struct InvalidCase {
  std::string name;
  std::string field;  // the field the message must name
  std::function<void(v1::ModelConfig*)> set;
};

void PrintTo(const InvalidCase& invalid, std::ostream* out) { *out << invalid.name; }

class ModelConfigValidation : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ModelConfigValidation, RejectsWithMessageNamingTheField) {
  v1::ModelConfig config;
  GetParam().set(&config);
  EXPECT_THAT(resolve_error(config), HasSubstr("ModelConfig." + GetParam().field + ": "));
}

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

void set_channel_mult(v1::ModelConfig* config, std::vector<int> mult) {
  config->mutable_channel_mult()->Assign(mult.begin(), mult.end());
}

const InvalidCase kInvalidCases[] = {
    {"UnknownPreset", "preset", [](v1::ModelConfig* c) { c->set_preset("edm2-img256-s"); }},
    {"ImgResolutionZero", "img_resolution", [](v1::ModelConfig* c) { c->set_img_resolution(0); }},
    {"ImgResolutionNegative", "img_resolution", [](v1::ModelConfig* c) { c->set_img_resolution(-64); }},
    {"ImgResolutionNotDivisibleByLevels", "img_resolution", [](v1::ModelConfig* c) { c->set_img_resolution(20); }},
    {"FortyLevels", "channel_mult", [](v1::ModelConfig* c) { set_channel_mult(c, std::vector<int>(40, 1)); }},
    {"ImgResolutionTooSmallForTheLevels", "img_resolution",
     [](v1::ModelConfig* c) { set_channel_mult(c, std::vector<int>(12, 1)); }},
    {"ImgChannelsZero", "img_channels", [](v1::ModelConfig* c) { c->set_img_channels(0); }},
    {"LabelDimNegative", "label_dim", [](v1::ModelConfig* c) { c->set_label_dim(-1); }},
    {"ModelChannelsZero", "model_channels", [](v1::ModelConfig* c) { c->set_model_channels(0); }},
    {"ChannelMultZero", "channel_mult", [](v1::ModelConfig* c) { set_channel_mult(c, {1, 0}); }},
    {"ChannelMultNegative", "channel_mult", [](v1::ModelConfig* c) { set_channel_mult(c, {1, -2}); }},
    {"ChannelCountOverflowsInt", "model_channels",
     [](v1::ModelConfig* c) {
       c->set_model_channels(1 << 30);
       set_channel_mult(c, {1, 4});
     }},
    {"NumBlocksZero", "num_blocks", [](v1::ModelConfig* c) { c->set_num_blocks(0); }},
    {"AttnResolutionBelowLowestLevel", "attn_resolutions", [](v1::ModelConfig* c) { c->add_attn_resolutions(4); }},
    {"AttnResolutionAboveImage", "attn_resolutions", [](v1::ModelConfig* c) { c->add_attn_resolutions(128); }},
    {"AttnResolutionBetweenLevels", "attn_resolutions", [](v1::ModelConfig* c) { c->add_attn_resolutions(12); }},
    {"NoAttnResolutionsContradictsAttnResolutions", "no_attn_resolutions",
     [](v1::ModelConfig* c) {
       c->set_no_attn_resolutions(true);
       c->add_attn_resolutions(16);
     }},
    {"ChannelsPerHeadZero", "channels_per_head", [](v1::ModelConfig* c) { c->set_channels_per_head(0); }},
    {"ChannelsPerHeadNotDividingAttentionLevel", "channels_per_head",
     [](v1::ModelConfig* c) { c->set_channels_per_head(100); }},
    // 64 channels at 16x16 (no attention) and 192 at 8x8, where the decoder's in0 block has attention.
    {"ChannelsPerHeadNotDividingLowestLevel", "channels_per_head",
     [](v1::ModelConfig* c) {
       c->set_img_resolution(16);
       c->set_model_channels(64);
       set_channel_mult(c, {1, 3});
       c->set_no_attn_resolutions(true);
       c->set_channels_per_head(128);
     }},
    {"DropoutNegative", "dropout", [](v1::ModelConfig* c) { c->set_dropout(-0.1); }},
    {"DropoutOne", "dropout", [](v1::ModelConfig* c) { c->set_dropout(1.0); }},
    {"DropoutNan", "dropout", [](v1::ModelConfig* c) { c->set_dropout(kNan); }},
    {"ResBalanceAboveOne", "res_balance", [](v1::ModelConfig* c) { c->set_res_balance(1.5); }},
    {"ResBalanceNan", "res_balance", [](v1::ModelConfig* c) { c->set_res_balance(kNan); }},
    {"AttnBalanceNegative", "attn_balance", [](v1::ModelConfig* c) { c->set_attn_balance(-0.1); }},
    {"LabelBalanceNan", "label_balance", [](v1::ModelConfig* c) { c->set_label_balance(kNan); }},
    {"ConcatBalanceAboveOne", "concat_balance", [](v1::ModelConfig* c) { c->set_concat_balance(2.0); }},
    {"ClipActNegative", "clip_act", [](v1::ModelConfig* c) { c->set_clip_act(-1.0); }},
    {"ClipActNan", "clip_act", [](v1::ModelConfig* c) { c->set_clip_act(kNan); }},
    {"ClipActInfinite", "clip_act", [](v1::ModelConfig* c) { c->set_clip_act(kInf); }},
    // Sizes past what can exist (found by fuzzing the C API: they asked for gigabytes before any check).
    {"ClipActHuge", "clip_act", [](v1::ModelConfig* c) { c->set_clip_act(1e308); }},
    {"NumBlocksHuge", "num_blocks", [](v1::ModelConfig* c) { c->set_num_blocks(65535); }},
    {"ImgChannelsHuge", "img_channels", [](v1::ModelConfig* c) { c->set_img_channels(2147483647); }},
    {"ChannelMultHuge", "channel_mult", [](v1::ModelConfig* c) { set_channel_mult(c, {65535, 2}); }},
    {"ChannelsHuge", "channel_mult", [](v1::ModelConfig* c) {
       c->set_model_channels(8192);
       set_channel_mult(c, {1, 4});
     }},
    {"ModelChannelsHuge", "model_channels", [](v1::ModelConfig* c) { c->set_model_channels(1 << 20); }},
    {"LabelDimHuge", "label_dim", [](v1::ModelConfig* c) { c->set_label_dim(2147483647); }},
    {"ImgResolutionHuge", "img_resolution", [](v1::ModelConfig* c) { c->set_img_resolution(1 << 20); }},
    {"LogvarChannelsHuge", "logvar_channels", [](v1::ModelConfig* c) { c->set_logvar_channels(1 << 30); }},
    {"AttnBalanceInfinite", "attn_balance", [](v1::ModelConfig* c) { c->set_attn_balance(-kInf); }},
    {"LogvarChannelsZero", "logvar_channels", [](v1::ModelConfig* c) { c->set_logvar_channels(0); }},
    {"SigmaDataZero", "sigma_data", [](v1::ModelConfig* c) { c->set_sigma_data(0.0); }},
    {"SigmaDataNegative", "sigma_data", [](v1::ModelConfig* c) { c->set_sigma_data(-0.5); }},
    {"SigmaDataInfinite", "sigma_data", [](v1::ModelConfig* c) { c->set_sigma_data(kInf); }},
    {"SigmaDataNan", "sigma_data", [](v1::ModelConfig* c) { c->set_sigma_data(kNan); }},
    {"PrecisionUnknownValue", "precision",
     [](v1::ModelConfig* c) { c->set_precision(static_cast<v1::Precision>(7)); }},
};

INSTANTIATE_TEST_SUITE_P(InvalidField, ModelConfigValidation, ::testing::ValuesIn(kInvalidCases),
                         [](const ::testing::TestParamInfo<InvalidCase>& info) { return info.param.name; });

}  // namespace
}  // namespace diffuse::model_config_test

namespace diffuse::model_config_test {
namespace {

// The value a ModelConfig field's schema comment states as its default: "Default 64.", "Default
// PRECISION_FP16 (...)", "Empty: the default [1, 2, 3, 4]". Empty when the comment states none.
std::map<std::string, std::string> schema_defaults() {
  std::ifstream in(std::string(DIFFUSE_SOURCE_DIR) + "/schemas/diffuse/v1/diffuse.proto");
  std::string line, comment;
  std::map<std::string, std::string> defaults;
  bool inside = false;
  const std::regex field(R"(^\s*(optional|repeated)\s+\w+\s+(\w+)\s*=\s*\d+;)");
  const std::regex stated(R"([Dd]efault (\[[^\]]*\]|[A-Za-z0-9_+.-]*[A-Za-z0-9_]))");
  while (std::getline(in, line)) {
    if (line.rfind("message ModelConfig {", 0) == 0) inside = true;
    if (!inside) continue;
    if (line.rfind("}", 0) == 0) break;
    std::smatch m;
    if (line.find("//") != std::string::npos) {
      comment += line + " ";
    } else if (std::regex_search(line, m, field)) {
      std::smatch d;
      defaults[m[2]] = std::regex_search(comment, d, stated) ? d[1].str() : "";
      comment.clear();
    }
  }
  return defaults;
}

// A field of a resolved config as the schema comments write it.
std::string written(const v1::ModelConfig& config, const google::protobuf::FieldDescriptor* f) {
  const auto* r = config.GetReflection();
  using F = google::protobuf::FieldDescriptor;
  if (f->is_repeated()) {
    std::vector<std::string> items;
    for (int i = 0; i < r->FieldSize(config, f); ++i) items.push_back(std::to_string(r->GetRepeatedInt32(config, f, i)));
    return "[" + fmt::format("{}", fmt::join(items, ", ")) + "]";
  }
  switch (f->cpp_type()) {
    case F::CPPTYPE_INT32: return std::to_string(r->GetInt32(config, f));
    case F::CPPTYPE_DOUBLE: return fmt::format("{}", r->GetDouble(config, f));
    case F::CPPTYPE_BOOL: return r->GetBool(config, f) ? "true" : "false";
    case F::CPPTYPE_ENUM: return r->GetEnum(config, f)->name();
    case F::CPPTYPE_STRING: return r->GetString(config, f);
    default: return "?";
  }
}

TEST(ModelConfigResolve, RefusesANetworkOfMoreThanFourBillionParameters) {
  v1::ModelConfig config;
  config.set_model_channels(2048);
  set_channel_mult(&config, {1, 2, 4, 8});
  config.set_num_blocks(16);
  EXPECT_THAT(resolve_error(config), HasSubstr("ModelConfig: the network would have"));
  config.Clear();
  config.set_preset("edm2-img512-xxl");  // 1.5 billion: fine
  EXPECT_NO_THROW(resolve_model_config(config));
}

// -0 is printed as "-0" by text format and JSON; resolving makes it 0, so a resolved config prints the
// same bytes after any number of round trips.
TEST(ModelConfigResolve, NegativeZeroBecomesZeroAndPrintingIsStable) {
  v1::ModelConfig config;
  config.set_clip_act(-0.0);
  config.set_res_balance(-0.0);
  config.set_concat_balance(-0.0);
  const v1::ModelConfig once = resolve_model_config(config);
  EXPECT_FALSE(std::signbit(once.clip_act()));
  EXPECT_FALSE(std::signbit(once.res_balance()));
  for (ConfigFormat format : {ConfigFormat::kText, ConfigFormat::kJson}) {
    const std::string printed = print_config(once, format);
    v1::ModelConfig parsed;
    parse_config(printed.data(), printed.size(), format, &parsed);
    EXPECT_EQ(print_config(resolve_model_config(parsed), format), printed);
  }
}

TEST(ModelConfigDefaults, SchemaCommentsStateTheResolvedDefaults) {
  const std::map<std::string, std::string> stated = schema_defaults();
  const v1::ModelConfig resolved = resolve_model_config(v1::ModelConfig());
  const auto* descriptor = v1::ModelConfig::descriptor();
  ASSERT_EQ(stated.size(), static_cast<size_t>(descriptor->field_count()));
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* f = descriptor->field(i);
    SCOPED_TRACE(f->name());
    ASSERT_TRUE(stated.count(f->name())) << "no comment found for the field";
    if (f->name() == "preset") continue;  // no preset: nothing to state
    ASSERT_FALSE(stated.at(f->name()).empty()) << "its comment states no default";
    const std::string expected = stated.at(f->name());
    if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_DOUBLE) {
      EXPECT_DOUBLE_EQ(std::stod(expected), std::stod(written(resolved, f)));
    } else {
      EXPECT_EQ(expected, written(resolved, f));
    }
  }
}

}  // namespace
}  // namespace diffuse::model_config_test
