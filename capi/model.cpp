// diffuse_model_*, diffuse_phema_reconstruct and library-owned buffers.
#include <cstdlib>
#include <memory>
#include <string>

#include <ATen/ATen.h>

#include "config/model_config.h"
#include "diffuse.h"
#include "train/posthoc_reconstruct.h"
#include "format.h"
#include "model_handle.h"
#include "store/model_file.h"
#include "nn/model_plan.h"
#include "status.h"
#include "util/device.h"


namespace {

using diffuse::capi::guarded;
using diffuse::capi::set_error;

}  // namespace

// Targets of one diffuse_phema_reconstruct call (capi/diffuse.h): far more than a sweep needs, and a
// bound on what a wrong count can make the library read.
constexpr size_t kMaxPosthocTargets = 1024;

extern "C" {

void diffuse_buffer_free(diffuse_buffer* buffer) {
  if (!buffer) return;
  std::free(buffer->data);
  buffer->data = nullptr;
  buffer->len = 0;
}

diffuse_status diffuse_model_open(diffuse_model** out, const char* path, const char* device, const void* model_config,
                                  size_t len, diffuse_format format) {
  DIFFUSE_REQUIRE_ARG("diffuse_model_open", out);
  *out = nullptr;
  DIFFUSE_REQUIRE_ARG("diffuse_model_open", path);
  return guarded([&] {
    const at::Device d = diffuse::open_device(device ? device : "cpu", "diffuse_model_open: device");
    std::unique_ptr<diffuse::v1::ModelConfig> override_config;
    if (model_config) {
      override_config = std::make_unique<diffuse::v1::ModelConfig>();
      diffuse::capi::parse(model_config, len, format, override_config.get());
    }
    diffuse::ModelFile file = diffuse::load_model(path, override_config.get());
    auto handle = std::make_unique<diffuse_model>();
    handle->config = file.config;
    handle->net = file.net;
    handle->net->to(d);
    if (file.training) {
      handle->trained_resize = file.training->data().resize();
      handle->trained_resize_source = file.training_source;
    }
    *out = handle.release();
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_model_save(diffuse_model* model, const char* path, int fp16) {
  DIFFUSE_REQUIRE_ARG("diffuse_model_save", model);
  DIFFUSE_REQUIRE_ARG("diffuse_model_save", path);
  return guarded([&] {
    diffuse::save_model(model->net, model->config, path, fp16 != 0);
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_model_info(diffuse_model* model, diffuse_format format, diffuse_buffer* config,
                                  int64_t* num_parameters) {
  DIFFUSE_REQUIRE_ARG("diffuse_model_info", model);
  return guarded([&] {
    if (config) {
      config->data = nullptr;
      config->len = 0;
      diffuse::capi::copy_to_buffer(diffuse::print_config(model->config, diffuse::capi::to_format(format)), config);
    }
    if (num_parameters) *num_parameters = diffuse::count_parameters(diffuse::to_model_options(model->config));
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_model_shape(diffuse_model* model, int* channels, int* resolution, int* label_dim) {
  DIFFUSE_REQUIRE_ARG("diffuse_model_shape", model);
  if (channels) *channels = model->config.img_channels();
  if (resolution) *resolution = model->config.img_resolution();
  if (label_dim) *label_dim = model->config.label_dim();
  return DIFFUSE_OK;
}

void diffuse_model_free(diffuse_model* model) { delete model; }

diffuse_status diffuse_phema_reconstruct(const char* run_dir, const double* sigma_rels, size_t count, int64_t nimg,
                                         double max_residual, int force, const char* out_dir, int fp16,
                                         double* residuals) {
  DIFFUSE_REQUIRE_ARG("diffuse_phema_reconstruct", run_dir);
  DIFFUSE_REQUIRE_ARG("diffuse_phema_reconstruct", sigma_rels);
  DIFFUSE_REQUIRE_ARG("diffuse_phema_reconstruct", out_dir);
  if (count == 0 || count > kMaxPosthocTargets) {
    return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_phema_reconstruct: count " + std::to_string(count) +
                                                     " is not in [1, " + std::to_string(kMaxPosthocTargets) + "]");
  }
  return guarded([&] {
    diffuse::PosthocOptions options;
    options.sigma_rels.assign(sigma_rels, sigma_rels + count);
    options.nimg = nimg;
    if (max_residual > 0) options.max_residual = max_residual;
    options.force = force != 0;
    const auto outputs = diffuse::reconstruct_posthoc(run_dir, options);
    diffuse::write_posthoc(run_dir, outputs, out_dir, fp16 != 0);
    if (residuals) {
      for (size_t i = 0; i < outputs.size(); ++i) residuals[i] = outputs[i].residual;
    }
    return DIFFUSE_OK;
  });
}

}  // extern "C"
