// SamplerConfig → SamplerOptions, with defaults and validation.
#pragma once

#include "diffuse.pb.h"
#include "sample/sampler.h"

namespace diffuse {

// Throws Error(kInvalidConfig) naming the field, e.g. "SamplerConfig.sigma_min: 0 must be > 0".
SamplerOptions resolve_sampler_config(const v1::SamplerConfig& config);

}  // namespace diffuse
