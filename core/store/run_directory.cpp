#include "store/run_directory.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <sstream>
#include <unistd.h>

#include <fmt/core.h>

#include "config/proto_format.h"
#include "io/atomic_file.h"
#include "store/event_file.h"
#include "store/stats_line.h"
#include "util/error.h"

namespace diffuse {
namespace fs = std::filesystem;

namespace {

constexpr char kConfigName[] = "config.textproto";
constexpr char kLockName[] = "run.lock";  // held (flock) by the trainer that writes the run
constexpr char kStatsName[] = "stats.jsonl";
constexpr char kLogName[] = "log.txt";
constexpr char kSamplesName[] = "samples";  // sample grids

bool is_temporary_name(const std::string& name) { return name.find(".tmp.") != std::string::npos; }

bool is_sample_grid_name(const std::string& name) {
  return name.rfind("grid-", 0) == 0 && fs::path(name).extension() == ".png";
}

void remove_file(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) fail(ErrorCode::kIo, "{}: cannot remove: {}", path.string(), ec.message());
}

bool is_checkpoint_name(const std::string& name) {
  return name.size() == std::string("checkpoint-0000000.safetensors").size() && name.rfind("checkpoint-", 0) == 0 &&
         name.find(".tmp.") == std::string::npos &&
         name.compare(name.size() - 12, 12, ".safetensors") == 0;
}

}  // namespace

RunDirectory::RunDirectory(std::string path) : path_(std::move(path)) {
  std::error_code ec;
  fs::create_directories(path_, ec);
  if (ec) fail(ErrorCode::kIo, "{}: cannot create run directory: {}", path_, ec.message());
  if (!fs::is_directory(path_)) fail(ErrorCode::kIo, "{}: not a directory", path_);
}

std::string RunDirectory::file(const std::string& name) const { return (fs::path(path_) / name).string(); }

std::string RunDirectory::log_file() const { return file(kLogName); }

RunDirectory::Lock::~Lock() { ::close(fd_); }  // closing releases the flock

std::unique_ptr<RunDirectory::Lock> RunDirectory::lock() const {
  const std::string path = file(kLockName);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail(ErrorCode::kIo, "{}: cannot open: {}", path, std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int saved = errno;
    char pid[32] = {};
    const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    ::close(fd);
    if (saved == EWOULDBLOCK) {
      fail(ErrorCode::kBusy, "{}: in use by another trainer (pid {})", path_, n > 0 ? std::string(pid, static_cast<size_t>(n)) : "?");
    }
    fail(ErrorCode::kIo, "{}: cannot lock: {}", path, std::strerror(saved));
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int saved = errno;
    ::close(fd);
    fail(ErrorCode::kIo, "{}: cannot write: {}", path, std::strerror(saved));
  }
  return std::make_unique<Lock>(fd);
}

bool RunDirectory::holds_run() const { return !checkpoints().empty(); }

std::vector<std::string> RunDirectory::clear_unfinished_run() const {
  std::vector<std::string> removed;
  for (const auto& entry : fs::directory_iterator(path_)) {
    const std::string name = entry.path().filename().string();
    const bool ours = name == kConfigName || name == kStatsName || is_temporary_name(name) || is_event_file_name(name) ||
                      (name.rfind("ema-", 0) == 0 && entry.path().extension() == ".safetensors");
    if (!entry.is_regular_file() || !ours) continue;
    remove_file(entry.path());
    removed.push_back(name);
  }
  const fs::path samples = fs::path(path_) / kSamplesName;
  if (fs::is_directory(samples)) {
    for (const auto& entry : fs::directory_iterator(samples)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_regular_file() || !(is_sample_grid_name(name) || is_temporary_name(name))) continue;
      remove_file(entry.path());
      removed.push_back(std::string(kSamplesName) + "/" + name);
    }
  }
  std::sort(removed.begin(), removed.end());
  return removed;
}

void RunDirectory::save_config(const v1::TrainConfig& resolved) const {
  const std::string text = print_config(resolved, ConfigFormat::kText);
  write_file_atomic(file(kConfigName), text.data(), text.size());
}

v1::TrainConfig RunDirectory::load_config(const std::string& run_dir) {
  const std::string path = (fs::path(run_dir) / kConfigName).string();
  const std::string text = read_file(path);
  v1::TrainConfig config;
  try {
    parse_config(text.data(), text.size(), ConfigFormat::kText, &config);
  } catch (const Error& e) {
    fail(ErrorCode::kCorruptFile, "{}: {}", path, e.what());
  }
  config.mutable_run()->set_output_dir(run_dir);
  return config;
}

std::string RunDirectory::checkpoint_name(int64_t nimg) { return fmt::format("checkpoint-{:07d}.safetensors", nimg / 1000); }

std::vector<std::string> RunDirectory::checkpoints() const {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(path_)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && is_checkpoint_name(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());  // fixed-width kimg: lexical order is time order
  std::vector<std::string> paths;
  for (const auto& name : names) paths.push_back(file(name));
  return paths;
}

void RunDirectory::prune_checkpoints(int keep) const {
  std::vector<std::string> all = checkpoints();
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i], ec);
    if (ec) fail(ErrorCode::kIo, "{}: cannot delete old checkpoint: {}", all[i], ec.message());
  }
}

void RunDirectory::remove_stale_temporaries() const {
  for (const fs::path& dir : {fs::path(path_), fs::path(path_) / kSamplesName}) {
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.is_regular_file() && is_temporary_name(entry.path().filename().string())) {
        std::error_code ec;
        fs::remove(entry.path(), ec);
      }
    }
  }
}

std::string RunDirectory::sample_grid_file(int64_t nimg) const {
  const fs::path samples = fs::path(path_) / kSamplesName;
  std::error_code ec;
  fs::create_directories(samples, ec);
  if (ec) fail(ErrorCode::kIo, "{}: cannot create: {}", samples.string(), ec.message());
  return (samples / fmt::format("grid-{:07d}.png", nimg / 1000)).string();
}

void RunDirectory::append_stats(const std::string& line) const {
  const std::string path = file(kStatsName);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) fail(ErrorCode::kIo, "{}: cannot open: {}", path, std::strerror(errno));
  const std::string data = line + "\n";
  const ssize_t written = ::write(fd, data.data(), data.size());
  const int saved = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(data.size())) fail(ErrorCode::kIo, "{}: cannot append: {}", path, std::strerror(saved));
}

void RunDirectory::truncate_stats(int64_t max_nimg) const {
  const std::string path = file(kStatsName);
  if (!fs::exists(path)) return;
  std::istringstream in(read_file(path));
  std::string kept, line;
  while (std::getline(in, line)) {
    const std::optional<int64_t> nimg = stats_line_nimg(line);
    if (nimg && *nimg <= max_nimg) kept += line + "\n";
  }
  write_file_atomic(path, kept.data(), kept.size());
}

}  // namespace diffuse
