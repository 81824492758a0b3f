// Logging facade over spdlog (kept out of headers: including spdlog costs seconds per file).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/core.h>

namespace diffuse {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };

// Process-wide threshold; messages below it are dropped before formatting. Default kInfo, or the
// level named by $DIFFUSE_LOG_LEVEL (trace|debug|info|warn|error|off) at first use.
void set_log_level(LogLevel level);
LogLevel log_level();
bool log_enabled(LogLevel level);

void log_message(LogLevel level, std::string_view message);

// Also writes every message to `path` (appending) until remove_log_file(path). Throws Error(kIo).
void add_log_file(const std::string& path);
void remove_log_file(const std::string& path);

// Also hands every message (without timestamp or level prefix) to `callback`, replacing the previous
// one; an empty function removes it. The callback runs on the logging thread, one message at a time.
using LogCallback = std::function<void(LogLevel, std::string_view)>;
void set_log_callback(LogCallback callback);

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (log_enabled(level)) log_message(level, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void log_debug(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::kDebug, f, std::forward<Args>(a)...); }
template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::kInfo, f, std::forward<Args>(a)...); }
template <typename... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::kWarn, f, std::forward<Args>(a)...); }
template <typename... Args>
void log_error(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::kError, f, std::forward<Args>(a)...); }

}  // namespace diffuse
