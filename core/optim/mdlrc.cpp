#include "optim/mdlrc.h"

#include <cmath>

#include "util/ramp.h"

namespace diffuse {

double mdlrc_beta1(const MdlrcOptions& o, double p) {
  const double g = ramp_shape((p - o.p_start) / (o.p_end - o.p_start), o.cosine);
  return o.beta1_start + (o.beta1_end - o.beta1_start) * g;
}

double mdlrc_compensation(MomentumCompensation mode, double beta1, double beta1_start) {
  switch (mode) {
    case MomentumCompensation::kNone: return 1;
    case MomentumCompensation::kSgdEquivalent: return (1 - beta1) / (1 - beta1_start);
    case MomentumCompensation::kNoiseEquivalent: {
      // White-noise std of Adam's first moment is √((1 − β1)/(1 + β1)) times the gradient noise.
      const double start = (1 - beta1_start) / (1 + beta1_start), now = (1 - beta1) / (1 + beta1);
      return std::sqrt(start / now);
    }
  }
  return 1;
}

}  // namespace diffuse
