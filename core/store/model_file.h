// Model files, the networks a user opens for sampling: a training checkpoint (store/checkpoint.h), an
// EMA snapshot, a post-hoc output, a file written by save_model (format "diffuse-model-1"), or any
// safetensors with EDM2 state-dict names plus a ModelConfig from the caller. Reader and writer here.
#pragma once

#include <optional>
#include <string>

#include "diffuse.pb.h"
#include "nn/precond.h"

namespace diffuse {

struct ModelFile {
  v1::ModelConfig config;  // resolved
  Precond net{nullptr};    // in eval mode, on the CPU
  // The TrainConfig of the run that made the network, when known: a checkpoint's own, or the
  // config.textproto of the run directory the file lies in (or one level below, as phema/ does)
  // whose model config is this one. `training_source` names where it came from.
  std::optional<v1::TrainConfig> training;
  std::string training_source;
};

// `config` (may be null) overrides the file's own. Throws Error(kInvalidArgument) when the file
// carries no config and none is given, Error(kCorruptFile)/kIo for the file, and the strict
// state-dict check's error naming the first missing or misshapen tensor.
ModelFile load_model(const std::string& path, const v1::ModelConfig* config = nullptr);

// Writes the network's state dict with EDM2 names (fp16 or fp32) and its config as "model_config".
void save_model(Precond& net, const v1::ModelConfig& config, const std::string& path, bool fp16);

}  // namespace diffuse
