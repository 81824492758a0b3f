// The training progress bar on a terminal. While it is shown, everything written to stderr (the
// library's log, LibTorch's warnings) passes through a pipe to a thread that prints each line above
// the bar and redraws the bar below it: log lines never land on the bar's line.
#pragma once

#include <mutex>
#include <string>
#include <thread>

namespace diffuse_cli {

class Terminal {
 public:
  // Inactive (every call does nothing) unless `active`.
  explicit Terminal(bool active);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  // Replaces the bar's text and redraws it.
  void progress(const std::string& text);
  // Ends the bar's line and gives stderr back; called by the destructor too.
  void finish();

 private:
  void forward_stderr();  // the thread
  void draw_locked();

  bool active_ = false;
  int saved_stderr_ = -1;  // the terminal, for the lines passed through
  int pipe_read_ = -1;
  std::thread thread_;
  std::mutex mutex_;
  std::string bar_;
};

}  // namespace diffuse_cli
