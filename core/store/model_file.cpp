#include "store/model_file.h"

#include <map>

#include <fmt/ranges.h>

#include <ATen/ATen.h>

#include "config/model_config.h"
#include "config/proto_format.h"
#include "io/safetensors.h"
#include "nn/model_plan.h"
#include "nn/state_dict.h"
#include "store/checkpoint.h"
#include "util/error.h"

namespace diffuse {
namespace {

// The file's tensor table against the network that its config describes, before the network is
// built: a config that claims a huge network costs nothing when the file does not hold it.
void require_parameters(const SafetensorsFile& file, const ModelOptions& options, const std::string& path,
                        const std::string& prefix) {
  std::map<std::string, const SafetensorsEntry*> table;
  for (const SafetensorsEntry& e : file.entries()) table[e.name] = &e;
  for (const auto& [name, shape] : parameter_shapes(options)) {
    const auto found = table.find(prefix + name);
    if (found == table.end()) fail(ErrorCode::kInvalidArgument, "{}: missing tensor '{}'", path, prefix + name);
    if (found->second->shape != shape) {
      fail(ErrorCode::kInvalidArgument, "{}: tensor '{}' has shape [{}] but the model expects [{}]", path, prefix + name,
           fmt::join(found->second->shape, ", "), fmt::join(shape, ", "));
    }
  }
}

}  // namespace

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
  require_parameters(file, options, path, prefix);
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
