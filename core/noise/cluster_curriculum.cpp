#include "noise/cluster_curriculum.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>

#include "util/error.h"

namespace diffuse {
namespace {

constexpr double kLogWidthMin = -6.2146080984221914;  // ln 0.002
constexpr double kLogWidthMax = 4.3820266346738812;   // ln 80

}  // namespace

std::vector<double> cluster_boundaries(const SigmaDensity& density, int num_clusters) {
  std::vector<double> out;
  for (int i = 1; i < num_clusters; ++i) out.push_back(std::exp(density.quantile(static_cast<double>(i) / num_clusters)));
  return out;
}

int64_t fixed_stage(const ClusterOptions& o, const TrainingProgress& progress) {
  const int64_t n = o.num_clusters;
  if (o.fixed_stage_iterations > 0) return std::min(n, 1 + progress.iteration / o.fixed_stage_iterations);
  return std::min(n, 1 + static_cast<int64_t>(std::floor(progress.p * static_cast<double>(n - 1) / o.fixed_fraction)));
}

void PlateauPacer::observe(double loss) {
  if (stage_ >= n_) return;
  smoothed_ = fresh_ ? loss : smoothing_ * smoothed_ + (1 - smoothing_) * loss;
  fresh_ = false;
  if (smoothed_ < best_ - min_delta_) {
    best_ = smoothed_;
    count_ = 0;
  } else {
    ++count_;
  }
  if (count_ >= patience_) {
    // A harder cluster changes the loss scale: the comparison starts afresh.
    ++stage_;
    count_ = 0;
    best_ = std::numeric_limits<double>::infinity();
    fresh_ = true;
  }
}

at::Tensor PlateauPacer::state() const {
  return at::tensor(std::vector<double>{static_cast<double>(stage_), static_cast<double>(count_), best_, smoothed_,
                                        fresh_ ? 1.0 : 0.0},
                    at::TensorOptions().dtype(at::kDouble));
}

void PlateauPacer::load_state(const at::Tensor& state) {
  if (state.scalar_type() != at::kDouble || state.numel() != 5) {
    fail(ErrorCode::kCorruptFile, "cluster curriculum state has {} values, expected 5", state.numel());
  }
  const at::Tensor t = state.contiguous();
  const double* p = t.data_ptr<double>();
  if (!(p[0] >= 1 && p[0] <= n_)) fail(ErrorCode::kCorruptFile, "cluster curriculum stage {} is outside 1..{}", p[0], n_);
  stage_ = static_cast<int64_t>(p[0]);
  count_ = static_cast<int64_t>(p[1]);
  best_ = p[2];
  smoothed_ = p[3];
  fresh_ = p[4] != 0;
}

ClusterCurriculumNoise::ClusterCurriculumNoise(BaseNoise base, ClusterOptions options)
    : base_(std::move(base)), options_(options),
      pacer_(options.num_clusters, options.patience, options.smoothing, options.min_delta) {}

int64_t ClusterCurriculumNoise::stage(const TrainingProgress& progress) const {
  return options_.plateau ? pacer_.stage() : fixed_stage(options_, progress);
}

at::Tensor ClusterCurriculumNoise::sample_sigma(int64_t n, const TrainingProgress& progress, at::Generator generator,
                                                at::Device device) const {
  const int64_t m = stage(progress), count = options_.num_clusters;
  // The last stage is the full base: its own sampler, bit for bit (§1.7(5)).
  if (m >= count) return base_.sampler->sample_sigma(n, progress, generator, device);
  if (base_.discrete()) {
    // t from the base pmf restricted to {⌊(N − m)T/N⌋ .. T − 1}.
    const int64_t t = base_.table->steps();
    const int64_t first = (count - m) * t / count;
    std::vector<double> pmf(base_.pmf.size(), 0.0);
    for (int64_t k = first; k < t; ++k) pmf[static_cast<size_t>(k)] = base_.pmf[static_cast<size_t>(k)];
    return sample_table_sigma(*base_.table, at::tensor(pmf, at::TensorOptions().dtype(at::kDouble)), n, generator,
                              device);
  }
  const SigmaDensity& d = *base_.density;
  // Upper-tail mass of A_m: m/N for equal mass, sf at the cluster edge for equal widths.
  const double tail = options_.equal_log_width
                          ? d.sf(kLogWidthMin + static_cast<double>(count - m) * (kLogWidthMax - kLogWidthMin) /
                                                    static_cast<double>(count))
                          : static_cast<double>(m) / static_cast<double>(count);
  const at::Tensor v = at::rand({n}, generator, at::TensorOptions().dtype(at::kDouble));
  const double* vp = v.data_ptr<double>();
  std::vector<double> l(static_cast<size_t>(n));
  // u ~ U(1 − tail, 1) expressed through its survival value tail·(1 − v), precise in the upper tail.
  for (int64_t i = 0; i < n; ++i) l[static_cast<size_t>(i)] = d.upper_quantile(tail * (1 - vp[i]));
  return sigma_from_log(l, device);
}

void ClusterCurriculumNoise::observe_loss(double loss) {
  if (options_.plateau) pacer_.observe(loss);
}

at::Tensor ClusterCurriculumNoise::state() const { return options_.plateau ? pacer_.state() : at::Tensor(); }

void ClusterCurriculumNoise::load_state(const at::Tensor& state) {
  if (options_.plateau) pacer_.load_state(state);
}

NoiseStatus ClusterCurriculumNoise::status(const TrainingProgress& progress) const {
  return NoiseStatus{0, stage(progress)};
}

}  // namespace diffuse
