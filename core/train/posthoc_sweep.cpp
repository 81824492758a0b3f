#include "train/posthoc_sweep.h"

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include <ATen/ATen.h>

#include "config/model_config.h"
#include "config/proto_format.h"
#include "config/train_config.h"
#include "nn/state_dict.h"
#include "store/run_directory.h"
#include "util/device.h"
#include "util/error.h"

namespace diffuse {

std::vector<PosthocSweepPoint> sweep_posthoc(const std::string& run_dir, const PosthocSweepOptions& options,
                                             const HostData& host) {
  const std::vector<double>& targets = options.posthoc.sigma_rels;
  if (targets.empty()) fail(ErrorCode::kInvalidArgument, "post-hoc sweep: no target sigma_rel");
  if (options.batch < 1) fail(ErrorCode::kInvalidArgument, "post-hoc sweep: batch {} is below 1", options.batch);
  const v1::TrainConfig config = resolve_train_config(RunDirectory::load_config(run_dir));
  const at::Device device = options.device.empty() ? open_device(config.run().device(), "TrainConfig.run.device")
                                                    : open_device(options.device, "post-hoc sweep device");
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
