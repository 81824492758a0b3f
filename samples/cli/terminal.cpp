#include "terminal.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace diffuse_cli {
namespace {

constexpr char kClearLine[] = "\r\033[K";

void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

Terminal::Terminal(bool active) {
  if (!active) return;
  int fds[2];
  if (::pipe(fds) != 0) return;
  std::fflush(stderr);
  saved_stderr_ = ::dup(STDERR_FILENO);
  if (saved_stderr_ < 0 || ::dup2(fds[1], STDERR_FILENO) < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    if (saved_stderr_ >= 0) ::close(saved_stderr_);
    saved_stderr_ = -1;
    return;
  }
  ::close(fds[1]);
  pipe_read_ = fds[0];
  active_ = true;
  thread_ = std::thread([this] { forward_stderr(); });
}

Terminal::~Terminal() { finish(); }

void Terminal::draw_locked() {
  std::fputs(kClearLine, stdout);
  std::fputs(bar_.c_str(), stdout);
  std::fflush(stdout);
}

void Terminal::progress(const std::string& text) {
  if (!active_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  bar_ = text;
  draw_locked();
}

void Terminal::forward_stderr() {
  std::string pending;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(pipe_read_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buffer, static_cast<size_t>(n));
    const size_t end = pending.rfind('\n');
    if (end == std::string::npos) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    std::fputs(kClearLine, stdout);
    std::fflush(stdout);
    write_all(saved_stderr_, pending.substr(0, end + 1));
    pending.erase(0, end + 1);
    draw_locked();
  }
  if (!pending.empty()) write_all(saved_stderr_, pending + "\n");
}

void Terminal::finish() {
  if (!active_) return;
  active_ = false;
  std::fflush(stderr);
  ::dup2(saved_stderr_, STDERR_FILENO);  // closes the pipe's write end: the thread sees its end
  thread_.join();
  ::close(pipe_read_);
  ::close(saved_stderr_);
  std::fputs("\n", stdout);
  std::fflush(stdout);
}

}  // namespace diffuse_cli
