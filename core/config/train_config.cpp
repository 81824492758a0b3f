#include "config/train_config.h"

#include <cmath>
#include <string>

#include "config/model_config.h"
#include "util/error.h"

namespace diffuse {
namespace {

constexpr int64_t kKi = 1024, kMi = 1024 * 1024;

[[noreturn]] void reject(const std::string& field, const std::string& why) {
  fail(ErrorCode::kInvalidConfig, "TrainConfig.{}: {}", field, why);
}

void require_finite(const std::string& field, double value) {
  if (!std::isfinite(value)) reject(field, fmt::format("{} is not a finite number", value));
}

void require_cadence(const std::string& field, int64_t value, int64_t batch, bool at_least_1000) {
  if (value < 0) reject(field, fmt::format("{} is negative", value));
  if (value == 0) return;
  if (value % batch != 0) reject(field, fmt::format("{} is not a multiple of run.batch_size {}", value, batch));
  // File names carry kimg = nimg / 1000; cadences of at least 1000 images keep them distinct.
  if (at_least_1000 && value < 1000) reject(field, fmt::format("{} is below 1000 images", value));
}

void resolve_source(const std::string& field, v1::DataSource* source, bool required) {
  if (!source->has_format() || source->format() == v1::DataSource::FORMAT_UNSPECIFIED) {
    if (required) reject(field + ".format", "required (IDX, PNG_FOLDER or MEMORY)");
    return;
  }
  if (!v1::DataSource::Format_IsValid(source->format())) {
    reject(field + ".format", fmt::format("{} is not a known format", static_cast<int>(source->format())));
  }
  if (source->format() != v1::DataSource::MEMORY && source->path().empty()) {
    reject(field + ".path", "required for IDX and PNG_FOLDER sources");
  }
  if (source->format() == v1::DataSource::PNG_FOLDER && !source->labels_path().empty()) {
    reject(field + ".labels_path", "PNG_FOLDER labels come from dataset.json or sub-folders");
  }
}

void resolve_data(const v1::ModelConfig& model, v1::DataConfig* d) {
  resolve_source("data.train", d->mutable_train(), /*required=*/true);
  resolve_source("data.validation", d->mutable_validation(), /*required=*/false);
  if (!d->has_resize() || d->resize() == v1::DataConfig::RESIZE_UNSPECIFIED) d->set_resize(v1::DataConfig::PAD);
  if (!v1::DataConfig::Resize_IsValid(d->resize())) reject("data.resize", "unknown value");
  if (!d->has_xflip()) d->set_xflip(false);
  if (!d->has_use_labels()) d->set_use_labels(model.label_dim() > 0);
  if (d->use_labels() && model.label_dim() == 0) reject("data.use_labels", "true but model.label_dim is 0");
  if (d->background_size() == 0) {
    for (int i = 0; i < 3; ++i) d->add_background(0);
  }
  if (d->background_size() != 3) reject("data.background", fmt::format("has {} values, needs 3", d->background_size()));
  for (uint32_t v : d->background()) {
    if (v > 255) reject("data.background", fmt::format("{} is outside 0..255", v));
  }
  if (!d->has_num_workers()) d->set_num_workers(2);
  if (d->num_workers() < 0 || d->num_workers() > 64) reject("data.num_workers", fmt::format("{} is outside 0..64", d->num_workers()));
  if (!d->has_prefetch_batches()) d->set_prefetch_batches(4);
  if (d->prefetch_batches() < 1 || d->prefetch_batches() > 1024) {
    reject("data.prefetch_batches", fmt::format("{} is outside 1..1024", d->prefetch_batches()));
  }
}

void resolve_noise(v1::NoiseConfig* n) {
  if (!n->has_distribution() || n->distribution() == v1::NoiseConfig::DISTRIBUTION_UNSPECIFIED) {
    n->set_distribution(v1::NoiseConfig::EDM_LOGNORMAL);
  }
  if (!v1::NoiseConfig::Distribution_IsValid(n->distribution())) reject("noise.distribution", "unknown value");
  if (!n->has_p_mean()) n->set_p_mean(-0.8);
  if (!n->has_p_std()) n->set_p_std(1.6);
  require_finite("noise.p_mean", n->p_mean());
  require_finite("noise.p_std", n->p_std());
  if (n->p_std() <= 0) reject("noise.p_std", fmt::format("{} must be > 0", n->p_std()));
}

void resolve_loss(v1::LossConfig* l) {
  if (!l->has_weighting() || l->weighting() == v1::LossConfig::WEIGHTING_UNSPECIFIED) l->set_weighting(v1::LossConfig::EDM);
  if (!v1::LossConfig::Weighting_IsValid(l->weighting())) reject("loss.weighting", "unknown value");
  if (!l->has_uncertainty()) l->set_uncertainty(true);
  if (!l->has_loss_scaling()) l->set_loss_scaling(1.0);
  require_finite("loss.loss_scaling", l->loss_scaling());
  if (l->loss_scaling() <= 0) reject("loss.loss_scaling", fmt::format("{} must be > 0", l->loss_scaling()));
}

void resolve_optimizer(const v1::ModelConfig& model, v1::OptimizerConfig* o) {
  if (!o->has_lr_schedule() || o->lr_schedule() == v1::OptimizerConfig::LR_SCHEDULE_UNSPECIFIED) {
    o->set_lr_schedule(v1::OptimizerConfig::EDM2);
  }
  if (!v1::OptimizerConfig::LrSchedule_IsValid(o->lr_schedule())) reject("optimizer.lr_schedule", "unknown value");
  if (!o->has_ref_lr()) o->set_ref_lr(0.01);
  if (!o->has_ref_batches()) o->set_ref_batches(model.preset().rfind("edm2-img64", 0) == 0 ? 35000 : 70000);
  if (!o->has_rampup_images()) o->set_rampup_images(10e6);
  if (!o->has_beta1()) o->set_beta1(0.9);
  if (!o->has_beta2()) o->set_beta2(0.99);
  if (!o->has_eps()) o->set_eps(1e-8);
  for (auto [field, value] : {std::pair{"optimizer.ref_lr", o->ref_lr()}, {"optimizer.ref_batches", o->ref_batches()},
                              {"optimizer.rampup_images", o->rampup_images()}, {"optimizer.beta1", o->beta1()},
                              {"optimizer.beta2", o->beta2()}, {"optimizer.eps", o->eps()}}) {
    require_finite(field, value);
  }
  if (o->ref_lr() <= 0) reject("optimizer.ref_lr", fmt::format("{} must be > 0", o->ref_lr()));
  if (o->ref_batches() <= 0) reject("optimizer.ref_batches", fmt::format("{} must be > 0", o->ref_batches()));
  if (o->rampup_images() < 0) reject("optimizer.rampup_images", fmt::format("{} is negative", o->rampup_images()));
  if (o->beta1() < 0 || o->beta1() >= 1) reject("optimizer.beta1", fmt::format("{} is outside [0, 1)", o->beta1()));
  if (o->beta2() < 0 || o->beta2() >= 1) reject("optimizer.beta2", fmt::format("{} is outside [0, 1)", o->beta2()));
  if (o->eps() <= 0) reject("optimizer.eps", fmt::format("{} must be > 0", o->eps()));
}

void resolve_run(v1::RunConfig* r) {
  if (r->output_dir().empty()) reject("run.output_dir", "required");
  if (!r->has_batch_size()) r->set_batch_size(2048);
  if (r->batch_size() < 1) reject("run.batch_size", fmt::format("{} must be >= 1", r->batch_size()));
  if (!r->has_batch_per_step()) r->set_batch_per_step(r->batch_size());
  if (r->batch_per_step() < 1 || r->batch_size() % r->batch_per_step() != 0) {
    reject("run.batch_per_step",
           fmt::format("{} does not divide run.batch_size {}", r->batch_per_step(), r->batch_size()));
  }
  if (r->duration_images() <= 0) reject("run.duration_images", "required, > 0");
  if (!r->has_seed()) r->set_seed(0);
  if (!r->has_device()) r->set_device("cpu");
  const std::string& dev = r->device();
  const bool cuda_index = dev.rfind("cuda:", 0) == 0 && dev.size() > 5 &&
                          dev.find_first_not_of("0123456789", 5) == std::string::npos;
  if (dev != "cpu" && dev != "cuda" && !cuda_index) reject("run.device", fmt::format("\"{}\" is not cpu, cuda or cuda:N", dev));
  if (!r->has_threads()) r->set_threads(0);
  if (r->threads() < 0 || r->threads() > 1024) reject("run.threads", fmt::format("{} is outside 0..1024", r->threads()));
  const int64_t batch = r->batch_size();
  if (!r->has_status_images()) r->set_status_images(128 * kKi);
  if (!r->has_checkpoint_images()) r->set_checkpoint_images(128 * kMi);
  if (!r->has_validation_interval_images()) r->set_validation_interval_images(r->status_images());
  if (r->status_images() <= 0) reject("run.status_images", fmt::format("{} must be > 0", r->status_images()));
  require_cadence("run.status_images", r->status_images(), batch, false);
  require_cadence("run.checkpoint_images", r->checkpoint_images(), batch, true);
  require_cadence("run.validation_interval_images", r->validation_interval_images(), batch, false);
  if (!r->has_keep_checkpoints()) r->set_keep_checkpoints(2);
  if (r->keep_checkpoints() < 1) reject("run.keep_checkpoints", fmt::format("{} must be >= 1", r->keep_checkpoints()));
  if (!r->has_validation_images()) r->set_validation_images(256);
  if (r->validation_images() < 1) reject("run.validation_images", fmt::format("{} must be >= 1", r->validation_images()));
  if (!r->has_max_nonfinite_steps()) r->set_max_nonfinite_steps(8);
  if (r->max_nonfinite_steps() < 1) {
    reject("run.max_nonfinite_steps", fmt::format("{} must be >= 1", r->max_nonfinite_steps()));
  }
}

void resolve_ema(int64_t batch, v1::EmaConfig* e) {
  if (e->sigma_rels_size() == 0) {
    e->add_sigma_rels(0.05);
    e->add_sigma_rels(0.10);
  }
  for (double s : e->sigma_rels()) {
    if (!(s > 0 && s < 0.2886)) reject("ema.sigma_rels", fmt::format("{} is outside (0, 0.2886)", s));
  }
  if (!e->has_snapshot_images()) e->set_snapshot_images(8 * kMi);
  require_cadence("ema.snapshot_images", e->snapshot_images(), batch, true);
  if (!e->has_snapshot_dtype() || e->snapshot_dtype() == v1::EmaConfig::SNAPSHOT_DTYPE_UNSPECIFIED) {
    e->set_snapshot_dtype(v1::EmaConfig::FP16);
  }
  if (!v1::EmaConfig::SnapshotDtype_IsValid(e->snapshot_dtype())) reject("ema.snapshot_dtype", "unknown value");
}

}  // namespace

v1::TrainConfig resolve_train_config(const v1::TrainConfig& config) {
  v1::TrainConfig out = config;
  try {
    *out.mutable_model() = resolve_model_config(config.model());
  } catch (const Error& e) {
    throw Error(e.code(), std::string("TrainConfig.model: ") + e.what());
  }
  resolve_run(out.mutable_run());
  resolve_data(out.model(), out.mutable_data());
  resolve_noise(out.mutable_noise());
  resolve_loss(out.mutable_loss());
  resolve_optimizer(out.model(), out.mutable_optimizer());
  resolve_ema(out.run().batch_size(), out.mutable_ema());
  return out;
}

}  // namespace diffuse
