#include "optim/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace diffuse {

// §6: α(t) = α_ref / √max(t / (t_ref·B), 1) · min(t / rampup, 1).
double edm2_learning_rate(int64_t nimg, double ref_lr, double ref_batches, int64_t batch_size, double rampup_images) {
  if (nimg < 0 || batch_size <= 0 || !(ref_batches >= 0) || !(rampup_images >= 0) || !std::isfinite(ref_lr)) {
    fail(ErrorCode::kInvalidArgument,
         "learning-rate schedule: invalid arguments (nimg {}, ref_lr {}, ref_batches {}, batch {}, rampup {})", nimg,
         ref_lr, ref_batches, batch_size, rampup_images);
  }
  const double t = static_cast<double>(nimg);
  double lr = ref_lr;
  if (ref_batches > 0) lr /= std::sqrt(std::max(t / (ref_batches * static_cast<double>(batch_size)), 1.0));
  if (rampup_images > 0) lr *= std::min(t / rampup_images, 1.0);
  return lr;
}

}  // namespace diffuse
