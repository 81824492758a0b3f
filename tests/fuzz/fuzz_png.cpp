// PNG files as datasets decode them (every colour type, bit depth, palette and transparency).
#include "fuzz_support.h"
#include "io/png.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  diffuse::fuzz::quiet_library();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  diffuse::fuzz::expect_clean("png", [&] { (void)diffuse::decode_png(data, size, "input.png"); });
  return 0;
}
