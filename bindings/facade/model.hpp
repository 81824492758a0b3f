// A network for sampling owned by one object: the handle of diffuse_model_open, freed by the
// destructor or close(). Several threads may sample from one model at once; save() and close() need
// exclusive use (the C API's rules).
#pragma once

#include <string>

#include "arrays.hpp"
#include "diffuse.h"
#include "status.hpp"

namespace diffuse_binding {

struct ModelShape {
  int channels = 0;
  int resolution = 0;
  int label_dim = 0;
};

class Model {
 public:
  Model() = default;
  ~Model() { close(); }
#ifndef SWIG
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
#endif

  // Opens a model file on `device` ("" = cpu); an empty `config` means the file's own ModelConfig.
  void open(const std::string& path, const std::string& device, const Bytes& config, int format, Status& status) {
    close();
    status.record(diffuse_model_open(&handle_, path.c_str(), device.empty() ? nullptr : device.c_str(),
                                     config.empty() ? nullptr : config.data(), config.size(),
                                     static_cast<diffuse_format>(format)));
  }

  void save(const std::string& path, bool fp16, Status& status) {
    status.record(diffuse_model_save(handle_, path.c_str(), fp16 ? 1 : 0));
  }

  // The resolved ModelConfig in `format`.
  Bytes config(int format, Status& status) const {
    diffuse_buffer buffer{nullptr, 0};
    if (!status.record(diffuse_model_info(handle_, static_cast<diffuse_format>(format), &buffer, nullptr))) return {};
    const auto* data = static_cast<const uint8_t*>(buffer.data);
    Bytes bytes(data, data + buffer.len);
    diffuse_buffer_free(&buffer);
    return bytes;
  }

  int64_t num_parameters(Status& status) const {
    int64_t count = 0;
    status.record(diffuse_model_info(handle_, DIFFUSE_FORMAT_BINARY, nullptr, &count));
    return count;
  }

  ModelShape shape(Status& status) const {
    ModelShape shape;
    status.record(diffuse_model_shape(handle_, &shape.channels, &shape.resolution, &shape.label_dim));
    return shape;
  }

  // Images for `seeds` (labels empty = unconditional, else one per seed, -1 = none), guided by
  // `guide` (may be NULL or closed: no guide); count x channels x resolution x resolution bytes.
  Bytes sample(const Model* guide, const Bytes& sampler_config, int format, const Int64s& seeds, const Int64s& labels,
               Status& status) const {
    if (!check_labels(seeds, labels, status)) return {};
    ModelShape s = shape(status);
    if (!status.ok()) return {};
    Bytes images(seeds.size() * s.channels * s.resolution * s.resolution);
    status.record(diffuse_sample(handle_, guide_handle(guide), config_or_null(sampler_config), sampler_config.size(),
                                 static_cast<diffuse_format>(format), seeds_data(seeds), labels_or_null(labels),
                                 seeds.size(), images.data(), images.size()));
    if (!status.ok()) return {};
    return images;
  }

  // Like sample(), then writes one PNG grid of `columns` columns (0 = square) to `path`.
  void sample_png_grid(const Model* guide, const Bytes& sampler_config, int format, const Int64s& seeds,
                       const Int64s& labels, int columns, const std::string& path, Status& status) const {
    if (!check_labels(seeds, labels, status)) return;
    status.record(diffuse_sample_png_grid(handle_, guide_handle(guide), config_or_null(sampler_config), sampler_config.size(),
                                          static_cast<diffuse_format>(format), seeds_data(seeds),
                                          labels_or_null(labels), seeds.size(), columns, path.c_str()));
  }

  void close() {
    diffuse_model_free(handle_);
    handle_ = nullptr;
  }

  bool is_open() const { return handle_ != nullptr; }

  // The C handle, for functions of diffuse.h that the facade does not cover.
  diffuse_model* handle() const { return handle_; }

 private:
#ifndef SWIG
  static bool check_labels(const Int64s& seeds, const Int64s& labels, Status& status) {
    if (labels.empty() || labels.size() == seeds.size()) return true;
    status.fail(DIFFUSE_E_INVALID_ARGUMENT, std::to_string(labels.size()) + " labels for " +
                                                std::to_string(seeds.size()) + " seeds: give one label per seed or none");
    return false;
  }
  static diffuse_model* guide_handle(const Model* guide) { return guide ? guide->handle_ : nullptr; }
  static const void* config_or_null(const Bytes& config) { return config.empty() ? nullptr : config.data(); }
  static const uint64_t* seeds_data(const Int64s& seeds) { return reinterpret_cast<const uint64_t*>(seeds.data()); }
  static const int64_t* labels_or_null(const Int64s& labels) { return labels.empty() ? nullptr : labels.data(); }
#endif

  diffuse_model* handle_ = nullptr;
};

}  // namespace diffuse_binding
