// Post-hoc EMA on a run directory (spec edm2.md §8): find the EMA snapshots a run wrote
// (store/ema_snapshot.h), solve for any target σ_rel at any snapshot time (ema/posthoc.h), combine the
// snapshots and write the reconstructed weights (store/posthoc_output.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/state_dict.h"
#include "store/ema_snapshot.h"

namespace diffuse {

struct PosthocOptions {
  std::vector<double> sigma_rels;  // targets, each in (0, 0.2886)
  int64_t nimg = -1;               // target time: a snapshot time; -1 = the latest
  double max_residual = 0.05;      // refuse targets whose profile fit is worse (relative L2), unless forced
  bool force = false;
};

struct PosthocOutput {
  double sigma_rel = 0;
  int64_t nimg = 0;                   // the target time
  double residual = 0;                // relative L2 error of the fitted profile
  std::vector<EmaSnapshot> inputs;    // the snapshots combined, sorted by (nimg, sigma_rel)
  std::vector<double> coefficients;   // weight of inputs[i]; they sum to 1
  NamedTensors state;                 // reconstructed state dict (parameters combined in fp32, buffers copied), fp32
};

// Solves and combines every snapshot with nimg ≤ the target time; snapshots are streamed one at a
// time (memory ≈ one snapshot + the outputs). Buffers are those of the network the snapshots'
// model_config describes, copied from the latest input. Throws Error(kInvalidArgument) for no target,
// a target time that is not a snapshot time (listing the times), two snapshots of the same profile,
// or a residual above max_residual (naming the target, its residual and the limit) unless force;
// Error(kCorruptFile) naming the file and tensor for a snapshot that does not match the model.
std::vector<PosthocOutput> reconstruct_posthoc(const std::string& run_dir, const PosthocOptions& options);

// Writes each output as <out_dir>/phema-<σ_rel, 3 decimals>-<kimg, 7 digits>.safetensors (fp16 or
// fp32), atomically, with metadata (format "diffuse-phema-1", sigma_rel, nimg, residual, and the
// model_config of the run's latest snapshot at that time), creating out_dir if needed. Returns the paths
// written. Throws Error(kInvalidArgument) for an output time at which `run_dir` has no snapshot or two
// outputs that would share a file name.
std::vector<std::string> write_posthoc(const std::string& run_dir, const std::vector<PosthocOutput>& outputs,
                                       const std::string& out_dir, bool fp16);

}  // namespace diffuse
