// The noise of a training step's images: image i of the step at `nimg` images draws its own from a
// seed of (run seed, nimg, i), so that it depends neither on the process nor on the pass that draws it
// (world-size invariance, resume) nor on the thread (the loader's workers draw it ahead of the step).
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace diffuse {

// Fills `out` (float32 [n, ...]) with the noise of the images at sampler positions first_position ..
// first_position + n - 1, which belong to one step: position p is image p % batch_size of the step at
// p - p % batch_size images (the loader's positions are the images seen). Any thread.
void fill_step_noise(uint64_t run_seed, int64_t batch_size, int64_t first_position, const at::Tensor& out);

}  // namespace diffuse
