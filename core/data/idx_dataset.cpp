// IDX files (MNIST, Fashion-MNIST): big-endian magic 00 00 <type> <ndim>, ndim uint32 sizes, raw data.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"
#include "data/packed_dataset.h"
#include "io/atomic_file.h"
#include "util/error.h"

namespace diffuse {
namespace {

constexpr uint8_t kTypeUint8 = 0x08;
constexpr int kMaxDims = 4;
// The whole file is held in memory: a header declaring more than this is refused before reading,
// so that a small gzip bomb cannot exhaust memory.
constexpr uint64_t kMaxDataBytes = uint64_t{1} << 36;
// Data is read in pieces so that memory follows what the file really holds, not what its header claims.
constexpr size_t kReadChunk = size_t{1} << 22;

const char* idx_type_name(uint8_t type) {
  switch (type) {
    case 0x08: return "uint8";
    case 0x09: return "int8";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

// An open IDX file, gzip-compressed or plain (gzread passes plain files through).
class IdxReader {
 public:
  explicit IdxReader(std::string path) : path_(std::move(path)) {
    const int fd = open_regular_file(path_);
    file_ = gzdopen(fd, "rb");
    if (file_ == nullptr) {
      ::close(fd);
      fail(ErrorCode::kIo, "{}: cannot open: out of memory", path_);
    }
    gzbuffer(file_, 1 << 17);
  }
  ~IdxReader() { gzclose(file_); }
  IdxReader(const IdxReader&) = delete;
  IdxReader& operator=(const IdxReader&) = delete;

  // The header's sizes, after checking the magic and the element type.
  std::vector<int64_t> read_header() {
    uint8_t magic[4];
    const size_t got = read(magic, sizeof magic);
    if (got < sizeof magic) fail(ErrorCode::kCorruptFile, "{}: truncated IDX header: {} bytes", path_, got);
    if (magic[0] != 0 || magic[1] != 0 || magic[3] == 0 || magic[3] > kMaxDims)
      fail(ErrorCode::kCorruptFile, "{}: not an IDX file (bad magic {:02x} {:02x} {:02x} {:02x})", path_, magic[0],
           magic[1], magic[2], magic[3]);
    if (magic[2] != kTypeUint8)
      fail(ErrorCode::kCorruptFile, "{}: IDX type code 0x{:02x} ({}) is not supported, only uint8 (0x08)", path_,
           magic[2], idx_type_name(magic[2]));
    std::vector<int64_t> dims(magic[3]);
    for (int64_t& dim : dims) {
      uint8_t be[4];
      if (read(be, sizeof be) < sizeof be)
        fail(ErrorCode::kCorruptFile, "{}: truncated IDX header: {} dimension sizes expected", path_, dims.size());
      dim = int64_t{be[0]} << 24 | int64_t{be[1]} << 16 | int64_t{be[2]} << 8 | int64_t{be[3]};
    }
    return dims;
  }

  // Exactly `expected` bytes of `what` (which ends the file); the vector grows only as data arrives.
  std::vector<uint8_t> read_data(uint64_t expected, const char* what) {
    std::vector<uint8_t> data;
    size_t got = 0;
    while (got < expected) {
      data.resize(got + static_cast<size_t>(std::min<uint64_t>(kReadChunk, expected - got)));
      const size_t n = read(data.data() + got, data.size() - got);
      got += n;
      if (n == 0) break;
    }
    if (got < expected)
      fail(ErrorCode::kCorruptFile, "{}: truncated IDX data: expected {} bytes of {}, got {}", path_, expected, what,
           got);
    uint8_t extra;
    if (read(&extra, 1) != 0)
      fail(ErrorCode::kCorruptFile, "{}: unexpected data after {} bytes of {}", path_, expected, what);
    return data;
  }

 private:
  // Up to `len` bytes; fewer only at the end of the data. A broken gzip stream is an error.
  size_t read(void* out, size_t len) {
    size_t total = 0;
    while (total < len) {
      const int n =
          gzread(file_, static_cast<char*>(out) + total, static_cast<unsigned>(std::min(len - total, kReadChunk)));
      if (n <= 0) break;
      total += static_cast<size_t>(n);
    }
    int errnum = Z_OK;
    const char* message = gzerror(file_, &errnum);
    if (errnum == Z_ERRNO) fail(ErrorCode::kIo, "{}: read failed: {}", path_, std::strerror(errno));
    // Z_BUF_ERROR is a gzip stream cut short: the caller reports the missing bytes.
    if (errnum != Z_OK && errnum != Z_BUF_ERROR)
      fail(ErrorCode::kCorruptFile, "{}: corrupt gzip data: {}", path_, message);
    return total;
  }

  std::string path_;
  gzFile file_;
};

// Bytes of N×H×W or N×H×W×C data, checked before anything is read.
uint64_t checked_product(const std::vector<int64_t>& dims, const std::string& path) {
  uint64_t product = 1;
  for (int64_t dim : dims)
    if (__builtin_mul_overflow(product, static_cast<uint64_t>(dim), &product))
      fail(ErrorCode::kCorruptFile, "{}: IDX sizes overflow", path);
  if (product > kMaxDataBytes)
    fail(ErrorCode::kCorruptFile, "{}: IDX data of {} bytes exceeds the limit of {} bytes", path, product,
         kMaxDataBytes);
  return product;
}

}  // namespace

std::shared_ptr<Dataset> open_idx_dataset(const std::string& images_path, const std::string& labels_path) {
  IdxReader images(images_path);
  std::vector<int64_t> dims = images.read_header();
  if (dims.size() != 3 && dims.size() != 4)
    fail(ErrorCode::kCorruptFile, "{}: IDX images must have 3 or 4 dimensions (N×H×W or N×H×W×C), got {}", images_path,
         dims.size());
  if (dims.size() == 3) dims.push_back(1);
  const int64_t count = dims[0], height = dims[1], width = dims[2], channels = dims[3];
  if (height < 1 || width < 1 || channels < 1 || channels > 4)
    fail(ErrorCode::kCorruptFile, "{}: unsupported IDX image size {}×{}×{} (H×W×C, C in 1..4)", images_path, height,
         width, channels);
  std::vector<uint8_t> pixels = images.read_data(checked_product(dims, images_path), "images");

  std::vector<int64_t> labels;
  if (!labels_path.empty()) {
    IdxReader reader(labels_path);
    const std::vector<int64_t> label_dims = reader.read_header();
    if (label_dims.size() != 1)
      fail(ErrorCode::kCorruptFile, "{}: IDX labels must have 1 dimension, got {}", labels_path, label_dims.size());
    if (label_dims[0] != count)
      fail(ErrorCode::kCorruptFile, "{}: {} labels, but {} has {} images", labels_path, label_dims[0], images_path,
           count);
    const std::vector<uint8_t> bytes = reader.read_data(static_cast<uint64_t>(count), "labels");
    labels.assign(bytes.begin(), bytes.end());
  }
  return std::make_shared<PackedDataset>(std::move(pixels), std::move(labels), count, height, width, channels,
                                         "idx:" + images_path);
}

}  // namespace diffuse
