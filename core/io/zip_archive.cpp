#include "io/zip_archive.h"

#include <algorithm>
#include <filesystem>
#include <memory>

#include <zip.h>
#include <zlib.h>

#include "util/error.h"

namespace diffuse {
namespace {

// libzip's words for an error code from zip_open.
std::string open_error_message(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string message = zip_error_strerror(&error);
  zip_error_fini(&error);
  return message;
}

// Whether a libzip error means the bytes are at fault rather than the file system.
bool is_content_error(int code) {
  switch (code) {
    case ZIP_ER_NOZIP:
    case ZIP_ER_INCONS:
    case ZIP_ER_CRC:
    case ZIP_ER_COMPNOTSUPP:
    case ZIP_ER_ENCRNOTSUPP:
    case ZIP_ER_NOPASSWD:
    case ZIP_ER_WRONGPASSWD:
    case ZIP_ER_ZLIB:
    case ZIP_ER_EOF:
    case ZIP_ER_MULTIDISK:
#ifdef ZIP_ER_COMPRESSED_DATA  // libzip 1.6
    case ZIP_ER_COMPRESSED_DATA:
#endif
      return true;
    default:
      return false;
  }
}

// Throws the Error for a failed read of `name`: kCorruptFile when the bytes are at fault, else kIo.
[[noreturn]] void fail_read(const std::string& path, const std::string& name, zip_error_t* error) {
  fail(is_content_error(zip_error_code_zip(error)) ? ErrorCode::kCorruptFile : ErrorCode::kIo, "{}: {}: cannot read: {}",
       path, name, zip_error_strerror(error));
}

struct CloseFile {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

// Reads a member opened with `flags` to its end: exactly `size` bytes. The buffer starts at `reserve`
// bytes (what the archive's length allows) and grows only as data arrives, so that a recorded size
// alone never allocates; it asks for one byte more, because data longer than its record is damage too
// (and libzip checks the CRC at the end of the data it unpacks).
std::string read_member(zip_t* handle, uint64_t index, zip_flags_t flags, uint64_t size, uint64_t reserve,
                        const std::string& path, const std::string& name) {
  const std::unique_ptr<zip_file_t, CloseFile> file(zip_fopen_index(handle, index, flags));
  if (!file) fail_read(path, name, zip_get_error(handle));
  std::string bytes(static_cast<size_t>(std::min(size, reserve)) + 1, '\0');
  uint64_t done = 0;
  while (true) {
    if (done == bytes.size()) {
      if (done > size) break;
      bytes.resize(static_cast<size_t>(std::min<uint64_t>(size + 1, std::max<uint64_t>(2 * done, 1 << 16))));
    }
    const zip_int64_t got = zip_fread(file.get(), &bytes[static_cast<size_t>(done)], bytes.size() - done);
    if (got < 0) fail_read(path, name, zip_file_get_error(file.get()));
    if (got == 0) break;
    done += static_cast<uint64_t>(got);
  }
  if (done > size) fail(ErrorCode::kCorruptFile, "{}: {}: more data than its recorded {} bytes", path, name, size);
  if (done != size) fail(ErrorCode::kCorruptFile, "{}: {}: {} of its recorded {} bytes", path, name, done, size);
  bytes.resize(static_cast<size_t>(size));
  return bytes;
}

// Deflate cannot unpack to more than 1032 times its size (a 258-byte match in as little as 2 bits).
constexpr uint64_t kMaxDeflateRatio = 1032;

// Raw deflate data (a zip member's) unpacked to exactly `size` bytes. A `size` that `packed` cannot
// reach allocates only what it can.
std::string inflate_member(const std::string& packed, uint64_t size, const std::string& path, const std::string& name) {
  // One byte more than can be needed: longer output is damage.
  std::string bytes(static_cast<size_t>(std::min<uint64_t>(size, packed.size() * kMaxDeflateRatio + 64)) + 1, '\0');
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) fail(ErrorCode::kOutOfMemory, "{}: {}: cannot start zlib", path, name);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  stream.avail_in = static_cast<uInt>(packed.size());
  stream.next_out = reinterpret_cast<Bytef*>(bytes.data());
  stream.avail_out = static_cast<uInt>(bytes.size());
  const int status = inflate(&stream, Z_FINISH);
  const uint64_t produced = stream.total_out;
  const std::string message = stream.msg != nullptr ? stream.msg : "";
  inflateEnd(&stream);
  if (status == Z_DATA_ERROR) fail(ErrorCode::kCorruptFile, "{}: {}: cannot read: Zlib error: {}", path, name, message);
  if (produced > size)
    fail(ErrorCode::kCorruptFile, "{}: {}: cannot read: unpacks to more than its recorded {} bytes", path, name, size);
  if (status != Z_STREAM_END || produced != size)
    fail(ErrorCode::kCorruptFile, "{}: {}: cannot read: deflate data cut short ({} of its recorded {} bytes)", path,
         name, produced, size);
  bytes.resize(static_cast<size_t>(size));
  return bytes;
}

}  // namespace

ZipArchive::ZipArchive(std::string path) : path_(std::move(path)) {
  int code = 0;
  // No ZIP_CHECKCONS: it reads every member's local header at open (1.3 s for 200k files, twice the
  // directory alone), and a member's data is checked when it is read.
  handle_ = zip_open(path_.c_str(), ZIP_RDONLY, &code);
  if (handle_ == nullptr) {
    fail(is_content_error(code) ? ErrorCode::kCorruptFile : ErrorCode::kIo, "{}: cannot read zip archive: {}", path_,
         open_error_message(code));
  }
  std::error_code ec;
  archive_bytes_ = std::filesystem::file_size(path_, ec);  // zip_open has read it: no error here
  const zip_int64_t entries = zip_get_num_entries(handle_, 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_stat_t stat;
    if (zip_stat_index(handle_, static_cast<zip_uint64_t>(i), 0, &stat) != 0 || !(stat.valid & ZIP_STAT_NAME)) {
      const std::string message = zip_strerror(handle_);
      zip_discard(handle_);
      fail(ErrorCode::kCorruptFile, "{}: entry {}: {}", path_, i, message);
    }
    const std::string name = stat.name;
    if (name.empty() || name.back() == '/') continue;  // a directory
    names_.push_back(name);
    indices_.push_back(static_cast<uint64_t>(i));
  }
}

ZipArchive::~ZipArchive() { zip_discard(handle_); }

std::string ZipArchive::read(size_t i, uint64_t max_bytes) const {
  if (i >= names_.size()) fail(ErrorCode::kInvalidArgument, "{}: file {} of {}", path_, i, names_.size());
  const std::string& name = names_[i];
  zip_stat_t stat;
  std::string packed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (zip_stat_index(handle_, indices_[i], 0, &stat) != 0) fail_read(path_, name, zip_get_error(handle_));
    constexpr zip_uint64_t kNeeded = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_CRC | ZIP_STAT_COMP_METHOD;
    if ((stat.valid & kNeeded) != kNeeded)
      fail(ErrorCode::kCorruptFile, "{}: {}: no size, CRC or method recorded", path_, name);
    if (stat.size > max_bytes || stat.comp_size > max_bytes)
      fail(ErrorCode::kCorruptFile, "{}: {}: {} bytes, more than the {} a file may have", path_, name,
           std::max(stat.size, stat.comp_size), max_bytes);
    if ((stat.valid & ZIP_STAT_ENCRYPTION_METHOD) && stat.encryption_method != ZIP_EM_NONE)
      fail(ErrorCode::kCorruptFile, "{}: {}: encrypted", path_, name);
    if (stat.comp_size > archive_bytes_)
      fail(ErrorCode::kCorruptFile, "{}: {}: records {} stored bytes, more than the archive's {}", path_, name,
           stat.comp_size, archive_bytes_);
    if (stat.comp_method == ZIP_CM_STORE && stat.comp_size != stat.size)
      fail(ErrorCode::kCorruptFile, "{}: {}: stored with {} bytes but records {}", path_, name, stat.comp_size,
           stat.size);
    // Stored and deflated data (all that EDM2's and Python's tools write) are taken as stored and
    // unpacked outside the lock; any other method libzip unpacks and checks here.
    if (stat.comp_method != ZIP_CM_STORE && stat.comp_method != ZIP_CM_DEFLATE)
      return read_member(handle_, indices_[i], 0, stat.size, stat.comp_size * kMaxDeflateRatio, path_, name);
    packed = read_member(handle_, indices_[i], ZIP_FL_COMPRESSED, stat.comp_size, stat.comp_size, path_, name);
  }
  // libzip checks a stored member's CRC even when asked for its stored bytes, a deflated member's only
  // when it unpacks it.
  if (stat.comp_method == ZIP_CM_STORE) return packed;
  std::string bytes = inflate_member(packed, stat.size, path_, name);
  const uLong crc = crc32_z(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()), bytes.size());
  if (crc != stat.crc) fail(ErrorCode::kCorruptFile, "{}: {}: cannot read: CRC error", path_, name);
  return bytes;
}

}  // namespace diffuse
