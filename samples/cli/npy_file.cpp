#include "npy_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <unistd.h>

namespace diffuse_cli {

bool write_npy_float32(const std::string& path, const float* values, const std::vector<int64_t>& shape,
                       std::string* error) {
  static_assert(sizeof(float) == 4, "float32");
  std::string dims;
  int64_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dims += (i > 0 ? ", " : "") + std::to_string(shape[i]);
    count *= shape[i];
  }
  if (shape.size() == 1) dims += ",";
  // The header is a Python dict literal, padded with spaces and a newline so that the data starts at
  // a multiple of 64 bytes (NumPy's own alignment).
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t prefix = 10, total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');
  std::string file("\x93NUMPY\x01\x00", 8);
  file.push_back(static_cast<char>(header.size() & 0xff));
  file.push_back(static_cast<char>(header.size() >> 8));
  file += header;

  // Written and flushed to the disk before the rename, so that a crash leaves the old file or the new.
  const std::string temporary = path + ".tmp-" + std::to_string(getpid());
  std::FILE* out = std::fopen(temporary.c_str(), "wb");
  bool written = out != nullptr && std::fwrite(file.data(), 1, file.size(), out) == file.size() &&
                 std::fwrite(values, sizeof(float), static_cast<size_t>(count), out) == static_cast<size_t>(count) &&
                 std::fflush(out) == 0 && fsync(fileno(out)) == 0;
  int saved_errno = errno;
  if (out != nullptr && std::fclose(out) != 0 && written) {
    written = false;
    saved_errno = errno;
  }
  if (!written) {
    *error = path + ": cannot write: " + std::strerror(saved_errno);
    std::remove(temporary.c_str());
    return false;
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    *error = path + ": cannot write: " + std::strerror(errno);
    std::remove(temporary.c_str());
    return false;
  }
  return true;
}

}  // namespace diffuse_cli
