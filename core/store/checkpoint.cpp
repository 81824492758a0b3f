#include "store/checkpoint.h"

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "config/proto_format.h"
#include "io/safetensors.h"
#include "util/error.h"

namespace diffuse {

const char kCheckpointNetPrefix[] = "net.";

namespace {

constexpr char kCheckpointFormat[] = "diffuse-checkpoint-1";
constexpr char kExpAvg[] = "adam.exp_avg.";
constexpr char kExpAvgSq[] = "adam.exp_avg_sq.";
constexpr char kEmaPrefix[] = "ema";

at::Tensor scalar_i64(int64_t v) { return at::scalar_tensor(v, at::kLong); }
at::Tensor scalar_f64(double v) { return at::scalar_tensor(v, at::kDouble); }

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// "ema<digits>.<name>", the names PowerEma::checkpoint_state gives.
bool is_ema_name(const std::string& name) {
  const size_t dot = name.find('.');
  return starts_with(name, kEmaPrefix) && dot != std::string::npos && dot > 3 &&
         name.find_first_not_of("0123456789", 3) == dot;
}

class Reader {
 public:
  Reader(std::string path, std::map<std::string, at::Tensor> tensors) : path_(std::move(path)), t_(std::move(tensors)) {}

  const at::Tensor& tensor(const std::string& name) const {
    auto it = t_.find(name);
    if (it == t_.end()) fail(ErrorCode::kCorruptFile, "{}: missing tensor '{}'", path_, name);
    return it->second;
  }

  // A 0-dimensional counter, refused unless it is a finite number in [min, max].
  double scalar(const std::string& name, double min, double max) const {
    const at::Tensor& t = tensor(name);
    if (t.dim() != 0 || t.numel() != 1) fail(ErrorCode::kCorruptFile, "{}: '{}' is not a scalar", path_, name);
    const double v = t.to(at::kDouble).item<double>();
    if (!std::isfinite(v) || v < min || v > max) {
      fail(ErrorCode::kCorruptFile, "{}: '{}' is {}, outside [{}, {}]", path_, name, v, min, max);
    }
    return v;
  }

  int64_t count(const std::string& name) const {
    const at::Tensor& t = tensor(name);
    if (t.scalar_type() != at::kLong) fail(ErrorCode::kCorruptFile, "{}: '{}' is not int64", path_, name);
    if (t.dim() != 0) fail(ErrorCode::kCorruptFile, "{}: '{}' is not a scalar", path_, name);
    const int64_t v = t.item<int64_t>();
    // Room to count on: a counter near INT64_MAX would overflow at the next step.
    if (v < 0 || v > (int64_t{1} << 62)) fail(ErrorCode::kCorruptFile, "{}: '{}' is {}, out of range", path_, name, v);
    return v;
  }

  std::map<std::string, at::Tensor> group(const std::string& prefix, bool strip) const {
    std::map<std::string, at::Tensor> out;
    for (const auto& [name, t] : t_) {
      if (starts_with(name, prefix)) out.emplace(strip ? name.substr(prefix.size()) : name, t);
    }
    return out;
  }

  std::map<std::string, at::Tensor> ema() const {
    std::map<std::string, at::Tensor> out;
    for (const auto& [name, t] : t_) {
      if (is_ema_name(name)) out.emplace(name, t);
    }
    return out;
  }

  bool contains(const std::string& name) const { return t_.count(name) > 0; }

 private:
  std::string path_;
  std::map<std::string, at::Tensor> t_;
};

}  // namespace

void write_checkpoint(const std::string& path, const CheckpointState& s, const v1::TrainConfig& config) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, t] : s.net) tensors.emplace_back(kCheckpointNetPrefix + name, t);
  for (const auto& [name, t] : s.adam_exp_avg) tensors.emplace_back(kExpAvg + name, t);
  for (const auto& [name, t] : s.adam_exp_avg_sq) tensors.emplace_back(kExpAvgSq + name, t);
  for (const auto& [name, t] : s.ema) tensors.emplace_back(name, t);
  tensors.emplace_back("state.nimg", scalar_i64(s.nimg));
  tensors.emplace_back("state.step", scalar_i64(s.step));
  tensors.emplace_back("state.loader_position", scalar_i64(s.loader_position));
  tensors.emplace_back("state.nonfinite_steps", scalar_i64(s.nonfinite_steps));
  tensors.emplace_back("state.elapsed_seconds", scalar_f64(s.elapsed_seconds));
  tensors.emplace_back("state.adam_steps", scalar_i64(s.adam_steps));
  tensors.emplace_back("state.adam_beta1_product", scalar_f64(s.adam_beta1_product));
  tensors.emplace_back("state.adam_beta2_product", scalar_f64(s.adam_beta2_product));
  tensors.emplace_back("state.interval_stats", s.interval_stats);
  if (s.noise_curriculum.defined()) tensors.emplace_back("state.noise_curriculum", s.noise_curriculum);
  write_safetensors(path, tensors, {{"format", kCheckpointFormat}, {"config", print_config(config, ConfigFormat::kText)}});
}

CheckpointState read_checkpoint(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto format = file.metadata().find("format");
  if (format == file.metadata().end() || format->second != kCheckpointFormat) {
    fail(ErrorCode::kCorruptFile, "{}: not a diffuse checkpoint (metadata format is not {})", path, kCheckpointFormat);
  }
  const Reader r(path, file.read_all());
  CheckpointState s;
  s.path = path;
  s.net = r.group(kCheckpointNetPrefix, /*strip=*/true);
  s.adam_exp_avg = r.group(kExpAvg, true);
  s.adam_exp_avg_sq = r.group(kExpAvgSq, true);
  s.ema = r.ema();
  s.nimg = r.count("state.nimg");
  s.step = r.count("state.step");
  s.loader_position = r.count("state.loader_position");
  s.nonfinite_steps = r.count("state.nonfinite_steps");
  s.adam_steps = r.count("state.adam_steps");
  s.elapsed_seconds = r.scalar("state.elapsed_seconds", 0, std::numeric_limits<double>::max());
  s.adam_beta1_product = r.scalar("state.adam_beta1_product", 0, 1);
  s.adam_beta2_product = r.scalar("state.adam_beta2_product", 0, 1);
  s.interval_stats = r.tensor("state.interval_stats");
  if (r.contains("state.noise_curriculum")) s.noise_curriculum = r.tensor("state.noise_curriculum");
  return s;
}

void restore_adam_moments(const CheckpointState& state, const std::vector<std::string>& names,
                          std::vector<at::Tensor>& exp_avg, std::vector<at::Tensor>& exp_avg_sq) {
  const std::pair<const char*, const std::map<std::string, at::Tensor>*> groups[] = {
      {kExpAvg, &state.adam_exp_avg}, {kExpAvgSq, &state.adam_exp_avg_sq}};
  std::vector<at::Tensor>* targets[] = {&exp_avg, &exp_avg_sq};
  for (size_t g = 0; g < 2; ++g) {
    for (size_t i = 0; i < names.size(); ++i) {
      const auto it = groups[g].second->find(names[i]);
      if (it == groups[g].second->end()) fail(ErrorCode::kCorruptFile, "{}: missing tensor '{}{}'", state.path, groups[g].first, names[i]);
      if (it->second.sizes() != (*targets[g])[i].sizes()) {
        fail(ErrorCode::kCorruptFile, "{}: '{}{}' has the wrong shape", state.path, groups[g].first, names[i]);
      }
    }
  }
  at::NoGradGuard no_grad;
  for (size_t g = 0; g < 2; ++g) {
    for (size_t i = 0; i < names.size(); ++i) (*targets[g])[i].copy_(groups[g].second->at(names[i]));
  }
}

std::optional<v1::TrainConfig> checkpoint_config(const SafetensorsFile& file) {
  const auto& meta = file.metadata();
  const auto format = meta.find("format");
  const auto config = meta.find("config");
  if (format == meta.end() || format->second != kCheckpointFormat || config == meta.end()) return std::nullopt;
  v1::TrainConfig parsed;
  try {
    parse_config(config->second.data(), config->second.size(), ConfigFormat::kText, &parsed);
  } catch (const Error& e) {
    fail(ErrorCode::kCorruptFile, "{}: metadata config: {}", file.path(), e.what());
  }
  return parsed;
}

}  // namespace diffuse
