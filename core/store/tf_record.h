// TFRecord framing, the container of TensorBoard event files (store/event_file.h): each record is
//
//   uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of data
//
// with mask(crc) = ((crc >> 15) | (crc << 17)) + 0xA282EAD8 (mod 2^32). Writer and reader side by side.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace diffuse {

// The masked CRC-32C that TFRecord stores.
uint32_t masked_crc32c(const void* data, size_t len);

// One record around `data`: 16 bytes more than data.
std::string frame_record(const std::string& data);

// The payloads of the records in `bytes`. A record cut short at the end (a write that a kill
// interrupted, or one still being written) ends the list, as it does for TensorBoard's reader. Throws
// Error(kCorruptFile) naming `name_for_errors` and the record's offset for a length or data checksum
// that does not match.
std::vector<std::string> parse_records(const std::string& bytes, const std::string& name_for_errors);

// Reads a file and parses its records. Throws Error(kIo) if it cannot be read, else as parse_records.
std::vector<std::string> read_records(const std::string& path);

}  // namespace diffuse
