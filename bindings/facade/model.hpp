// A network for sampling owned by one object: the handle of diffuse_model_open, freed by the
// destructor or close(). Several threads may sample from one model at once (facade/sampler.hpp);
// save() and close() need exclusive use, and its samplers must be closed first (the C API's rules).
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

  void close() {
    diffuse_model_free(handle_);
    handle_ = nullptr;
  }

  bool is_open() const { return handle_ != nullptr; }

  // The C handle, for functions of diffuse.h that the facade does not cover.
  diffuse_model* handle() const { return handle_; }

 private:
  diffuse_model* handle_ = nullptr;
};

}  // namespace diffuse_binding
