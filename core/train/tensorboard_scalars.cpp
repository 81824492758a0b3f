#include "train/tensorboard_scalars.h"

#include <limits>

#include <fmt/core.h>

#include "metrics/validation_loss.h"
#include "train/training_stats.h"

namespace diffuse {

std::string sigma_bin_tag(int bin) {
  const double lower = bin == 0 ? 0.0 : TrainingStats::bin_upper_edge(bin - 1);
  const double upper = bin == TrainingStats::kBins - 1 ? std::numeric_limits<double>::infinity()
                                                       : TrainingStats::bin_upper_edge(bin);
  return fmt::format("loss_per_sigma_bin/{}_sigma_{:.3g}-{:.3g}", bin, lower, upper);
}

std::string validation_sigma_tag(double sigma) { return fmt::format("validation_loss/sigma_{:.3g}", sigma); }

std::vector<ScalarValue> tensorboard_scalars(const StatsLine& line) {
  std::vector<ScalarValue> values;
  if (line.status) {
    const StatsLine::Status& st = *line.status;
    values.push_back({"loss", st.loss});
    for (size_t i = 0; i < st.loss_per_sigma_bin.size(); ++i) {
      values.push_back({sigma_bin_tag(static_cast<int>(i)), st.loss_per_sigma_bin[i]});
    }
    values.push_back({"learning_rate", st.lr});
    values.push_back({"beta1", st.beta1});
    values.push_back({"images_per_second", line.images_per_second});
  }
  if (line.validation) {
    values.push_back({"validation_loss", line.validation->loss});
    const std::vector<double> sigmas = Validator::sigmas();
    for (size_t i = 0; i < line.validation->per_sigma.size() && i < sigmas.size(); ++i) {
      values.push_back({validation_sigma_tag(sigmas[i]), line.validation->per_sigma[i]});
    }
  }
  return values;
}

}  // namespace diffuse
