#include "ema/posthoc_sweep.h"

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include "config/model_config.h"
#include "config/proto_format.h"
#include "config/train_config.h"
#include "io/atomic_file.h"
#include "nn/state_dict.h"
#include "util/cuda_math.h"
#include "util/error.h"

namespace diffuse {
namespace {

// The run's resolved config, pointed at `run_dir` wherever the run was trained.
v1::TrainConfig load_run_config(const std::string& run_dir) {
  const std::string path = (std::filesystem::path(run_dir) / "config.textproto").string();
  const std::string text = read_file(path);
  v1::TrainConfig config;
  try {
    parse_config(text.data(), text.size(), ConfigFormat::kText, &config);
  } catch (const Error& e) {
    fail(ErrorCode::kCorruptFile, "{}: {}", path, e.what());
  }
  config.mutable_run()->set_output_dir(run_dir);
  return resolve_train_config(config);
}

at::Device resolve_device(const std::string& name) {
  std::optional<at::Device> device;
  try {
    device.emplace(name);
  } catch (const c10::Error&) {
    fail(ErrorCode::kInvalidArgument, "post-hoc sweep: device \"{}\" is not cpu, cuda or cuda:N", name);
  }
  if (device->is_cuda()) {
    const int64_t index = device->has_index() ? device->index() : 0;
    if (index >= static_cast<int64_t>(torch::cuda::device_count())) {
      fail(ErrorCode::kDeviceUnavailable, "post-hoc sweep: device \"{}\" requested but {} CUDA device(s) are available",
           name, torch::cuda::device_count());
    }
    use_reference_cuda_math();
  }
  return *device;
}

}  // namespace

std::vector<PosthocSweepPoint> sweep_posthoc(const std::string& run_dir, const PosthocSweepOptions& options,
                                             const HostData& host) {
  const std::vector<double>& targets = options.posthoc.sigma_rels;
  if (targets.empty()) fail(ErrorCode::kInvalidArgument, "post-hoc sweep: no target sigma_rel");
  if (options.batch < 1) fail(ErrorCode::kInvalidArgument, "post-hoc sweep: batch {} is below 1", options.batch);
  const v1::TrainConfig config = load_run_config(run_dir);
  const at::Device device = resolve_device(options.device.empty() ? config.run().device() : options.device);
  const std::unique_ptr<Validator> validator = make_validator(config, open_training_data(config, host));
  Precond net(to_model_options(config.model()));
  net->to(device);

  std::vector<PosthocSweepPoint> points;
  const size_t batch = static_cast<size_t>(options.batch);
  for (size_t begin = 0; begin < targets.size(); begin += batch) {
    PosthocOptions part = options.posthoc;
    const size_t end = std::min(targets.size(), begin + batch);
    part.sigma_rels.assign(targets.begin() + static_cast<std::ptrdiff_t>(begin),
                           targets.begin() + static_cast<std::ptrdiff_t>(end));
    for (const PosthocOutput& out : reconstruct_posthoc(run_dir, part)) {
      const std::map<std::string, at::Tensor> state(out.state.begin(), out.state.end());
      load_state_dict(*net, state, fmt::format("post-hoc EMA sigma_rel {} at {} images", out.sigma_rel, out.nimg));
      const ValidationResult validation = validator->evaluate(net, config.run().batch_per_step());
      points.push_back({out.sigma_rel, out.nimg, out.residual, validation});
    }
  }
  return points;
}

}  // namespace diffuse
