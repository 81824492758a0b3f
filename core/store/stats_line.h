// One line of a run's stats.jsonl (README "The run directory"): a JSON object per status or validation
// interval. The writer and the one reader (the time of a line, for truncation at resume) are here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace diffuse {

// The parts of a line, outside StatsLine: clang 14 cannot default-construct a nested struct with member
// initializers inside std::optional while the enclosing class is incomplete.

// The status interval's training statistics.
struct StatsLineStatus {
  double loss = 0;                             // mean per element
  std::vector<double> loss_per_sigma_bin;
  std::vector<int64_t> samples_per_sigma_bin;  // draws per σ bin
  double lr = 0, beta1 = 0, lr_compensation = 0;
  std::optional<double> clts_strength;         // with the CLTS curriculum
  std::optional<int64_t> curriculum_stage;     // with the cluster curriculum
};

// The validation loss at fixed σ (metrics/validation_loss.h).
struct StatsLineValidation {
  double loss = 0;
  std::vector<double> per_sigma;
};

struct StatsLine {
  int64_t nimg = 0;  // also written as kimg = nimg / 1000
  int64_t step = 0;
  double progress = 0;

  using Status = StatsLineStatus;
  std::optional<Status> status;

  using Validation = StatsLineValidation;
  std::optional<Validation> validation;

  double images_per_second = 0, seconds_per_step = 0, elapsed_seconds = 0;
  int64_t peak_memory_bytes = 0;                      // host (peak RSS)
  std::optional<int64_t> peak_device_memory_bytes;    // CUDA runs
  // Data-parallel runs: the number of processes and the share of the interval's time spent in
  // all-reduce (launch to the last wait).
  std::optional<int64_t> world_size;
  std::optional<double> communication_fraction;
};

// The line as one JSON object (no newline); NaN values become null.
std::string format_stats_line(const StatsLine& line);

// The nimg of a line, or nullopt for one that does not parse or has none.
std::optional<int64_t> stats_line_nimg(const std::string& line);

}  // namespace diffuse
