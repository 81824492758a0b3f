// Parsing and printing protobuf config messages in the three wire formats the C ABI accepts.
#pragma once

#include <cstddef>
#include <string>

namespace google::protobuf {
class Message;
}

namespace diffuse {

enum class ConfigFormat { kBinary = 0, kText = 1, kJson = 2 };

// Parses `len` bytes in `format` into `out` (cleared first). Unknown fields are rejected in every
// format. Throws Error(kInvalidConfig) with the parser's message, prefixed by the message type,
// e.g. "diffuse.v1.ModelConfig (text): 3:5: Message type ... has no field named \"foo\"".
void parse_config(const void* data, size_t len, ConfigFormat format, google::protobuf::Message* out);

// Serializes `message` in `format` (text format is human-readable, JSON uses proto field names).
std::string print_config(const google::protobuf::Message& message, ConfigFormat format);

// Every floating-point field of `message` and its submessages: NaN or an infinity throws
// Error(kInvalidConfig) naming the field ("ModelConfig.res_balance: nan is not finite"); -0 becomes 0,
// so that a resolved config prints the same after any number of round trips.
void canonicalize_numbers(google::protobuf::Message* message, const std::string& name);

}  // namespace diffuse
