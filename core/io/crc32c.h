// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected; RFC 3720 §B.4), the checksum of TFRecord
// framing (store/tf_record.h). Debian 12 packages no CRC-32C library, so a table-driven one is here: a
// byte at a time, about 500 MB/s, ample for event files that grow by kilobytes a minute.
#pragma once

#include <cstddef>
#include <cstdint>

namespace diffuse {

// The CRC-32C of `len` bytes (initial value and final xor 0xFFFFFFFF): crc32c("123456789") = 0xE3069283.
// `data` may be null when len is 0.
uint32_t crc32c(const void* data, size_t len);

// Continues a CRC over more bytes: crc32c_extend(crc32c(a), b) = crc32c(a followed by b); 0 starts one.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t len);

}  // namespace diffuse
