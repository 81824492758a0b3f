#include "metrics/evaluate.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

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
#include "log/log.h"
#include "util/error.h"

namespace diffuse {
namespace {

[[noreturn]] void reject(const std::string& field, const std::string& why) {
  fail(ErrorCode::kInvalidConfig, "EvalConfig.{}: {}", field, why);
}

std::shared_ptr<Dataset> open_reference(const v1::EvalConfig& config) {
  const v1::DataSource& source = config.reference();
  if (source.path().empty()) reject("reference.path", "required");
  const std::string labels = source.labels_path().empty() ? std::string() : eval_path(config, source.labels_path());
  switch (source.format()) {
    case v1::DataSource::IDX: return open_idx_dataset(eval_path(config, source.path()), labels);
    case v1::DataSource::PNG_FOLDER: return open_png_dataset(eval_path(config, source.path()));
    default: reject("reference.format", "must be IDX or PNG_FOLDER");
  }
}

const char* resize_name(v1::DataConfig::Resize resize) {
  return resize == v1::DataConfig::RESIZE_UNSPECIFIED ? "PAD" : v1::DataConfig::Resize_Name(resize).c_str();
}

// The resize to evaluate with: the config's, else the training's, else PAD; says when the choice
// may make the numbers incomparable.
v1::DataConfig::Resize choose_resize(const v1::EvalConfig& config, const EvalContext& context,
                                     const at::Tensor& first_image, int64_t resolution) {
  const auto same = [](v1::DataConfig::Resize a, v1::DataConfig::Resize b) {
    const auto pad = [](v1::DataConfig::Resize r) { return r == v1::DataConfig::RESIZE_UNSPECIFIED ? v1::DataConfig::PAD : r; };
    return pad(a) == pad(b);
  };
  const bool other_size = first_image.size(1) != resolution || first_image.size(2) != resolution;
  if (config.has_resize()) {
    if (context.trained_resize && other_size && !same(config.resize(), *context.trained_resize)) {
      log_warn("EvalConfig.resize {} differs from the {} the model was trained with ({}): the {}x{} reference "
               "images are not prepared as the training images were, so FD_cls is not comparable with an "
               "evaluation at the training's resize",
               resize_name(config.resize()), resize_name(*context.trained_resize), context.trained_resize_source,
               first_image.size(2), first_image.size(1));
    }
    return config.resize();
  }
  if (context.trained_resize) {
    if (other_size) {
      log_info("evaluate: reference images {}x{} -> {}x{} with the training's resize {} ({})", first_image.size(2),
               first_image.size(1), resolution, resolution, resize_name(*context.trained_resize),
               context.trained_resize_source);
    }
    return *context.trained_resize;
  }
  if (other_size) {
    log_warn("EvalConfig.resize is unset and the model's training run was not found: the {}x{} reference images "
             "are PADded to {}x{}; set resize to the training's data.resize, since FD_cls depends on it",
             first_image.size(2), first_image.size(1), resolution, resolution);
  }
  return v1::DataConfig::PAD;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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

std::string eval_path(const v1::EvalConfig& config, const std::string& name) {
  if (config.base_dir().empty() || name.empty() || name.front() == '/') return name;
  return (std::filesystem::path(config.base_dir()) / name).string();
}

std::string find_classifier(const v1::EvalConfig& config, const std::vector<std::string>& data_dirs) {
  const std::string& name = config.classifier();
  std::vector<std::string> tried{eval_path(config, name)};
  if (name.front() != '/') {
    for (const std::string& dir : data_dirs) tried.push_back((std::filesystem::path(dir) / name).string());
  }
  std::error_code ignored;
  for (const std::string& path : tried) {
    if (std::filesystem::is_regular_file(path, ignored)) return path;
  }
  fail(ErrorCode::kNotFound, "EvalConfig.classifier: {} not found (looked for {})", name, fmt::join(tried, ", "));
}

EvalResult evaluate_model(Precond& net, const v1::ModelConfig& model, const v1::EvalConfig& config,
                          Communicator* world, const EvalContext& context) {
  const EvalSettings settings = resolve_eval_config(config);
  const int64_t n = settings.num_images;
  const int64_t k = settings.k;
  const SamplerOptions& sampler = settings.sampler;

  const auto start = std::chrono::steady_clock::now();
  const std::string classifier_path = find_classifier(config, context.data_dirs);
  const auto reference = open_reference(config);
  if (reference->size() < n) {
    reject("num_images", std::to_string(n) + " exceeds the " + std::to_string(reference->size()) + " reference images");
  }
  ImageTransform transform;
  transform.resolution = model.img_resolution();
  transform.channels = model.img_channels();
  transform.mode = resize_mode(choose_resize(config, context, reference->get(0).image, model.img_resolution()));
  std::vector<at::Tensor> real_images;
  std::vector<int64_t> real_labels;
  for (int64_t i = 0; i < n; ++i) {
    const Example e = reference->get(i);
    real_images.push_back(transform_image(e.image, transform, false));
    real_labels.push_back(e.label);
  }
  const at::Tensor real = at::stack(real_images);

  FeatureClassifier classifier = load_feature_classifier(classifier_path);
  if (classifier->channels() != model.img_channels()) {
    fail(ErrorCode::kInvalidArgument, "{}: the classifier reads {}-channel images, the model makes {}",
         classifier_path, classifier->channels(), model.img_channels());
  }
  log_info("evaluate: {} reference images from {}, classifier {}", n, reference->describe(), classifier_path);

  std::vector<uint64_t> seeds(static_cast<size_t>(n));
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    seeds[static_cast<size_t>(i)] = config.seed() + static_cast<uint64_t>(i);
    if (model.label_dim() > 0) labels.push_back(i % model.label_dim());
  }
  // In about ten parts, each logged: an image depends only on its seed and label, not on the batch.
  const int64_t part = std::max<int64_t>(sampler.batch_size, (n / 10 + sampler.batch_size - 1) / sampler.batch_size * sampler.batch_size);
  std::vector<at::Tensor> parts;
  const auto sampling = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < n; first += part) {
    const int64_t last = std::min(n, first + part);
    const std::vector<uint64_t> part_seeds(seeds.begin() + first, seeds.begin() + last);
    const std::vector<int64_t> part_labels =
        labels.empty() ? std::vector<int64_t>() : std::vector<int64_t>(labels.begin() + first, labels.begin() + last);
    parts.push_back(sample_images_over_ranks(net, nullptr, part_seeds, part_labels, sampler, world));
    const double elapsed = seconds_since(sampling);
    log_info("evaluate: sampled {}/{} images, {:.0f} s, about {:.0f} s to go", last, n, elapsed,
             elapsed / static_cast<double>(last) * static_cast<double>(n - last));
  }
  const at::Tensor generated = at::cat(parts);
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
  log_info("evaluate: done in {:.0f} s", seconds_since(start));
  return result;
}

}  // namespace diffuse
