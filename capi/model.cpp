// diffuse_model_*, diffuse_sample*, diffuse_phema_reconstruct and library-owned buffers.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include "config/model_config.h"
#include "config/sampler_config.h"
#include "diffuse.h"
#include "ema/posthoc_reconstruct.h"
#include "format.h"
#include "io/png.h"
#include "model_handle.h"
#include "nn/model_file.h"
#include "nn/model_plan.h"
#include "sample/sampler.h"
#include "status.h"
#include "util/cuda_math.h"


namespace {

using diffuse::capi::guarded;
using diffuse::capi::set_error;

at::Device parse_device(const char* name) {
  const std::string device = name ? name : "cpu";
  at::Device d(at::kCPU);
  try {
    d = at::Device(device);
  } catch (const std::exception&) {
    diffuse::fail(diffuse::ErrorCode::kInvalidArgument, "device \"{}\" is not cpu, cuda or cuda:N", device);
  }
  if (d.is_cuda() && (!torch::cuda::is_available() ||
                      (d.has_index() && d.index() >= static_cast<int64_t>(torch::cuda::device_count())))) {
    diffuse::fail(diffuse::ErrorCode::kDeviceUnavailable, "device \"{}\" is not available", device);
  }
  if (!d.is_cpu() && !d.is_cuda()) diffuse::fail(diffuse::ErrorCode::kInvalidArgument, "device \"{}\" is not supported", device);
  if (d.is_cuda()) diffuse::use_reference_cuda_math();
  return d;
}

// Samples float [count, C, R, R] (CPU, contiguous) after validating the arguments shared by the entry points.
at::Tensor sample_float(diffuse_model* model, diffuse_model* guide, const void* config, size_t len,
                        const diffuse_format& format, const uint64_t* seeds, const int64_t* labels, size_t count) {
  diffuse::v1::SamplerConfig parsed;
  diffuse::capi::parse(config, len, format, &parsed);
  const diffuse::SamplerOptions options = diffuse::resolve_sampler_config(parsed);
  if (guide && (guide->config.img_channels() != model->config.img_channels() ||
                guide->config.img_resolution() != model->config.img_resolution())) {
    diffuse::fail(diffuse::ErrorCode::kInvalidArgument, "guide model produces {}x{}x{} images, the model {}x{}x{}",
                  guide->config.img_channels(), guide->config.img_resolution(), guide->config.img_resolution(),
                  model->config.img_channels(), model->config.img_resolution(), model->config.img_resolution());
  }
  if (!guide && options.guidance != 1) {
    diffuse::fail(diffuse::ErrorCode::kInvalidArgument, "SamplerConfig.guidance {} needs a guide model", options.guidance);
  }
  const std::vector<uint64_t> seed_list(seeds, seeds + count);
  std::vector<int64_t> label_list(count, -1);
  if (labels) label_list.assign(labels, labels + count);
  const at::Tensor images = diffuse::sample_images(model->net, guide ? &guide->net : nullptr, seed_list, label_list,
                                                   options);
  return images.to(at::kCPU).contiguous();
}

at::Tensor sample_uint8(diffuse_model* model, diffuse_model* guide, const void* config, size_t len,
                        const diffuse_format& format, const uint64_t* seeds, const int64_t* labels, size_t count) {
  return diffuse::images_to_uint8(sample_float(model, guide, config, len, format, seeds, labels, count)).contiguous();
}

size_t values_per_image(const diffuse_model* model) {
  return static_cast<size_t>(model->config.img_channels()) * model->config.img_resolution() *
         model->config.img_resolution();
}


}  // namespace

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
    const at::Device d = parse_device(device);
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

diffuse_status diffuse_sample(diffuse_model* model, diffuse_model* guide, const void* sampler_config, size_t len,
                              diffuse_format format, const uint64_t* seeds, const int64_t* labels, size_t count,
                              uint8_t* images, size_t capacity) {
  DIFFUSE_REQUIRE_ARG("diffuse_sample", model);
  DIFFUSE_REQUIRE_ARG("diffuse_sample", seeds);
  DIFFUSE_REQUIRE_ARG("diffuse_sample", images);
  const size_t pixels = values_per_image(model);
  if (capacity < count * pixels) {
    return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_sample: capacity " + std::to_string(capacity) +
                                                     " bytes < " + std::to_string(count * pixels) + " needed");
  }
  if (count == 0) return DIFFUSE_OK;
  return guarded([&] {
    const at::Tensor out = sample_uint8(model, guide, sampler_config, len, format, seeds, labels, count);
    std::memcpy(images, out.data_ptr<uint8_t>(), count * pixels);
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_sample_float(diffuse_model* model, diffuse_model* guide, const void* sampler_config,
                                    size_t len, diffuse_format format, const uint64_t* seeds, const int64_t* labels,
                                    size_t count, float* images, size_t capacity) {
  DIFFUSE_REQUIRE_ARG("diffuse_sample_float", model);
  DIFFUSE_REQUIRE_ARG("diffuse_sample_float", seeds);
  DIFFUSE_REQUIRE_ARG("diffuse_sample_float", images);
  const size_t needed = count * values_per_image(model);
  if (capacity < needed) {
    return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_sample_float: capacity " + std::to_string(capacity) +
                                                     " floats < " + std::to_string(needed) + " needed");
  }
  if (count == 0) return DIFFUSE_OK;
  return guarded([&] {
    const at::Tensor out = sample_float(model, guide, sampler_config, len, format, seeds, labels, count);
    std::memcpy(images, out.data_ptr<float>(), needed * sizeof(float));
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_sample_to_buffer(diffuse_model* model, diffuse_model* guide, const void* sampler_config,
                                        size_t len, diffuse_format format, const uint64_t* seeds,
                                        const int64_t* labels, size_t count, diffuse_pixel_type type,
                                        diffuse_buffer* out) {
  if (out) *out = diffuse_buffer{nullptr, 0};
  DIFFUSE_REQUIRE_ARG("diffuse_sample_to_buffer", model);
  DIFFUSE_REQUIRE_ARG("diffuse_sample_to_buffer", seeds);
  DIFFUSE_REQUIRE_ARG("diffuse_sample_to_buffer", out);
  const int type_value = diffuse::capi::enum_value(type);
  if (type_value != DIFFUSE_PIXELS_UINT8 && type_value != DIFFUSE_PIXELS_FLOAT32) {
    return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_sample_to_buffer: type " + std::to_string(type_value) +
                                                     " is not DIFFUSE_PIXELS_UINT8 (0) or DIFFUSE_PIXELS_FLOAT32 (1)");
  }
  if (count == 0) return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_sample_to_buffer: count is 0");
  return guarded([&] {
    const at::Tensor images = type_value == DIFFUSE_PIXELS_UINT8
                                  ? sample_uint8(model, guide, sampler_config, len, format, seeds, labels, count)
                                  : sample_float(model, guide, sampler_config, len, format, seeds, labels, count);
    const size_t bytes = images.numel() * images.element_size();
    diffuse::capi::copy_to_buffer(std::string(static_cast<const char*>(images.data_ptr()), bytes), out);
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_sample_png_grid(diffuse_model* model, diffuse_model* guide, const void* sampler_config,
                                       size_t len, diffuse_format format, const uint64_t* seeds, const int64_t* labels,
                                       size_t count, int columns, const char* path) {
  DIFFUSE_REQUIRE_ARG("diffuse_sample_png_grid", model);
  DIFFUSE_REQUIRE_ARG("diffuse_sample_png_grid", seeds);
  DIFFUSE_REQUIRE_ARG("diffuse_sample_png_grid", path);
  if (count == 0 || columns < 0) {
    return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_sample_png_grid: count must be > 0 and columns >= 0");
  }
  return guarded([&] {
    const at::Tensor out = sample_uint8(model, guide, sampler_config, len, format, seeds, labels, count);
    diffuse::write_png(path, diffuse::make_grid(out, columns));
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_phema_reconstruct(const char* run_dir, const double* sigma_rels, size_t count, int64_t nimg,
                                         double max_residual, int force, const char* out_dir, int fp16,
                                         double* residuals) {
  DIFFUSE_REQUIRE_ARG("diffuse_phema_reconstruct", run_dir);
  DIFFUSE_REQUIRE_ARG("diffuse_phema_reconstruct", sigma_rels);
  DIFFUSE_REQUIRE_ARG("diffuse_phema_reconstruct", out_dir);
  if (count == 0) return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_phema_reconstruct: count is 0");
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
