#include "io/npy.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include "util/error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.cpp copies little-endian data as it is: a big-endian host needs byte swaps here"
#endif

namespace diffuse {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;
// NumPy's own limit on the number of dimensions.
constexpr size_t kMaxDims = 64;
// The digits np.save leaves room for in the header's growing dimension (numpy.lib.format).
constexpr size_t kGrowthDigits = 21;

// The header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (8, 64, 64), }
// as np.save writes it (any spacing, either quote, keys in any order).
struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& name) : text_(text), name_(name) {}

  Header parse() {
    Header header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (!peek('}')) {
      const std::string key = quoted();
      expect(':');
      if (key == "descr") {
        header.descr = quoted();
        seen_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = boolean();
        seen_order = true;
      } else if (key == "shape") {
        header.shape = tuple();
        seen_shape = true;
      } else {
        error("unknown key '" + key + "'");
      }
      if (!peek('}')) expect(',');
    }
    expect('}');
    skip_space();
    if (pos_ != text_.size()) error("text after the closing brace");
    if (!seen_descr || !seen_order || !seen_shape) error("it needs the keys 'descr', 'fortran_order' and 'shape'");
    return header;
  }

 private:
  [[noreturn]] void error(const std::string& why) const {
    fail(ErrorCode::kCorruptFile, "{}: malformed .npy header ({}): {}", name_, why, text_);
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c)) error(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string quoted() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) error("expected a quoted string");
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string::npos) error("unterminated string");
    std::string value = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return value;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, {"False", false}}) {
      if (text_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    error("'fortran_order' must be True or False");
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> dims;
    expect('(');
    while (!peek(')')) {
      if (!std::isdigit(static_cast<unsigned char>(text_[pos_]))) error("a dimension must be a non-negative integer");
      int64_t dim = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        const int digit = text_[pos_++] - '0';
        if (dim > (std::numeric_limits<int64_t>::max() - digit) / 10) error("a dimension is too large");
        dim = dim * 10 + digit;
      }
      if (dims.size() == kMaxDims) error("more than 64 dimensions");
      dims.push_back(dim);
      if (!peek(')')) expect(',');
    }
    expect(')');
    return dims;
  }

  const std::string& text_;
  const std::string& name_;
  size_t pos_ = 0;
};

at::ScalarType dtype_of(const std::string& descr, const std::string& name) {
  if (descr == "<f2") return at::kHalf;
  if (descr == "<f4") return at::kFloat;
  if (descr == "<f8") return at::kDouble;
  fail(ErrorCode::kCorruptFile, "{}: .npy dtype '{}' is not read (little-endian float16, float32 or float64: "
       "'<f2', '<f4', '<f8')", name, descr);
}

std::string descr_of(at::ScalarType type) {
  switch (type) {
    case at::kHalf: return "<f2";
    case at::kFloat: return "<f4";
    case at::kDouble: return "<f8";
    default:
      fail(ErrorCode::kInvalidArgument, "encode_npy: dtype {} (float16, float32 or float64 only)",
           c10::toString(type));
  }
}

uint32_t read_le(const unsigned char* p, size_t bytes) {
  uint32_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value |= uint32_t{p[i]} << (8 * i);
  return value;
}

}  // namespace

at::Tensor decode_npy(const void* data, size_t len, const std::string& name) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  if (data == nullptr || len < kMagicBytes + 2 || std::memcmp(bytes, kMagic, kMagicBytes) != 0)
    fail(ErrorCode::kCorruptFile, "{}: not a .npy file (bad magic)", name);
  const int major = bytes[kMagicBytes];
  if (major < 1 || major > 3)
    fail(ErrorCode::kCorruptFile, "{}: .npy format version {}.{} is not read (1.0 to 3.0)", name, major,
         int{bytes[kMagicBytes + 1]});
  // Version 1 stores the header's length in 2 bytes, versions 2 and 3 in 4 (3.0 allows UTF-8 in it).
  const size_t length_bytes = major == 1 ? 2 : 4, prefix = kMagicBytes + 2 + length_bytes;
  if (len < prefix) fail(ErrorCode::kCorruptFile, "{}: truncated .npy file: {} bytes", name, len);
  const size_t header_len = read_le(bytes + kMagicBytes + 2, length_bytes);
  if (header_len > len - prefix)
    fail(ErrorCode::kCorruptFile, "{}: truncated .npy file: a header of {} bytes in {}", name, header_len, len);
  const std::string text(reinterpret_cast<const char*>(bytes + prefix), header_len);
  const Header header = HeaderParser(text, name).parse();
  const at::ScalarType type = dtype_of(header.descr, name);

  uint64_t count = 1;
  for (int64_t dim : header.shape) {
    if (dim != 0 && count > std::numeric_limits<uint64_t>::max() / 8 / static_cast<uint64_t>(dim))
      fail(ErrorCode::kCorruptFile, "{}: .npy shape {} is too large", name, fmt::join(header.shape, "×"));
    count *= static_cast<uint64_t>(dim);
  }
  const uint64_t data_bytes = count * c10::elementSize(type), available = len - prefix - header_len;
  if (data_bytes != available) {
    fail(ErrorCode::kCorruptFile, "{}: .npy data of {} bytes where shape ({}) of {} needs {}", name, available,
         fmt::join(header.shape, ", "), header.descr, data_bytes);
  }
  // Fortran order stores the transpose's C order: read it as the reversed shape and reverse the axes.
  std::vector<int64_t> stored = header.shape;
  if (header.fortran_order) std::reverse(stored.begin(), stored.end());
  at::Tensor array = at::empty(stored, at::TensorOptions(type));
  if (data_bytes > 0) std::memcpy(array.data_ptr(), bytes + prefix + header_len, data_bytes);
  if (header.fortran_order) {
    std::vector<int64_t> axes(stored.size());
    for (size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int64_t>(axes.size() - 1 - i);
    array = array.permute(axes).contiguous();
  }
  return array;
}

std::string encode_npy(const at::Tensor& array) {
  const std::string descr = descr_of(array.scalar_type());
  const at::Tensor host = array.to(at::kCPU).contiguous();
  std::string shape;
  for (int64_t i = 0; i < host.dim(); ++i) shape += (i > 0 ? ", " : "") + std::to_string(host.size(i));
  if (host.dim() == 1) shape += ",";  // a one-element tuple, as Python writes it
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  // As np.save: room for the first dimension to grow to 21 digits in place, then spaces and a newline
  // up to a multiple of 64 bytes, where the data starts.
  if (host.dim() > 0) header.append(kGrowthDigits - std::to_string(host.size(0)).size(), ' ');
  const size_t prefix = kMagicBytes + 4, total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');
  if (header.size() > 0xffff) fail(ErrorCode::kInvalidArgument, "encode_npy: shape {} makes too long a header", shape);
  std::string out(kMagic, kMagicBytes);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  const size_t data_bytes = static_cast<size_t>(host.numel()) * host.element_size();
  out.append(static_cast<const char*>(host.data_ptr()), data_bytes);
  return out;
}

}  // namespace diffuse
