// Choosing the EMA length after training (spec edm2.md §8): reconstruct a list of σ_rel from a run's
// snapshots and measure each on the run's validation set, so the best length needs no retraining.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/posthoc_reconstruct.h"
#include "train/training_data.h"
#include "metrics/validation_loss.h"

namespace diffuse {

struct PosthocSweepOptions {
  PosthocOptions posthoc;  // targets, time, residual limit, force
  int batch = 8;           // targets reconstructed per pass over the snapshots (memory ≈ batch fp32 models)
  std::string device;      // where the validation runs: "cpu", "cuda", "cuda:N"; empty = the run's run.device
};

struct PosthocSweepPoint {
  double sigma_rel = 0;
  int64_t nimg = 0;
  double residual = 0;          // relative L2 error of the fitted profile
  ValidationResult validation;  // the run's validation loss (mean and per σ) of the reconstructed network
};

// One point per target, in the order given. The run's config.textproto supplies the model and the
// validation set (held-out images, fixed noise: the numbers compare with the run's stats.jsonl);
// `host` supplies the images of MEMORY data sources. Throws what reconstruct_posthoc throws (a refused
// target fails the sweep unless force), Error(kIo)/Error(kCorruptFile) for a missing or unreadable
// config, Error(kInvalidArgument) for batch < 1, Error(kDeviceUnavailable) for an absent device.
std::vector<PosthocSweepPoint> sweep_posthoc(const std::string& run_dir, const PosthocSweepOptions& options,
                                             const HostData& host = {});

}  // namespace diffuse
