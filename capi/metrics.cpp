// diffuse_validation_loss, diffuse_consistency and diffuse_evaluate: the measures a host compares
// models by.
#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "diffuse.h"
#include "format.h"
#include "images.h"
#include "metrics/consistency.h"
#include "metrics/evaluate.h"
#include "model_handle.h"
#include "sampler_handle.h"
#include "sample/sampler.h"
#include "status.h"
#include "world.h"
#include "metrics/validation_loss.h"

static_assert(DIFFUSE_VALIDATION_SIGMAS == 10, "diffuse.h and Validator::sigmas() disagree");

namespace {

using diffuse::capi::guarded;
using diffuse::capi::set_error;

constexpr int64_t kValidationBatch = 64;

// Where data files named relative to no directory (an EvalConfig's classifier) are looked for:
// $DIFFUSE_DATA_DIR; the installed share/diffuse, found from this library's own place (an install
// works wherever it was moved); share/diffuse beside the library, as a build tree has it.
std::vector<std::string> data_directories() {
  namespace fs = std::filesystem;
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("DIFFUSE_DATA_DIR"); env && *env) dirs.emplace_back(env);
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&diffuse_evaluate), &info) && info.dli_fname) {
    std::error_code ignored;
    const fs::path library_dir = fs::canonical(info.dli_fname, ignored).parent_path();
    if (!library_dir.empty()) {
      dirs.push_back((library_dir / DIFFUSE_LIBDIR_TO_DATADIR).lexically_normal().string());
      dirs.push_back((library_dir / "share" / "diffuse").string());
    }
  }
  return dirs;
}

}  // namespace

extern "C" {

diffuse_status diffuse_validation_loss(diffuse_model* model, const diffuse_images* images, uint64_t seed,
                                       double* sigmas, double* losses, double* mean) {
  DIFFUSE_REQUIRE_ARG("diffuse_validation_loss", model);
  DIFFUSE_REQUIRE_ARG("diffuse_validation_loss", images);
  return guarded([&] {
    const diffuse::v1::ModelConfig& c = model->config;
    const at::Tensor x = diffuse::capi::to_network_input(*images, "diffuse_validation_loss");
    if (x.size(1) != c.img_channels() || x.size(2) != c.img_resolution() || x.size(3) != c.img_resolution()) {
      return set_error(DIFFUSE_E_INVALID_ARGUMENT,
                       "diffuse_validation_loss: images are " + std::to_string(x.size(2)) + "x" +
                           std::to_string(x.size(3)) + "x" + std::to_string(x.size(1)) + " (HxWxC), the model takes " +
                           std::to_string(c.img_resolution()) + "x" + std::to_string(c.img_resolution()) + "x" +
                           std::to_string(c.img_channels()));
    }
    at::Tensor labels;
    if (c.label_dim() > 0) {
      if (!images->labels) {
        return set_error(DIFFUSE_E_INVALID_ARGUMENT,
                         "diffuse_validation_loss: the model is class-conditional; images->labels is NULL");
      }
      labels = diffuse::one_hot_labels(std::vector<int64_t>(images->labels, images->labels + images->count),
                                       c.label_dim());
    }
    const diffuse::Validator validator(x, labels, seed, c.sigma_data());
    const diffuse::ValidationResult result = validator.evaluate(model->net, kValidationBatch);
    for (size_t i = 0; i < result.sigmas.size(); ++i) {
      if (sigmas) sigmas[i] = result.sigmas[i];
      if (losses) losses[i] = result.losses[i];
    }
    if (mean) *mean = result.mean;
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_consistency(diffuse_sampler* sampler, diffuse_model* other, const uint64_t* seeds,
                                   const int64_t* labels, size_t count, double* relative_msd, double* cosine) {
  DIFFUSE_REQUIRE_ARG("diffuse_consistency", sampler);
  DIFFUSE_REQUIRE_ARG("diffuse_consistency", other);
  DIFFUSE_REQUIRE_ARG("diffuse_consistency", seeds);
  if (count == 0) return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_consistency: count is 0");
  const diffuse::v1::ModelConfig& shape = sampler->model->config;
  const size_t per_image = sizeof(float) * static_cast<size_t>(shape.img_channels()) * shape.img_resolution() *
                           shape.img_resolution();
  if (count > SIZE_MAX / per_image) {
    return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_consistency: count " + std::to_string(count) +
                                                     " images overflow the address space");
  }
  return guarded([&] {
    if (sampler->options.guidance != 1) {
      return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_consistency: SamplerConfig.guidance must be 1 (no guide)");
    }
    std::vector<int64_t> label_list(count, -1);
    if (labels) label_list.assign(labels, labels + count);
    const diffuse::ConsistencyResult result = diffuse::measure_consistency(
        sampler->model->net, other->net, std::vector<uint64_t>(seeds, seeds + count), label_list, sampler->options);
    if (relative_msd) *relative_msd = result.images.relative_msd;
    if (cosine) *cosine = result.images.cosine;
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_evaluate(diffuse_model* model, const void* config, size_t len, diffuse_format format,
                                diffuse_eval_result* result) {
  DIFFUSE_REQUIRE_ARG("diffuse_evaluate", model);
  DIFFUSE_REQUIRE_ARG("diffuse_evaluate", result);
  if (result->size < offsetof(diffuse_eval_result, num_images) + sizeof(int64_t)) {
    return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_evaluate: result->size is " + std::to_string(result->size) +
                                                     "; set it to sizeof(diffuse_eval_result)");
  }
  return guarded([&] {
    diffuse::v1::EvalConfig parsed;
    diffuse::capi::parse(config, len, format, &parsed);
    diffuse::EvalContext context;
    context.data_dirs = data_directories();
    context.trained_resize = model->trained_resize;
    context.trained_resize_source = model->trained_resize_source;
    const diffuse::EvalResult r =
        diffuse::evaluate_model(model->net, model->config, parsed, diffuse::capi::sampling_world(), context);
    diffuse_eval_result full{};
    full.size = sizeof full;
    full.num_images = r.num_images;
    full.fd_cls = r.fd_cls;
    full.kid_cls = r.kid_cls;
    full.precision = r.precision;
    full.recall = r.recall;
    full.swd = r.swd;
    full.validation_loss = r.validation_loss;
    diffuse::capi::copy_versioned(full, result);
    return DIFFUSE_OK;
  });
}

}  // extern "C"
