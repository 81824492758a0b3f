// TrainConfig: defaults and validation (spec edm2.md §6; DESIGN "Files a run leaves").
#pragma once

#include "diffuse.pb.h"

namespace diffuse {

// Returns the complete config (model resolved by resolve_model_config, every other unset field at its
// default). Throws Error(kInvalidConfig) naming the field, e.g.
// "TrainConfig.run.batch_per_step: 48 does not divide run.batch_size 128".
v1::TrainConfig resolve_train_config(const v1::TrainConfig& config);

}  // namespace diffuse
