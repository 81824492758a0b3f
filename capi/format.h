// Internal to the C API: config bytes in a diffuse_format → a protobuf message.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <google/protobuf/message.h>

#include "config/proto_format.h"
#include "diffuse.h"
#include "status.h"
#include "util/error.h"

namespace diffuse::capi {

inline ConfigFormat to_format(const diffuse_format& format) {  // by reference: see enum_value
  switch (enum_value(format)) {
    case DIFFUSE_FORMAT_BINARY: return ConfigFormat::kBinary;
    case DIFFUSE_FORMAT_TEXT: return ConfigFormat::kText;
    case DIFFUSE_FORMAT_JSON: return ConfigFormat::kJson;
  }
  fail(ErrorCode::kInvalidArgument, "diffuse_format {} is not BINARY (0), TEXT (1) or JSON (2)", enum_value(format));
}

// Parses `len` bytes at `data` (NULL with len 0 = an empty message).
inline void parse(const void* data, size_t len, const diffuse_format& format, google::protobuf::Message* out) {
  if (data == nullptr && len > 0) fail(ErrorCode::kInvalidArgument, "config is NULL but len is {}", len);
  parse_config(data == nullptr ? "" : data, len, to_format(format), out);
}

// Copies `bytes` into a library-owned buffer with a NUL after them (never a zero-size allocation; C
// hosts may treat text as a string). Throws std::bad_alloc.
inline void copy_to_buffer(const std::string& bytes, diffuse_buffer* out) {
  out->data = std::malloc(bytes.size() + 1);
  if (!out->data) throw std::bad_alloc();
  std::memcpy(out->data, bytes.data(), bytes.size());
  static_cast<char*>(out->data)[bytes.size()] = '\0';
  out->len = bytes.size();
}

}  // namespace diffuse::capi
