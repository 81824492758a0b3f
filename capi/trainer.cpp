// diffuse_trainer_*: the training run behind an opaque handle. One call at a time per handle (others
// get DIFFUSE_E_BUSY); status and stop requests are served from any thread, even during a run.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "diffuse.h"
#include "config/train_config.h"
#include "data/dataset.h"
#include "images.h"
#include "format.h"
#include "status.h"
#include "train/trainer.h"

struct diffuse_trainer {
  std::unique_ptr<diffuse::Trainer> trainer;
  std::atomic<bool> busy{false};
  std::mutex status_mutex;
  diffuse::v1::TrainStatus status;  // as of the last completed step

  void attach(std::unique_ptr<diffuse::Trainer> t) {
    trainer = std::move(t);
    status = trainer->status();
    trainer->set_step_callback([this](const diffuse::v1::TrainStatus& s) {
      std::lock_guard<std::mutex> lock(status_mutex);
      status = s;
    });
  }
};

namespace {

using diffuse::capi::guarded;
using diffuse::capi::set_error;

// Marks a handle busy for the duration of a call.
class BusyGuard {
 public:
  explicit BusyGuard(diffuse_trainer* t) : t_(t), acquired_(!t->busy.exchange(true)) {}
  ~BusyGuard() {
    if (acquired_) t_->busy.store(false);
  }
  bool acquired() const { return acquired_; }

 private:
  diffuse_trainer* t_;
  bool acquired_;
};

// Copies of the host's images as the trainer's datasets (validation may be NULL).
diffuse::HostData to_host_data(const diffuse_images* train, const diffuse_images* validation) {
  diffuse::HostData host;
  host.train = diffuse::capi::to_dataset(*train, "train");
  if (validation) host.validation = diffuse::capi::to_dataset(*validation, "validation");
  return host;
}

// Host images for the sources of `config` that read MEMORY; images for a source that does not are a
// mistake worth naming rather than silently ignoring.
diffuse::HostData host_data(const diffuse::v1::TrainConfig& config, const diffuse_images* train,
                            const diffuse_images* validation) {
  if (config.data().train().format() != diffuse::v1::DataSource::MEMORY) {
    diffuse::fail(diffuse::ErrorCode::kInvalidArgument,
                  "train images were handed in, but data.train.format is not MEMORY in the config");
  }
  if (validation && config.data().validation().format() != diffuse::v1::DataSource::MEMORY) {
    diffuse::fail(diffuse::ErrorCode::kInvalidArgument,
                  "validation images were handed in, but data.validation.format is not MEMORY in the config");
  }
  return to_host_data(train, validation);
}

// The C struct's fields from the TrainStatus message: the one mapping between the two.
diffuse_train_status to_c_status(const diffuse::v1::TrainStatus& s) {
  diffuse_train_status c{};
  c.size = sizeof(diffuse_train_status);
  c.images_seen = s.images_seen();
  c.images_total = s.images_total();
  c.steps = s.steps();
  c.loss = s.loss();
  c.learning_rate = s.learning_rate();
  c.beta1 = s.beta1();
  c.images_per_second = s.images_per_second();
  c.seconds_per_step = s.seconds_per_step();
  c.elapsed_seconds = s.elapsed_seconds();
  c.eta_seconds = s.eta_seconds();
  c.validation_loss = s.validation_loss();
  c.done = s.done() ? 1 : 0;
  return c;
}

diffuse_status busy(const char* function) {
  return set_error(DIFFUSE_E_BUSY, std::string(function) + ": another call is in progress on this trainer");
}

}  // namespace

extern "C" {

diffuse_status diffuse_train_config_resolve(const void* config, size_t len, diffuse_format format,
                                            diffuse_format out_format, diffuse_buffer* resolved) {
  if (resolved) *resolved = diffuse_buffer{nullptr, 0};
  return guarded([&] {
    diffuse::v1::TrainConfig parsed;
    diffuse::capi::parse(config, len, format, &parsed);
    const std::string text = diffuse::print_config(diffuse::resolve_train_config(parsed), diffuse::capi::to_format(out_format));
    if (resolved) diffuse::capi::copy_to_buffer(text, resolved);
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_trainer_create(diffuse_trainer** out, const void* config, size_t len, diffuse_format format) {
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_create", out);
  *out = nullptr;
  return guarded([&] {
    diffuse::v1::TrainConfig parsed;
    diffuse::capi::parse(config, len, format, &parsed);
    auto handle = std::make_unique<diffuse_trainer>();
    handle->attach(diffuse::Trainer::create(parsed));
    *out = handle.release();
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_trainer_create_with_images(diffuse_trainer** out, const void* config, size_t len,
                                                  diffuse_format format, const diffuse_images* train,
                                                  const diffuse_images* validation) {
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_create_with_images", out);
  *out = nullptr;
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_create_with_images", train);
  return guarded([&] {
    diffuse::v1::TrainConfig parsed;
    diffuse::capi::parse(config, len, format, &parsed);
    const diffuse::HostData host = host_data(parsed, train, validation);
    auto handle = std::make_unique<diffuse_trainer>();
    handle->attach(diffuse::Trainer::create(parsed, host));
    *out = handle.release();
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_trainer_resume(diffuse_trainer** out, const char* run_dir) {
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_resume", out);
  *out = nullptr;
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_resume", run_dir);
  return guarded([&] {
    auto handle = std::make_unique<diffuse_trainer>();
    handle->attach(diffuse::Trainer::resume(run_dir));
    *out = handle.release();
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_trainer_resume_with_images(diffuse_trainer** out, const char* run_dir,
                                                  const diffuse_images* train, const diffuse_images* validation) {
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_resume_with_images", out);
  *out = nullptr;
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_resume_with_images", run_dir);
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_resume_with_images", train);
  return guarded([&] {
    auto handle = std::make_unique<diffuse_trainer>();
    handle->attach(diffuse::Trainer::resume(run_dir, to_host_data(train, validation)));
    *out = handle.release();
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_trainer_run(diffuse_trainer* trainer, int64_t max_steps, int64_t* steps_taken) {
  if (steps_taken) *steps_taken = 0;
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_run", trainer);
  if (max_steps < 0) return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_trainer_run: max_steps is negative");
  BusyGuard guard(trainer);
  if (!guard.acquired()) return busy("diffuse_trainer_run");
  return guarded([&] {
    const int64_t taken = trainer->trainer->run(max_steps);
    if (steps_taken) *steps_taken = taken;
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_trainer_get_status(diffuse_trainer* trainer, diffuse_train_status* out) {
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_get_status", trainer);
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_get_status", out);
  if (out->size < offsetof(diffuse_train_status, images_seen) + sizeof(int64_t)) {
    return set_error(DIFFUSE_E_INVALID_ARGUMENT,
                     "diffuse_trainer_get_status: out->size is " + std::to_string(out->size) +
                         "; set it to sizeof(diffuse_train_status)");
  }
  diffuse_train_status full{};
  {
    std::lock_guard<std::mutex> lock(trainer->status_mutex);
    full = to_c_status(trainer->status);
  }
  diffuse::capi::copy_versioned(full, out);
  return DIFFUSE_OK;
}

diffuse_status diffuse_trainer_get_status_message(diffuse_trainer* trainer, diffuse_format format,
                                                  diffuse_buffer* out) {
  if (out) *out = diffuse_buffer{nullptr, 0};
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_get_status_message", trainer);
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_get_status_message", out);
  return guarded([&] {
    diffuse::v1::TrainStatus message;
    {
      std::lock_guard<std::mutex> lock(trainer->status_mutex);
      message = trainer->status;
    }
    diffuse::capi::copy_to_buffer(diffuse::print_config(message, diffuse::capi::to_format(format)), out);
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_trainer_request_stop(diffuse_trainer* trainer) {
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_request_stop", trainer);
  trainer->trainer->request_stop();
  return DIFFUSE_OK;
}

diffuse_status diffuse_trainer_save_checkpoint(diffuse_trainer* trainer) {
  DIFFUSE_REQUIRE_ARG("diffuse_trainer_save_checkpoint", trainer);
  BusyGuard guard(trainer);
  if (!guard.acquired()) return busy("diffuse_trainer_save_checkpoint");
  return guarded([&] {
    trainer->trainer->save_checkpoint();
    return DIFFUSE_OK;
  });
}

void diffuse_trainer_free(diffuse_trainer* trainer) { delete trainer; }

}  // extern "C"
