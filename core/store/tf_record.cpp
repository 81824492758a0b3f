#include "store/tf_record.h"

#include "io/atomic_file.h"
#include "io/crc32c.h"
#include "util/error.h"

namespace diffuse {
namespace {

constexpr uint32_t kMaskDelta = 0xA282EAD8;
constexpr size_t kHeaderBytes = 12, kFooterBytes = 4;

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint64_t get_le(const std::string& in, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  return value;
}

}  // namespace

uint32_t masked_crc32c(const void* data, size_t len) {
  const uint32_t crc = crc32c(data, len);
  return ((crc >> 15) | (crc << 17)) + kMaskDelta;
}

std::string frame_record(const std::string& data) {
  std::string out;
  out.reserve(data.size() + kHeaderBytes + kFooterBytes);
  put_le(out, data.size(), 8);
  put_le(out, masked_crc32c(out.data(), 8), 4);
  out += data;
  put_le(out, masked_crc32c(data.data(), data.size()), 4);
  return out;
}

std::vector<std::string> parse_records(const std::string& bytes, const std::string& name_for_errors) {
  std::vector<std::string> records;
  size_t at = 0;
  while (bytes.size() - at >= kHeaderBytes) {
    const uint64_t length = get_le(bytes, at, 8);
    if (masked_crc32c(bytes.data() + at, 8) != get_le(bytes, at + 8, 4)) {
      fail(ErrorCode::kCorruptFile, "{}: the record at byte {} has a length ({}) whose checksum does not match",
           name_for_errors, at, length);
    }
    const size_t rest = bytes.size() - at - kHeaderBytes;
    if (length > rest || rest - length < kFooterBytes) break;  // cut short
    const size_t data_at = at + kHeaderBytes;
    const auto n = static_cast<size_t>(length);
    if (masked_crc32c(bytes.data() + data_at, n) != get_le(bytes, data_at + n, 4)) {
      fail(ErrorCode::kCorruptFile, "{}: the record at byte {} ({} bytes) has data whose checksum does not match",
           name_for_errors, at, length);
    }
    records.push_back(bytes.substr(data_at, n));
    at = data_at + n + kFooterBytes;
  }
  return records;
}

std::vector<std::string> read_records(const std::string& path) { return parse_records(read_file(path), path); }

}  // namespace diffuse
