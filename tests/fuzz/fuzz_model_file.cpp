// Model files as diffuse_model_open reads them (a model file, EMA snapshot, post-hoc output or
// checkpoint): the network is built only once the file's tensor table matches the config it carries,
// so every input costs at most what the file itself holds.
#include "fuzz_support.h"
#include "store/model_file.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  diffuse::fuzz::quiet_library();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = diffuse::fuzz::write_file("model.safetensors", {reinterpret_cast<const char*>(data), size});
  diffuse::fuzz::expect_clean("model file", [&] { (void)diffuse::load_model(path); });
  return 0;
}
