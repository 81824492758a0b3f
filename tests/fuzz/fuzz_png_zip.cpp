// Zip archives of PNG images as datasets read them (EDM2's dataset tool's --dest=x.zip): the input is
// the archive. Its directory, names, dataset.json and every member are read.
#include "data/dataset.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  diffuse::fuzz::quiet_library();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      diffuse::fuzz::write_file("dataset.zip", std::string_view(reinterpret_cast<const char*>(data), size));
  diffuse::fuzz::expect_clean("png zip", [&] {
    const auto dataset = diffuse::open_png_dataset(path);
    for (int64_t i = 0; i < dataset->size(); ++i) (void)dataset->get(i);
    (void)dataset->num_classes();
  });
  return 0;
}
