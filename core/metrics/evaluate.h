// A model's sample quality against real images, all metrics at once (EvalConfig in the schema).
#pragma once

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

// Checks and completes everything but the files. Throws Error(kInvalidConfig) naming the field.
EvalSettings resolve_eval_config(const v1::EvalConfig& config);

// Throws Error(kInvalidConfig) naming the EvalConfig field, Error(kIo)/Error(kCorruptFile) for the
// reference data or the classifier file, Error(kInvalidArgument) when the classifier's channels or the
// reference images do not fit the model.
// With `world`, the samples are generated over its ranks (sample_images_over_ranks): every rank calls
// it with the same arguments and gets the same result.
EvalResult evaluate_model(Precond& net, const v1::ModelConfig& model, const v1::EvalConfig& config,
                          Communicator* world = nullptr);

}  // namespace diffuse
