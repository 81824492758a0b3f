// A sampler owned by one object: the handle of diffuse_sampler_create, freed by the destructor or
// close(). It refers to its model and guide, which must stay open while it is (each binding keeps them
// referenced); several threads may run one sampler at once (the C API's rules).
#pragma once

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
  // count x channels x resolution x resolution bytes.
  Bytes run(const Int64s& seeds, const Int64s& labels, Status& status) const {
    Bytes images(seeds.size() * values_per_image());
    run_into(seeds, labels, DIFFUSE_PIXELS_UINT8, images.data(), images.size(), status);
    return status.ok() ? images : Bytes();
  }

  // The same images before quantisation, about [-1, 1].
  Floats run_float(const Int64s& seeds, const Int64s& labels, Status& status) const {
    Floats images(seeds.size() * values_per_image());
    run_into(seeds, labels, DIFFUSE_PIXELS_FLOAT32, images.data(), images.size() * sizeof(float), status);
    return status.ok() ? images : Floats();
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
  size_t values_per_image() const {
    return static_cast<size_t>(shape_.channels) * static_cast<size_t>(shape_.resolution) *
           static_cast<size_t>(shape_.resolution);
  }
  void run_into(const Int64s& seeds, const Int64s& labels, diffuse_pixel_type type, void* data, size_t bytes,
                Status& status) const {
    if (!check_labels(seeds, labels, status)) return;
    static uint8_t none;  // an empty vector's data() may be NULL, which the C API refuses
    status.record(diffuse_sampler_run(handle_, seeds_data(seeds), labels_or_null(labels), seeds.size(), type,
                                      data ? data : &none, bytes));
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
