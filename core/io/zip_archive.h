// A zip archive read through libzip: the names of its files and each file's bytes, CRC-checked.
// Nothing is extracted to disk, so a member named "../x" is only a name.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

typedef struct zip zip_t;

namespace diffuse {

class ZipArchive {
 public:
  // Opens `path` and reads its central directory. Throws Error(kIo) if the file cannot be read,
  // Error(kCorruptFile) naming it if it is not a zip archive or its directory is damaged.
  explicit ZipArchive(std::string path);
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  // The archive's regular files (directories left out) in the archive's order, as stored:
  // '/'-separated names relative to the archive's root.
  const std::vector<std::string>& files() const { return names_; }

  // The bytes of files()[i]. Thread-safe. Throws Error(kCorruptFile) naming the archive and the file
  // when its data is damaged (cut short, too long, bad CRC), encrypted, compressed by a method libzip
  // lacks, or larger than `max_bytes` stored or unpacked; Error(kIo) when the archive can no longer
  // be read.
  std::string read(size_t i, uint64_t max_bytes) const;

 private:
  std::string path_;
  std::vector<std::string> names_;
  std::vector<uint64_t> indices_;  // names_[i]'s index in the archive
  uint64_t archive_bytes_ = 0;     // the archive's length, which bounds every member's stored bytes
  // One libzip handle (one copy of the directory, which for a million files is ~300 MB), used by one
  // thread at a time: readers take the stored bytes under the lock and inflate them outside it.
  mutable std::mutex mutex_;
  zip_t* handle_ = nullptr;
};

}  // namespace diffuse
