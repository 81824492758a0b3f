#include "store/model_file.h"

#include <filesystem>
#include <utility>

#include <ATen/ATen.h>

#include "config/model_config.h"
#include "config/proto_format.h"
#include "io/safetensors.h"
#include "nn/model_plan.h"
#include "nn/state_dict.h"
#include "log/log.h"
#include "store/checkpoint.h"
#include "store/run_directory.h"
#include "store/tensor_table.h"
#include "util/error.h"

namespace diffuse {
namespace {

// The run directory config beside `path` or one level up whose resolved model config is `model`.
std::optional<std::pair<v1::TrainConfig, std::string>> find_run_config(const std::string& path,
                                                                       const v1::ModelConfig& model) {
  namespace fs = std::filesystem;
  std::error_code ignored;
  const fs::path dir = fs::absolute(path, ignored).parent_path();
  for (const fs::path& run_dir : {dir, dir.parent_path()}) {
    if (!fs::is_regular_file(run_dir / "config.textproto", ignored)) continue;
    try {
      v1::TrainConfig run = RunDirectory::load_config(run_dir.string());
      if (resolve_model_config(run.model()).SerializeAsString() == model.SerializeAsString()) {
        return std::make_pair(std::move(run), (run_dir / "config.textproto").string());
      }
    } catch (const Error& e) {
      log_debug("{}: not the run of {}: {}", run_dir.string(), path, e.what());
    }
  }
  return std::nullopt;
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
  require_parameter_table(file, options, prefix, ErrorCode::kInvalidArgument);
  out.net = Precond(options);
  load_state_dict(*out.net, file.read_all(), path, prefix);
  out.net->eval();
  if (train) {
    out.training = *train;
    out.training_source = path;
  } else if (auto run = find_run_config(path, out.config)) {
    out.training = std::move(run->first);
    out.training_source = std::move(run->second);
  }
  return out;
}

void save_model(Precond& net, const v1::ModelConfig& config, const std::string& path, bool fp16) {
  NamedTensors tensors;
  for (const auto& [name, t] : state_dict(*net)) tensors.emplace_back(name, fp16 ? t.to(at::kHalf) : t.to(at::kFloat));
  write_safetensors(path, tensors, {{"format", "diffuse-model-1"}, {"model_config", print_config(config, ConfigFormat::kJson)}});
}

}  // namespace diffuse
