#include "log/log.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "util/error.h"

namespace diffuse {
namespace {

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

LogLevel level_from_env() {
  const char* env = std::getenv("DIFFUSE_LOG_LEVEL");
  if (!env) return LogLevel::kInfo;
  const std::string s(env);
  if (s == "trace") return LogLevel::kTrace;
  if (s == "debug") return LogLevel::kDebug;
  if (s == "warn") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  if (s == "off") return LogLevel::kOff;
  return LogLevel::kInfo;
}

std::atomic<int>& threshold() {
  static std::atomic<int> level{static_cast<int>(level_from_env())};
  return level;
}

LogLevel from_spdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return LogLevel::kTrace;
    case spdlog::level::debug: return LogLevel::kDebug;
    case spdlog::level::info: return LogLevel::kInfo;
    case spdlog::level::warn: return LogLevel::kWarn;
    case spdlog::level::err:
    case spdlog::level::critical: return LogLevel::kError;
    default: return LogLevel::kOff;
  }
}

// Forwards raw messages to a host function. base_sink's mutex serialises the calls.
class CallbackSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit CallbackSink(LogCallback callback) : callback_(std::move(callback)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    callback_(from_spdlog(msg.level), std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  LogCallback callback_;
};

// Our own logger, not spdlog's default one, so a host's spdlog set-up is left alone. Its sinks sit
// behind a dist_sink, which may gain and lose file sinks while other threads log.
struct Logger {
  std::shared_ptr<spdlog::sinks::dist_sink_mt> sinks = std::make_shared<spdlog::sinks::dist_sink_mt>();
  std::shared_ptr<spdlog::logger> logger;
  std::mutex files_mutex;
  std::map<std::string, spdlog::sink_ptr> files;
  spdlog::sink_ptr callback;  // guarded by files_mutex

  Logger() {
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [diffuse] [%l] %v");
    sinks->add_sink(console);
    logger = std::make_shared<spdlog::logger>("diffuse", sinks);
    logger->set_level(spdlog::level::trace);  // filtering happens in log_enabled()
  }
};

Logger& instance() {
  static Logger l;
  return l;
}

}  // namespace

void set_log_level(LogLevel level) { threshold().store(static_cast<int>(level)); }
LogLevel log_level() { return static_cast<LogLevel>(threshold().load()); }
bool log_enabled(LogLevel level) {
  return level != LogLevel::kOff && static_cast<int>(level) >= threshold().load(std::memory_order_relaxed);
}

void log_message(LogLevel level, std::string_view message) { instance().logger->log(to_spdlog(level), "{}", message); }

void add_log_file(const std::string& path) {
  Logger& l = instance();
  std::lock_guard<std::mutex> lock(l.files_mutex);
  if (l.files.count(path)) return;
  spdlog::sink_ptr sink;
  try {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
  } catch (const spdlog::spdlog_ex& e) {
    fail(ErrorCode::kIo, "{}: cannot open log file: {}", path, e.what());
  }
  sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  l.files[path] = sink;
  l.sinks->add_sink(sink);
}

void remove_log_file(const std::string& path) {
  Logger& l = instance();
  std::lock_guard<std::mutex> lock(l.files_mutex);
  auto it = l.files.find(path);
  if (it == l.files.end()) return;
  l.sinks->remove_sink(it->second);
  it->second->flush();
  l.files.erase(it);
}

void set_log_callback(LogCallback callback) {
  Logger& l = instance();
  std::lock_guard<std::mutex> lock(l.files_mutex);
  if (l.callback) l.sinks->remove_sink(l.callback);
  l.callback = nullptr;
  if (callback) {
    l.callback = std::make_shared<CallbackSink>(std::move(callback));
    l.sinks->add_sink(l.callback);
  }
}

}  // namespace diffuse
