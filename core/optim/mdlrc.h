// MDLRC, momentum decay with learning-rate compensation (spec methods.md §5.2): β1 falls from
// beta1_start to beta1_end over p in [p_start, p_end], and the learning rate is multiplied by c(β1).
#pragma once

namespace diffuse {

enum class MomentumCompensation { kNone, kSgdEquivalent, kNoiseEquivalent };

struct MdlrcOptions {
  double beta1_start = 0.9, beta1_end = 0.5;
  double p_start = 0, p_end = 0.5;
  bool cosine = false;
  MomentumCompensation compensation = MomentumCompensation::kNone;
};

// β1(p) = beta1_start + (beta1_end − beta1_start)·g(clamp((p − p_start)/(p_end − p_start), 0, 1)).
double mdlrc_beta1(const MdlrcOptions& options, double p);
// c(β1): NONE 1; SGD_EQUIVALENT (1 − β1)/(1 − β1_start);
// NOISE_EQUIVALENT √(((1 − β1_start)/(1 + β1_start))/((1 − β1)/(1 + β1))).
double mdlrc_compensation(MomentumCompensation mode, double beta1, double beta1_start);

}  // namespace diffuse
