#include "config/train_config.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "config/model_config.h"
#include "config/proto_format.h"
#include "log/log.h"
#include "noise/noise_distribution.h"
#include "util/device.h"
#include "util/error.h"

namespace diffuse {
namespace {

constexpr int64_t kKi = 1024, kMi = 1024 * 1024;

// A default cadence that scales with a short run: about duration/parts images, never more than the
// reference's `cap` nor less than `floor`, rounded up to a multiple of the batch.
int64_t scaled_cadence(int64_t duration, int64_t parts, int64_t cap, int64_t floor, int64_t batch) {
  const int64_t wanted = std::min(cap, std::max(floor, (duration + parts - 1) / parts));
  return (wanted + batch - 1) / batch * batch;
}

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
    if (required) reject(field + ".format", "required (IDX, PNG_FOLDER, LATENT_FOLDER or MEMORY)");
    return;
  }
  if (!v1::DataSource::Format_IsValid(source->format())) {
    reject(field + ".format", fmt::format("{} is not a known format", static_cast<int>(source->format())));
  }
  if (source->format() != v1::DataSource::MEMORY && source->path().empty()) {
    reject(field + ".path", "required for IDX, PNG_FOLDER and LATENT_FOLDER sources");
  }
  const bool folder = source->format() == v1::DataSource::PNG_FOLDER || source->format() == v1::DataSource::LATENT_FOLDER;
  if (folder && !source->labels_path().empty()) {
    reject(field + ".labels_path", fmt::format("{} labels come from dataset.json or sub-folders",
                                               v1::DataSource::Format_Name(source->format())));
  }
}

// Stable Diffusion's VAE (sd-vae-ft-mse): the raw latents' statistics that EDM2 normalises by.
constexpr double kSdVaeMean[] = {5.81, 3.25, 0.12, -2.15};
constexpr double kSdVaeStd[] = {4.17, 4.62, 3.71, 3.28};

void resolve_latent_statistics(const v1::ModelConfig& model, v1::DataConfig* d) {
  const int channels = model.img_channels();
  for (auto [field, values, defaults] : {std::tuple{"data.latent_mean", d->mutable_latent_mean(), kSdVaeMean},
                                         {"data.latent_std", d->mutable_latent_std(), kSdVaeStd}}) {
    if (values->empty()) {
      if (channels != 4) {
        reject(field, fmt::format("needs model.img_channels = {} values (the default, Stable Diffusion's VAE, has 4)",
                                  channels));
      }
      values->Add(defaults, defaults + 4);
    }
    if (values->size() != channels) {
      reject(field, fmt::format("has {} values, needs model.img_channels = {}", values->size(), channels));
    }
    for (double v : *values) require_finite(field, v);
  }
  for (double v : d->latent_std()) {
    if (!(v > 0)) reject("data.latent_std", fmt::format("{} must be > 0", v));
  }
}

void resolve_data(const v1::ModelConfig& model, v1::DataConfig* d) {
  resolve_source("data.train", d->mutable_train(), /*required=*/true);
  resolve_source("data.validation", d->mutable_validation(), /*required=*/false);
  const bool latent = d->train().format() == v1::DataSource::LATENT_FOLDER;
  if (d->validation().format() != v1::DataSource::FORMAT_UNSPECIFIED &&
      (d->validation().format() == v1::DataSource::LATENT_FOLDER) != latent) {
    reject("data.validation.format", fmt::format("{} but data.train is {}: both latents or both images",
                                                 v1::DataSource::Format_Name(d->validation().format()),
                                                 v1::DataSource::Format_Name(d->train().format())));
  }
  if (latent) {
    // Latents are taken as they are: nothing to resize, pad or composite.
    if (d->has_resize()) reject("data.resize", "LATENT_FOLDER data is not resized (its latents are model.img_resolution)");
    if (d->background_size() > 0) reject("data.background", "LATENT_FOLDER data has no pixels to pad or composite");
    resolve_latent_statistics(model, d);
  } else {
    if (d->latent_mean_size() > 0) reject("data.latent_mean", "only LATENT_FOLDER data uses it");
    if (d->latent_std_size() > 0) reject("data.latent_std", "only LATENT_FOLDER data uses it");
    if (!d->has_resize() || d->resize() == v1::DataConfig::RESIZE_UNSPECIFIED) d->set_resize(v1::DataConfig::PAD);
    if (!v1::DataConfig::Resize_IsValid(d->resize())) reject("data.resize", "unknown value");
    if (d->background_size() == 0) {
      for (int i = 0; i < 3; ++i) d->add_background(0);
    }
    if (d->background_size() != 3) reject("data.background", fmt::format("has {} values, needs 3", d->background_size()));
    for (uint32_t v : d->background()) {
      if (v > 255) reject("data.background", fmt::format("{} is outside 0..255", v));
    }
  }
  if (!d->has_xflip()) d->set_xflip(false);
  if (!d->has_use_labels()) d->set_use_labels(model.label_dim() > 0);
  if (d->use_labels() && model.label_dim() == 0) reject("data.use_labels", "true but model.label_dim is 0");
  if (!d->has_num_workers()) d->set_num_workers(2);
  if (d->num_workers() < 0 || d->num_workers() > 64) reject("data.num_workers", fmt::format("{} is outside 0..64", d->num_workers()));
  if (!d->has_prefetch_batches()) d->set_prefetch_batches(4);
  if (d->prefetch_batches() < 1 || d->prefetch_batches() > 1024) {
    reject("data.prefetch_batches", fmt::format("{} is outside 1..1024", d->prefetch_batches()));
  }
}

using Warnings = std::vector<std::string>;

void require_range(const std::string& field, double value, double lo, double hi, bool lo_open, bool hi_open) {
  require_finite(field, value);
  const bool below = lo_open ? !(value > lo) : !(value >= lo);
  const bool above = hi_open ? !(value < hi) : !(value <= hi);
  if (below || above) {
    reject(field, fmt::format("{} is outside {}{}, {}{}", value, lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]"));
  }
}

void require_positive(const std::string& field, double value) {
  require_finite(field, value);
  if (!(value > 0)) reject(field, fmt::format("{} must be > 0", value));
}

bool discrete_base(const v1::NoiseConfig& n) { return n.distribution() == v1::NoiseConfig::DDPM_UNIFORM || n.discrete(); }

void resolve_ddpm(v1::DdpmTableConfig* d) {
  if (!d->has_schedule() || d->schedule() == v1::DdpmTableConfig::SCHEDULE_UNSPECIFIED) d->set_schedule(v1::DdpmTableConfig::LINEAR);
  if (!v1::DdpmTableConfig::Schedule_IsValid(d->schedule())) reject("noise.ddpm.schedule", "unknown value");
  if (!d->has_steps()) d->set_steps(1000);
  if (d->steps() < 2 || d->steps() > 100000) reject("noise.ddpm.steps", fmt::format("{} is outside 2..100000", d->steps()));
  if (d->schedule() == v1::DdpmTableConfig::LINEAR) {
    if (!d->has_beta_start()) d->set_beta_start(1e-4);
    if (!d->has_beta_end()) d->set_beta_end(0.02);
    require_range("noise.ddpm.beta_start", d->beta_start(), 0, 1, true, true);
    require_range("noise.ddpm.beta_end", d->beta_end(), 0, 1, true, true);
    if (d->beta_end() <= d->beta_start()) {
      reject("noise.ddpm.beta_end", fmt::format("{} must exceed noise.ddpm.beta_start {}", d->beta_end(), d->beta_start()));
    }
  } else if (d->has_beta_start() || d->has_beta_end()) {
    reject(d->has_beta_start() ? "noise.ddpm.beta_start" : "noise.ddpm.beta_end", "only the LINEAR schedule uses it");
  }
}

void resolve_clts(const v1::NoiseConfig& n, double sigma_data, v1::CltsConfig* c, Warnings* warnings) {
  if (!c->has_variant() || c->variant() == v1::CltsConfig::VARIANT_UNSPECIFIED) c->set_variant(v1::CltsConfig::SUPPRESS);
  if (!v1::CltsConfig::Variant_IsValid(c->variant())) reject("noise.clts.variant", "unknown value");
  if (!c->has_shape() || c->shape() == v1::CltsConfig::SHAPE_UNSPECIFIED) c->set_shape(v1::CltsConfig::LINEAR);
  if (!v1::CltsConfig::Shape_IsValid(c->shape())) reject("noise.clts.shape", "unknown value");
  if (!c->has_ramp()) c->set_ramp(0.5);
  require_range("noise.clts.ramp", c->ramp(), 0, 1, false, false);
  if (!c->has_s_quantum()) c->set_s_quantum(1e-4);
  require_range("noise.clts.s_quantum", c->s_quantum(), 0, 1, true, false);
  if (c->variant() == v1::CltsConfig::MIXTURE) {
    if (n.distribution() != v1::NoiseConfig::DDPM_UNIFORM) {
      reject("noise.clts.variant", fmt::format("MIXTURE defines its own base and needs noise.distribution DDPM_UNIFORM, not {}",
                                               v1::NoiseConfig::Distribution_Name(n.distribution())));
    }
    if (!c->has_sigma_frac()) reject("noise.clts.sigma_frac", "required with the MIXTURE variant (no default)");
    require_positive("noise.clts.sigma_frac", c->sigma_frac());
    if (!c->has_mu_frac()) c->set_mu_frac(0.3);
    require_range("noise.clts.mu_frac", c->mu_frac(), 0, 1, false, false);
    if (!c->has_final_weight()) c->set_final_weight(1.0);
    require_range("noise.clts.final_weight", c->final_weight(), 0, 1, true, false);
    if (c->has_center_lambda()) require_finite("noise.clts.center_lambda", c->center_lambda());
    for (auto [field, set] : {std::pair{"s_max", c->has_s_max()}, {"exponent", c->has_exponent()}, {"method", c->has_method()}}) {
      if (set) reject(std::string("noise.clts.") + field, "only the SUPPRESS variant uses it");
    }
    return;
  }
  for (auto [field, set] : {std::pair{"sigma_frac", c->has_sigma_frac()}, {"mu_frac", c->has_mu_frac()},
                            {"final_weight", c->has_final_weight()}, {"center_lambda", c->has_center_lambda()}}) {
    if (set) reject(std::string("noise.clts.") + field, "only the MIXTURE variant uses it");
  }
  if (!c->has_s_max()) c->set_s_max(0.5);
  require_range("noise.clts.s_max", c->s_max(), 0, 1, false, false);
  if (!c->has_exponent()) c->set_exponent(1.0);
  require_range("noise.clts.exponent", c->exponent(), 0, 16, true, false);
  if (!c->has_sigma_data()) c->set_sigma_data(sigma_data);
  require_positive("noise.clts.sigma_data", c->sigma_data());
  if (!c->has_method() || c->method() == v1::CltsConfig::METHOD_UNSPECIFIED) c->set_method(v1::CltsConfig::INVERSE_CDF);
  if (!v1::CltsConfig::Method_IsValid(c->method())) reject("noise.clts.method", "unknown value");
  if (!c->has_grid_bins()) c->set_grid_bins(4096);
  if (c->grid_bins() < 256 || c->grid_bins() > (1 << 20)) {
    reject("noise.clts.grid_bins", fmt::format("{} is outside 256..1048576", c->grid_bins()));
  }
  if (!c->has_grid_sigma_min()) c->set_grid_sigma_min(0.002);
  if (!c->has_grid_sigma_max()) c->set_grid_sigma_max(80);
  require_positive("noise.clts.grid_sigma_min", c->grid_sigma_min());
  require_positive("noise.clts.grid_sigma_max", c->grid_sigma_max());
  if (c->grid_sigma_max() <= c->grid_sigma_min()) {
    reject("noise.clts.grid_sigma_max", fmt::format("{} must exceed noise.clts.grid_sigma_min {}", c->grid_sigma_max(), c->grid_sigma_min()));
  }
  const auto d = n.distribution();
  if (d == v1::NoiseConfig::LAPLACE || d == v1::NoiseConfig::CAUCHY || d == v1::NoiseConfig::COSINE_SCALED) {
    warnings->push_back(fmt::format(
        "TrainConfig.noise.curriculum: CLTS SUPPRESS on noise.distribution {} reshapes an already concentrated "
        "density; benchmark the pair as its own arm and keep noise.snr_reference and noise.clts.sigma_data consistent",
        v1::NoiseConfig::Distribution_Name(d)));
  }
}

void resolve_clusters(const v1::NoiseConfig& n, v1::ClusterCurriculumConfig* c) {
  if (!c->has_num_clusters()) c->set_num_clusters(20);
  if (c->num_clusters() < 2 || c->num_clusters() > 1000) {
    reject("noise.clusters.num_clusters", fmt::format("{} is outside 2..1000", c->num_clusters()));
  }
  if (!c->has_partition() || c->partition() == v1::ClusterCurriculumConfig::PARTITION_UNSPECIFIED) {
    c->set_partition(v1::ClusterCurriculumConfig::EQUAL_MASS);
  }
  if (!v1::ClusterCurriculumConfig::Partition_IsValid(c->partition())) reject("noise.clusters.partition", "unknown value");
  if (c->partition() == v1::ClusterCurriculumConfig::EQUAL_LOG_WIDTH && discrete_base(n)) {
    reject("noise.clusters.partition", "EQUAL_LOG_WIDTH needs a continuous base (noise.distribution DDPM_UNIFORM or noise.discrete is set)");
  }
  if (!c->has_pacing() || c->pacing() == v1::ClusterCurriculumConfig::PACING_UNSPECIFIED) {
    c->set_pacing(v1::ClusterCurriculumConfig::PLATEAU);
  }
  if (!v1::ClusterCurriculumConfig::Pacing_IsValid(c->pacing())) reject("noise.clusters.pacing", "unknown value");
  if (c->pacing() == v1::ClusterCurriculumConfig::PLATEAU) {
    if (!c->has_patience()) c->set_patience(200);
    if (c->patience() < 1) reject("noise.clusters.patience", fmt::format("{} must be >= 1", c->patience()));
    if (!c->has_smoothing()) c->set_smoothing(0.99);
    require_range("noise.clusters.smoothing", c->smoothing(), 0, 1, false, true);
    if (!c->has_min_delta()) c->set_min_delta(0);
    require_range("noise.clusters.min_delta", c->min_delta(), 0, 1e300, false, false);
    for (auto [field, set] : {std::pair{"fixed_fraction", c->has_fixed_fraction()},
                              {"fixed_stage_iterations", c->has_fixed_stage_iterations()}}) {
      if (set) reject(std::string("noise.clusters.") + field, "only FIXED pacing uses it");
    }
  } else {
    if (!c->has_fixed_fraction()) c->set_fixed_fraction(0.1);
    require_range("noise.clusters.fixed_fraction", c->fixed_fraction(), 0, 1, true, false);
    if (!c->has_fixed_stage_iterations()) c->set_fixed_stage_iterations(0);
    if (c->fixed_stage_iterations() < 0) {
      reject("noise.clusters.fixed_stage_iterations", fmt::format("{} is negative", c->fixed_stage_iterations()));
    }
    for (auto [field, set] : {std::pair{"patience", c->has_patience()}, {"smoothing", c->has_smoothing()},
                              {"min_delta", c->has_min_delta()}}) {
      if (set) reject(std::string("noise.clusters.") + field, "only PLATEAU pacing uses it");
    }
  }
}

void resolve_noise(double sigma_data, bool latent, v1::NoiseConfig* n, Warnings* warnings) {
  using N = v1::NoiseConfig;
  if (!n->has_distribution() || n->distribution() == N::DISTRIBUTION_UNSPECIFIED) n->set_distribution(N::EDM_LOGNORMAL);
  if (!N::Distribution_IsValid(n->distribution())) reject("noise.distribution", "unknown value");
  const N::Distribution d = n->distribution();
  // Each parameter belongs to the bases that use it; elsewhere it would be silently ignored.
  const bool lognormal = d == N::EDM_LOGNORMAL;
  const bool located = d == N::COSINE_SHIFTED || d == N::CAUCHY || d == N::LAPLACE;
  for (auto [field, set, used] : {std::tuple{"p_mean", n->has_p_mean(), lognormal}, {"p_std", n->has_p_std(), lognormal},
                                  {"mu", n->has_mu(), located}, {"laplace_b", n->has_laplace_b(), d == N::LAPLACE},
                                  {"cauchy_gamma", n->has_cauchy_gamma(), d == N::CAUCHY},
                                  {"cosine_scale", n->has_cosine_scale(), d == N::COSINE_SCALED}}) {
    if (set && !used) reject(std::string("noise.") + field, fmt::format("noise.distribution {} does not use it", N::Distribution_Name(d)));
  }
  if (lognormal) {
    // EDM2's: its img64 (pixel) and img512 (latent) configurations.
    if (!n->has_p_mean()) n->set_p_mean(latent ? -0.4 : -0.8);
    if (!n->has_p_std()) n->set_p_std(latent ? 1.0 : 1.6);
    require_finite("noise.p_mean", n->p_mean());
    require_positive("noise.p_std", n->p_std());
  }
  if (located) {
    if (!n->has_mu()) n->set_mu(0);
    require_finite("noise.mu", n->mu());
  }
  if (d == N::LAPLACE) {
    if (!n->has_laplace_b()) n->set_laplace_b(0.5);
    require_positive("noise.laplace_b", n->laplace_b());
  }
  if (d == N::CAUCHY) {
    if (!n->has_cauchy_gamma()) n->set_cauchy_gamma(0.346574);
    require_positive("noise.cauchy_gamma", n->cauchy_gamma());
  }
  if (d == N::COSINE_SCALED) {
    if (!n->has_cosine_scale()) n->set_cosine_scale(0.196610);
    require_positive("noise.cosine_scale", n->cosine_scale());
  }
  if (!n->has_snr_reference() || n->snr_reference() == N::SNR_REFERENCE_UNSPECIFIED) n->set_snr_reference(N::RAW);
  if (!N::SnrReference_IsValid(n->snr_reference())) reject("noise.snr_reference", "unknown value");
  if (lognormal && n->snr_reference() != N::RAW) {
    reject("noise.snr_reference", "EDM_LOGNORMAL is defined on ln σ; DATA_NORMALIZED applies to the logSNR densities only");
  }
  if (d == N::DDPM_UNIFORM) n->set_discrete(true);
  if (!n->has_discrete()) n->set_discrete(false);
  if (discrete_base(*n)) {
    resolve_ddpm(n->mutable_ddpm());
  } else if (n->has_ddpm()) {
    reject("noise.ddpm", "set, but only DDPM_UNIFORM or noise.discrete uses a DDPM table");
  }
  if (!n->has_curriculum() || n->curriculum() == N::CURRICULUM_UNSPECIFIED) n->set_curriculum(N::NONE);
  if (!N::Curriculum_IsValid(n->curriculum())) reject("noise.curriculum", "unknown value");
  // One curriculum at a time (§6): settings of the other one are an error, not silently ignored.
  if (n->has_clts() && n->curriculum() != N::CLTS) {
    reject("noise.clts", fmt::format("set, but noise.curriculum is {} (one curriculum at a time)", N::Curriculum_Name(n->curriculum())));
  }
  if (n->has_clusters() && n->curriculum() != N::CLUSTERS) {
    reject("noise.clusters", fmt::format("set, but noise.curriculum is {} (one curriculum at a time)", N::Curriculum_Name(n->curriculum())));
  }
  if (n->curriculum() == N::CLTS) resolve_clts(*n, sigma_data, n->mutable_clts(), warnings);
  if (n->curriculum() == N::CLUSTERS) resolve_clusters(*n, n->mutable_clusters());
}

void resolve_loss(double sigma_data, v1::LossConfig* l) {
  using L = v1::LossConfig;
  if (!l->has_weighting() || l->weighting() == L::WEIGHTING_UNSPECIFIED) l->set_weighting(L::EDM);
  if (!L::Weighting_IsValid(l->weighting())) reject("loss.weighting", "unknown value");
  const bool edm = l->weighting() == L::EDM;
  if (!l->has_uncertainty()) l->set_uncertainty(edm);
  if (l->uncertainty() && !edm) {
    reject("loss.uncertainty", fmt::format("true with loss.weighting {}: the learned uncertainty cancels any static weighting "
                                           "other than EDM once it adapts (set loss.uncertainty: false)",
                                           L::Weighting_Name(l->weighting())));
  }
  if (!l->has_loss_scaling()) l->set_loss_scaling(1.0);
  require_finite("loss.loss_scaling", l->loss_scaling());
  if (l->loss_scaling() <= 0) reject("loss.loss_scaling", fmt::format("{} must be > 0", l->loss_scaling()));
  const bool snr_based = l->weighting() == L::MIN_SNR || l->weighting() == L::SOFT_MIN_SNR;
  if (!snr_based && (l->has_snr_gamma() || l->has_snr_reference())) {
    reject(l->has_snr_gamma() ? "loss.snr_gamma" : "loss.snr_reference",
           fmt::format("loss.weighting {} does not use it (MIN_SNR and SOFT_MIN_SNR do)", L::Weighting_Name(l->weighting())));
  }
  if (snr_based) {
    if (!l->has_snr_reference() || l->snr_reference() == v1::NoiseConfig::SNR_REFERENCE_UNSPECIFIED) {
      l->set_snr_reference(v1::NoiseConfig::RAW);
    }
    if (!v1::NoiseConfig::SnrReference_IsValid(l->snr_reference())) reject("loss.snr_reference", "unknown value");
    if (!l->has_snr_gamma()) {
      // Min-SNR-5 (official); soft-min-SNR's k-diffusion form γ = σ_d⁻² in RAW SNR, 1 in normalised SNR.
      const bool raw = l->snr_reference() == v1::NoiseConfig::RAW;
      l->set_snr_gamma(l->weighting() == L::MIN_SNR ? 5.0 : (raw ? 1 / (sigma_data * sigma_data) : 1.0));
    }
    require_positive("loss.snr_gamma", l->snr_gamma());
  }
  if (!l->has_target() || l->target() == L::TARGET_UNSPECIFIED) l->set_target(L::F);
  if (!L::Target_IsValid(l->target())) reject("loss.target", "unknown value");
  if (l->target() != L::F) {
    reject("loss.target", fmt::format("{} needs a DDPM-style (ε/v/x0) preconditioned network; the model is EDM-preconditioned "
                                      "and predicts F (its weighted F-loss equals the x0-space form, methods.md §1.4)",
                                      L::Target_Name(l->target())));
  }
}

void resolve_mdlrc(const v1::OptimizerConfig& o, v1::MdlrcConfig* m, Warnings* warnings) {
  if (!m->has_beta1_start()) m->set_beta1_start(o.beta1());
  require_range("optimizer.mdlrc.beta1_start", m->beta1_start(), 0, 1, true, true);
  if (!m->has_beta1_end()) m->set_beta1_end(std::min(0.5, m->beta1_start()));
  require_range("optimizer.mdlrc.beta1_end", m->beta1_end(), 0, m->beta1_start(), false, false);
  if (!m->has_p_start()) m->set_p_start(0);
  require_range("optimizer.mdlrc.p_start", m->p_start(), 0, 1, false, true);
  if (!m->has_p_end()) m->set_p_end(m->p_start() < 0.5 ? 0.5 : 1.0);
  require_range("optimizer.mdlrc.p_end", m->p_end(), m->p_start(), 1, true, false);
  if (!m->has_shape() || m->shape() == v1::MdlrcConfig::SHAPE_UNSPECIFIED) m->set_shape(v1::MdlrcConfig::LINEAR);
  if (!v1::MdlrcConfig::Shape_IsValid(m->shape())) reject("optimizer.mdlrc.shape", "unknown value");
  if (!m->has_compensation() || m->compensation() == v1::MdlrcConfig::COMPENSATION_UNSPECIFIED) {
    // The convergence benchmark's choice (bench/README.md): the modes differ only through the learning
    // rate they end at, and that is the user's to set (optimizer.ref_lr), not a side effect of MDLRC.
    m->set_compensation(v1::MdlrcConfig::NONE);
  }
  if (!v1::MdlrcConfig::Compensation_IsValid(m->compensation())) reject("optimizer.mdlrc.compensation", "unknown value");
  if (!m->has_bias_correction() || m->bias_correction() == v1::MdlrcConfig::BIAS_CORRECTION_UNSPECIFIED) {
    m->set_bias_correction(v1::MdlrcConfig::EXACT);
  }
  if (!v1::MdlrcConfig::BiasCorrection_IsValid(m->bias_correction())) reject("optimizer.mdlrc.bias_correction", "unknown value");
  if (m->compensation() == v1::MdlrcConfig::SGD_EQUIVALENT && o.ref_lr() >= 0.005) {
    warnings->push_back(fmt::format(
        "TrainConfig.optimizer.mdlrc.compensation: SGD_EQUIVALENT multiplies optimizer.ref_lr {} by up to {:.3g} at "
        "beta1_end {}; watch for instability",
        o.ref_lr(), (1 - m->beta1_end()) / (1 - m->beta1_start()), m->beta1_end()));
  }
}

void resolve_optimizer(const v1::ModelConfig& model, int64_t duration, v1::OptimizerConfig* o, Warnings* warnings) {
  if (!o->has_lr_schedule() || o->lr_schedule() == v1::OptimizerConfig::LR_SCHEDULE_UNSPECIFIED) {
    o->set_lr_schedule(v1::OptimizerConfig::EDM2);
  }
  if (!v1::OptimizerConfig::LrSchedule_IsValid(o->lr_schedule())) reject("optimizer.lr_schedule", "unknown value");
  if (!o->has_ref_lr()) o->set_ref_lr(0.01);
  if (!o->has_ref_batches()) o->set_ref_batches(model.preset().rfind("edm2-img64", 0) == 0 ? 35000 : 70000);
  // The reference's 10 M images, or a tenth of a shorter run (which would otherwise end warming up).
  if (!o->has_rampup_images()) o->set_rampup_images(std::min(10e6, static_cast<double>(duration) / 10));
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
  if (o->lr_schedule() == v1::OptimizerConfig::COSINE) {
    if (!o->has_cosine_final_fraction()) o->set_cosine_final_fraction(0);
    require_range("optimizer.cosine_final_fraction", o->cosine_final_fraction(), 0, 1, false, false);
  } else if (o->has_cosine_final_fraction()) {
    reject("optimizer.cosine_final_fraction", "only optimizer.lr_schedule COSINE uses it");
  }
  if (!o->has_momentum_schedule() || o->momentum_schedule() == v1::OptimizerConfig::MOMENTUM_SCHEDULE_UNSPECIFIED) {
    o->set_momentum_schedule(v1::OptimizerConfig::NONE);
  }
  if (!v1::OptimizerConfig::MomentumSchedule_IsValid(o->momentum_schedule())) reject("optimizer.momentum_schedule", "unknown value");
  if (o->momentum_schedule() == v1::OptimizerConfig::MDLRC) {
    resolve_mdlrc(*o, o->mutable_mdlrc(), warnings);
  } else if (o->has_mdlrc()) {
    reject("optimizer.mdlrc", "set, but optimizer.momentum_schedule is NONE");
  }
}

// §2.3/§6: the sampler's default range [0.002, 80] should lie within the [1e-4, 1 − 1e-4] quantiles of
// the final training density; the EDM log-normal (the reference recipe) is exempt.
void check_sampler_coverage(const v1::TrainConfig& c, Warnings* warnings) {
  if (c.noise().distribution() == v1::NoiseConfig::EDM_LOGNORMAL) return;
  const auto [lo, hi] = training_sigma_quantiles(c.noise(), c.model().sigma_data(), 1e-4);
  if (lo > 0.002 || hi < 80) {
    warnings->push_back(fmt::format(
        "TrainConfig.noise.distribution: {} trains almost never (quantiles 1e-4 and 1 - 1e-4 at sigma {:.4g} and {:.4g}) "
        "on parts of the default sampler range [0.002, 80]; consider SamplerConfig.sigma_min/sigma_max",
        v1::NoiseConfig::Distribution_Name(c.noise().distribution()), lo, hi));
  }
}

void resolve_distributed(const c10::Device& device, v1::DistributedConfig* d) {
  if (!d->has_backend() || d->backend() == v1::DistributedConfig::BACKEND_UNSPECIFIED) {
    d->set_backend(device.is_cuda() ? v1::DistributedConfig::NCCL : v1::DistributedConfig::GLOO);
  }
  if (d->backend() == v1::DistributedConfig::NCCL && !device.is_cuda()) {
    reject("run.distributed.backend", "NCCL needs a CUDA run.device");
  }
  if (!d->has_timeout_seconds()) d->set_timeout_seconds(300);
  if (!(d->timeout_seconds() > 0 && d->timeout_seconds() <= 7 * 24 * 3600)) {
    reject("run.distributed.timeout_seconds", fmt::format("{} is outside (0, 604800]", d->timeout_seconds()));
  }
  if (!d->has_bucket_mib()) d->set_bucket_mib(25);
  if (!(d->bucket_mib() > 0 && d->bucket_mib() <= 4096)) {
    reject("run.distributed.bucket_mib", fmt::format("{} is outside (0, 4096]", d->bucket_mib()));
  }
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
  try {
    parse_device(r->device(), "TrainConfig.run.device");
  } catch (const Error& e) {
    fail(ErrorCode::kInvalidConfig, "{}", e.what());
  }
  if (!r->has_threads()) r->set_threads(0);
  if (r->threads() < 0 || r->threads() > 1024) reject("run.threads", fmt::format("{} is outside 0..1024", r->threads()));
  const int64_t batch = r->batch_size();
  const int64_t duration = r->duration_images();
  if (!r->has_status_images()) r->set_status_images(scaled_cadence(duration, 32, 128 * kKi, batch, batch));
  if (!r->has_checkpoint_images()) r->set_checkpoint_images(scaled_cadence(duration, 4, 128 * kMi, 1000, batch));
  if (r->status_images() <= 0) reject("run.status_images", fmt::format("{} must be > 0", r->status_images()));
  if (!r->has_validation_images()) r->set_validation_images(256);
  if (r->validation_images() < 1) reject("run.validation_images", fmt::format("{} must be >= 1", r->validation_images()));
  // Validation at the status lines, but not more often than every 64 validation sets: its 10 noise
  // levels of forward passes then cost at most ~5 % of training's 3 passes per image.
  if (!r->has_validation_interval_images()) {
    const int64_t every = (64 * int64_t{r->validation_images()} + r->status_images() - 1) / r->status_images();
    r->set_validation_interval_images(std::max<int64_t>(1, every) * r->status_images());
  }
  require_cadence("run.status_images", r->status_images(), batch, false);
  require_cadence("run.checkpoint_images", r->checkpoint_images(), batch, true);
  require_cadence("run.validation_interval_images", r->validation_interval_images(), batch, false);
  if (!r->has_sample_grid_count()) r->set_sample_grid_count(16);
  if (r->sample_grid_count() < 1 || r->sample_grid_count() > 1024) {
    reject("run.sample_grid_count", fmt::format("{} is outside 1..1024", r->sample_grid_count()));
  }
  // A grid's count x 31 network evaluations are ~1 % of the 3 passes of 1024 x count training images.
  if (!r->has_sample_grid_images()) {
    r->set_sample_grid_images(scaled_cadence(duration, 8, 8 * kMi, 1024 * int64_t{r->sample_grid_count()}, batch));
  }
  require_cadence("run.sample_grid_images", r->sample_grid_images(), batch, true);
  if (!r->has_keep_checkpoints()) r->set_keep_checkpoints(2);
  if (r->keep_checkpoints() < 1) reject("run.keep_checkpoints", fmt::format("{} must be >= 1", r->keep_checkpoints()));
  if (!r->has_max_nonfinite_steps()) r->set_max_nonfinite_steps(8);
  if (r->max_nonfinite_steps() < 1) {
    reject("run.max_nonfinite_steps", fmt::format("{} must be >= 1", r->max_nonfinite_steps()));
  }
  resolve_distributed(parse_device(r->device(), "TrainConfig.run.device"), r->mutable_distributed());
}

void resolve_ema(int64_t batch, int64_t duration, v1::EmaConfig* e) {
  if (e->sigma_rels_size() == 0) {
    e->add_sigma_rels(0.05);
    e->add_sigma_rels(0.10);
  }
  for (double s : e->sigma_rels()) {
    if (!(s > 0 && s < 0.2886)) reject("ema.sigma_rels", fmt::format("{} is outside (0, 0.2886)", s));
  }
  // Post-hoc EMA fits a profile from snapshots at several times: a short run still gets about 8.
  if (!e->has_snapshot_images()) e->set_snapshot_images(scaled_cadence(duration, 8, 8 * kMi, 1000, batch));
  require_cadence("ema.snapshot_images", e->snapshot_images(), batch, true);
  if (!e->has_snapshot_dtype() || e->snapshot_dtype() == v1::EmaConfig::SNAPSHOT_DTYPE_UNSPECIFIED) {
    e->set_snapshot_dtype(v1::EmaConfig::FP16);
  }
  if (!v1::EmaConfig::SnapshotDtype_IsValid(e->snapshot_dtype())) reject("ema.snapshot_dtype", "unknown value");
}

}  // namespace

v1::TrainConfig resolve_train_config(const v1::TrainConfig& config) {
  std::vector<std::string> warnings;
  v1::TrainConfig out = resolve_train_config(config, &warnings);
  for (const std::string& w : warnings) log_warn("{}", w);
  return out;
}

v1::TrainConfig resolve_train_config(const v1::TrainConfig& config, std::vector<std::string>* warnings) {
  v1::TrainConfig out = config;
  out.clear_model();
  canonicalize_numbers(&out, "TrainConfig");  // the model's numbers: resolve_model_config below
  try {
    *out.mutable_model() = resolve_model_config(config.model());
  } catch (const Error& e) {
    throw Error(e.code(), std::string("TrainConfig.model: ") + e.what());
  }
  resolve_run(out.mutable_run());
  resolve_data(out.model(), out.mutable_data());
  const bool latent = out.data().train().format() == v1::DataSource::LATENT_FOLDER;
  if (latent) {
    if (config.run().has_sample_grid_images() && config.run().sample_grid_images() != 0) {
      reject("run.sample_grid_images",
             "must be 0 for LATENT_FOLDER data: a latent sample is an image only through the VAE's decoder, which "
             "diffuse does not hold");
    }
    out.mutable_run()->set_sample_grid_images(0);
  }
  const double sigma_data = out.model().sigma_data();
  resolve_noise(sigma_data, latent, out.mutable_noise(), warnings);
  resolve_loss(sigma_data, out.mutable_loss());
  resolve_optimizer(out.model(), out.run().duration_images(), out.mutable_optimizer(), warnings);
  resolve_ema(out.run().batch_size(), out.run().duration_images(), out.mutable_ema());
  check_sampler_coverage(out, warnings);
  return out;
}

}  // namespace diffuse
