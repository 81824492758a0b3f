#include "io/atomic_file.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

namespace diffuse {
namespace {

// Several writers in one process may target the same path; the counter keeps their temporaries apart.
std::atomic<unsigned> g_tmp_counter{0};

[[noreturn]] void fail_errno(const std::string& what, const std::string& path) {
  fail(ErrorCode::kIo, "{}: {}: {}", path, what, std::strerror(errno));
}

// fsync the directory holding `path`, so that the rename itself survives a crash.
void sync_parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_errno("cannot open directory " + dir + " to sync it", path);
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) fail_errno("cannot sync directory " + dir, path);
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_path_ = path_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(g_tmp_counter++);
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd_ < 0) fail_errno("cannot create temporary file", path_);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  // An empty tmp_path_ means committed (or never created).
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t len) {
  if (fd_ < 0) fail(ErrorCode::kIo, "{}: write() after commit()", path_);
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::write(fd_, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("write failed", path_);
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) fail(ErrorCode::kIo, "{}: commit() called twice", path_);
  if (::fsync(fd_) != 0) fail_errno("fsync failed", path_);
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) fail_errno("close failed", path_);
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) fail_errno("cannot rename " + tmp_path_, path_);
  tmp_path_.clear();
  sync_parent_dir(path_);
}

void write_file_atomic(const std::string& path, const void* data, size_t len) {
  AtomicFile file(path);
  file.write(data, len);
  file.commit();
}

int open_regular_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting for one.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail_errno("cannot open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    fail_errno("cannot stat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(ErrorCode::kIo, "{}: cannot open: not a regular file ({})", path,
         S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO" : "a device or socket");
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

std::string read_file(const std::string& path) {
  int fd = open_regular_file(path);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      ::close(fd);
      errno = saved;
      fail_errno("read failed", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace diffuse
