// safetensors files as every reader of the library opens them: the header and tensor table, every
// tensor's data, and the metadata of checkpoints and EMA snapshots. A header that claims a huge tensor,
// shape or count is refused before anything is allocated (libFuzzer's -malloc_limit_mb). Inputs stay
// small (fuzz.sh: -max_len): the header is the parser; whole model files go to fuzz_model_file.
#include "fuzz_support.h"
#include "io/safetensors.h"
#include "store/checkpoint.h"
#include "store/ema_snapshot.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  diffuse::fuzz::quiet_library();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      diffuse::fuzz::write_file("input.safetensors", {reinterpret_cast<const char*>(data), size});
  diffuse::fuzz::expect_clean("safetensors", [&] {
    const diffuse::SafetensorsFile file = diffuse::SafetensorsFile::open(path);
    (void)file.read_all();
    const auto format = file.metadata().find("format");
    if (format == file.metadata().end()) return;
    if (format->second == "diffuse-checkpoint-1") {
      diffuse::fuzz::expect_clean("checkpoint config", [&] { (void)diffuse::checkpoint_config(file); });
      diffuse::fuzz::expect_clean("checkpoint", [&] { (void)diffuse::read_checkpoint(path); });
    } else {
      diffuse::fuzz::expect_clean("snapshot config", [&] { (void)diffuse::snapshot_model_config(file); });
      diffuse::fuzz::expect_clean("snapshot info", [&] { (void)diffuse::read_ema_snapshot_info(path); });
    }
  });
  return 0;
}
