#include "store/ema_snapshot.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>
#include <tuple>

#include <fmt/format.h>

#include "config/model_config.h"
#include "config/proto_format.h"
#include "ema/power_function.h"
#include "io/safetensors.h"
#include "util/error.h"

namespace diffuse {
namespace {

namespace fs = std::filesystem;

constexpr char kSnapshotFormat[] = "diffuse-ema-1";

bool is_snapshot_name(const std::string& name) {
  const std::string prefix = "ema-", suffix = ".safetensors";
  return name.size() > prefix.size() + suffix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         name.find(".tmp.") == std::string::npos;
}

const std::string& metadata_field(const SafetensorsFile& file, const std::string& key) {
  auto it = file.metadata().find(key);
  if (it == file.metadata().end()) {
    fail(ErrorCode::kCorruptFile, "{}: EMA snapshot metadata has no '{}'", file.path(), key);
  }
  return it->second;
}

template <typename T>
T parse_number(const SafetensorsFile& file, const std::string& key) {
  const std::string& text = metadata_field(file, key);
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    fail(ErrorCode::kCorruptFile, "{}: EMA snapshot metadata '{}' is not a number: \"{}\"", file.path(), key, text);
  }
  return value;
}

}  // namespace

std::string ema_snapshot_name(double sigma_rel, int64_t nimg) {
  return fmt::format("ema-{:.3f}-{:07d}.safetensors", sigma_rel, nimg / 1000);
}

void write_ema_snapshot(const std::string& path, const NamedTensors& tensors, double sigma_rel, int64_t nimg,
                        const v1::ModelConfig& model_config) {
  write_safetensors(path, tensors,
                    {{"format", kSnapshotFormat},
                     {"sigma_rel", fmt::format("{:.17g}", sigma_rel)},
                     {"nimg", std::to_string(nimg)},
                     {"model_config", print_config(model_config, ConfigFormat::kJson)}});
}

EmaSnapshot read_ema_snapshot_info(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  if (metadata_field(file, "format") != kSnapshotFormat) {
    fail(ErrorCode::kCorruptFile, "{}: metadata format is \"{}\", not {}", path, metadata_field(file, "format"), kSnapshotFormat);
  }
  metadata_field(file, "model_config");  // reconstruction builds the network from it
  EmaSnapshot snapshot{path, parse_number<double>(file, "sigma_rel"), parse_number<int64_t>(file, "nimg")};
  try {
    power_function_gamma(snapshot.sigma_rel);
  } catch (const Error& e) {
    fail(ErrorCode::kCorruptFile, "{}: metadata sigma_rel: {}", path, e.what());
  }
  if (snapshot.nimg <= 0) fail(ErrorCode::kCorruptFile, "{}: metadata nimg {} is not positive", path, snapshot.nimg);
  return snapshot;
}

const std::string& snapshot_model_config_json(const SafetensorsFile& file) { return metadata_field(file, "model_config"); }

v1::ModelConfig snapshot_model_config(const SafetensorsFile& file) {
  const std::string& json = snapshot_model_config_json(file);
  v1::ModelConfig config;
  try {
    parse_config(json.data(), json.size(), ConfigFormat::kJson, &config);
    return resolve_model_config(config);
  } catch (const Error& e) {
    fail(ErrorCode::kCorruptFile, "{}: metadata model_config: {}", file.path(), e.what());
  }
}

std::vector<EmaSnapshot> list_ema_snapshots(const std::string& run_dir) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) fail(ErrorCode::kNotFound, "{}: no such directory", run_dir);
  std::vector<EmaSnapshot> snapshots;
  fs::directory_iterator it(run_dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec) && is_snapshot_name(it->path().filename().string())) {
      snapshots.push_back(read_ema_snapshot_info(it->path().string()));
    }
  }
  if (ec) fail(ErrorCode::kIo, "{}: cannot list the directory: {}", run_dir, ec.message());
  if (snapshots.empty()) fail(ErrorCode::kNotFound, "{}: no EMA snapshots (ema-*.safetensors)", run_dir);
  std::sort(snapshots.begin(), snapshots.end(), [](const EmaSnapshot& a, const EmaSnapshot& b) {
    return std::tie(a.nimg, a.sigma_rel, a.path) < std::tie(b.nimg, b.sigma_rel, b.path);
  });
  return snapshots;
}

}  // namespace diffuse
