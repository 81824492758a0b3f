#include "train/training_data.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include "data/data_loader.h"
#include "util/error.h"
#include "util/seed.h"

namespace diffuse {
namespace {

// The standard deviation latents are normalised to: EDM2's final_std, which its sigma_data 0.5 matches.
constexpr double kLatentStd = 0.5;

// A latent dataset's arrays (all of one shape, datasets check) against the model's input.
void check_latent_shape(const char* field, const Dataset& set, const v1::ModelConfig& model) {
  const at::Tensor first = set.get(0).image;
  const int64_t c = model.img_channels(), r = model.img_resolution();
  if (first.size(0) != 2 * c || first.size(1) != r || first.size(2) != r) {
    fail(ErrorCode::kInvalidConfig,
         "TrainConfig.{}: {} holds latents of [{}] but the model (img_channels {}, img_resolution {}) takes "
         "posteriors of [{}, {}, {}]: {} means, then {} standard deviations",
         field, set.describe(), fmt::join(first.sizes(), ", "), c, r, 2 * c, r, r, c, c);
  }
}

std::shared_ptr<const Dataset> open_source(const v1::DataSource& source, const std::string& field,
                                           const std::shared_ptr<const Dataset>& host) {
  switch (source.format()) {
    case v1::DataSource::IDX: return open_idx_dataset(source.path(), source.labels_path());
    case v1::DataSource::PNG_FOLDER: return open_png_dataset(source.path());
    case v1::DataSource::LATENT_FOLDER: return open_npy_dataset(source.path());
    case v1::DataSource::MEMORY:
      if (!host) fail(ErrorCode::kInvalidArgument, "TrainConfig.{}: format MEMORY but the host handed in no images", field);
      return host;
    default: fail(ErrorCode::kInvalidConfig, "TrainConfig.{}.format: unsupported", field);
  }
}

}  // namespace

TrainingData open_training_data(const v1::TrainConfig& config, const HostData& host) {
  const v1::DataConfig& data = config.data();
  const v1::ModelConfig& model = config.model();
  const bool latent = data.train().format() == v1::DataSource::LATENT_FOLDER;
  if (!latent && model.img_channels() != 1 && model.img_channels() != 3) {
    fail(ErrorCode::kInvalidConfig, "TrainConfig.model.img_channels: {} but image datasets give 1 (gray) or 3 (RGB)",
         model.img_channels());
  }
  TrainingData out;
  out.train = open_source(data.train(), "data.train", host.train);
  const int64_t holdout = config.run().validation_images();
  if (data.validation().format() != v1::DataSource::FORMAT_UNSPECIFIED) {
    out.validation = open_source(data.validation(), "data.validation", host.validation);
  } else {
    if (out.train->size() <= holdout) {
      fail(ErrorCode::kInvalidConfig,
           "TrainConfig.run.validation_images: {} held-out images leave none of the {} in {} for training", holdout,
           out.train->size(), out.train->describe());
    }
    out.validation = make_subset(out.train, out.train->size() - holdout, out.train->size());
    out.train = make_subset(out.train, 0, out.train->size() - holdout);
  }
  out.label_dim = data.use_labels() ? model.label_dim() : 0;
  for (const auto& [what, set] : {std::pair{"data.train", out.train}, {"data.validation", out.validation}}) {
    if (out.label_dim > 0 && set->num_classes() == 0) {
      fail(ErrorCode::kInvalidConfig, "TrainConfig.{}: {} has no labels but data.use_labels is true", what,
           set->describe());
    }
    if (out.label_dim > 0 && set->num_classes() > out.label_dim) {
      fail(ErrorCode::kInvalidConfig, "TrainConfig.model.label_dim: {} but {} has {} classes", out.label_dim,
           set->describe(), set->num_classes());
    }
  }
  if (latent) {
    out.latent = make_latent_transform(model.img_resolution(), {data.latent_mean().begin(), data.latent_mean().end()},
                                       {data.latent_std().begin(), data.latent_std().end()}, kLatentStd);
    for (const auto& [what, set] : {std::pair{"data.train", out.train}, {"data.validation", out.validation}}) {
      check_latent_shape(what, *set, model);
    }
    return out;
  }
  out.transform.resolution = model.img_resolution();
  out.transform.channels = model.img_channels();
  out.transform.mode = data.resize() == v1::DataConfig::CENTER_CROP ? ResizeMode::kCenterCrop
                       : data.resize() == v1::DataConfig::RESIZE   ? ResizeMode::kResize
                                                                   : ResizeMode::kPad;
  for (int i = 0; i < 3; ++i) out.transform.background[i] = static_cast<uint8_t>(data.background(i));
  return out;
}

at::Tensor TrainingData::input(const Example& example, uint64_t latent_seed) const {
  return latent ? transform_latent(example.image, *latent, /*flip=*/false, latent_seed)
                : transform_image(example.image, transform, /*flip=*/false);
}

std::unique_ptr<Validator> make_validator(const v1::TrainConfig& config, const TrainingData& data) {
  const int64_t count = std::min<int64_t>(config.run().validation_images(), data.validation->size());
  std::vector<at::Tensor> images, labels;
  // Each validation latent's one posterior sample, fixed for the run as the validation noise is.
  const uint64_t latent_seed = derive_seed(config.run().seed(), SeedPurpose::kValidation, 1);
  for (int64_t i = 0; i < count; ++i) {
    const Example ex = data.validation->get(i);
    images.push_back(data.input(ex, sampler_latent_seed(latent_seed, i)));
    if (data.label_dim > 0) {
      labels.push_back(at::one_hot(at::scalar_tensor(ex.label, at::kLong), data.label_dim).to(at::kFloat));
    }
  }
  return std::make_unique<Validator>(at::stack(images), data.label_dim > 0 ? at::stack(labels) : at::Tensor(),
                                     derive_seed(config.run().seed(), SeedPurpose::kValidation, 0),
                                     config.model().sigma_data());
}

}  // namespace diffuse
