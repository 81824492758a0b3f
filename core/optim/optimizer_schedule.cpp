#include "optim/optimizer_schedule.h"

#include <algorithm>

#include "optim/lr_schedule.h"

namespace diffuse {

OptimizerSchedule::OptimizerSchedule(const v1::OptimizerConfig& config, int64_t batch_size)
    : config_(config), batch_size_(batch_size) {}

StepHyperparameters OptimizerSchedule::at(int64_t nimg, double /*progress*/) const {
  StepHyperparameters h;
  h.beta1 = config_.beta1();
  if (config_.lr_schedule() == v1::OptimizerConfig::CONSTANT) {
    const double rampup = config_.rampup_images();
    h.lr = config_.ref_lr() * (rampup > 0 ? std::min(static_cast<double>(nimg) / rampup, 1.0) : 1.0);
  } else {
    h.lr = edm2_learning_rate(nimg, config_.ref_lr(), config_.ref_batches(), batch_size_, config_.rampup_images());
  }
  h.lr *= h.compensation;
  return h;
}

}  // namespace diffuse
