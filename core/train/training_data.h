// The datasets a TrainConfig names, opened and checked against the model: training images (or
// latents), held-out validation ones, and the transform that turns both into network inputs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "data/dataset.h"
#include "data/image_transform.h"
#include "data/latent_transform.h"
#include "diffuse.pb.h"
#include "metrics/validation_loss.h"

namespace diffuse {

// Data handed in by a host instead of files (DataSource.format = MEMORY).
struct HostData {
  std::shared_ptr<const Dataset> train;
  std::shared_ptr<const Dataset> validation;  // optional
};

struct TrainingData {
  std::shared_ptr<const Dataset> train;
  std::shared_ptr<const Dataset> validation;
  ImageTransform transform;             // images
  std::optional<LatentTransform> latent;  // set for latent data (LATENT_FOLDER), instead of `transform`
  int64_t label_dim = 0;  // one-hot width fed to the network; 0 = unconditional

  // An example as the network takes it, unflipped; a latent's posterior sample drawn from `latent_seed`.
  at::Tensor input(const Example& example, uint64_t latent_seed) const;
};

// Opens data.train and data.validation (or holds out the last run.validation_images training
// images). Throws Error(kInvalidConfig) naming the field when labels or classes do not fit the model.
TrainingData open_training_data(const v1::TrainConfig& resolved, const HostData& host);

// The run's validator: the first run.validation_images validation images, decoded once, with fixed
// noise derived from run.seed. Every evaluation of every network of the run uses the same inputs.
std::unique_ptr<Validator> make_validator(const v1::TrainConfig& resolved, const TrainingData& data);

}  // namespace diffuse
