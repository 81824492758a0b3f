// The training checkpoint, checkpoint-<kimg>.safetensors (README "The run directory"): everything a
// resumed run needs to continue bit for bit. Its writer and reader, and every tensor name, are here.
//
//   net.<name>                    the network's state dict (EDM2 names)
//   adam.exp_avg.<param>          Adam's first and second moments, per parameter name
//   adam.exp_avg_sq.<param>
//   ema<i>.<param>                every tracked EMA profile (PowerEma::checkpoint_state)
//   state.*                       counters: images seen, step, loader position, non-finite steps,
//                                 training time, Adam's step count and running β products, the
//                                 interval statistics and the noise curriculum's state (if any)
//   metadata: format "diffuse-checkpoint-1", config (the resolved TrainConfig, text format)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "diffuse.pb.h"

namespace diffuse {

class SafetensorsFile;

struct CheckpointState {
  std::string path;                                   // the file read (for messages); empty when writing
  std::map<std::string, at::Tensor> net;             // state-dict name -> tensor
  std::map<std::string, at::Tensor> adam_exp_avg;    // parameter name -> first moment
  std::map<std::string, at::Tensor> adam_exp_avg_sq; // parameter name -> second moment
  std::map<std::string, at::Tensor> ema;             // "ema<i>.<param>" -> average
  int64_t nimg = 0;
  int64_t step = 0;
  int64_t loader_position = 0;
  int64_t nonfinite_steps = 0;
  double elapsed_seconds = 0;
  int64_t adam_steps = 0;
  double adam_beta1_product = 1;
  double adam_beta2_product = 1;
  at::Tensor interval_stats;    // TrainingStats::state()
  at::Tensor noise_curriculum;  // NoiseDistribution::state(); undefined for a stateless one
};

// Writes the checkpoint atomically, with `config` (the resolved TrainConfig) in its metadata.
void write_checkpoint(const std::string& path, const CheckpointState& state, const v1::TrainConfig& config);

// Reads a checkpoint. Throws Error(kCorruptFile) for a file of another format, a missing tensor
// (named) or a counter that is not a finite scalar in range; Error(kIo) for an unreadable file.
CheckpointState read_checkpoint(const std::string& path);

// Copies the moments of every parameter in `names` (Adam's order) into exp_avg / exp_avg_sq, checking
// that the checkpoint has each with the parameter's shape; Error(kCorruptFile) naming the file and the
// tensor. Nothing is modified unless every check passes.
void restore_adam_moments(const CheckpointState& state, const std::vector<std::string>& names,
                          std::vector<at::Tensor>& exp_avg, std::vector<at::Tensor>& exp_avg_sq);

// The prefix of the network's tensors in a checkpoint ("net."), for readers of the network alone.
extern const char kCheckpointNetPrefix[];

// The TrainConfig a checkpoint file carries, if it is one (format and metadata), else nullopt.
std::optional<v1::TrainConfig> checkpoint_config(const SafetensorsFile& file);

}  // namespace diffuse
