#include "train/training_data.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "util/error.h"
#include "util/seed.h"

namespace diffuse {
namespace {

std::shared_ptr<const Dataset> open_source(const v1::DataSource& source, const std::string& field,
                                           const std::shared_ptr<const Dataset>& host) {
  switch (source.format()) {
    case v1::DataSource::IDX: return open_idx_dataset(source.path(), source.labels_path());
    case v1::DataSource::PNG_FOLDER: return open_png_dataset(source.path());
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
  if (model.img_channels() != 1 && model.img_channels() != 3) {
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
  out.transform.resolution = model.img_resolution();
  out.transform.channels = model.img_channels();
  out.transform.mode = data.resize() == v1::DataConfig::CENTER_CROP ? ResizeMode::kCenterCrop
                       : data.resize() == v1::DataConfig::RESIZE   ? ResizeMode::kResize
                                                                   : ResizeMode::kPad;
  for (int i = 0; i < 3; ++i) out.transform.background[i] = static_cast<uint8_t>(data.background(i));
  return out;
}

std::unique_ptr<Validator> make_validator(const v1::TrainConfig& config, const TrainingData& data) {
  const int64_t count = std::min<int64_t>(config.run().validation_images(), data.validation->size());
  std::vector<at::Tensor> images, labels;
  for (int64_t i = 0; i < count; ++i) {
    const Example ex = data.validation->get(i);
    images.push_back(transform_image(ex.image, data.transform, /*flip=*/false));
    if (data.label_dim > 0) {
      labels.push_back(at::one_hot(at::scalar_tensor(ex.label, at::kLong), data.label_dim).to(at::kFloat));
    }
  }
  return std::make_unique<Validator>(at::stack(images), data.label_dim > 0 ? at::stack(labels) : at::Tensor(),
                                     derive_seed(config.run().seed(), SeedPurpose::kValidation, 0),
                                     config.model().sigma_data());
}

}  // namespace diffuse
