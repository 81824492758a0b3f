// safetensors reader and writer (https://github.com/huggingface/safetensors, "format" section):
// 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, ...,
// "__metadata__": {str: str}}, then the raw little-endian tensor bytes.
//
// Reading validates everything before touching tensor data: header length within the file, JSON
// well-formed, known dtype, shape × element size == byte span, spans inside the data section and not
// overlapping. Any violation throws Error(kCorruptFile) naming the file and the tensor.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace diffuse {

// One tensor entry of a safetensors header.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;           // "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"
  std::vector<int64_t> shape;  // empty for a scalar
  uint64_t begin = 0;          // byte offsets relative to the start of the data section
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Opens and validates `path` (reads the header only). Throws Error(kIo) if it cannot be read,
  // Error(kCorruptFile) if it is malformed.
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  // Entries in file (data offset) order.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const;

  // Reads one tensor as a CPU tensor of its stored dtype. Throws Error(kNotFound) for an unknown name.
  at::Tensor read(const std::string& name) const;
  // Reads every tensor, keyed by name.
  std::map<std::string, at::Tensor> read_all() const;

 private:
  std::string path_;
  uint64_t data_offset_ = 0;  // file offset of the data section (8 + header length)
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t> index_;  // name -> position in entries_
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (any device; copied to CPU, made contiguous) in the given order, atomically: the
// file appears under `path` complete or not at all. Throws Error(kInvalidArgument) for an
// unsupported dtype or a duplicate name, Error(kIo) if writing fails.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace diffuse
