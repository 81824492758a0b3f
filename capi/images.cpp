#include "images.h"

#include <limits>

#include <ATen/ATen.h>

#include "util/error.h"

namespace diffuse::capi {

void check_images(const diffuse_images& images, const char* name) {
  if (images.size < sizeof(diffuse_images)) {
    fail(ErrorCode::kInvalidArgument, "{} images: size is {}; set it to sizeof(diffuse_images) ({})", name, images.size,
         sizeof(diffuse_images));
  }
  if (images.count == 0) fail(ErrorCode::kInvalidArgument, "{} images: count is 0", name);
  if (images.pixels == nullptr) fail(ErrorCode::kInvalidArgument, "{} images: pixels is NULL", name);
  if (images.height <= 0 || images.width <= 0) {
    fail(ErrorCode::kInvalidArgument, "{} images: height x width is {}x{}, must be positive", name, images.height,
         images.width);
  }
  if (images.channels != 1 && images.channels != 3 && images.channels != 4) {
    fail(ErrorCode::kInvalidArgument, "{} images: channels is {}, must be 1, 3 or 4", name, images.channels);
  }
  const auto max = static_cast<size_t>(std::numeric_limits<int64_t>::max());
  const size_t per_image = static_cast<size_t>(images.height) * static_cast<size_t>(images.width) *
                           static_cast<size_t>(images.channels);
  if (images.count > max / per_image) fail(ErrorCode::kInvalidArgument, "{} images: count {} is too large", name, images.count);
  if (images.labels) {
    for (size_t i = 0; i < images.count; ++i) {
      if (images.labels[i] < 0) {
        fail(ErrorCode::kInvalidArgument, "{} images: labels[{}] is {}, must be >= 0", name, i, images.labels[i]);
      }
    }
  }
}

std::shared_ptr<Dataset> to_dataset(const diffuse_images& images, const char* name) {
  check_images(images, name);
  return make_memory_dataset(images.pixels, static_cast<int64_t>(images.count), images.height, images.width,
                             images.channels, images.labels);
}

at::Tensor to_network_input(const diffuse_images& images, const char* name) {
  check_images(images, name);
  // from_blob does not copy; the conversion to float does, before the host's memory can go away.
  const at::Tensor hwc = at::from_blob(const_cast<uint8_t*>(images.pixels),
                                       {static_cast<int64_t>(images.count), images.height, images.width, images.channels},
                                       at::kByte);
  return hwc.permute({0, 3, 1, 2}).to(at::kFloat).div(127.5).sub(1).contiguous();
}

}  // namespace diffuse::capi
