#include "train/training_stats.h"

#include <cmath>
#include <limits>

#include <ATen/ATen.h>

#include "util/error.h"

namespace diffuse {
namespace {

constexpr double kSigmaMin = 0.002, kSigmaMax = 80.0;

}  // namespace

double TrainingStats::bin_upper_edge(int i) {
  // kBins - 1 inner edges spread evenly in log σ across [0.002, 80].
  const double t = static_cast<double>(i + 1) / kBins;
  return std::exp(std::log(kSigmaMin) + t * (std::log(kSigmaMax) - std::log(kSigmaMin)));
}

int TrainingStats::bin_of(double sigma) {
  for (int i = 0; i < kBins - 1; ++i) {
    if (sigma < bin_upper_edge(i)) return i;
  }
  return kBins - 1;
}

void TrainingStats::add(const at::Tensor& sigma, const at::Tensor& per_image_loss) {
  const at::Tensor s = sigma.detach().to(at::kCPU, at::kDouble).contiguous();
  const at::Tensor l = per_image_loss.detach().to(at::kCPU, at::kDouble).contiguous();
  const double* sp = s.data_ptr<double>();
  const double* lp = l.data_ptr<double>();
  for (int64_t i = 0; i < s.numel(); ++i) {
    if (!std::isfinite(lp[i])) continue;  // counted by the trainer's non-finite guard instead
    sum_ += lp[i];
    ++count_;
    const int b = bin_of(sp[i]);
    bin_sum_[b] += lp[i];
    ++bin_count_[b];
  }
}

void TrainingStats::reset() { *this = TrainingStats(); }

double TrainingStats::mean_loss() const {
  return count_ ? sum_ / static_cast<double>(count_) : std::numeric_limits<double>::quiet_NaN();
}

std::vector<double> TrainingStats::mean_loss_per_bin() const {
  std::vector<double> out(kBins);
  for (int i = 0; i < kBins; ++i) {
    out[i] = bin_count_[i] ? bin_sum_[i] / static_cast<double>(bin_count_[i]) : std::numeric_limits<double>::quiet_NaN();
  }
  return out;
}

std::vector<int64_t> TrainingStats::count_per_bin() const { return {bin_count_.begin(), bin_count_.end()}; }

at::Tensor TrainingStats::state() const {
  at::Tensor t = at::empty({2 + 2 * kBins}, at::kDouble);
  double* p = t.data_ptr<double>();
  p[0] = sum_;
  p[1] = static_cast<double>(count_);
  for (int i = 0; i < kBins; ++i) {
    p[2 + i] = bin_sum_[i];
    p[2 + kBins + i] = static_cast<double>(bin_count_[i]);
  }
  return t;
}

void TrainingStats::load_state(const at::Tensor& state, const std::string& what) {
  if (state.scalar_type() != at::kDouble || state.numel() != 2 + 2 * kBins) {
    fail(ErrorCode::kCorruptFile, "{}: {} values, expected {} doubles", what, state.numel(), 2 + 2 * kBins);
  }
  const at::Tensor t = state.contiguous();
  const double* p = t.data_ptr<double>();
  // A count is a whole number of losses that a double holds exactly; anything else is a corrupt file
  // (and converting it to an integer would be undefined).
  const auto count = [&](int index) {
    const double value = p[index];
    if (!(value >= 0 && value <= 9007199254740992.0) || value != std::floor(value)) {
      fail(ErrorCode::kCorruptFile, "{}: value {} is {}, not a count", what, index, value);
    }
    return static_cast<int64_t>(value);
  };
  sum_ = p[0];
  count_ = count(1);
  for (int i = 0; i < kBins; ++i) {
    bin_sum_[i] = p[2 + i];
    bin_count_[i] = count(2 + kBins + i);
  }
}

}  // namespace diffuse
