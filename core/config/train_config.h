// TrainConfig: defaults and validation (spec edm2.md §6; DESIGN "Files a run leaves").
#pragma once

#include <string>
#include <vector>

#include "diffuse.pb.h"

namespace diffuse {

// Returns the complete config (model resolved by resolve_model_config, every other unset field at its
// default). Throws Error(kInvalidConfig) naming the field, e.g.
// "TrainConfig.run.batch_per_step: 48 does not divide run.batch_size 128".
// Warnings (dubious but allowed combinations, spec methods.md §6) go to the log.
v1::TrainConfig resolve_train_config(const v1::TrainConfig& config);
// The same, handing the warnings (each naming its fields) to the caller instead.
v1::TrainConfig resolve_train_config(const v1::TrainConfig& config, std::vector<std::string>* warnings);

}  // namespace diffuse
