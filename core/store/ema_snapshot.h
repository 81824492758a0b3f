// EMA snapshots, ema-<sigma_rel>-<kimg>.safetensors (README "The run directory"): one power-function
// EMA profile of the network at one training time, the input of post-hoc EMA. Writer, name and
// metadata reader side by side.
//
//   tensors: the averaged state dict (EDM2 names), fp16 or fp32
//   metadata: format "diffuse-ema-1", sigma_rel (%.17g), nimg, model_config (the resolved
//             ModelConfig, JSON)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "diffuse.pb.h"
#include "nn/state_dict.h"

namespace diffuse {

class SafetensorsFile;

// "ema-<σ_rel, 3 decimals>-<kimg, 7 digits>.safetensors" with kimg = nimg / 1000.
std::string ema_snapshot_name(double sigma_rel, int64_t nimg);

// Writes a snapshot atomically.
void write_ema_snapshot(const std::string& path, const NamedTensors& tensors, double sigma_rel, int64_t nimg,
                        const v1::ModelConfig& model_config);

struct EmaSnapshot {
  std::string path;
  double sigma_rel = 0;
  int64_t nimg = 0;
};

// A snapshot's profile and time from its metadata. Throws Error(kCorruptFile) naming the file and
// the field for another format, a missing or malformed field, a σ_rel outside (0, 0.2886) or a
// non-positive nimg.
EmaSnapshot read_ema_snapshot_info(const std::string& path);

// The resolved ModelConfig a snapshot (or post-hoc output) carries as metadata model_config; its JSON
// text with `json`. Throws Error(kCorruptFile) naming the file when it is missing or invalid.
v1::ModelConfig snapshot_model_config(const SafetensorsFile& file);
const std::string& snapshot_model_config_json(const SafetensorsFile& file);

// Every EMA snapshot in `run_dir`, sorted by (nimg, sigma_rel). Throws Error(kNotFound) if there are
// none (or no such directory), Error(kCorruptFile) naming a file with bad metadata.
std::vector<EmaSnapshot> list_ema_snapshots(const std::string& run_dir);

}  // namespace diffuse
