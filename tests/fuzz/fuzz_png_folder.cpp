// Folders of PNG images: the input is dataset.json (none when empty), optionally followed by
// kPartSeparator and PNG files (each part one file: a.png, b/c.png, b/d.png, ...). Every image is then read.
#include <algorithm>
#include <filesystem>

#include "data/dataset.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  diffuse::fuzz::quiet_library();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* const kNames[] = {"a.png", "b/c.png", "b/d.png", "e/f/g.png"};
  const std::string dir = diffuse::fuzz::fresh_scratch_dir("folder");
  std::filesystem::create_directories(dir + "/b");
  std::filesystem::create_directories(dir + "/e/f");
  const auto parts = diffuse::fuzz::split_parts(data, size, 1 + std::size(kNames));
  if (!parts[0].empty()) diffuse::fuzz::write_file(dir + "/dataset.json", parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) diffuse::fuzz::write_file(dir + "/" + kNames[i - 1], parts[i]);
  diffuse::fuzz::expect_clean("png folder", [&] {
    const auto dataset = diffuse::open_png_dataset(dir);
    for (int64_t i = 0; i < dataset->size(); ++i) (void)dataset->get(i);
    (void)dataset->num_classes();
  });
  return 0;
}
