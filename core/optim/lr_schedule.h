// Learning-rate schedules (spec edm2.md §6, methods.md §5.1), evaluated at the pre-step image count.
#pragma once

#include <cstdint>

namespace diffuse {

// EDM2: α(t) = α_ref / √max(t / (t_ref·B), 1) · min(t / rampup, 1), with t in images, t_ref in
// iterations (ref_batches), B the total batch. rampup_images = 0 disables the warm-up, ref_batches = 0 the
// decay. Throws Error(kInvalidArgument) for a negative count or setting, or batch_size ≤ 0.
double edm2_learning_rate(int64_t nimg, double ref_lr, double ref_batches, int64_t batch_size, double rampup_images);

}  // namespace diffuse
