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
#include "format.h"
#include "status.h"
#include "train/trainer.h"

struct diffuse_trainer {
  std::unique_ptr<diffuse::Trainer> trainer;
  std::atomic<bool> busy{false};
  std::mutex status_mutex;
  diffuse::TrainerStatus status;  // as of the last completed step

  void attach(std::unique_ptr<diffuse::Trainer> t) {
    trainer = std::move(t);
    status = trainer->status();
    trainer->set_step_callback([this](const diffuse::TrainerStatus& s) {
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
    if (resolved) {
      resolved->data = std::malloc(text.size() + 1);
      if (!resolved->data) return set_error(DIFFUSE_E_OUT_OF_MEMORY, "diffuse_train_config_resolve: out of memory");
      std::memcpy(resolved->data, text.data(), text.size());
      static_cast<char*>(resolved->data)[text.size()] = '\0';
      resolved->len = text.size();
    }
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
  diffuse::TrainerStatus s;
  {
    std::lock_guard<std::mutex> lock(trainer->status_mutex);
    s = trainer->status;
  }
  diffuse_train_status full{};
  full.size = sizeof(diffuse_train_status);
  full.images_seen = s.nimg;
  full.images_total = s.total_nimg;
  full.steps = s.step;
  full.loss = s.loss;
  full.learning_rate = s.lr;
  full.beta1 = s.beta1;
  full.images_per_second = s.images_per_second;
  full.seconds_per_step = s.seconds_per_step;
  full.elapsed_seconds = s.elapsed_seconds;
  full.eta_seconds = s.eta_seconds;
  full.validation_loss = s.validation_loss;
  full.done = s.done ? 1 : 0;
  const size_t n = out->size < sizeof(full) ? out->size : sizeof(full);
  std::memcpy(reinterpret_cast<char*>(out) + sizeof(size_t), reinterpret_cast<const char*>(&full) + sizeof(size_t),
              n - sizeof(size_t));
  return DIFFUSE_OK;
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
