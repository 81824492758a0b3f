// Images held in memory as one N×H×W×C uint8 block with optional labels: what IDX files and host
// buffers contain. Internal to core/data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace diffuse {

class PackedDataset final : public Dataset {
 public:
  // `pixels` holds count×height×width×channels bytes; `labels` is empty or holds `count` labels >= 0.
  PackedDataset(std::vector<uint8_t> pixels, std::vector<int64_t> labels, int64_t count, int64_t height, int64_t width,
                int64_t channels, std::string description);

  int64_t size() const override { return count_; }
  Example get(int64_t index) const override;
  int64_t num_classes() const override { return num_classes_; }
  std::string describe() const override { return description_; }

 private:
  std::vector<uint8_t> pixels_;
  std::vector<int64_t> labels_;
  int64_t count_, height_, width_, channels_;
  int64_t num_classes_ = 0;
  std::string description_;
};

}  // namespace diffuse
