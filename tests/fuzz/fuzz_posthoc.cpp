// Post-hoc EMA over a run's snapshots: the input is two EMA snapshots separated by kPartSeparator.
// Their metadata (σ_rel, time, model config) and tensor tables are checked before any network is
// built or tensor read; whatever passes is reconstructed and written.
#include <filesystem>

#include "fuzz_support.h"
#include "train/posthoc_reconstruct.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  diffuse::fuzz::quiet_library();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = diffuse::fuzz::fresh_scratch_dir("run");
  const auto parts = diffuse::fuzz::split_parts(data, size, 2);
  diffuse::fuzz::write_file(dir + "/ema-0.050-0000000.safetensors", parts[0]);
  if (parts.size() > 1) diffuse::fuzz::write_file(dir + "/ema-0.100-0000000.safetensors", parts[1]);
  diffuse::fuzz::expect_clean("posthoc", [&] {
    diffuse::PosthocOptions options;
    options.sigma_rels = {0.07};
    options.force = true;
    const auto outputs = diffuse::reconstruct_posthoc(dir, options);
    (void)diffuse::write_posthoc(dir, outputs, dir + "/out", /*fp16=*/true);
  });
  return 0;
}
