#include "train/posthoc_reconstruct.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>
#include <tuple>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "config/model_config.h"
#include "ema/posthoc.h"
#include "io/safetensors.h"
#include "nn/model_plan.h"
#include "nn/precond.h"
#include "store/posthoc_output.h"
#include "store/tensor_table.h"
#include "util/error.h"

namespace diffuse {
namespace {

namespace fs = std::filesystem;

// The state-dict layout of the network a snapshot's model_config describes. Which tensors are buffers
// (copied, never averaged) is the network's knowledge, not the file's.
struct ModelLayout {
  std::vector<std::pair<std::string, std::vector<int64_t>>> tensors;  // state-dict order
  std::set<std::string> buffers;
};

ModelLayout model_layout(const SafetensorsFile& file) {
  const v1::ModelConfig config = snapshot_model_config(file);
  const ModelOptions options = to_model_options(config);
  // The parameters must be in the file before the network is built for its buffers.
  require_parameter_table(file, options, "", ErrorCode::kCorruptFile);
  const Precond net(options);
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

// The fewest evenly spaced snapshot times (2 to 64), each with every tracked profile, at which post-hoc
// EMA fits `sigma_rel` at `time` within `max_residual`; 0 if none does. Needs no tensors: the fit
// depends on the profiles alone.
int snapshot_times_needed(const std::vector<double>& tracked, double time, double sigma_rel, double max_residual) {
  for (int m = 2; m <= 64; ++m) {
    std::vector<EmaProfile> profiles;
    for (int k = 1; k <= m; ++k) {
      for (double s : tracked) profiles.push_back({time * k / m, s});
    }
    try {
      if (solve_posthoc(profiles, time, {sigma_rel}).residuals[0] <= max_residual) return m;
    } catch (const Error&) {
      // A singular system at this m: try more times.
    }
  }
  return 0;
}

}  // namespace

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
      std::set<double> tracked;
      for (const EmaSnapshot& s : inputs) tracked.insert(s.sigma_rel);
      const size_t have = std::set<int64_t>(times.begin(), times.upper_bound(target)).size();
      const int need = snapshot_times_needed({tracked.begin(), tracked.end()}, static_cast<double>(target),
                                             options.sigma_rels[j], options.max_residual);
      const std::string advice =
          need > 0 ? fmt::format("the run has snapshots at {} times up to then; {} evenly spaced times would fit it "
                                 "(ema.snapshot_images = duration_images / {})",
                                 have, need, need)
                   : std::string("more snapshot times would not fit it: track a sigma_rel near it (ema.sigma_rels)");
      fail(ErrorCode::kInvalidArgument,
           "post-hoc EMA: sigma_rel {} at {} images fits its profile with residual {:.3g}, above the limit {:.3g}: "
           "{}; --force (force=true) reconstructs it anyway",
           options.sigma_rels[j], target, solution.residuals[j], options.max_residual, advice);
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
    if (!names.insert(posthoc_output_name(out.sigma_rel, out.nimg)).second) {
      fail(ErrorCode::kInvalidArgument, "post-hoc EMA: two outputs would both be written as {}",
           posthoc_output_name(out.sigma_rel, out.nimg));
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
    const std::string model_config = snapshot_model_config_json(SafetensorsFile::open(latest->path));
    NamedTensors tensors;
    for (const auto& [name, t] : out.state) tensors.emplace_back(name, t.to(fp16 ? at::kHalf : at::kFloat));
    const std::string path = (fs::path(out_dir) / posthoc_output_name(out.sigma_rel, out.nimg)).string();
    write_posthoc_output(path, tensors, out.sigma_rel, out.nimg, out.residual, model_config);
    paths.push_back(path);
  }
  return paths;
}

}  // namespace diffuse
