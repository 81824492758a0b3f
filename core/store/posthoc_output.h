// Post-hoc EMA outputs, phema-<sigma_rel>-<kimg>.safetensors: a network reconstructed for a chosen
// EMA length (spec edm2.md §8). Name and writer; model files (store/model_file.h) read them.
//
//   tensors: the reconstructed state dict (EDM2 names), fp16 or fp32
//   metadata: format "diffuse-phema-1", sigma_rel, nimg, residual (%.17g) and model_config (the JSON of
//             the run's snapshot it was reconstructed at)
#pragma once

#include <cstdint>
#include <string>

#include "nn/state_dict.h"

namespace diffuse {

// "phema-<σ_rel, 3 decimals>-<kimg, 7 digits>.safetensors".
std::string posthoc_output_name(double sigma_rel, int64_t nimg);

// Writes an output atomically; `model_config_json` is copied from the snapshots' metadata.
void write_posthoc_output(const std::string& path, const NamedTensors& tensors, double sigma_rel, int64_t nimg,
                          double residual, const std::string& model_config_json);

}  // namespace diffuse
