#include "data/packed_dataset.h"

#include <algorithm>

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include "util/error.h"

namespace diffuse {

PackedDataset::PackedDataset(std::vector<uint8_t> pixels, std::vector<int64_t> labels, int64_t count, int64_t height,
                             int64_t width, int64_t channels, std::string description)
    : pixels_(std::move(pixels)),
      labels_(std::move(labels)),
      count_(count),
      height_(height),
      width_(width),
      channels_(channels),
      description_(std::move(description)) {
  for (int64_t label : labels_) num_classes_ = std::max(num_classes_, label + 1);
}

Example PackedDataset::get(int64_t index) const {
  if (index < 0 || index >= count_)
    fail(ErrorCode::kInvalidArgument, "{}: index {} out of range [0, {})", description_, index, count_);
  // from_blob only views the bytes (hence the const_cast); the copy leaves the dataset untouched.
  auto* hwc = const_cast<uint8_t*>(pixels_.data()) + index * height_ * width_ * channels_;
  Example example;
  example.image = at::empty({channels_, height_, width_}, at::kByte);
  example.image.copy_(at::from_blob(hwc, {height_, width_, channels_}, at::kByte).permute({2, 0, 1}));
  if (!labels_.empty()) example.label = labels_[static_cast<size_t>(index)];
  return example;
}

}  // namespace diffuse
