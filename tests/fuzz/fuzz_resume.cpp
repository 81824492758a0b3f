// A run directory at resume: the input is config.textproto, stats.jsonl and a checkpoint, separated
// by kPartSeparator. The run is resumed on host images (format MEMORY in the seeds) and takes one step:
// the counters, tensor table and state that a checkpoint claims must fit the config, or be refused.
// Each input that gets that far builds a (small) network, so this target runs slower than the parsers.
#include <filesystem>

#include "fuzz_support.h"
#include "train/trainer.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  diffuse::fuzz::quiet_library();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const diffuse::HostData host = diffuse::fuzz::tiny_host_images();
  const std::string dir = diffuse::fuzz::fresh_scratch_dir("run");
  const auto parts = diffuse::fuzz::split_parts(data, size, 3);
  diffuse::fuzz::write_file(dir + "/config.textproto", parts[0]);
  if (parts.size() > 1) diffuse::fuzz::write_file(dir + "/stats.jsonl", parts[1]);
  if (parts.size() > 2) diffuse::fuzz::write_file(dir + "/checkpoint-0000000.safetensors", parts[2]);
  diffuse::fuzz::expect_clean("resume", [&] {
    auto trainer = diffuse::Trainer::resume(dir, host);
    trainer->run(1);
  });
  return 0;
}
