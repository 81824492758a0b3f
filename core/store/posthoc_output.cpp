#include "store/posthoc_output.h"

#include <fmt/format.h>

#include "io/safetensors.h"

namespace diffuse {

std::string posthoc_output_name(double sigma_rel, int64_t nimg) {
  return fmt::format("phema-{:.3f}-{:07d}.safetensors", sigma_rel, nimg / 1000);
}

void write_posthoc_output(const std::string& path, const NamedTensors& tensors, double sigma_rel, int64_t nimg,
                          double residual, const std::string& model_config_json) {
  write_safetensors(path, tensors,
                    {{"format", "diffuse-phema-1"},
                     {"sigma_rel", fmt::format("{:.17g}", sigma_rel)},
                     {"nimg", std::to_string(nimg)},
                     {"residual", fmt::format("{:.17g}", residual)},
                     {"model_config", model_config_json}});
}

}  // namespace diffuse
