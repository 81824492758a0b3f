#include "store/event_file.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

#include "store/tf_record.h"
#include "util/error.h"

namespace diffuse {
namespace fs = std::filesystem;

namespace {

constexpr char kPrefix[] = "events.out.tfevents.";
constexpr char kFileVersion[] = "brain.Event:2";

// Files opened by this process: several trainers (or sessions) in one second keep distinct names.
std::atomic<unsigned> g_file_counter{0};

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// The <seconds> of an event file name we wrote, or -1.
int64_t name_seconds(const std::string& name) {
  if (name.rfind(kPrefix, 0) != 0) return -1;
  const size_t begin = sizeof kPrefix - 1, end = name.find('.', begin);
  if (end == std::string::npos || end == begin || end - begin > 18) return -1;
  int64_t seconds = 0;
  for (size_t i = begin; i < end; ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    seconds = seconds * 10 + (name[i] - '0');
  }
  return seconds;
}

}  // namespace

EventFile::EventFile(const std::string& dir, int64_t start_step) {
  int64_t seconds = static_cast<int64_t>(std::floor(wall_time()));
  for (const std::string& path : list_event_files(dir)) {
    seconds = std::max(seconds, name_seconds(fs::path(path).filename().string()) + 1);
  }
  const std::string name = fmt::format("{}{}.{}.{}.{}", kPrefix, seconds, host_name(), ::getpid(), g_file_counter++);
  path_ = (fs::path(dir) / name).string();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(ErrorCode::kIo, "{}: cannot create: {}", path_, std::strerror(errno));

  tensorboard::Event version;
  version.set_file_version(kFileVersion);
  append(0, version);
  tensorboard::Event start;
  start.mutable_session_log()->set_status(tensorboard::SessionLog::START);
  append(start_step, start);
}

EventFile::~EventFile() {
  if (fd_ >= 0) ::close(fd_);
}

void EventFile::append(int64_t step, tensorboard::Event& event) {
  event.set_wall_time(wall_time());
  event.set_step(step);
  const std::string record = frame_record(event.SerializeAsString());
  const char* p = record.data();
  size_t left = record.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(ErrorCode::kIo, "{}: cannot append: {}", path_, n < 0 ? std::strerror(errno) : "nothing written");
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void EventFile::write_scalars(int64_t step, const std::vector<ScalarValue>& values) {
  tensorboard::Event event;
  for (const ScalarValue& v : values) {
    if (!std::isfinite(v.value)) continue;
    tensorboard::Summary::Value* value = event.mutable_summary()->add_value();
    value->set_tag(v.tag);
    value->set_simple_value(static_cast<float>(v.value));
  }
  if (event.has_summary()) append(step, event);
}

void EventFile::write_image(int64_t step, const std::string& tag, const std::string& png, int64_t height,
                            int64_t width, int channels) {
  tensorboard::Event event;
  tensorboard::Summary::Value* value = event.mutable_summary()->add_value();
  value->set_tag(tag);
  tensorboard::Summary::Image* image = value->mutable_image();
  image->set_height(static_cast<int32_t>(height));
  image->set_width(static_cast<int32_t>(width));
  image->set_colorspace(channels);
  image->set_encoded_image_string(png);
  append(step, event);
}

bool is_event_file_name(const std::string& name) { return name.find("tfevents") != std::string::npos; }

std::vector<std::string> list_event_files(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && is_event_file_name(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> paths;
  for (const std::string& name : names) paths.push_back((fs::path(dir) / name).string());
  return paths;
}

std::vector<tensorboard::Event> read_event_file(const std::string& path) {
  std::vector<tensorboard::Event> events;
  const std::vector<std::string> records = read_records(path);
  for (size_t i = 0; i < records.size(); ++i) {
    if (!events.emplace_back().ParseFromString(records[i])) {
      fail(ErrorCode::kCorruptFile, "{}: record {} is no tensorboard Event", path, i);
    }
  }
  return events;
}

}  // namespace diffuse
