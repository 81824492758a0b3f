// Images handed in by the host (diffuse_images): the facade keeps one copy of the pixels and labels,
// filled from a language array in one bulk copy, and lends the C API a view of them.
#pragma once

#include <string>

#include "arrays.hpp"
#include "diffuse.h"
#include "status.hpp"

namespace diffuse_binding {

class Images {
 public:
  // `pixels`: count x height x width x channels uint8 values, each image row-major HWC (channels
  // innermost, as PNG decoders produce); the count follows from the size.
  void set_pixels(const Bytes& pixels, int height, int width, int channels) {
    pixels_ = pixels;
    height_ = height;
    width_ = width;
    channels_ = channels;
  }
  // One class index per image; empty = unlabeled.
  void set_labels(const Int64s& labels) { labels_ = labels; }

  // Number of images the pixels hold (0 for a geometry that does not divide them).
  int64_t count() const {
    const size_t per_image = static_cast<size_t>(height_ > 0 ? height_ : 0) * static_cast<size_t>(width_ > 0 ? width_ : 0) *
                             static_cast<size_t>(channels_ > 0 ? channels_ : 0);
    return per_image == 0 ? 0 : static_cast<int64_t>(pixels_.size() / per_image);
  }

#ifndef SWIG
  // The C API's view; Status names what does not fit together before the library sees it.
  bool view(diffuse_images& out, Status& status) const {
    const int64_t n = count();
    if (n == 0 || static_cast<size_t>(n) * (pixels_.size() / static_cast<size_t>(n)) != pixels_.size()) {
      status.fail(DIFFUSE_E_INVALID_ARGUMENT, std::to_string(pixels_.size()) + " pixel values are not a whole number of " +
                                                  std::to_string(height_) + "x" + std::to_string(width_) + "x" +
                                                  std::to_string(channels_) + " images");
      return false;
    }
    if (!labels_.empty() && labels_.size() != static_cast<size_t>(n)) {
      status.fail(DIFFUSE_E_INVALID_ARGUMENT,
                  std::to_string(labels_.size()) + " labels for " + std::to_string(n) + " images: give one label per image or none");
      return false;
    }
    out = diffuse_images{};
    out.size = sizeof out;
    out.pixels = pixels_.data();
    out.labels = labels_.empty() ? nullptr : labels_.data();
    out.count = static_cast<size_t>(n);
    out.height = height_;
    out.width = width_;
    out.channels = channels_;
    return true;
  }
#endif

 private:
  Bytes pixels_;
  Int64s labels_;
  int height_ = 0, width_ = 0, channels_ = 0;
};

}  // namespace diffuse_binding
