// Axis 3 of a training recipe (spec methods.md §5, §6): the learning rate and Adam's β1 applied at
// each step, as a function of the pre-step image count and progress p = nimg/duration.
#pragma once

#include <cstdint>
#include <memory>

#include "diffuse.pb.h"
#include "optim/mdlrc.h"

namespace diffuse {

struct StepHyperparameters {
  double lr = 0;             // lr_applied = α(nimg)·compensation
  double beta1 = 0.9;
  double compensation = 1;   // c(β1); 1 unless momentum decay compensates
};

class OptimizerSchedule {
 public:
  OptimizerSchedule(const v1::OptimizerConfig& config, int64_t batch_size);
  StepHyperparameters at(int64_t nimg, double progress) const;
  // α(nimg) of the configured schedule (EDM2, CONSTANT or COSINE), before compensation.
  double base_lr(int64_t nimg, double progress) const;

 private:
  v1::OptimizerConfig config_;
  int64_t batch_size_;
  bool mdlrc_enabled_ = false;
  MdlrcOptions mdlrc_;
};

}  // namespace diffuse
