// A training run owned by one object: the handle of diffuse_trainer_create/resume, freed by the
// destructor or close(). Same threading rules as the C API: one call at a time, except progress()
// and request_stop(), which may come from any thread during run().
#pragma once

#include <string>

#include "arrays.hpp"
#include "diffuse.h"
#include "images.hpp"
#include "status.hpp"

namespace diffuse_binding {

class Trainer {
 public:
  Trainer() = default;
  ~Trainer() { close(); }
#ifndef SWIG
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;
#endif

  // Starts a new run from a TrainConfig in `format` (a diffuse_format value).
  void create(const Bytes& config, int format, Status& status) {
    close();
    status.record(diffuse_trainer_create(&handle_, config.data(), config.size(), static_cast<diffuse_format>(format)));
  }

  // Starts a new run whose TrainConfig reads MEMORY data: the training images and, when its
  // validation reads MEMORY too, the validation images (NULL otherwise).
  void create_with_images(const Bytes& config, int format, const Images& train, const Images* validation,
                          Status& status) {
    close();
    diffuse_images train_view, validation_view;
    if (!train.view(train_view, status) || (validation && !validation->view(validation_view, status))) return;
    status.record(diffuse_trainer_create_with_images(&handle_, config.data(), config.size(),
                                                     static_cast<diffuse_format>(format), &train_view,
                                                     validation ? &validation_view : nullptr));
  }

  // Continues a MEMORY-data run: the host hands the same images in again.
  void resume_with_images(const std::string& run_dir, const Images& train, const Images* validation, Status& status) {
    close();
    diffuse_images train_view, validation_view;
    if (!train.view(train_view, status) || (validation && !validation->view(validation_view, status))) return;
    status.record(diffuse_trainer_resume_with_images(&handle_, run_dir.c_str(), &train_view,
                                                     validation ? &validation_view : nullptr));
  }

  // Continues the run in `run_dir` from its newest checkpoint.
  void resume(const std::string& run_dir, Status& status) {
    close();
    status.record(diffuse_trainer_resume(&handle_, run_dir.c_str()));
  }

  // Trains up to `max_steps` steps; returns the number taken.
  int64_t run(int64_t max_steps, Status& status) {
    int64_t taken = 0;
    status.record(diffuse_trainer_run(handle_, max_steps, &taken));
    return taken;
  }

  diffuse_train_status progress(Status& status) const {
    diffuse_train_status progress{};
    progress.size = sizeof progress;
    status.record(diffuse_trainer_get_status(handle_, &progress));
    return progress;
  }

  // The progress as a TrainStatus message in `format` (text and JSON without their NUL).
  Bytes status_message(int format, Status& status) const {
    diffuse_buffer buffer{nullptr, 0};
    if (!status.record(diffuse_trainer_get_status_message(handle_, static_cast<diffuse_format>(format), &buffer)))
      return {};
    const auto* data = static_cast<const uint8_t*>(buffer.data);
    Bytes bytes(data, data + buffer.len);
    diffuse_buffer_free(&buffer);
    return bytes;
  }

  void request_stop(Status& status) { status.record(diffuse_trainer_request_stop(handle_)); }

  void save_checkpoint(Status& status) { status.record(diffuse_trainer_save_checkpoint(handle_)); }

  void close() {
    diffuse_trainer_free(handle_);
    handle_ = nullptr;
  }

  bool is_open() const { return handle_ != nullptr; }

  // The C handle, for functions of diffuse.h that the facade does not cover.
  diffuse_trainer* handle() const { return handle_; }

 private:
  diffuse_trainer* handle_ = nullptr;
};

}  // namespace diffuse_binding
