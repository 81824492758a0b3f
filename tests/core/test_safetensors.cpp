// safetensors reading/writing and atomic file writes.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include "data/dataset.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "fixtures.h"
#include "test_util.h"
#include "util/error.h"

namespace diffuse::safetensors_test {
namespace {

using test::throws_error;
using test::write_bytes;

namespace fs = std::filesystem;

// The 8-byte little-endian length field of a safetensors file.
std::string length_field(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
  return s;
}

// Same dtype, shape and bytes.
::testing::AssertionResult same_tensor(const at::Tensor& actual, const at::Tensor& expected) {
  if (actual.scalar_type() != expected.scalar_type())
    return ::testing::AssertionFailure() << "dtype " << actual.scalar_type() << " vs " << expected.scalar_type();
  if (actual.sizes() != expected.sizes())
    return ::testing::AssertionFailure() << "shape " << actual.sizes() << " vs " << expected.sizes();
  at::Tensor a = actual.contiguous(), e = expected.contiguous();
  if (a.nbytes() > 0 && std::memcmp(a.data_ptr(), e.data_ptr(), a.nbytes()) != 0) return ::testing::AssertionFailure() << "bytes differ";
  return ::testing::AssertionSuccess();
}

std::vector<std::string> dir_listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("safetensors"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

class SafetensorsTest : public TempDirTest {
 protected:
  // Writes a file with the given header text followed by `data_bytes` zero bytes; returns its path.
  std::string write_raw(const std::string& header, size_t data_bytes = 0) {
    std::string p = path("raw.safetensors");
    write_bytes(p, length_field(header.size()) + header + std::string(data_bytes, '\0'));
    return p;
  }

  // Expects open() of a file with this header to fail as corrupt with every phrase (and the path) in the message.
  ::testing::AssertionResult open_rejects(const std::string& header, size_t data_bytes,
                                          std::vector<std::string> phrases) {
    std::string p = write_raw(header, data_bytes);
    phrases.push_back(p);
    return throws_error([&] { SafetensorsFile::open(p); }, ErrorCode::kCorruptFile, phrases);
  }
};

using AtomicFileTest = TempDirTest;

// ---- round trips ----

TEST_F(SafetensorsTest, RoundTripsEveryDtype) {
  const std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"F64", at::randn({2, 3}, at::kDouble)},
      {"F32", at::randn({2, 3})},
      {"F16", at::randn({2, 3}).to(at::kHalf)},
      {"BF16", at::randn({2, 3}).to(at::kBFloat16)},
      {"I64", at::arange(-3, 3, at::kLong).reshape({2, 3}) * int64_t{1000000000000}},
      {"I32", at::arange(-3, 3, at::kInt).reshape({2, 3}) * 100000},
      {"I16", at::arange(-3, 3, at::kShort).reshape({3, 2}) * 1000},
      {"I8", at::arange(-3, 3, at::kChar)},
      {"U8", at::arange(250, 256, at::kLong).to(at::kByte).reshape({1, 6, 1})},
      {"BOOL", at::arange(6).remainder(2).to(at::kBool)},
      {"F32_scalar", at::scalar_tensor(1.25)},
      {"I64_scalar", at::scalar_tensor(-7, at::kLong)},
  };
  const std::string p = path("all.safetensors");
  write_safetensors(p, tensors);

  SafetensorsFile file = SafetensorsFile::open(p);
  ASSERT_EQ(file.entries().size(), tensors.size());
  for (const auto& [name, expected] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(file.contains(name));
    EXPECT_TRUE(same_tensor(file.read(name), expected));
  }
  for (const SafetensorsEntry& entry : file.entries())
    EXPECT_EQ(entry.dtype, entry.name.substr(0, entry.name.find('_'))) << entry.name;
}

TEST_F(SafetensorsTest, ReadsScalarAsZeroDimTensor) {
  const std::string p = path("scalar.safetensors");
  write_safetensors(p, {{"gain", at::scalar_tensor(0.75)}});
  SafetensorsFile file = SafetensorsFile::open(p);
  ASSERT_EQ(file.entries().size(), 1u);
  EXPECT_TRUE(file.entries()[0].shape.empty());
  EXPECT_EQ(file.entries()[0].end - file.entries()[0].begin, 4u);
  at::Tensor gain = file.read("gain");
  EXPECT_EQ(gain.dim(), 0);
  EXPECT_EQ(gain.item<float>(), 0.75f);
}

TEST_F(SafetensorsTest, RoundTripsEmptyTensors) {
  const std::string p = path("empty.safetensors");
  write_safetensors(p, {{"a", at::zeros({0, 3})}, {"b", at::ones({2})}, {"c", at::zeros({4, 0}, at::kLong)}});
  SafetensorsFile file = SafetensorsFile::open(p);
  for (const SafetensorsEntry& e : file.entries()) {
    if (e.name == "b") continue;
    EXPECT_EQ(e.begin, e.end) << e.name;
  }
  EXPECT_TRUE(same_tensor(file.read("a"), at::zeros({0, 3})));
  EXPECT_TRUE(same_tensor(file.read("b"), at::ones({2})));
  EXPECT_TRUE(same_tensor(file.read("c"), at::zeros({4, 0}, at::kLong)));
}

TEST_F(SafetensorsTest, WritesNonContiguousTensorsInLogicalOrder) {
  at::Tensor base = at::arange(24, at::kFloat).reshape({4, 6});
  at::Tensor transposed = base.t();
  at::Tensor strided = base.slice(1, 0, 6, 2);
  ASSERT_FALSE(transposed.is_contiguous());
  ASSERT_FALSE(strided.is_contiguous());
  const std::string p = path("strided.safetensors");
  write_safetensors(p, {{"t", transposed}, {"s", strided}});

  SafetensorsFile file = SafetensorsFile::open(p);
  EXPECT_TRUE(same_tensor(file.read("t"), transposed));
  EXPECT_TRUE(same_tensor(file.read("s"), strided));
  EXPECT_TRUE(at::equal(file.read("t"), transposed));
}

TEST_F(SafetensorsTest, RoundTripsMetadata) {
  const std::map<std::string, std::string> metadata = {
      {"config", R"({"img_resolution": 16, "channel_mult": [1, 2]})"},
      {"note", "caf\xc3\xa9 \"quoted\" \\ line\nbreak"},
      {"empty", ""},
  };
  const std::string p = path("meta.safetensors");
  write_safetensors(p, {{"x", at::ones({3})}}, metadata);
  SafetensorsFile file = SafetensorsFile::open(p);
  EXPECT_EQ(file.metadata(), metadata);
  EXPECT_FALSE(file.contains("__metadata__"));
  EXPECT_EQ(file.entries().size(), 1u);
}

TEST_F(SafetensorsTest, OmitsMetadataWhenEmpty) {
  const std::string p = path("nometa.safetensors");
  write_safetensors(p, {{"x", at::ones({3})}});
  const std::string bytes = read_file(p);
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, bytes[0] & 0xff));
  EXPECT_FALSE(header.contains("__metadata__"));
  EXPECT_TRUE(SafetensorsFile::open(p).metadata().empty());
}

TEST_F(SafetensorsTest, PadsHeaderWithSpacesToMultipleOfEight) {
  for (size_t len = 1; len <= 9; ++len) {
    SCOPED_TRACE(len);
    const std::string p = path("pad.safetensors");
    write_safetensors(p, {{std::string(len, 'n'), at::ones({1})}});
    const std::string bytes = read_file(p);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = header_len << 8 | static_cast<uint8_t>(bytes[i]);
    EXPECT_EQ(header_len % 8, 0u);
    EXPECT_EQ(bytes.size(), 8 + header_len + 4);
    const std::string header = bytes.substr(8, header_len);
    const size_t close = header.rfind('}');
    EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos) << header;
    EXPECT_LT(header.size() - close - 1, 8u);
  }
}

TEST_F(SafetensorsTest, LaysOutDataInGivenOrder) {
  const std::string p = path("order.safetensors");
  write_safetensors(p, {{"zeta", at::ones({2})}, {"alpha", at::ones({3}, at::kDouble)}, {"mid", at::ones({1})}});
  SafetensorsFile file = SafetensorsFile::open(p);
  ASSERT_EQ(file.entries().size(), 3u);
  EXPECT_EQ(file.entries()[0].name, "zeta");
  EXPECT_EQ(file.entries()[1].name, "alpha");
  EXPECT_EQ(file.entries()[2].name, "mid");
  EXPECT_EQ(file.entries()[0].begin, 0u);
  EXPECT_EQ(file.entries()[1].begin, 8u);
  EXPECT_EQ(file.entries()[2].begin, 32u);
  EXPECT_EQ(file.entries()[2].end, 36u);
}

TEST_F(SafetensorsTest, ListsEntriesInDataOffsetOrderRegardlessOfHeaderOrder) {
  const std::string p = write_raw(R"({"b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},)"
                                  R"( "a": {"dtype": "U8", "shape": [2], "data_offsets": [8, 10]},)"
                                  R"( "c": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
                                  10);
  SafetensorsFile file = SafetensorsFile::open(p);
  ASSERT_EQ(file.entries().size(), 3u);
  EXPECT_EQ(file.entries()[0].name, "c");
  EXPECT_EQ(file.entries()[1].name, "b");
  EXPECT_EQ(file.entries()[2].name, "a");
  EXPECT_TRUE(same_tensor(file.read("a"), at::zeros({2}, at::kByte)));
}

TEST_F(SafetensorsTest, ReadAllReturnsEveryTensor) {
  const std::string p = path("all.safetensors");
  write_safetensors(p, {{"a", at::ones({2})}, {"b", at::arange(5)}});
  const std::map<std::string, at::Tensor> all = SafetensorsFile::open(p).read_all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(same_tensor(all.at("a"), at::ones({2})));
  EXPECT_TRUE(same_tensor(all.at("b"), at::arange(5)));
}

TEST_F(SafetensorsTest, AllowsZeroByteSpanInsideAnother) {
  const std::string p = write_raw(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                                  R"( "e": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}})",
                                  8);
  SafetensorsFile file = SafetensorsFile::open(p);
  EXPECT_EQ(file.read("e").numel(), 0);
}

// ---- the real reference file ----

TEST_F(SafetensorsTest, ReadsGoldenMpunetFile) {
  const std::string p = test::golden_path("mpunet_tiny.safetensors");
  ASSERT_TRUE(fs::exists(p)) << p;
  SafetensorsFile file = SafetensorsFile::open(p);
  // 257 tensors plus the __metadata__ object: 258 header keys.
  EXPECT_EQ(file.entries().size(), 257u);
  for (const SafetensorsEntry& e : file.entries()) EXPECT_EQ(e.dtype, "F32") << e.name;
  ASSERT_EQ(file.metadata().count("config"), 1u);
  EXPECT_NE(file.metadata().at("config").find("\"img_resolution\": 16"), std::string::npos);

  at::Tensor gain = file.read("init.unet.out_gain");
  EXPECT_EQ(gain.dim(), 0);
  EXPECT_EQ(gain.scalar_type(), at::kFloat);
  EXPECT_EQ(gain.item<float>(), 1.220219612121582f);

  at::Tensor w = file.read("init.unet.enc.16x16_block0.conv_res0.weight");
  EXPECT_EQ(w.sizes(), at::IntArrayRef({32, 32, 3, 3}));
  EXPECT_EQ(w.flatten()[0].item<float>(), 0.9606215357780457f);
  EXPECT_EQ(w.flatten()[-1].item<float>(), 0.25220543146133423f);
  EXPECT_NEAR(w.sum(at::kDouble).item<double>(), -114.69298889942729, 1e-9);

  EXPECT_EQ(file.read_all().size(), 257u);
}

// ---- malformed files ----

TEST_F(SafetensorsTest, RejectsFileShorterThanEightBytes) {
  for (const std::string& bytes : {std::string(), std::string("\x05\0\0", 3)}) {
    const std::string p = path("short.safetensors");
    write_bytes(p, bytes);
    EXPECT_TRUE(throws_error([&] { SafetensorsFile::open(p); }, ErrorCode::kCorruptFile, {p, "shorter than 8 bytes"}));
  }
}

TEST_F(SafetensorsTest, RejectsHeaderLengthBeyondFile) {
  const std::string p = path("long.safetensors");
  write_bytes(p, length_field(100) + "{}");
  EXPECT_TRUE(throws_error([&] { SafetensorsFile::open(p); }, ErrorCode::kCorruptFile,
                           {p, "header length 100 exceeds the 2 bytes"}));
}

TEST_F(SafetensorsTest, RejectsAbsurdHeaderLength) {
  const std::string p = path("absurd.safetensors");
  write_bytes(p, length_field(~uint64_t{0}) + "{}");
  EXPECT_TRUE(throws_error([&] { SafetensorsFile::open(p); }, ErrorCode::kCorruptFile, {p, "exceeds the limit"}));
}

TEST_F(SafetensorsTest, RejectsMalformedJson) {
  EXPECT_TRUE(open_rejects(R"({"w": {"dtype": "F32",)", 0, {"not valid JSON"}));
}

TEST_F(SafetensorsTest, RejectsHeaderThatIsNotAnObject) {
  EXPECT_TRUE(open_rejects("[1, 2]", 0, {"not a JSON object"}));
}

TEST_F(SafetensorsTest, RejectsEntryThatIsNotAnObject) {
  EXPECT_TRUE(open_rejects(R"({"w": 5})", 0, {"tensor 'w'", "not a JSON object"}));
}

TEST_F(SafetensorsTest, RejectsEntryMissingDtype) {
  EXPECT_TRUE(open_rejects(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4, {"tensor 'w'", "missing 'dtype'"}));
}

TEST_F(SafetensorsTest, RejectsEntryMissingShape) {
  EXPECT_TRUE(open_rejects(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4, {"tensor 'w'", "missing 'shape'"}));
}

TEST_F(SafetensorsTest, RejectsEntryMissingDataOffsets) {
  EXPECT_TRUE(open_rejects(R"({"w": {"dtype": "F32", "shape": [1]}})", 4, {"tensor 'w'", "missing 'data_offsets'"}));
}

TEST_F(SafetensorsTest, RejectsDtypeThatIsNotAString) {
  EXPECT_TRUE(open_rejects(R"({"w": {"dtype": 5, "shape": [1], "data_offsets": [0, 4]}})", 4,
                           {"tensor 'w'", "'dtype' is not a string"}));
}

TEST_F(SafetensorsTest, RejectsANumberOutOfRangeAsCorrupt) {
  EXPECT_TRUE(open_rejects(R"({"x": 1e309})", 0, {"not valid JSON"}));
}

TEST_F(SafetensorsTest, RejectsShapeThatIsNotAnArray) {
  EXPECT_TRUE(open_rejects(R"({"w": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}})", 4,
                           {"tensor 'w'", "'shape' is not an array"}));
}

TEST_F(SafetensorsTest, RejectsNonIntegerDimension) {
  EXPECT_TRUE(open_rejects(R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4,
                           {"tensor 'w'", "non-integer dimension"}));
}

TEST_F(SafetensorsTest, RejectsMalformedDataOffsets) {
  for (const char* offsets : {R"([0])", R"([0, 4, 8])", R"([-4, 4])", R"(["0", "4"])", R"({"a": 1})"}) {
    SCOPED_TRACE(offsets);
    EXPECT_TRUE(open_rejects(std::string(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": )") + offsets + "}}",
                             8, {"tensor 'w'", "'data_offsets'", "is not two non-negative integers"}));
  }
}

TEST_F(SafetensorsTest, RejectsUnknownDtype) {
  EXPECT_TRUE(open_rejects(R"({"w": {"dtype": "F7", "shape": [1], "data_offsets": [0, 4]}})", 4,
                           {"tensor 'w'", "unknown dtype 'F7'"}));
}

TEST_F(SafetensorsTest, RejectsNegativeDimension) {
  EXPECT_TRUE(open_rejects(R"({"w": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 4]}})", 4,
                           {"tensor 'w'", "negative dimension"}));
}

TEST_F(SafetensorsTest, RejectsShapeProductOverflow) {
  // 2^32 * 2^32 elements overflow uint64; so does 2^62 elements of 4 bytes; 2^64 - 1 is no int64.
  for (const char* shape : {"[4294967296, 4294967296]", "[4611686018427387904]", "[18446744073709551615]"}) {
    SCOPED_TRACE(shape);
    EXPECT_TRUE(
        open_rejects(std::string(R"({"w": {"dtype": "F32", "shape": )") + shape + R"(, "data_offsets": [0, 4]}})", 4,
                     {"tensor 'w'", "overflows 64 bits"}));
  }
}

TEST_F(SafetensorsTest, RejectsSpanThatDoesNotMatchShape) {
  EXPECT_TRUE(open_rejects(R"({"unet.out_gain": {"dtype": "F32", "shape": [], "data_offsets": [0, 8]}})", 8,
                           {"raw.safetensors: tensor 'unet.out_gain': data_offsets [0, 8] span 8 bytes but shape [] "
                            "of F32 needs 4"}));
  EXPECT_TRUE(open_rejects(R"({"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 8]}})", 8,
                           {"tensor 'w'", "span 8 bytes but shape [2, 3] of BF16 needs 12"}));
}

TEST_F(SafetensorsTest, RejectsOffsetsThatEndBeforeTheyBegin) {
  EXPECT_TRUE(open_rejects(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8,
                           {"tensor 'w'", "data_offsets [8, 4] end before they begin"}));
}

TEST_F(SafetensorsTest, RejectsSpanBeyondDataSection) {
  EXPECT_TRUE(open_rejects(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8,
                           {"tensor 'w'", "beyond the data section of 8 bytes"}));
}

TEST_F(SafetensorsTest, RejectsOverlappingSpans) {
  EXPECT_TRUE(open_rejects(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                           R"( "b": {"dtype": "F32", "shape": [3], "data_offsets": [12, 24]},)"
                           R"( "c": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                           24, {"tensor 'c'", "overlap tensor 'a' [0, 8]"}));
  // A span inside an earlier, longer one.
  EXPECT_TRUE(open_rejects(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},)"
                           R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                           16, {"tensor 'b'", "overlap tensor 'a'"}));
}

TEST_F(SafetensorsTest, RejectsMetadataThatIsNotAnObject) {
  EXPECT_TRUE(open_rejects(R"({"__metadata__": "config"})", 0, {"'__metadata__' is not a JSON object"}));
}

TEST_F(SafetensorsTest, RejectsMetadataValueThatIsNotAString) {
  EXPECT_TRUE(open_rejects(R"({"__metadata__": {"ok": "yes", "steps": 10}})", 0,
                           {"'__metadata__'", "value of 'steps' is not a string"}));
}

TEST_F(SafetensorsTest, RejectsBoolByteOtherThanZeroOrOne) {
  const std::string p = path("bool.safetensors");
  const std::string header = R"({"m": {"dtype": "BOOL", "shape": [3], "data_offsets": [0, 3]}})";
  write_bytes(p, length_field(header.size()) + header + std::string("\x01\x00\x02", 3));
  SafetensorsFile file = SafetensorsFile::open(p);
  EXPECT_TRUE(throws_error([&] { file.read("m"); }, ErrorCode::kCorruptFile, {p, "tensor 'm'", "byte value 2"}));
}

TEST_F(SafetensorsTest, ReadOfUnknownNameIsNotFound) {
  const std::string p = path("x.safetensors");
  write_safetensors(p, {{"x", at::ones({1})}});
  SafetensorsFile file = SafetensorsFile::open(p);
  EXPECT_FALSE(file.contains("y"));
  EXPECT_TRUE(throws_error([&] { file.read("y"); }, ErrorCode::kNotFound, {p, "'y'"}));
}

TEST_F(SafetensorsTest, OpenOfMissingFileIsIoError) {
  const std::string p = path("missing.safetensors");
  EXPECT_TRUE(throws_error([&] { SafetensorsFile::open(p); }, ErrorCode::kIo, {p, "No such file"}));
}

// ---- writing errors ----

TEST_F(SafetensorsTest, WriteRejectsDuplicateNamesAndCreatesNoFile) {
  const std::string p = path("dup.safetensors");
  auto write = [&] { write_safetensors(p, {{"w", at::ones({1})}, {"w", at::ones({2})}}); };
  EXPECT_TRUE(throws_error(write, ErrorCode::kInvalidArgument, {p, "duplicate tensor name 'w'"}));
  EXPECT_TRUE(dir_listing(dir_).empty());
}

TEST_F(SafetensorsTest, WriteRejectsUnsupportedDtypeAndCreatesNoFile) {
  const std::string p = path("complex.safetensors");
  auto write = [&] { write_safetensors(p, {{"ok", at::ones({1})}, {"z", at::zeros({2}, at::kComplexFloat)}}); };
  EXPECT_TRUE(throws_error(write, ErrorCode::kInvalidArgument, {p, "tensor 'z'", "unsupported dtype"}));
  EXPECT_TRUE(dir_listing(dir_).empty());
}

TEST_F(SafetensorsTest, WriteRejectsMetadataKeyAsTensorName) {
  const std::string p = path("reserved.safetensors");
  auto write = [&] { write_safetensors(p, {{"__metadata__", at::ones({1})}}); };
  EXPECT_TRUE(throws_error(write, ErrorCode::kInvalidArgument, {p, "'__metadata__' cannot name a tensor"}));
}

TEST_F(SafetensorsTest, WriteToMissingDirectoryIsIoError) {
  const std::string p = path("no/such/dir/w.safetensors");
  EXPECT_TRUE(throws_error([&] { write_safetensors(p, {{"w", at::ones({1})}}); }, ErrorCode::kIo, {p}));
}

// ---- files that are not regular files ----

// A FIFO (which would block an open until a writer comes), a device (which streams without end) and a
// directory named where a file belongs: every reader refuses them at once, naming the path.
TEST_F(SafetensorsTest, ReadersRefuseWhatIsNotARegularFile) {
  const std::string fifo = path("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const auto& [target, kind] : {std::pair{fifo, "a FIFO"}, std::pair{std::string("/dev/zero"), "a device"},
                                     std::pair{dir_, "a directory"}}) {
    const std::string p = target;
    const std::vector<std::string> phrases = {p, "not a regular file", kind};
    EXPECT_TRUE(throws_error([&] { read_file(p); }, ErrorCode::kIo, phrases));
    EXPECT_TRUE(throws_error([&] { SafetensorsFile::open(p); }, ErrorCode::kIo, phrases));
    EXPECT_TRUE(throws_error([&] { open_idx_dataset(p, ""); }, ErrorCode::kIo, phrases));
  }
}

// ---- atomic files ----

TEST_F(AtomicFileTest, CommitCreatesFileWithExactBytes) {
  std::string bytes(3 * 1024 * 1024 + 7, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 2654435761u >> 13);
  const std::string p = path("out.bin");
  {
    AtomicFile file(p);
    for (size_t pos = 0, chunk = 1; pos < bytes.size(); pos += chunk, chunk = chunk * 3 + 1)
      file.write(bytes.data() + pos, std::min(chunk, bytes.size() - pos));
    EXPECT_FALSE(fs::exists(p));  // nothing under the final name before commit
    file.commit();
  }
  EXPECT_EQ(read_file(p), bytes);
  EXPECT_EQ(dir_listing(dir_), std::vector<std::string>{"out.bin"});
}

TEST_F(AtomicFileTest, DestroyedWithoutCommitLeavesNoFile) {
  const std::string p = path("out.bin");
  {
    AtomicFile file(p);
    file.write("abc", 3);
  }
  EXPECT_TRUE(dir_listing(dir_).empty());
}

TEST_F(AtomicFileTest, DestroyedWithoutCommitLeavesExistingFileUntouched) {
  const std::string p = path("out.bin");
  write_file_atomic(p, "old", 3);
  try {
    AtomicFile file(p);
    file.write("new contents", 12);
    throw std::runtime_error("interrupted");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(read_file(p), "old");
  EXPECT_EQ(dir_listing(dir_), std::vector<std::string>{"out.bin"});
}

TEST_F(AtomicFileTest, CommitReplacesExistingFile) {
  const std::string p = path("out.bin");
  write_file_atomic(p, "a much longer old content", 25);
  write_file_atomic(p, "new", 3);
  EXPECT_EQ(read_file(p), "new");
  EXPECT_EQ(dir_listing(dir_), std::vector<std::string>{"out.bin"});
}

TEST_F(AtomicFileTest, ConcurrentWritersToOnePathDoNotCollide) {
  const std::string p = path("out.bin");
  {
    AtomicFile first(p), second(p);
    first.write("first", 5);
    second.write("second", 6);
    first.commit();
    second.commit();
  }
  EXPECT_EQ(read_file(p), "second");
  EXPECT_EQ(dir_listing(dir_), std::vector<std::string>{"out.bin"});
}

TEST_F(AtomicFileTest, CreatingInMissingDirectoryIsIoError) {
  const std::string p = path("missing/out.bin");
  EXPECT_TRUE(throws_error([&] { AtomicFile file(p); }, ErrorCode::kIo, {p, "No such file"}));
  EXPECT_TRUE(throws_error([&] { write_file_atomic(p, "x", 1); }, ErrorCode::kIo, {p}));
}

TEST_F(AtomicFileTest, ReadFileOfMissingFileIsIoError) {
  const std::string p = path("missing.bin");
  EXPECT_TRUE(throws_error([&] { read_file(p); }, ErrorCode::kIo, {p, "No such file"}));
}

}  // namespace
}  // namespace diffuse::safetensors_test
