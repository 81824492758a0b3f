// Internal to the C API: checking a host's diffuse_images and turning them into a dataset or tensors.
#pragma once

#include <memory>

#include <ATen/core/Tensor.h>

#include "data/dataset.h"
#include "diffuse.h"

namespace diffuse::capi {

// Throws Error(kInvalidArgument) naming `name` and the field for NULL pixels, an empty set, a
// non-positive size, an unsupported channel count, a size that overflows, or a negative label.
void check_images(const diffuse_images& images, const char* name);

// A copy of the images as a dataset (for training).
std::shared_ptr<Dataset> to_dataset(const diffuse_images& images, const char* name);

// The images as float [N, C, H, W] in [-1, 1] (x / 127.5 - 1, as training sees them).
at::Tensor to_network_input(const diffuse_images& images, const char* name);

}  // namespace diffuse::capi
