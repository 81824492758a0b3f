#include "metrics/consistency.h"

#include <algorithm>

#include <ATen/ATen.h>

#include "util/error.h"

namespace diffuse {
namespace {

// Sums over batches from which a Similarity is formed, in float64.
class SimilaritySums {
 public:
  void add(const at::Tensor& a, const at::Tensor& b) {
    const at::Tensor x = a.to(at::kCPU, at::kDouble).flatten(1);
    const at::Tensor y = b.to(at::kCPU, at::kDouble).flatten(1);
    squared_difference_ += (x - y).square().sum().item<double>();
    sum_ += x.sum().item<double>() + y.sum().item<double>();
    sum_of_squares_ += x.square().sum().item<double>() + y.square().sum().item<double>();
    cosine_sum_ += at::cosine_similarity(x, y, 1).sum().item<double>();
    elements_ += x.numel();
    images_ += x.size(0);
  }

  Similarity result() const {
    const double e = static_cast<double>(elements_);
    const double mean = sum_ / (2 * e);
    const double pooled_variance = sum_of_squares_ / (2 * e) - mean * mean;
    return {squared_difference_ / e / pooled_variance, cosine_sum_ / static_cast<double>(images_)};
  }

 private:
  double squared_difference_ = 0, sum_ = 0, sum_of_squares_ = 0, cosine_sum_ = 0;
  int64_t elements_ = 0, images_ = 0;
};

}  // namespace

ConsistencyResult measure_consistency(Precond& a, Precond& b, const std::vector<uint64_t>& seeds,
                                      const std::vector<int64_t>& labels, const SamplerOptions& options) {
  validate_sampler_options(options, nullptr);  // no guide: guidance must be 1
  const ModelOptions& ma = a->options();
  const ModelOptions& mb = b->options();
  if (ma.img_channels != mb.img_channels || ma.img_resolution != mb.img_resolution || ma.label_dim != mb.label_dim) {
    fail(ErrorCode::kInvalidArgument,
         "measure_consistency: the networks differ in image shape or labels ({}×{}² / {} labels vs {}×{}² / {})",
         ma.img_channels, ma.img_resolution, ma.label_dim, mb.img_channels, mb.img_resolution, mb.label_dim);
  }
  if (seeds.empty()) fail(ErrorCode::kInvalidArgument, "measure_consistency: no seeds");
  if (!labels.empty() && labels.size() != seeds.size()) {
    fail(ErrorCode::kInvalidArgument, "measure_consistency: {} labels for {} seeds", labels.size(), seeds.size());
  }
  const at::Tensor class_labels = labels.empty() ? at::Tensor() : one_hot_labels(labels, ma.label_dim);

  // Same noise for both models, drawn as sample_images draws it; b's streams skip the same noise so
  // that the churn noise of both models matches too.
  const std::vector<int64_t> image_shape{ma.img_channels, ma.img_resolution, ma.img_resolution};
  SeedGenerators streams_a(seeds), streams_b(seeds);
  const at::Tensor noise = streams_a.randn(image_shape);
  streams_b.randn(image_shape);

  ConsistencyResult result;
  const std::vector<double> sigmas = sigma_steps(options);
  result.sigmas.assign(sigmas.begin(), sigmas.end() - 1);
  std::vector<SimilaritySums> step_sums(static_cast<size_t>(options.num_steps));
  SimilaritySums image_sums;
  std::vector<at::Tensor> images_a, images_b;

  const int64_t n = noise.size(0);
  for (int64_t begin = 0; begin < n; begin += options.batch_size) {
    const int64_t count = std::min(options.batch_size, n - begin);
    const at::Tensor batch_noise = noise.narrow(0, begin, count);
    const at::Tensor batch_labels = class_labels.defined() ? class_labels.narrow(0, begin, count) : at::Tensor();
    SeedGenerators batch_a = streams_a.range(static_cast<size_t>(begin), static_cast<size_t>(count));
    SeedGenerators batch_b = streams_b.range(static_cast<size_t>(begin), static_cast<size_t>(count));

    // a's denoised estimates wait for b's, which are compared as b reaches each step.
    std::vector<at::Tensor> denoised_a(step_sums.size());
    const SamplerObserver keep = [&](int step, double, const at::Tensor&, const at::Tensor& denoised) {
      denoised_a[static_cast<size_t>(step)] = denoised;
    };
    const SamplerObserver compare = [&](int step, double, const at::Tensor&, const at::Tensor& denoised) {
      step_sums[static_cast<size_t>(step)].add(denoised_a[static_cast<size_t>(step)], denoised);
    };
    images_a.push_back(edm_sample(a, nullptr, batch_noise, batch_labels, options, &batch_a, keep).cpu());
    images_b.push_back(edm_sample(b, nullptr, batch_noise, batch_labels, options, &batch_b, compare).cpu());
    image_sums.add(images_a.back(), images_b.back());
  }

  for (const SimilaritySums& sums : step_sums) result.denoised.push_back(sums.result());
  result.images = image_sums.result();
  result.images_a = at::cat(images_a);
  result.images_b = at::cat(images_b);
  return result;
}

}  // namespace diffuse
