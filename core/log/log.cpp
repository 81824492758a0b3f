#include "log/log.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

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

// Our own logger on stderr, not spdlog's default one, so a host's spdlog set-up is left alone.
spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto l = std::make_shared<spdlog::logger>("diffuse", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    l->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [diffuse] [%l] %v");
    l->set_level(spdlog::level::trace);  // filtering happens in log_enabled()
    return l;
  }();
  return *instance;
}

}  // namespace

void set_log_level(LogLevel level) { threshold().store(static_cast<int>(level)); }
LogLevel log_level() { return static_cast<LogLevel>(threshold().load()); }
bool log_enabled(LogLevel level) {
  return level != LogLevel::kOff && static_cast<int>(level) >= threshold().load(std::memory_order_relaxed);
}

void log_message(LogLevel level, std::string_view message) {
  logger().log(to_spdlog(level), "{}", message);
}

}  // namespace diffuse
