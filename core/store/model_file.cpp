#include "store/model_file.h"

#include <ATen/ATen.h>

#include "config/model_config.h"
#include "config/proto_format.h"
#include "io/safetensors.h"
#include "nn/model_plan.h"
#include "nn/state_dict.h"
#include "store/checkpoint.h"
#include "store/tensor_table.h"
#include "util/error.h"

namespace diffuse {
ModelFile load_model(const std::string& path, const v1::ModelConfig* config) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  v1::ModelConfig raw;
  std::string prefix;
  if (file.contains(std::string(kCheckpointNetPrefix) + "unet.out_gain")) prefix = kCheckpointNetPrefix;  // a training checkpoint
  const std::optional<v1::TrainConfig> train = prefix.empty() ? std::nullopt : checkpoint_config(file);
  if (config) {
    raw = *config;
  } else if (auto it = meta.find("model_config"); it != meta.end()) {
    parse_config(it->second.data(), it->second.size(), ConfigFormat::kJson, &raw);
  } else if (train) {
    raw = train->model();
  } else {
    fail(ErrorCode::kInvalidArgument, "{}: the file carries no model config; pass a ModelConfig", path);
  }
  ModelFile out;
  out.config = resolve_model_config(raw);
  const ModelOptions options = to_model_options(out.config);
  require_parameter_table(file, options, prefix, ErrorCode::kInvalidArgument);
  out.net = Precond(options);
  load_state_dict(*out.net, file.read_all(), path, prefix);
  out.net->eval();
  return out;
}

void save_model(Precond& net, const v1::ModelConfig& config, const std::string& path, bool fp16) {
  NamedTensors tensors;
  for (const auto& [name, t] : state_dict(*net)) tensors.emplace_back(name, fp16 ? t.to(at::kHalf) : t.to(at::kFloat));
  write_safetensors(path, tensors, {{"format", "diffuse-model-1"}, {"model_config", print_config(config, ConfigFormat::kJson)}});
}

}  // namespace diffuse
