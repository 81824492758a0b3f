// .npy files as latent datasets decode them (header versions, dtypes, Fortran order, sizes).
#include "fuzz_support.h"
#include "io/npy.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  diffuse::fuzz::quiet_library();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  diffuse::fuzz::expect_clean("npy", [&] { (void)diffuse::decode_npy(data, size, "input.npy"); });
  return 0;
}
