// A model's sample quality against real images, all metrics at once (EvalConfig in the schema).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "diffuse.pb.h"
#include "dist/communicator.h"
#include "nn/precond.h"
#include "sample/sampler.h"

namespace diffuse {

struct EvalResult {
  int64_t num_images = 0;
  double fd_cls = 0;           // Fréchet distance in classifier features
  double kid_cls = 0;          // kernel distance (unbiased MMD², cubic kernel) in classifier features
  double precision = 0;        // k-NN manifold precision of the generated images
  double recall = 0;           // and recall of the real ones
  double swd = 0;              // sliced Wasserstein distance of 7×7 patches (×10³)
  double validation_loss = 0;  // mean over σ of the fixed-σ validation loss on the real images
};

// The settings of an EvalConfig that need no file, with their defaults.
struct EvalSettings {
  int64_t num_images = 1000;
  int64_t k = 3;  // neighbours of precision and recall
  SamplerOptions sampler;
};

// What the caller knows beyond the EvalConfig.
struct EvalContext {
  // Where a relative classifier is looked for after EvalConfig.base_dir, in order.
  std::vector<std::string> data_dirs;
  // data.resize of the model's training run, when its config was found, and the file that said so.
  std::optional<v1::DataConfig::Resize> trained_resize;
  std::string trained_resize_source;
};

// Checks and completes everything but the files. Throws Error(kInvalidConfig) naming the field.
EvalSettings resolve_eval_config(const v1::EvalConfig& config);

// Throws Error(kInvalidConfig) naming the EvalConfig field, Error(kIo)/Error(kCorruptFile) for the
// reference data or the classifier file, Error(kNotFound) for a classifier found nowhere (naming every
// place looked in), Error(kInvalidArgument) when the classifier's channels or the reference images do
// not fit the model. Logs its progress (info) and a resize that differs from the training's (warn).
// With `world`, the samples are generated over its ranks (sample_images_over_ranks): every rank calls
// it with the same arguments and gets the same result.
EvalResult evaluate_model(Precond& net, const v1::ModelConfig& model, const v1::EvalConfig& config,
                          Communicator* world = nullptr, const EvalContext& context = {});

// The path a relative `name` of an EvalConfig means: base_dir/name (name itself without base_dir).
std::string eval_path(const v1::EvalConfig& config, const std::string& name);

// The classifier file of `config`: an absolute name as it is; a relative one under base_dir, then in
// each of `data_dirs`. Throws Error(kNotFound) listing every place looked in.
std::string find_classifier(const v1::EvalConfig& config, const std::vector<std::string>& data_dirs);

}  // namespace diffuse
