#include "io/crc32c.h"

#include <array>

namespace diffuse {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78;  // 0x1EDC6F41 bit-reversed

// table[b]: the CRC register after shifting byte b through the reflected polynomial.
constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t r = b;
    for (int k = 0; k < 8; ++k) r = (r >> 1) ^ ((r & 1) ? kPolynomial : 0);
    table[b] = r;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = make_table();

}  // namespace

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t len) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t r = ~crc;
  for (size_t i = 0; i < len; ++i) r = (r >> 8) ^ kTable[(r ^ p[i]) & 0xFF];
  return ~r;
}

uint32_t crc32c(const void* data, size_t len) { return crc32c_extend(0, data, len); }

}  // namespace diffuse
