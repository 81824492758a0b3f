// Atomic file writes: data goes to a temporary file in the same directory, is flushed and fsync'd,
// then renamed over the final name. A crash never leaves a half-written file under `path`.
#pragma once

#include <cstddef>
#include <string>

namespace diffuse {

// Streaming writer. Call write() any number of times, then commit(). If the object is destroyed
// without commit() (error, exception), the temporary file is removed and `path` is untouched.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // throws Error(kIo) if the temporary cannot be created
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t len);  // throws Error(kIo)
  void commit();                             // flush, fsync, rename; throws Error(kIo)

 private:
  std::string path_;
  std::string tmp_path_;
  int fd_ = -1;
};

// Convenience: writes `len` bytes to `path` atomically.
void write_file_atomic(const std::string& path, const void* data, size_t len);

// Opens a regular file for reading and returns its descriptor (the caller closes it). A FIFO, a device
// or a directory named where a file belongs is refused, Error(kIo) "not a regular file", before it can
// block or stream without end; Error(kIo) naming the path when it cannot be opened.
int open_regular_file(const std::string& path);

// Reads a whole file (open_regular_file). Throws Error(kIo) naming the path on failure.
std::string read_file(const std::string& path);

}  // namespace diffuse
