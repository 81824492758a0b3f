#include "metrics/evaluate.h"

#include <algorithm>
#include <vector>

#include <ATen/ATen.h>

#include "sample/sampler_config.h"
#include "data/dataset.h"
#include "data/image_transform.h"
#include "metrics/feature_classifier.h"
#include "metrics/feature_distances.h"
#include "metrics/sliced_wasserstein.h"
#include "sample/distributed_sampling.h"
#include "sample/sampler.h"
#include "metrics/validation_loss.h"
#include "util/error.h"

namespace diffuse {
namespace {

[[noreturn]] void reject(const std::string& field, const std::string& why) {
  fail(ErrorCode::kInvalidConfig, "EvalConfig.{}: {}", field, why);
}

std::shared_ptr<Dataset> open_reference(const v1::DataSource& source) {
  if (source.path().empty()) reject("reference.path", "required");
  switch (source.format()) {
    case v1::DataSource::IDX: return open_idx_dataset(source.path(), source.labels_path());
    case v1::DataSource::PNG_FOLDER: return open_png_folder(source.path());
    default: reject("reference.format", "must be IDX or PNG_FOLDER");
  }
}

ResizeMode resize_mode(v1::DataConfig::Resize resize) {
  switch (resize) {
    case v1::DataConfig::CENTER_CROP: return ResizeMode::kCenterCrop;
    case v1::DataConfig::RESIZE: return ResizeMode::kResize;
    default: return ResizeMode::kPad;
  }
}

}  // namespace

EvalSettings resolve_eval_config(const v1::EvalConfig& config) {
  if (config.classifier().empty()) reject("classifier", "required (a file written by train_feature_classifier)");
  EvalSettings out;
  if (config.has_num_images()) out.num_images = config.num_images();
  if (out.num_images < 10) reject("num_images", std::to_string(out.num_images) + " < 10");
  if (config.has_k()) out.k = config.k();
  if (out.k < 1 || out.k >= out.num_images) reject("k", std::to_string(out.k) + " is not in [1, num_images)");
  out.sampler = resolve_sampler_config(config.sampler());
  if (out.sampler.guidance != 1) reject("sampler.guidance", "must be 1 (evaluation samples without a guide)");
  return out;
}

EvalResult evaluate_model(Precond& net, const v1::ModelConfig& model, const v1::EvalConfig& config,
                          Communicator* world) {
  const EvalSettings settings = resolve_eval_config(config);
  const int64_t n = settings.num_images;
  const int64_t k = settings.k;
  const SamplerOptions& sampler = settings.sampler;

  const auto reference = open_reference(config.reference());
  if (reference->size() < n) {
    reject("num_images", std::to_string(n) + " exceeds the " + std::to_string(reference->size()) + " reference images");
  }
  ImageTransform transform;
  transform.resolution = model.img_resolution();
  transform.channels = model.img_channels();
  transform.mode = resize_mode(config.resize());
  std::vector<at::Tensor> real_images;
  std::vector<int64_t> real_labels;
  for (int64_t i = 0; i < n; ++i) {
    const Example e = reference->get(i);
    real_images.push_back(transform_image(e.image, transform, false));
    real_labels.push_back(e.label);
  }
  const at::Tensor real = at::stack(real_images);

  FeatureClassifier classifier = load_feature_classifier(config.classifier());
  if (classifier->channels() != model.img_channels()) {
    fail(ErrorCode::kInvalidArgument, "{}: the classifier reads {}-channel images, the model makes {}",
         config.classifier(), classifier->channels(), model.img_channels());
  }

  std::vector<uint64_t> seeds(static_cast<size_t>(n));
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    seeds[static_cast<size_t>(i)] = config.seed() + static_cast<uint64_t>(i);
    if (model.label_dim() > 0) labels.push_back(i % model.label_dim());
  }
  const at::Tensor generated = sample_images_over_ranks(net, nullptr, seeds, labels, sampler, world);
  // Quantised like any saved sample, so the metrics see what a user sees.
  const at::Tensor generated_pixels = images_to_uint8(generated).to(at::kFloat).sub(128).div(127.5);

  const at::Tensor real_features = classifier_features(classifier, real);
  const at::Tensor fake_features = classifier_features(classifier, generated_pixels);
  EvalResult result;
  result.num_images = n;
  result.fd_cls = frechet_distance(fit_gaussian(real_features), fit_gaussian(fake_features));
  result.kid_cls = kernel_distance(real_features, fake_features, 10, std::min<int64_t>(n, 1000), config.seed());
  const PrecisionRecall pr = precision_recall(real_features, fake_features, k);
  result.precision = pr.precision;
  result.recall = pr.recall;
  SlicedWassersteinOptions swd;
  swd.patch_size = std::min<int64_t>(7, model.img_resolution());
  swd.seed = config.seed();
  result.swd = sliced_wasserstein(real, generated_pixels, swd);

  at::Tensor one_hot;
  if (model.label_dim() > 0 && std::all_of(real_labels.begin(), real_labels.end(), [&](int64_t l) {
        return l >= 0 && l < model.label_dim();
      })) {
    one_hot = one_hot_labels(real_labels, model.label_dim());
  }
  const Validator validator(real, one_hot, config.seed(), model.sigma_data());
  result.validation_loss = validator.evaluate(net, 64).mean;
  return result;
}

}  // namespace diffuse
