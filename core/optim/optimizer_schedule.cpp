#include "optim/optimizer_schedule.h"

#include <algorithm>
#include <cmath>

#include "optim/lr_schedule.h"

namespace diffuse {
namespace {

MomentumCompensation compensation_mode(v1::MdlrcConfig::Compensation c) {
  switch (c) {
    case v1::MdlrcConfig::SGD_EQUIVALENT: return MomentumCompensation::kSgdEquivalent;
    case v1::MdlrcConfig::NOISE_EQUIVALENT: return MomentumCompensation::kNoiseEquivalent;
    default: return MomentumCompensation::kNone;
  }
}

}  // namespace

OptimizerSchedule::OptimizerSchedule(const v1::OptimizerConfig& config, int64_t batch_size)
    : config_(config), batch_size_(batch_size) {
  mdlrc_enabled_ = config.momentum_schedule() == v1::OptimizerConfig::MDLRC;
  const v1::MdlrcConfig& m = config.mdlrc();
  mdlrc_.beta1_start = m.beta1_start();
  mdlrc_.beta1_end = m.beta1_end();
  mdlrc_.p_start = m.p_start();
  mdlrc_.p_end = m.p_end();
  mdlrc_.cosine = m.shape() == v1::MdlrcConfig::COSINE;
  mdlrc_.compensation = compensation_mode(m.compensation());
}

double OptimizerSchedule::base_lr(int64_t nimg, double progress) const {
  const double rampup = config_.rampup_images();
  const double warmup = rampup > 0 ? std::min(static_cast<double>(nimg) / rampup, 1.0) : 1.0;
  switch (config_.lr_schedule()) {
    case v1::OptimizerConfig::CONSTANT:
      return config_.ref_lr() * warmup;
    case v1::OptimizerConfig::COSINE: {
      const double f = config_.cosine_final_fraction();
      return config_.ref_lr() * warmup * (f + (1 - f) * 0.5 * (1 + std::cos(M_PI * progress)));
    }
    default:
      return edm2_learning_rate(nimg, config_.ref_lr(), config_.ref_batches(), batch_size_, rampup);
  }
}

StepHyperparameters OptimizerSchedule::at(int64_t nimg, double progress) const {
  StepHyperparameters h;
  h.beta1 = config_.beta1();
  if (mdlrc_enabled_) {
    h.beta1 = mdlrc_beta1(mdlrc_, progress);
    h.compensation = mdlrc_compensation(mdlrc_.compensation, h.beta1, mdlrc_.beta1_start);
  }
  // lr_applied = α(nimg)·c(β1(p)) (§5.1).
  h.lr = base_lr(nimg, progress) * h.compensation;
  return h;
}

}  // namespace diffuse
