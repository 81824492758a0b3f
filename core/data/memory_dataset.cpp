// Datasets over memory: a copy of host-provided images, and a contiguous range of another dataset.
#include <vector>

#include "data/dataset.h"
#include "data/packed_dataset.h"
#include "util/error.h"

namespace diffuse {
namespace {

class SubsetDataset final : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<const Dataset> base, int64_t begin, int64_t end)
      : base_(std::move(base)), begin_(begin), end_(end) {}

  int64_t size() const override { return end_ - begin_; }

  Example get(int64_t index) const override {
    if (index < 0 || index >= size())
      fail(ErrorCode::kInvalidArgument, "{}: index {} out of range [0, {})", describe(), index, size());
    return base_->get(begin_ + index);
  }

  // The base's class count, so that every split of one dataset has the same label width.
  int64_t num_classes() const override { return base_->num_classes(); }

  std::string describe() const override { return fmt::format("{}[{}:{}]", base_->describe(), begin_, end_); }

 private:
  std::shared_ptr<const Dataset> base_;
  int64_t begin_, end_;
};

}  // namespace

std::shared_ptr<Dataset> make_memory_dataset(const uint8_t* images, int64_t count, int64_t height, int64_t width,
                                             int64_t channels, const int64_t* labels) {
  if (count < 0 || height < 1 || width < 1 || channels < 1 || channels > 4)
    fail(ErrorCode::kInvalidArgument,
         "memory dataset: invalid shape: {} images of {}×{}×{} (need count >= 0, H, W >= 1, C in 1..4)", count, height,
         width, channels);
  int64_t total = 0;
  if (__builtin_mul_overflow(count, height, &total) || __builtin_mul_overflow(total, width, &total) ||
      __builtin_mul_overflow(total, channels, &total))
    fail(ErrorCode::kInvalidArgument, "memory dataset: {}×{}×{}×{} bytes overflow", count, height, width, channels);
  if (images == nullptr && count > 0) fail(ErrorCode::kInvalidArgument, "memory dataset: images is NULL");

  std::vector<int64_t> label_copy;
  if (labels != nullptr) {
    label_copy.assign(labels, labels + count);
    for (int64_t i = 0; i < count; ++i)
      if (labels[i] < 0)
        fail(ErrorCode::kInvalidArgument, "memory dataset: label {} of image {} is negative", labels[i], i);
  }
  return std::make_shared<PackedDataset>(std::vector<uint8_t>(images, images + total), std::move(label_copy), count,
                                         height, width, channels,
                                         fmt::format("memory:{}×{}×{}×{}", count, height, width, channels));
}

std::shared_ptr<Dataset> make_subset(std::shared_ptr<const Dataset> base, int64_t begin, int64_t end) {
  if (!base) fail(ErrorCode::kInvalidArgument, "make_subset: base dataset is null");
  if (begin < 0 || begin > end || end > base->size())
    fail(ErrorCode::kInvalidArgument, "make_subset: range [{}, {}) is not within {} of size {}", begin, end,
         base->describe(), base->size());
  return std::make_shared<SubsetDataset>(std::move(base), begin, end);
}

}  // namespace diffuse
