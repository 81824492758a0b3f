// The library's log messages for a host language's callback, through a queue: the library thread
// that logs only appends (the header asks callbacks to return quickly, and a JVM, .NET runtime or Go
// scheduler should not be entered from a training thread), and one thread of the host language takes
// the messages with next() and calls the host's closure. A full queue drops messages and says how
// many in the next one it delivers.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>

#include "diffuse.h"
#include "status.hpp"

namespace diffuse_binding {

struct LogMessage {
  int level = DIFFUSE_LOG_INFO;
  std::string text;
};

class LogQueue {
 public:
#ifndef SWIG
  static constexpr size_t kCapacity = 4096;
#endif

  ~LogQueue() { stop(); }

  // Installs this queue as the library's log callback (replacing any other callback).
  void start(Status& status) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = false;
    }
    status.record(diffuse_log_set_callback(&LogQueue::receive, this));
  }

  // Removes the callback; next() then returns the messages still queued and then false.
  void stop() {
    diffuse_log_set_callback(nullptr, nullptr);  // once it returns, receive() is not running
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    ready_.notify_all();
  }

  // Blocks until a message is queued (true) or the queue is stopped and empty (false).
  bool next(LogMessage& out) {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [this] { return !messages_.empty() || dropped_ > 0 || closed_; });
    if (dropped_ > 0) {
      out.level = DIFFUSE_LOG_WARN;
      out.text = std::to_string(dropped_) + " log messages dropped: the host's log callback fell behind";
      dropped_ = 0;
      return true;
    }
    if (messages_.empty()) return false;
    out = std::move(messages_.front());
    messages_.pop_front();
    return true;
  }

 private:
#ifndef SWIG
  static void receive(void* user, diffuse_log_level level, const char* message) {
    auto* self = static_cast<LogQueue*>(user);
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (self->messages_.size() >= kCapacity) {
      ++self->dropped_;
    } else {
      self->messages_.push_back(LogMessage{static_cast<int>(level), message});
    }
    self->ready_.notify_one();
  }
#endif

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<LogMessage> messages_;
  size_t dropped_ = 0;
  bool closed_ = false;
};

}  // namespace diffuse_binding
