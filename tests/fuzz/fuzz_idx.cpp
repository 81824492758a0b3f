// IDX files (MNIST's format), gzip'd or plain: the input is the images file, optionally followed by
// kPartSeparator and the labels file. Every image is then read.
#include <algorithm>

#include "data/dataset.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  diffuse::fuzz::quiet_library();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = diffuse::fuzz::split_parts(data, size, 2);
  const std::string images = diffuse::fuzz::write_file("images-idx3-ubyte", parts[0]);
  const std::string labels = parts.size() > 1 ? diffuse::fuzz::write_file("labels-idx1-ubyte", parts[1]) : "";
  diffuse::fuzz::expect_clean("idx", [&] {
    const auto dataset = diffuse::open_idx_dataset(images, labels);
    for (int64_t i = 0; i < std::min<int64_t>(dataset->size(), 64); ++i) (void)dataset->get(i);
    (void)dataset->num_classes();
  });
  return 0;
}
