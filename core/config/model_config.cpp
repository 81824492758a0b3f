#include "config/model_config.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "config/proto_format.h"
#include "nn/model_plan.h"
#include "util/error.h"

namespace diffuse {
namespace {

v1::Precision to_proto_precision(Precision precision) {
  switch (precision) {
    case Precision::kFp32: return v1::PRECISION_FP32;
    case Precision::kBf16: return v1::PRECISION_BF16;
    case Precision::kFp16: break;
  }
  return v1::PRECISION_FP16;
}

Precision from_proto_precision(v1::Precision precision) {
  switch (precision) {
    case v1::PRECISION_FP32: return Precision::kFp32;
    case v1::PRECISION_BF16: return Precision::kBf16;
    case v1::PRECISION_UNSPECIFIED:
    case v1::PRECISION_FP16: return Precision::kFp16;
    default: break;
  }
  fail(ErrorCode::kInvalidConfig, "ModelConfig.precision: {} is not a Precision value", static_cast<int>(precision));
}

// What a preset changes from the reference defaults (spec edm2.md §6.1); everything else is shared.
struct Preset {
  const char* name;
  int img_channels;  // 3 = RGB pixels, 4 = SD-VAE latents of 512x512 images
  int model_channels;
  double dropout;
};

constexpr Preset kPresets[] = {
    {"edm2-img64-xs", 3, 128, 0.0},   {"edm2-img64-s", 3, 192, 0.0},    {"edm2-img64-m", 3, 256, 0.1},
    {"edm2-img64-l", 3, 320, 0.1},    {"edm2-img64-xl", 3, 384, 0.1},   {"edm2-img512-xxs", 4, 64, 0.0},
    {"edm2-img512-xs", 4, 128, 0.0},  {"edm2-img512-s", 4, 192, 0.0},   {"edm2-img512-m", 4, 256, 0.1},
    {"edm2-img512-l", 4, 320, 0.1},   {"edm2-img512-xl", 4, 384, 0.1},  {"edm2-img512-xxl", 4, 448, 0.1},
};

constexpr int kPresetImgResolution = 64;  // img64 pixels and img512 latents are both 64x64
constexpr int kPresetLabelDim = 1000;     // ImageNet classes

// The reference defaults (spec edm2.md §3, §4), with every field set: ModelOptions' initializers are
// the one table of them (the schema's comments state the same values; a test holds them equal).
v1::ModelConfig default_config() {
  const ModelOptions d;
  v1::ModelConfig config;
  config.set_preset("");
  config.set_img_resolution(d.img_resolution);
  config.set_img_channels(d.img_channels);
  config.set_label_dim(d.label_dim);
  config.set_model_channels(d.model_channels);
  for (int mult : d.channel_mult) config.add_channel_mult(mult);
  config.set_num_blocks(d.num_blocks);
  for (int resolution : d.attn_resolutions) config.add_attn_resolutions(resolution);
  config.set_no_attn_resolutions(false);
  config.set_channels_per_head(d.channels_per_head);
  config.set_dropout(d.dropout);
  config.set_res_balance(d.res_balance);
  config.set_attn_balance(d.attn_balance);
  config.set_label_balance(d.label_balance);
  config.set_concat_balance(d.concat_balance);
  config.set_clip_act(d.clip_act);
  config.set_logvar_channels(d.logvar_channels);
  config.set_sigma_data(d.sigma_data);
  config.set_precision(to_proto_precision(d.precision));
  return config;
}

void apply_preset(const std::string& name, v1::ModelConfig* config) {
  for (const Preset& preset : kPresets) {
    if (name != preset.name) continue;
    config->set_img_resolution(kPresetImgResolution);
    config->set_img_channels(preset.img_channels);
    config->set_label_dim(kPresetLabelDim);
    config->set_model_channels(preset.model_channels);
    config->set_dropout(preset.dropout);
    return;
  }
  fail(ErrorCode::kInvalidConfig, "ModelConfig.preset: \"{}\" is not a preset (valid: {})", name,
       fmt::join(model_preset_names(), ", "));
}

// Copies every field that `explicit_config` sets onto `config`. Repeated fields replace rather than
// append, and an empty one means "unset".
void apply_explicit_fields(const v1::ModelConfig& explicit_config, v1::ModelConfig* config) {
  v1::ModelConfig scalars = explicit_config;
  scalars.clear_channel_mult();
  scalars.clear_attn_resolutions();
  // MergeFrom copies exactly the optional scalars that are present.
  config->MergeFrom(scalars);

  if (explicit_config.channel_mult_size() > 0) *config->mutable_channel_mult() = explicit_config.channel_mult();

  if (explicit_config.no_attn_resolutions()) {
    if (explicit_config.attn_resolutions_size() > 0) {
      fail(ErrorCode::kInvalidConfig,
           "ModelConfig.no_attn_resolutions: true contradicts attn_resolutions [{}]; set one or the other",
           fmt::join(explicit_config.attn_resolutions(), ", "));
    }
    config->clear_attn_resolutions();
  } else if (explicit_config.attn_resolutions_size() > 0) {
    *config->mutable_attn_resolutions() = explicit_config.attn_resolutions();
    config->set_no_attn_resolutions(false);
  }
}

// What can exist (the schema comments state these bounds): sizes past them would ask for more memory
// than any machine has before a single tensor is checked.
constexpr int64_t kMaxResolution = 4096, kMaxImgChannels = 1024, kMaxLabelDim = 100000, kMaxChannels = 16384;
constexpr int64_t kMaxMult = 64, kMaxLevels = 12, kMaxBlocks = 64;
constexpr int64_t kMaxParameters = 4'000'000'000;
constexpr double kMaxClip = 65504;  // the largest fp16 value

void check_range(const char* field, int64_t value, int64_t min, int64_t max) {
  if (value < min || value > max) {
    fail(ErrorCode::kInvalidConfig, "ModelConfig.{}: {} is outside {}..{}", field, value, min, max);
  }
}

// The comparisons are written so that NaN fails them.
void check_unit_interval(const char* field, double value, bool include_one) {
  const bool ok = value >= 0.0 && (include_one ? value <= 1.0 : value < 1.0);
  if (!ok) {
    fail(ErrorCode::kInvalidConfig, "ModelConfig.{}: {} is outside [0, 1{}", field, value, include_one ? "]" : ")");
  }
}

// Resolution and channel count of U-Net level l (spec edm2.md §3).
struct Level {
  int resolution;
  int64_t channels;
};

std::vector<Level> levels_of(const v1::ModelConfig& config) {
  std::vector<Level> levels;
  for (int l = 0; l < config.channel_mult_size(); ++l) {
    levels.push_back({config.img_resolution() >> l, int64_t{config.model_channels()} * config.channel_mult(l)});
  }
  return levels;
}

void validate_shape(const v1::ModelConfig& config) {
  check_range("img_channels", config.img_channels(), 1, kMaxImgChannels);
  check_range("label_dim", config.label_dim(), 0, kMaxLabelDim);
  check_range("model_channels", config.model_channels(), 1, kMaxChannels);
  check_range("num_blocks", config.num_blocks(), 1, kMaxBlocks);
  check_range("logvar_channels", config.logvar_channels(), 1, kMaxChannels);

  if (config.channel_mult_size() > kMaxLevels) {
    fail(ErrorCode::kInvalidConfig, "ModelConfig.channel_mult: {} levels, more than {}", config.channel_mult_size(),
         kMaxLevels);
  }
  for (int l = 0; l < config.channel_mult_size(); ++l) {
    const int64_t mult = config.channel_mult(l);
    if (mult < 1 || mult > kMaxMult) {
      fail(ErrorCode::kInvalidConfig, "ModelConfig.channel_mult: [{}] = {} is outside 1..{}", l, mult, kMaxMult);
    }
    if (mult * config.model_channels() > kMaxChannels) {
      fail(ErrorCode::kInvalidConfig, "ModelConfig.channel_mult: [{}] = {} times model_channels {} exceeds {} channels", l,
           mult, config.model_channels(), kMaxChannels);
    }
  }

  check_range("img_resolution", config.img_resolution(), 1, kMaxResolution);
  // Each level after the first halves the resolution, which must stay an integer. channel_mult is never
  // empty here: an empty one resolves to the default.
  const int halvings = config.channel_mult_size() - 1;
  if (halvings >= 31 || config.img_resolution() % (1 << halvings) != 0) {
    fail(ErrorCode::kInvalidConfig,
         "ModelConfig.img_resolution: {} is not divisible by 2^{}, as the {} levels of channel_mult need",
         config.img_resolution(), halvings, config.channel_mult_size());
  }
}

void validate_attention(const v1::ModelConfig& config) {
  const std::vector<Level> levels = levels_of(config);
  std::vector<int> valid;
  for (const Level& level : levels) valid.push_back(level.resolution);

  std::vector<bool> attention(levels.size(), false);
  for (int resolution : config.attn_resolutions()) {
    bool found = false;
    for (size_t l = 0; l < levels.size(); ++l) {
      if (levels[l].resolution != resolution) continue;
      attention[l] = true;
      found = true;
    }
    if (!found) {
      fail(ErrorCode::kInvalidConfig, "ModelConfig.attn_resolutions: {} is not a level resolution (valid: {})",
           resolution, fmt::join(valid, ", "));
    }
  }

  check_range("channels_per_head", config.channels_per_head(), 1, kMaxChannels);
  for (size_t l = 0; l < levels.size(); ++l) {
    const bool lowest = l + 1 == levels.size();
    if (!attention[l] && !lowest) continue;
    if (levels[l].channels % config.channels_per_head() != 0) {
      fail(ErrorCode::kInvalidConfig,
           "ModelConfig.channels_per_head: {} does not divide the {} channels at resolution {} ({})",
           config.channels_per_head(), levels[l].channels, levels[l].resolution,
           attention[l] ? "attention" : "attention of the decoder's in0 block");
    }
  }
}

void validate_scalars(const v1::ModelConfig& config) {
  check_unit_interval("dropout", config.dropout(), false);
  check_unit_interval("res_balance", config.res_balance(), true);
  check_unit_interval("attn_balance", config.attn_balance(), true);
  check_unit_interval("label_balance", config.label_balance(), true);
  check_unit_interval("concat_balance", config.concat_balance(), true);

  if (!(config.clip_act() >= 0.0 && config.clip_act() <= kMaxClip)) {
    fail(ErrorCode::kInvalidConfig, "ModelConfig.clip_act: {} is outside [0, {}] (0 disables clamping)",
         config.clip_act(), kMaxClip);
  }
  if (!(config.sigma_data() > 0.0 && std::isfinite(config.sigma_data()))) {
    fail(ErrorCode::kInvalidConfig, "ModelConfig.sigma_data: {} must be finite and > 0", config.sigma_data());
  }
  if (!v1::Precision_IsValid(config.precision())) {
    fail(ErrorCode::kInvalidConfig, "ModelConfig.precision: {} is not a Precision value",
         static_cast<int>(config.precision()));
  }
}

}  // namespace

const std::vector<std::string>& model_preset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Preset& preset : kPresets) out.emplace_back(preset.name);
    return out;
  }();
  return names;
}

v1::ModelConfig resolve_model_config(const v1::ModelConfig& given) {
  v1::ModelConfig config = given;
  canonicalize_numbers(&config, "ModelConfig");
  v1::ModelConfig resolved = default_config();
  if (!config.preset().empty()) apply_preset(config.preset(), &resolved);
  apply_explicit_fields(config, &resolved);
  validate_shape(resolved);
  validate_attention(resolved);
  validate_scalars(resolved);
  const int64_t parameters = count_parameters(to_model_options(resolved));
  if (parameters > kMaxParameters) {
    fail(ErrorCode::kInvalidConfig, "ModelConfig: the network would have {} parameters, more than {}", parameters,
         kMaxParameters);
  }
  return resolved;
}

ModelOptions to_model_options(const v1::ModelConfig& resolved) {
  ModelOptions options;
  options.img_resolution = resolved.img_resolution();
  options.img_channels = resolved.img_channels();
  options.label_dim = resolved.label_dim();
  options.model_channels = resolved.model_channels();
  options.channel_mult.assign(resolved.channel_mult().begin(), resolved.channel_mult().end());
  options.num_blocks = resolved.num_blocks();
  options.attn_resolutions.assign(resolved.attn_resolutions().begin(), resolved.attn_resolutions().end());
  options.channels_per_head = resolved.channels_per_head();
  options.dropout = resolved.dropout();
  options.res_balance = resolved.res_balance();
  options.attn_balance = resolved.attn_balance();
  options.label_balance = resolved.label_balance();
  options.concat_balance = resolved.concat_balance();
  options.clip_act = resolved.clip_act();
  options.logvar_channels = resolved.logvar_channels();
  options.sigma_data = resolved.sigma_data();
  options.precision = from_proto_precision(resolved.precision());
  return options;
}

}  // namespace diffuse
