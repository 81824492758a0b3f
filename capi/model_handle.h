// Internal to the C API: what a diffuse_model handle holds.
#pragma once

#include "diffuse.pb.h"
#include "nn/precond.h"

struct diffuse_model {
  diffuse::v1::ModelConfig config;
  diffuse::Precond net{nullptr};
};
