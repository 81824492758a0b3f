// Internal to the C API: what a diffuse_model handle holds.
#pragma once

#include <optional>
#include <string>

#include "diffuse.pb.h"
#include "nn/precond.h"

struct diffuse_model {
  diffuse::v1::ModelConfig config;
  diffuse::Precond net{nullptr};
  // data.resize of the training run and the file that says so, when the run was found.
  std::optional<diffuse::v1::DataConfig::Resize> trained_resize;
  std::string trained_resize_source;
};
