#include "store/stats_line.h"

#include <nlohmann/json.hpp>

namespace diffuse {

std::string format_stats_line(const StatsLine& s) {
  nlohmann::json line;
  line["nimg"] = s.nimg;
  line["kimg"] = static_cast<double>(s.nimg) / 1000.0;
  line["step"] = s.step;
  line["progress"] = s.progress;
  if (s.status) {
    const StatsLine::Status& st = *s.status;
    line["loss"] = st.loss;
    line["loss_per_sigma_bin"] = st.loss_per_sigma_bin;
    line["lr"] = st.lr;
    line["beta1"] = st.beta1;
    line["lr_compensation"] = st.lr_compensation;
    if (st.clts_strength) line["clts_strength"] = *st.clts_strength;
    if (st.curriculum_stage) line["curriculum_stage"] = *st.curriculum_stage;
    line["samples_per_sigma_bin"] = st.samples_per_sigma_bin;
  }
  if (s.validation) {
    line["validation_loss"] = s.validation->loss;
    line["validation_loss_per_sigma"] = s.validation->per_sigma;
  }
  line["images_per_second"] = s.images_per_second;
  line["seconds_per_step"] = s.seconds_per_step;
  line["elapsed_seconds"] = s.elapsed_seconds;
  line["peak_memory_bytes"] = s.peak_memory_bytes;
  if (s.peak_device_memory_bytes) line["peak_device_memory_bytes"] = *s.peak_device_memory_bytes;
  if (s.world_size) line["world_size"] = *s.world_size;
  if (s.communication_fraction) line["communication_fraction"] = *s.communication_fraction;
  return line.dump();
}

std::optional<int64_t> stats_line_nimg(const std::string& text) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("nimg") || !json["nimg"].is_number_integer()) return std::nullopt;
  return json["nimg"].get<int64_t>();
}

}  // namespace diffuse
