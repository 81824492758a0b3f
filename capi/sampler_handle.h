// Internal to the C API: what a diffuse_sampler handle holds.
#pragma once

#include "model_handle.h"
#include "sample/sampler.h"

struct diffuse_sampler {
  diffuse_model* model = nullptr;  // not owned
  diffuse_model* guide = nullptr;  // not owned; null when the config needs none
  diffuse::SamplerOptions options;
};
