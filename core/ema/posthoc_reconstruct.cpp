#include "ema/posthoc_reconstruct.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>
#include <tuple>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "config/model_config.h"
#include "config/proto_format.h"
#include "ema/posthoc.h"
#include "ema/power_function.h"
#include "io/safetensors.h"
#include "nn/precond.h"
#include "util/error.h"

namespace diffuse {
namespace {

namespace fs = std::filesystem;

constexpr char kEmaFormat[] = "diffuse-ema-1";
constexpr char kPosthocFormat[] = "diffuse-phema-1";

bool is_snapshot_name(const std::string& name) {
  const std::string prefix = "ema-", suffix = ".safetensors";
  return name.size() > prefix.size() + suffix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const std::string& metadata_field(const SafetensorsFile& file, const std::string& key) {
  auto it = file.metadata().find(key);
  if (it == file.metadata().end()) {
    fail(ErrorCode::kCorruptFile, "{}: EMA snapshot metadata has no '{}'", file.path(), key);
  }
  return it->second;
}

template <typename T>
T parse_number(const SafetensorsFile& file, const std::string& key) {
  const std::string& text = metadata_field(file, key);
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    fail(ErrorCode::kCorruptFile, "{}: EMA snapshot metadata '{}' is not a number: \"{}\"", file.path(), key, text);
  }
  return value;
}

EmaSnapshot read_snapshot_info(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  if (metadata_field(file, "format") != kEmaFormat) {
    fail(ErrorCode::kCorruptFile, "{}: metadata format is \"{}\", not {}", path, metadata_field(file, "format"),
         kEmaFormat);
  }
  metadata_field(file, "model_config");  // reconstruction builds the network from it
  EmaSnapshot snapshot{path, parse_number<double>(file, "sigma_rel"), parse_number<int64_t>(file, "nimg")};
  try {
    power_function_gamma(snapshot.sigma_rel);
  } catch (const Error& e) {
    fail(ErrorCode::kCorruptFile, "{}: metadata sigma_rel: {}", path, e.what());
  }
  if (snapshot.nimg <= 0) fail(ErrorCode::kCorruptFile, "{}: metadata nimg {} is not positive", path, snapshot.nimg);
  return snapshot;
}

// The state-dict layout of the network a snapshot's model_config describes. Which tensors are buffers
// (copied, never averaged) is the network's knowledge, not the file's.
struct ModelLayout {
  std::vector<std::pair<std::string, std::vector<int64_t>>> tensors;  // state-dict order
  std::set<std::string> buffers;
};

ModelLayout model_layout(const SafetensorsFile& file) {
  const std::string json = metadata_field(file, "model_config");
  v1::ModelConfig config;
  try {
    parse_config(json.data(), json.size(), ConfigFormat::kJson, &config);
    config = resolve_model_config(config);
  } catch (const Error& e) {
    fail(ErrorCode::kCorruptFile, "{}: metadata model_config: {}", file.path(), e.what());
  }
  const Precond net(to_model_options(config));
  ModelLayout layout;
  for (const auto& [name, tensor] : state_dict(*net)) layout.tensors.emplace_back(name, tensor.sizes().vec());
  for (const auto& item : net->named_buffers(/*recurse=*/true)) layout.buffers.insert(item.key());
  return layout;
}


// Every snapshot combined must hold exactly the model's tensors, with its shapes, in a float dtype.
void check_layout(const SafetensorsFile& file, const ModelLayout& layout) {
  std::map<std::string, const SafetensorsEntry*> entries;
  for (const SafetensorsEntry& e : file.entries()) entries[e.name] = &e;
  for (const auto& [name, shape] : layout.tensors) {
    auto it = entries.find(name);
    if (it == entries.end()) fail(ErrorCode::kCorruptFile, "{}: missing tensor '{}'", file.path(), name);
    const SafetensorsEntry& e = *it->second;
    if (e.shape != shape) {
      fail(ErrorCode::kCorruptFile, "{}: tensor '{}' has shape {} but the model has {}", file.path(), name,
           shape_string(e.shape), shape_string(shape));
    }
    if (e.dtype != "F32" && e.dtype != "F16" && e.dtype != "BF16" && e.dtype != "F64") {
      fail(ErrorCode::kCorruptFile, "{}: tensor '{}' has non-float dtype {}", file.path(), name, e.dtype);
    }
    entries.erase(it);
  }
  if (!entries.empty()) {
    fail(ErrorCode::kCorruptFile, "{}: tensor '{}' is not part of the model", file.path(), entries.begin()->first);
  }
}

std::string phema_name(double sigma_rel, int64_t nimg) {
  return fmt::format("phema-{:.3f}-{:07d}.safetensors", sigma_rel, nimg / 1000);
}

}  // namespace

std::vector<EmaSnapshot> list_ema_snapshots(const std::string& run_dir) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) fail(ErrorCode::kNotFound, "{}: no such directory", run_dir);
  std::vector<EmaSnapshot> snapshots;
  fs::directory_iterator it(run_dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec) && is_snapshot_name(it->path().filename().string())) {
      snapshots.push_back(read_snapshot_info(it->path().string()));
    }
  }
  if (ec) fail(ErrorCode::kIo, "{}: cannot list the directory: {}", run_dir, ec.message());
  if (snapshots.empty()) fail(ErrorCode::kNotFound, "{}: no EMA snapshots (ema-*.safetensors)", run_dir);
  std::sort(snapshots.begin(), snapshots.end(), [](const EmaSnapshot& a, const EmaSnapshot& b) {
    return std::tie(a.nimg, a.sigma_rel, a.path) < std::tie(b.nimg, b.sigma_rel, b.path);
  });
  return snapshots;
}

std::vector<PosthocOutput> reconstruct_posthoc(const std::string& run_dir, const PosthocOptions& options) {
  if (options.sigma_rels.empty()) fail(ErrorCode::kInvalidArgument, "post-hoc EMA: no target sigma_rel");
  const std::vector<EmaSnapshot> snapshots = list_ema_snapshots(run_dir);
  const int64_t target = options.nimg < 0 ? snapshots.back().nimg : options.nimg;

  std::vector<EmaSnapshot> inputs;
  std::set<int64_t> times;
  for (const EmaSnapshot& s : snapshots) {
    times.insert(s.nimg);
    if (s.nimg <= target) inputs.push_back(s);
  }
  if (!times.count(target)) {
    fail(ErrorCode::kInvalidArgument, "post-hoc EMA: {} images is not a snapshot time in {}; available: {}", target,
         run_dir, fmt::join(times, ", "));
  }
  for (size_t i = 1; i < inputs.size(); ++i) {
    if (inputs[i].nimg == inputs[i - 1].nimg && inputs[i].sigma_rel == inputs[i - 1].sigma_rel) {
      fail(ErrorCode::kInvalidArgument, "post-hoc EMA: {} and {} hold the same profile (sigma_rel {}, {} images)",
           inputs[i - 1].path, inputs[i].path, inputs[i].sigma_rel, inputs[i].nimg);
    }
  }

  std::vector<EmaProfile> profiles;
  for (const EmaSnapshot& s : inputs) profiles.push_back({static_cast<double>(s.nimg), s.sigma_rel});
  const PosthocSolution solution = solve_posthoc(profiles, static_cast<double>(target), options.sigma_rels);
  for (size_t j = 0; j < options.sigma_rels.size(); ++j) {
    if (!options.force && !(solution.residuals[j] <= options.max_residual)) {
      fail(ErrorCode::kInvalidArgument,
           "post-hoc EMA: sigma_rel {} at {} images fits its profile with residual {:.3g}, above the limit {:.3g}; "
           "--force (force=true) reconstructs it anyway",
           options.sigma_rels[j], target, solution.residuals[j], options.max_residual);
    }
  }

  // Every header is checked before any tensor data is read.
  std::vector<SafetensorsFile> files;
  for (const EmaSnapshot& s : inputs) files.push_back(SafetensorsFile::open(s.path));
  const ModelLayout layout = model_layout(files.back());
  for (const SafetensorsFile& file : files) check_layout(file, layout);

  std::vector<PosthocOutput> outputs(options.sigma_rels.size());
  for (size_t j = 0; j < outputs.size(); ++j) {
    PosthocOutput& out = outputs[j];
    out.sigma_rel = options.sigma_rels[j];
    out.nimg = target;
    out.residual = solution.residuals[j];
    out.inputs = inputs;
    for (size_t i = 0; i < inputs.size(); ++i) out.coefficients.push_back(solution.coefficients[i][j]);
    // Buffers stay undefined until the last input is read.
    for (const auto& [name, shape] : layout.tensors) {
      out.state.emplace_back(name, layout.buffers.count(name) ? at::Tensor() : at::zeros(shape, at::kFloat));
    }
  }

  // θ_j = Σ_i x_ij·θ_i in fp32, one snapshot in memory at a time. Buffers are not averaged during
  // training either: the latest input holds the network's values.
  for (size_t i = 0; i < files.size(); ++i) {
    const std::map<std::string, at::Tensor> tensors = files[i].read_all();
    for (PosthocOutput& out : outputs) {
      for (auto& [name, tensor] : out.state) {
        if (!layout.buffers.count(name)) {
          tensor.add_(tensors.at(name).to(at::kFloat), out.coefficients[i]);
        } else if (i + 1 == files.size()) {
          tensor = tensors.at(name).to(at::kFloat).clone();
        }
      }
    }
  }
  return outputs;
}

std::vector<std::string> write_posthoc(const std::string& run_dir, const std::vector<PosthocOutput>& outputs,
                                       const std::string& out_dir, bool fp16) {
  const std::vector<EmaSnapshot> snapshots = list_ema_snapshots(run_dir);
  std::set<std::string> names;
  for (const PosthocOutput& out : outputs) {
    if (!names.insert(phema_name(out.sigma_rel, out.nimg)).second) {
      fail(ErrorCode::kInvalidArgument, "post-hoc EMA: two outputs would both be written as {}",
           phema_name(out.sigma_rel, out.nimg));
    }
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) fail(ErrorCode::kIo, "{}: cannot create the directory: {}", out_dir, ec.message());

  std::vector<std::string> paths;
  for (const PosthocOutput& out : outputs) {
    // The latest snapshot at the output's time: the one reconstruct_posthoc took the buffers from.
    auto latest = std::find_if(snapshots.rbegin(), snapshots.rend(),
                               [&](const EmaSnapshot& s) { return s.nimg == out.nimg; });
    if (latest == snapshots.rend()) {
      fail(ErrorCode::kInvalidArgument, "post-hoc EMA: {} has no snapshot at {} images", run_dir, out.nimg);
    }
    const std::string model_config = metadata_field(SafetensorsFile::open(latest->path), "model_config");
    NamedTensors tensors;
    for (const auto& [name, t] : out.state) tensors.emplace_back(name, t.to(fp16 ? at::kHalf : at::kFloat));
    const std::string path = (fs::path(out_dir) / phema_name(out.sigma_rel, out.nimg)).string();
    write_safetensors(path, tensors,
                      {{"format", kPosthocFormat},
                       {"sigma_rel", fmt::format("{:.17g}", out.sigma_rel)},
                       {"nimg", std::to_string(out.nimg)},
                       {"residual", fmt::format("{:.17g}", out.residual)},
                       {"model_config", model_config}});
    paths.push_back(path);
  }
  return paths;
}

}  // namespace diffuse
