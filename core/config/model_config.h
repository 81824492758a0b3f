// ModelConfig: presets, defaults and validation (spec edm2.md §3, §6.1).
#pragma once

#include <string>
#include <vector>

#include "diffuse.pb.h"
#include "nn/model_options.h"

namespace diffuse {

// Names of the built-in presets: edm2-img64-{xs,s,m,l,xl}, edm2-img512-{xxs,xs,s,m,l,xl,xxl}.
const std::vector<std::string>& model_preset_names();

// Returns the complete config: the preset's values (if `preset` is set), overridden by every field
// set explicitly in `config`, with the remaining fields at the reference defaults. Throws
// Error(kInvalidConfig) naming the field, e.g. "ModelConfig.channels_per_head: 64 does not divide
// the 96 channels at resolution 16 (attention)".
v1::ModelConfig resolve_model_config(const v1::ModelConfig& config);

// Converts a resolved config (the output of resolve_model_config) to the network's options.
ModelOptions to_model_options(const v1::ModelConfig& resolved);

}  // namespace diffuse
