// A sampler owned by one object: the handle of diffuse_sampler_create, freed by the destructor or
// close(). It refers to its model and guide, which must stay open while it is (each binding keeps them
// referenced); several threads may run one sampler at once (the C API's rules).
#pragma once

#include <cstring>
#include <string>

#include "arrays.hpp"
#include "diffuse.h"
#include "model.hpp"
#include "status.hpp"

namespace diffuse_binding {

class Sampler {
 public:
  Sampler() = default;
  ~Sampler() { close(); }
#ifndef SWIG
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;
#endif

  // Prepares sampling from `model` with `config` (a SamplerConfig in `format`; empty = the defaults),
  // guided by `guide` (may be NULL: no guide).
  void create(const Model& model, const Model* guide, const Bytes& config, int format, Status& status) {
    close();
    shape_ = model.shape(status);
    if (!status.ok()) return;
    status.record(diffuse_sampler_create(&handle_, model.handle(), guide ? guide->handle() : nullptr,
                                         config.empty() ? nullptr : config.data(), config.size(),
                                         static_cast<diffuse_format>(format)));
  }

  // Images for `seeds` (labels empty = unconditional, else one per seed, -1 = none):
  // count x channels x resolution x resolution bytes, in a buffer the library allocates.
  Bytes run(const Int64s& seeds, const Int64s& labels, Status& status) const {
    Bytes bytes = run_to_buffer(seeds, labels, DIFFUSE_PIXELS_UINT8, status);
    return bytes;
  }

  // The same images before quantisation, about [-1, 1].
  Floats run_float(const Int64s& seeds, const Int64s& labels, Status& status) const {
    const Bytes bytes = run_to_buffer(seeds, labels, DIFFUSE_PIXELS_FLOAT32, status);
    Floats values(bytes.size() / sizeof(float));
    if (!values.empty()) std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
    return values;
  }

  // The images of `type` (a diffuse_pixel_type) written into the caller's memory: `capacity` bytes
  // at `destination` (diffuse_sampler_run).
  void run_into(const Int64s& seeds, const Int64s& labels, int type, void* destination, size_t capacity,
                Status& status) const {
    if (!check_labels(seeds, labels, status)) return;
    static uint8_t none;  // an empty destination may be NULL, which the C API refuses
    status.record(diffuse_sampler_run(handle_, seeds_data(seeds), labels_or_null(labels), seeds.size(),
                                      static_cast<diffuse_pixel_type>(type), destination ? destination : &none,
                                      capacity));
  }

  // Values per image: channels x resolution x resolution.
  int64_t values_per_image() const {
    return static_cast<int64_t>(shape_.channels) * shape_.resolution * shape_.resolution;
  }

  // run(), then one PNG grid of `columns` columns (0 = square) at `path`.
  void write_png_grid(const Int64s& seeds, const Int64s& labels, int columns, const std::string& path,
                      Status& status) const {
    if (!check_labels(seeds, labels, status)) return;
    status.record(diffuse_sampler_write_png_grid(handle_, seeds_data(seeds), labels_or_null(labels), seeds.size(),
                                                 columns, path.c_str()));
  }

  // How alike `other`'s images are to this sampler's model's from the same seeds: {relative MSD, cosine}.
  Doubles consistency(const Model& other, const Int64s& seeds, const Int64s& labels, Status& status) const {
    if (!check_labels(seeds, labels, status)) return {};
    Doubles out(2, 0.0);
    if (!status.record(diffuse_consistency(handle_, other.handle(), seeds_data(seeds), labels_or_null(labels),
                                           seeds.size(), &out[0], &out[1]))) {
      return {};
    }
    return out;
  }

  void close() {
    diffuse_sampler_free(handle_);
    handle_ = nullptr;
  }

  bool is_open() const { return handle_ != nullptr; }

  // The C handle, for functions of diffuse.h that the facade does not cover.
  diffuse_sampler* handle() const { return handle_; }

 private:
#ifndef SWIG
  Bytes run_to_buffer(const Int64s& seeds, const Int64s& labels, diffuse_pixel_type type, Status& status) const {
    if (!check_labels(seeds, labels, status) || seeds.empty()) return {};  // count 0: no images
    diffuse_buffer buffer{nullptr, 0};
    if (!status.record(diffuse_sampler_run_to_buffer(handle_, seeds_data(seeds), labels_or_null(labels), seeds.size(),
                                                     type, &buffer))) {
      return {};
    }
    const auto* data = static_cast<const uint8_t*>(buffer.data);
    Bytes bytes(data, data + buffer.len);
    diffuse_buffer_free(&buffer);
    return bytes;
  }
  static bool check_labels(const Int64s& seeds, const Int64s& labels, Status& status) {
    if (labels.empty() || labels.size() == seeds.size()) return true;
    status.fail(DIFFUSE_E_INVALID_ARGUMENT, std::to_string(labels.size()) + " labels for " +
                                                std::to_string(seeds.size()) + " seeds: give one label per seed or none");
    return false;
  }
  static const uint64_t* seeds_data(const Int64s& seeds) {
    static const uint64_t none = 0;
    return seeds.empty() ? &none : reinterpret_cast<const uint64_t*>(seeds.data());
  }
  static const int64_t* labels_or_null(const Int64s& labels) { return labels.empty() ? nullptr : labels.data(); }
#endif

  diffuse_sampler* handle_ = nullptr;
  ModelShape shape_;
};

}  // namespace diffuse_binding
