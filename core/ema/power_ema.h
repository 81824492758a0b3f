// Tracks several power-function EMAs of a network's parameters at once (default σ_rel 0.05 and 0.10),
// updated after every optimizer step (spec edm2.md §6 "Order per iteration", §7).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nn/state_dict.h"

namespace torch::nn {
class Module;
}

namespace diffuse {

class PowerEma {
 public:
  // Copies the network's current parameters into each profile (the values are replaced by the first
  // update anyway, since its β is 0). Averages are fp32 (fp64 for fp64 parameters) on the parameter's
  // device. Throws Error(kInvalidArgument) for a σ_rel outside (0, 0.288675...). `multi_tensor`: each
  // profile's update is one _foreach_lerp_ over all parameters where LibTorch has it (2.x), else a loop
  // over them; the same numbers on the CPU, fewer launches on CUDA (test: PowerEmaMultiTensor.*).
  PowerEma(const torch::nn::Module& net, std::vector<double> sigma_rels, bool multi_tensor = true);

  // θ_ema ← β·θ_ema + (1−β)·θ for every profile, with β from power_function_beta(σ_rel, nimg_after, batch).
  // Parameters only; buffers are never averaged. Throws Error(kInvalidArgument) if `net`'s parameter
  // names differ from those the EMA was built from (also in averaged_state).
  void update(const torch::nn::Module& net, int64_t nimg_after, int64_t batch_size);

  const std::vector<double>& sigma_rels() const { return sigma_rels_; }
  bool multi_tensor() const { return multi_tensor_; }

  // Profile i as a full state dict in state_dict(net) order: averaged parameters, buffers copied from
  // `net`. Tensors are the EMA's own (not copies).
  NamedTensors averaged_state(size_t profile, const torch::nn::Module& net) const;

  // Everything needed to resume: "ema<i>.<param name>" for every profile and parameter, as the EMA's own
  // tensors (not copies; values exact, in the EMA's dtype).
  NamedTensors checkpoint_state() const;
  // Restores from tensors written by checkpoint_state() (exact copy). Throws Error(kCorruptFile)
  // naming the missing/misshapen tensor and `source`, or an "ema<i>." tensor of a profile or parameter
  // this EMA does not track; nothing is modified unless every check passes.
  void load_checkpoint_state(const std::map<std::string, at::Tensor>& tensors, const std::string& source);

 private:
  std::vector<double> sigma_rels_;
  bool multi_tensor_;
  std::vector<std::string> names_;                // parameter names, in net order
  std::vector<std::vector<at::Tensor>> averages_;  // [profile][parameter]
};

}  // namespace diffuse
