// diffuse_sampler_*: a SamplerConfig parsed and checked once against its models, run many times.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "diffuse.h"
#include "format.h"
#include "io/png.h"
#include "sample/distributed_sampling.h"
#include "sample/sampler_config.h"
#include "sampler_handle.h"
#include "status.h"
#include "world.h"

namespace {

using diffuse::capi::guarded;
using diffuse::capi::set_error;

size_t values_per_image(const diffuse_model* model) {
  return static_cast<size_t>(model->config.img_channels()) * model->config.img_resolution() *
         model->config.img_resolution();
}

// The images of `count` seeds, float32 [count, C, R, R] on the CPU, contiguous.
at::Tensor sample_float(const diffuse_sampler& s, const uint64_t* seeds, const int64_t* labels, size_t count) {
  const std::vector<uint64_t> seed_list(seeds, seeds + count);
  std::vector<int64_t> label_list(count, -1);
  if (labels) label_list.assign(labels, labels + count);
  return diffuse::sample_images_over_ranks(s.model->net, s.guide ? &s.guide->net : nullptr, seed_list, label_list,
                                           s.options, diffuse::capi::sampling_world())
      .to(at::kCPU)
      .contiguous();
}

// The images in the pixel type the caller asked for; the type is checked before.
at::Tensor sample(const diffuse_sampler& s, const uint64_t* seeds, const int64_t* labels, size_t count, int type) {
  const at::Tensor images = sample_float(s, seeds, labels, count);
  return type == DIFFUSE_PIXELS_UINT8 ? diffuse::images_to_uint8(images).contiguous() : images;
}

// The pixel type as an int, or an error naming `function`.
bool valid_type(const char* function, const diffuse_pixel_type& type, diffuse_status* status) {
  const int value = diffuse::capi::enum_value(type);
  if (value == DIFFUSE_PIXELS_UINT8 || value == DIFFUSE_PIXELS_FLOAT32) return true;
  *status = set_error(DIFFUSE_E_INVALID_ARGUMENT, std::string(function) + ": type " + std::to_string(value) +
                                                      " is not DIFFUSE_PIXELS_UINT8 (0) or DIFFUSE_PIXELS_FLOAT32 (1)");
  return false;
}

size_t bytes_per_value(int type) { return type == DIFFUSE_PIXELS_UINT8 ? 1 : sizeof(float); }

// A count of images whose values could not fit in memory is refused before its seeds are read.
bool valid_count(const char* function, const diffuse_sampler& sampler, size_t count, size_t value_bytes,
                 diffuse_status* status) {
  const size_t per_image = values_per_image(sampler.model) * value_bytes;
  if (count <= SIZE_MAX / per_image) return true;
  *status = set_error(DIFFUSE_E_INVALID_ARGUMENT, std::string(function) + ": count " + std::to_string(count) +
                                                      " images of " + std::to_string(per_image) +
                                                      " bytes overflow the address space");
  return false;
}

}  // namespace

extern "C" {

diffuse_status diffuse_sampler_create(diffuse_sampler** out, diffuse_model* model, diffuse_model* guide,
                                      const void* config, size_t len, diffuse_format format) {
  DIFFUSE_REQUIRE_ARG("diffuse_sampler_create", out);
  *out = nullptr;
  DIFFUSE_REQUIRE_ARG("diffuse_sampler_create", model);
  return guarded([&] {
    diffuse::v1::SamplerConfig parsed;
    diffuse::capi::parse(config, len, format, &parsed);
    auto handle = std::make_unique<diffuse_sampler>();
    handle->options = diffuse::resolve_sampler_config(parsed);
    if (guide && (guide->config.img_channels() != model->config.img_channels() ||
                  guide->config.img_resolution() != model->config.img_resolution())) {
      diffuse::fail(diffuse::ErrorCode::kInvalidArgument, "guide model produces {}x{}x{} images, the model {}x{}x{}",
                    guide->config.img_channels(), guide->config.img_resolution(), guide->config.img_resolution(),
                    model->config.img_channels(), model->config.img_resolution(), model->config.img_resolution());
    }
    if (!guide && handle->options.guidance != 1) {
      diffuse::fail(diffuse::ErrorCode::kInvalidArgument, "SamplerConfig.guidance {} needs a guide model",
                    handle->options.guidance);
    }
    handle->model = model;
    handle->guide = handle->options.guidance != 1 ? guide : nullptr;  // w = 1 never evaluates the guide
    *out = handle.release();
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_sampler_run(diffuse_sampler* sampler, const uint64_t* seeds, const int64_t* labels,
                                   size_t count, diffuse_pixel_type type, void* images, size_t capacity) {
  DIFFUSE_REQUIRE_ARG("diffuse_sampler_run", sampler);
  DIFFUSE_REQUIRE_ARG("diffuse_sampler_run", seeds);
  DIFFUSE_REQUIRE_ARG("diffuse_sampler_run", images);
  diffuse_status status = DIFFUSE_OK;
  if (!valid_type("diffuse_sampler_run", type, &status)) return status;
  const int type_value = diffuse::capi::enum_value(type);
  const size_t per_image = values_per_image(sampler->model) * bytes_per_value(type_value);
  if (!valid_count("diffuse_sampler_run", *sampler, count, bytes_per_value(type_value), &status)) return status;
  if (count > 0 && capacity < count * per_image) {
    return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_sampler_run: capacity " + std::to_string(capacity) +
                                                     " bytes < " + std::to_string(per_image) + " per image x " +
                                                     std::to_string(count) + " images");
  }
  if (count == 0) return DIFFUSE_OK;
  return guarded([&] {
    const at::Tensor out = sample(*sampler, seeds, labels, count, type_value);
    std::memcpy(images, out.data_ptr(), count * per_image);
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_sampler_run_to_buffer(diffuse_sampler* sampler, const uint64_t* seeds, const int64_t* labels,
                                             size_t count, diffuse_pixel_type type, diffuse_buffer* out) {
  if (out) *out = diffuse_buffer{nullptr, 0};
  DIFFUSE_REQUIRE_ARG("diffuse_sampler_run_to_buffer", sampler);
  DIFFUSE_REQUIRE_ARG("diffuse_sampler_run_to_buffer", seeds);
  DIFFUSE_REQUIRE_ARG("diffuse_sampler_run_to_buffer", out);
  diffuse_status status = DIFFUSE_OK;
  if (!valid_type("diffuse_sampler_run_to_buffer", type, &status)) return status;
  if (count == 0) return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_sampler_run_to_buffer: count is 0");
  const int type_value = diffuse::capi::enum_value(type);
  if (!valid_count("diffuse_sampler_run_to_buffer", *sampler, count, bytes_per_value(type_value), &status)) return status;
  return guarded([&] {
    const at::Tensor images = sample(*sampler, seeds, labels, count, type_value);
    const size_t bytes = images.numel() * images.element_size();
    diffuse::capi::copy_to_buffer(std::string(static_cast<const char*>(images.data_ptr()), bytes), out);
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_sampler_write_png_grid(diffuse_sampler* sampler, const uint64_t* seeds, const int64_t* labels,
                                              size_t count, int columns, const char* path) {
  DIFFUSE_REQUIRE_ARG("diffuse_sampler_write_png_grid", sampler);
  DIFFUSE_REQUIRE_ARG("diffuse_sampler_write_png_grid", seeds);
  DIFFUSE_REQUIRE_ARG("diffuse_sampler_write_png_grid", path);
  if (count == 0 || columns < 0) {
    return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_sampler_write_png_grid: count must be > 0 and columns >= 0");
  }
  diffuse_status status = DIFFUSE_OK;
  if (!valid_count("diffuse_sampler_write_png_grid", *sampler, count, 1, &status)) return status;
  return guarded([&] {
    const at::Tensor grid = diffuse::make_grid(sample(*sampler, seeds, labels, count, DIFFUSE_PIXELS_UINT8), columns);
    diffuse::Communicator* world = diffuse::capi::sampling_world();
    if (world == nullptr || world->rank() == 0) diffuse::write_png(path, grid);
    return DIFFUSE_OK;
  });
}

void diffuse_sampler_free(diffuse_sampler* sampler) { delete sampler; }

}  // extern "C"
