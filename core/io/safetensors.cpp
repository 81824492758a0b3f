#include "io/safetensors.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <tuple>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ATen/ops/empty.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "util/error.h"

// Tensor bytes go between memory and file unchanged; safetensors data is little-endian.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors I/O assumes a little-endian host"
#endif

namespace diffuse {
namespace {

// Same cap as the reference implementation: a larger header is certainly not a real file.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr char kMetadataKey[] = "__metadata__";

struct Dtype {
  const char* name;
  at::ScalarType type;
  uint64_t size;  // bytes per element
};

constexpr Dtype kDtypes[] = {
    {"F64", at::kDouble, 8}, {"F32", at::kFloat, 4}, {"F16", at::kHalf, 2},  {"BF16", at::kBFloat16, 2},
    {"I64", at::kLong, 8},   {"I32", at::kInt, 4},   {"I16", at::kShort, 2}, {"I8", at::kChar, 1},
    {"U8", at::kByte, 1},    {"BOOL", at::kBool, 1},
};

const Dtype* find_dtype(const std::string& name) {
  for (const Dtype& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const Dtype* find_dtype(at::ScalarType type) {
  for (const Dtype& d : kDtypes)
    if (type == d.type) return &d;
  return nullptr;
}

std::string shape_str(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

[[noreturn]] void corrupt_entry(const std::string& path, const std::string& name, const std::string& reason) {
  fail(ErrorCode::kCorruptFile, "{}: tensor '{}': {}", path, name, reason);
}

// Read-only file descriptor that closes itself.
class InputFile {
 public:
  explicit InputFile(const std::string& path) : path_(path), fd_(open_regular_file(path)) {}
  ~InputFile() { ::close(fd_); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  uint64_t size() const {
    struct stat st;
    if (::fstat(fd_, &st) != 0) fail(ErrorCode::kIo, "{}: cannot stat: {}", path_, std::strerror(errno));
    return static_cast<uint64_t>(st.st_size);
  }

  // Reads exactly `len` bytes at `offset`; `what` names the bytes for the error message.
  void read_at(void* buf, uint64_t len, uint64_t offset, const std::string& what) const {
    char* p = static_cast<char*>(buf);
    while (len > 0) {
      ssize_t n = ::pread(fd_, p, len, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        fail(ErrorCode::kIo, "{}: reading {} failed: {}", path_, what, std::strerror(errno));
      }
      if (n == 0) fail(ErrorCode::kCorruptFile, "{}: file ends at byte {} while reading {}", path_, offset, what);
      p += n;
      len -= static_cast<uint64_t>(n);
      offset += static_cast<uint64_t>(n);
    }
  }

 private:
  std::string path_;
  int fd_;
};

std::map<std::string, std::string> parse_metadata(const std::string& path, const nlohmann::json& j) {
  if (!j.is_object()) fail(ErrorCode::kCorruptFile, "{}: '{}' is not a JSON object", path, kMetadataKey);
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : j.items()) {
    if (!value.is_string())
      fail(ErrorCode::kCorruptFile, "{}: '{}': value of '{}' is not a string", path, kMetadataKey, key);
    metadata[key] = value.get<std::string>();
  }
  return metadata;
}

// Validates one header entry against a data section of `data_size` bytes.
SafetensorsEntry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& j,
                             uint64_t data_size) {
  if (!j.is_object()) corrupt_entry(path, name, "entry is not a JSON object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!j.contains(key)) corrupt_entry(path, name, fmt::format("missing '{}'", key));

  SafetensorsEntry e;
  e.name = name;
  const nlohmann::json& dtype = j["dtype"];
  if (!dtype.is_string()) corrupt_entry(path, name, "'dtype' is not a string");
  e.dtype = dtype.get<std::string>();
  const Dtype* dt = find_dtype(e.dtype);
  if (dt == nullptr) corrupt_entry(path, name, fmt::format("unknown dtype '{}'", e.dtype));

  const nlohmann::json& shape = j["shape"];
  if (!shape.is_array()) corrupt_entry(path, name, "'shape' is not an array");
  for (const nlohmann::json& d : shape) {
    if (!d.is_number_integer())
      corrupt_entry(path, name, fmt::format("'shape' {} has a non-integer dimension", shape.dump()));
    if (d.is_number_unsigned() && d.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
      corrupt_entry(path, name, fmt::format("shape {} overflows 64 bits", shape.dump()));
    if (d.get<int64_t>() < 0) corrupt_entry(path, name, fmt::format("shape {} has a negative dimension", shape.dump()));
    e.shape.push_back(d.get<int64_t>());
  }
  // bytes = product(shape) * element size, which must fit in int64 for at::empty.
  uint64_t bytes = dt->size;
  for (int64_t d : e.shape)
    if (__builtin_mul_overflow(bytes, uint64_t(d), &bytes))
      corrupt_entry(path, name, fmt::format("shape {} of {} overflows 64 bits", shape_str(e.shape), e.dtype));
  if (bytes > uint64_t(std::numeric_limits<int64_t>::max()))
    corrupt_entry(path, name, fmt::format("shape {} of {} overflows 64 bits", shape_str(e.shape), e.dtype));

  const nlohmann::json& offsets = j["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    corrupt_entry(path, name, fmt::format("'data_offsets' {} is not two non-negative integers", offsets.dump()));
  e.begin = offsets[0].get<uint64_t>();
  e.end = offsets[1].get<uint64_t>();
  if (e.begin > e.end)
    corrupt_entry(path, name, fmt::format("data_offsets [{}, {}] end before they begin", e.begin, e.end));
  if (e.end > data_size)
    corrupt_entry(
        path, name,
        fmt::format("data_offsets [{}, {}] extend beyond the data section of {} bytes", e.begin, e.end, data_size));
  if (e.end - e.begin != bytes)
    corrupt_entry(path, name,
                  fmt::format("data_offsets [{}, {}] span {} bytes but shape {} of {} needs {}", e.begin, e.end,
                              e.end - e.begin, shape_str(e.shape), e.dtype, bytes));
  return e;
}

// `entries` sorted by begin: a non-empty span must start at or after every earlier span's end.
void check_no_overlap(const std::string& path, const std::vector<SafetensorsEntry>& entries) {
  const SafetensorsEntry* furthest = nullptr;  // earlier non-empty entry with the largest end
  for (const SafetensorsEntry& e : entries) {
    if (e.begin == e.end) continue;
    if (furthest != nullptr && e.begin < furthest->end)
      corrupt_entry(path, e.name,
                    fmt::format("data_offsets [{}, {}] overlap tensor '{}' [{}, {}]", e.begin, e.end, furthest->name,
                                furthest->begin, furthest->end));
    if (furthest == nullptr || e.end > furthest->end) furthest = &e;
  }
}

at::Tensor read_entry(const InputFile& file, const std::string& path, uint64_t data_offset, const SafetensorsEntry& e) {
  const Dtype* dt = find_dtype(e.dtype);  // validated by open()
  at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(dt->type));
  file.read_at(t.data_ptr(), e.end - e.begin, data_offset + e.begin, "tensor '" + e.name + "'");
  if (dt->type == at::kBool) {
    // Any byte but 0 and 1 is not a valid at::kBool value.
    const auto* p = static_cast<const uint8_t*>(t.data_ptr());
    for (int64_t i = 0; i < t.numel(); ++i)
      if (p[i] > 1) corrupt_entry(path, e.name, fmt::format("BOOL element {} has byte value {}", i, p[i]));
  }
  return t;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  InputFile file(path);
  const uint64_t file_size = file.size();
  if (file_size < 8)
    fail(ErrorCode::kCorruptFile, "{}: file is {} bytes, shorter than 8 bytes (the header length field)", path,
         file_size);

  std::array<uint8_t, 8> len_bytes;
  file.read_at(len_bytes.data(), 8, 0, "the header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | len_bytes[i];
  if (header_len > kMaxHeaderBytes)
    fail(ErrorCode::kCorruptFile, "{}: header length {} exceeds the limit of {} bytes", path, header_len,
         kMaxHeaderBytes);
  if (header_len > file_size - 8)
    fail(ErrorCode::kCorruptFile, "{}: header length {} exceeds the {} bytes after the length field", path, header_len,
         file_size - 8);

  std::string header_text(header_len, '\0');
  file.read_at(header_text.data(), header_len, 8, "the header");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text);
  } catch (const nlohmann::json::exception& e) {  // syntax, and numbers out of range (1e309)
    fail(ErrorCode::kCorruptFile, "{}: header is not valid JSON: {}", path, e.what());
  }
  if (!header.is_object()) fail(ErrorCode::kCorruptFile, "{}: header is not a JSON object", path);

  SafetensorsFile st;
  st.path_ = path;
  st.data_offset_ = 8 + header_len;
  const uint64_t data_size = file_size - st.data_offset_;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey)
      st.metadata_ = parse_metadata(path, value);
    else
      st.entries_.push_back(parse_entry(path, name, value, data_size));
  }
  std::sort(st.entries_.begin(), st.entries_.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  check_no_overlap(path, st.entries_);
  for (size_t i = 0; i < st.entries_.size(); ++i) st.index_[st.entries_[i].name] = i;
  return st;
}

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) != 0; }

at::Tensor SafetensorsFile::read(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail(ErrorCode::kNotFound, "{}: no tensor named '{}'", path_, name);
  InputFile file(path_);
  return read_entry(file, path_, data_offset_, entries_[it->second]);
}

std::map<std::string, at::Tensor> SafetensorsFile::read_all() const {
  InputFile file(path_);
  std::map<std::string, at::Tensor> out;
  for (const SafetensorsEntry& e : entries_) out[e.name] = read_entry(file, path_, data_offset_, e);
  return out;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // Everything is validated and laid out before the file is created.
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::set<std::string> names;
  std::vector<at::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == kMetadataKey) fail(ErrorCode::kInvalidArgument, "{}: '{}' cannot name a tensor", path, kMetadataKey);
    if (!names.insert(name).second) fail(ErrorCode::kInvalidArgument, "{}: duplicate tensor name '{}'", path, name);
    if (!tensor.defined()) fail(ErrorCode::kInvalidArgument, "{}: tensor '{}' is undefined", path, name);
    const Dtype* dt = find_dtype(tensor.scalar_type());
    if (dt == nullptr)
      fail(ErrorCode::kInvalidArgument, "{}: tensor '{}' has unsupported dtype {}", path, name,
           c10::toString(tensor.scalar_type()));
    at::Tensor cpu = tensor.cpu().contiguous();
    const uint64_t bytes = uint64_t(cpu.numel()) * dt->size;
    nlohmann::json entry;
    entry["dtype"] = dt->name;
    entry["shape"] = cpu.sizes().vec();
    entry["data_offsets"] = std::array<uint64_t, 2>{offset, offset + bytes};
    header[name] = std::move(entry);
    offset += bytes;
    data.push_back(std::move(cpu));
  }

  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::type_error& e) {
    fail(ErrorCode::kInvalidArgument, "{}: tensor names and metadata must be UTF-8: {}", path, e.what());
  }
  // Pad with spaces so the data section starts 8-byte aligned, as the reference implementation does.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  std::array<uint8_t, 8> len_bytes;
  for (int i = 0; i < 8; ++i) len_bytes[i] = uint8_t(uint64_t(header_text.size()) >> (8 * i));

  AtomicFile file(path);
  file.write(len_bytes.data(), len_bytes.size());
  file.write(header_text.data(), header_text.size());
  for (const at::Tensor& t : data) file.write(t.data_ptr(), t.nbytes());
  file.commit();
}

}  // namespace diffuse
