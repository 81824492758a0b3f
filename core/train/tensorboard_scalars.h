// The TensorBoard scalars of a stats.jsonl line (README "TensorBoard"), at step = images seen:
//   at a status line: loss, loss_per_sigma_bin/<i>_sigma_<lower>-<upper> (the 10 bins of
//   train/training_stats.h, by σ range, 3 significant digits: 0_sigma_0-0.00577 .. 9_sigma_27.7-inf),
//   learning_rate, beta1, images_per_second;
//   at a validation: validation_loss (the mean over σ) and validation_loss/sigma_<σ> for each of the
//   10 σ of metrics/validation_loss.h (sigma_0.002 .. sigma_80).
#pragma once

#include <string>
#include <vector>

#include "store/event_file.h"
#include "store/stats_line.h"

namespace diffuse {

// The tag of σ bin `bin` (0 .. TrainingStats::kBins - 1) of loss_per_sigma_bin.
std::string sigma_bin_tag(int bin);
// The tag of the validation loss at σ.
std::string validation_sigma_tag(double sigma);

// The line's values under those tags, in that order (NaN values included: EventFile leaves them out).
std::vector<ScalarValue> tensorboard_scalars(const StatsLine& line);

}  // namespace diffuse
