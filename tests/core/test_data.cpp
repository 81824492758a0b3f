// The data layer: IDX, PNG-folder, PNG-zip, .npy and in-memory datasets, PNG and .npy decoding and
// encoding, the image and latent transforms, the sampler and the threaded loader.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <png.h>
#include <zip.h>
#include <zlib.h>

#include "data/data_loader.h"
#include "data/dataset.h"
#include "data/image_transform.h"
#include "data/latent_transform.h"
#include "io/npy.h"
#include "io/png.h"
#include "io/zip_archive.h"
#include "fixtures.h"
#include "test_util.h"
#include "util/error.h"

namespace diffuse::data_test {
namespace {

using test::throws_error;
using test::write_bytes;

namespace fs = std::filesystem;

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string bytes_of(const std::vector<int>& values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// An IDX file: magic 00 00 <type> <ndim>, big-endian sizes, then `payload`.
std::string idx_file(uint8_t type, const std::vector<uint32_t>& dims, const std::string& payload) {
  std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t dim : dims) out += be32(dim);
  return out + payload;
}

// uint8 tensor of `shape` holding `values` (row-major).
at::Tensor u8(const std::vector<int>& values, at::IntArrayRef shape) {
  at::Tensor t = at::empty(shape, at::kByte);
  EXPECT_EQ(t.numel(), static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) t.data_ptr<uint8_t>()[i] = static_cast<uint8_t>(values[i]);
  return t;
}

// Deterministic, non-symmetric uint8 content.
at::Tensor pattern(at::IntArrayRef shape, int salt = 0) {
  at::Tensor t = at::empty(shape, at::kByte);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_ptr<uint8_t>()[i] = static_cast<uint8_t>((i * 37 + salt * 101) % 256);
  return t;
}

::testing::AssertionResult same_tensor(const at::Tensor& actual, const at::Tensor& expected) {
  if (actual.scalar_type() != expected.scalar_type())
    return ::testing::AssertionFailure() << "dtype " << actual.scalar_type() << " vs " << expected.scalar_type();
  if (actual.sizes() != expected.sizes())
    return ::testing::AssertionFailure() << "shape " << actual.sizes() << " vs " << expected.sizes();
  if (!at::equal(actual, expected))
    return ::testing::AssertionFailure() << "values differ:\n" << actual << "\nvs\n" << expected;
  return ::testing::AssertionSuccess();
}

// Pixel value v in [0, 255] as the transform encodes it.
float encoded(double v) { return static_cast<float>(v / 127.5 - 1.0); }

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("data"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

// ---------------------------------------------------------------------------------------------------
// IDX

using IdxDatasetTest = TempDirTest;

TEST_F(IdxDatasetTest, ReadsGzipAndPlainFilesAlike) {
  // Three 2×3 images with pixel values 0..17, labels 4, 0, 7.
  std::string pixels;
  for (int i = 0; i < 18; ++i) pixels.push_back(static_cast<char>(i * 10));
  const std::string images = idx_file(0x08, {3, 2, 3}, pixels);
  const std::string labels = idx_file(0x08, {3}, bytes_of({4, 0, 7}));
  write_bytes(path("images"), images);
  write_bytes(path("labels"), labels);
  write_gzip(path("images.gz"), images);
  write_gzip(path("labels.gz"), labels);

  for (const auto& [image_file, label_file] : {std::pair{"images", "labels"}, std::pair{"images.gz", "labels.gz"}}) {
    SCOPED_TRACE(image_file);
    auto dataset = open_idx_dataset(path(image_file), path(label_file));
    ASSERT_EQ(dataset->size(), 3);
    EXPECT_EQ(dataset->num_classes(), 8);
    EXPECT_EQ(dataset->describe(), "idx:" + path(image_file));
    const Example second = dataset->get(1);
    EXPECT_TRUE(same_tensor(second.image, u8({60, 70, 80, 90, 100, 110}, {1, 2, 3})));
    EXPECT_EQ(second.label, 0);
    EXPECT_EQ(dataset->get(2).label, 7);
    EXPECT_TRUE(throws_error([&] { dataset->get(3); }, ErrorCode::kInvalidArgument, {"index 3 out of range"}));
  }
}

TEST_F(IdxDatasetTest, ReadsColourImagesStoredAsNHWC) {
  // Two 1×2 RGB images: HWC in the file, CHW out.
  write_gzip(path("rgb.gz"), idx_file(0x08, {2, 1, 2, 3}, bytes_of({1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16})));
  auto dataset = open_idx_dataset(path("rgb.gz"), "");
  ASSERT_EQ(dataset->size(), 2);
  EXPECT_TRUE(same_tensor(dataset->get(1).image, u8({11, 14, 12, 15, 13, 16}, {3, 1, 2})));
}

TEST_F(IdxDatasetTest, WithoutLabelsPathIsUnlabeled) {
  write_bytes(path("images"), idx_file(0x08, {2, 1, 1}, bytes_of({5, 6})));
  auto dataset = open_idx_dataset(path("images"), "");
  EXPECT_EQ(dataset->num_classes(), 0);
  EXPECT_EQ(dataset->get(0).label, -1);
}

TEST_F(IdxDatasetTest, RejectsWrongMagic) {
  write_gzip(path("bad.gz"), bytes_of({0x12, 0x34, 0x08, 0x03}) + be32(1) + be32(1) + be32(1) + "x");
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("bad.gz"), ""); }, ErrorCode::kCorruptFile,
                           {path("bad.gz"), "not an IDX file (bad magic 12 34 08 03)"}));
  // A PNG handed over by mistake.
  write_bytes(path("image.png"), encode_png(pattern({1, 2, 2})));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("image.png"), ""); }, ErrorCode::kCorruptFile,
                           {path("image.png"), "not an IDX file"}));
}

TEST_F(IdxDatasetTest, RejectsNonUint8TypeCode) {
  write_bytes(path("float"), idx_file(0x0D, {1, 1, 1}, std::string(4, '\0')));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("float"), ""); }, ErrorCode::kCorruptFile,
                           {path("float"), "IDX type code 0x0d (float32) is not supported"}));
}

TEST_F(IdxDatasetTest, RejectsTruncatedData) {
  const std::string truncated = idx_file(0x08, {2, 3, 4}, std::string(10, 'x'));
  write_bytes(path("images"), truncated);
  write_gzip(path("images.gz"), truncated);
  for (const char* name : {"images", "images.gz"})
    EXPECT_TRUE(throws_error([&] { open_idx_dataset(path(name), ""); }, ErrorCode::kCorruptFile,
                             {path(name), "truncated IDX data: expected 24 bytes of images, got 10"}));

  write_bytes(path("header"), bytes_of({0, 0, 8, 3}) + be32(2));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("header"), ""); }, ErrorCode::kCorruptFile,
                           {path("header"), "truncated IDX header"}));

  write_bytes(path("good"), idx_file(0x08, {2, 1, 1}, "ab"));
  write_bytes(path("labels"), idx_file(0x08, {2}, "\x01"));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("good"), path("labels")); }, ErrorCode::kCorruptFile,
                           {path("labels"), "expected 2 bytes of labels, got 1"}));
}

TEST_F(IdxDatasetTest, RejectsGzipStreamCutShort) {
  std::string pixels(20000, '\0');
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<char>((i * i * 7919) >> 5);
  write_gzip(path("full.gz"), idx_file(0x08, {2, 100, 100}, pixels));
  const std::string gz = read_bytes(path("full.gz"));
  write_bytes(path("cut.gz"), gz.substr(0, gz.size() / 2));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("cut.gz"), ""); }, ErrorCode::kCorruptFile,
                           {path("cut.gz"), "truncated IDX data: expected 20000 bytes of images"}));
}

TEST_F(IdxDatasetTest, RejectsCorruptGzipData) {
  // A gzip header followed by a deflate block of the reserved type 3.
  write_bytes(path("corrupt.gz"), bytes_of({0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}) + std::string(16, '\xff'));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("corrupt.gz"), ""); }, ErrorCode::kCorruptFile,
                           {path("corrupt.gz"), "corrupt gzip data"}));
}

TEST_F(IdxDatasetTest, RejectsImageLabelCountMismatch) {
  write_bytes(path("images"), idx_file(0x08, {3, 1, 1}, "abc"));
  write_bytes(path("labels"), idx_file(0x08, {2}, bytes_of({0, 1})));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("images"), path("labels")); }, ErrorCode::kCorruptFile,
                           {path("labels"), "2 labels, but", path("images"), "has 3 images"}));
}

TEST_F(IdxDatasetTest, RejectsWrongNumberOfDimensionsOrChannels) {
  write_bytes(path("images"), idx_file(0x08, {2, 1, 1}, "ab"));
  write_bytes(path("labels"), idx_file(0x08, {2}, bytes_of({0, 1})));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("labels"), path("images")); }, ErrorCode::kCorruptFile,
                           {path("labels"), "IDX images must have 3 or 4 dimensions", "got 1"}));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("images"), path("images")); }, ErrorCode::kCorruptFile,
                           {path("images"), "IDX labels must have 1 dimension, got 3"}));
  write_bytes(path("five"), idx_file(0x08, {1, 1, 1, 5}, "abcde"));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("five"), ""); }, ErrorCode::kCorruptFile,
                           {path("five"), "unsupported IDX image size 1×1×5"}));
}

TEST_F(IdxDatasetTest, HugeDeclaredSizesFailWithoutAllocating) {
  write_bytes(path("large"), idx_file(0x08, {1 << 20, 256, 256}, std::string(100, 'x')));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("large"), ""); }, ErrorCode::kCorruptFile,
                           {path("large"), "truncated IDX data: expected 68719476736 bytes of images, got 100"}));
  write_bytes(path("huge"), idx_file(0x08, {0xFFFFFFFF, 0xFFFF, 0xFFFF}, std::string(100, 'x')));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("huge"), ""); }, ErrorCode::kCorruptFile,
                           {path("huge"), "exceeds the limit"}));
  write_bytes(path("overflow"), idx_file(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 4}, "x"));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("overflow"), ""); }, ErrorCode::kCorruptFile,
                           {path("overflow"), "IDX sizes overflow"}));
}

TEST_F(IdxDatasetTest, RejectsTrailingData) {
  write_bytes(path("images"), idx_file(0x08, {1, 1, 2}, "abc"));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("images"), ""); }, ErrorCode::kCorruptFile,
                           {path("images"), "unexpected data after 2 bytes of images"}));
}

TEST_F(IdxDatasetTest, MissingFileIsAnIoError) {
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("nope.gz"), ""); }, ErrorCode::kIo,
                           {path("nope.gz"), "cannot open", "No such file"}));
  write_bytes(path("images"), idx_file(0x08, {1, 1, 1}, "a"));
  EXPECT_TRUE(throws_error([&] { open_idx_dataset(path("images"), path("nope")); }, ErrorCode::kIo,
                           {path("nope"), "cannot open"}));
}

TEST(FashionMnist, TrainSplitHas60000LabelledImagesOf28x28) {
  const std::string dir = test::fashion_mnist_dir();
  ASSERT_TRUE(fs::exists(dir + "train-images-idx3-ubyte.gz")) << "dataset-fashion-mnist is not installed (scripts/setup-deps installs it)";
  auto dataset = open_idx_dataset(dir + "train-images-idx3-ubyte.gz", dir + "train-labels-idx1-ubyte.gz");
  ASSERT_EQ(dataset->size(), 60000);
  EXPECT_EQ(dataset->num_classes(), 10);
  const Example first = dataset->get(0);
  EXPECT_EQ(first.image.scalar_type(), at::kByte);
  EXPECT_EQ(first.image.sizes(), at::IntArrayRef({1, 28, 28}));
  const std::vector<int64_t> first_labels{9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9};
  for (size_t i = 0; i < first_labels.size(); ++i)
    EXPECT_EQ(dataset->get(static_cast<int64_t>(i)).label, first_labels[i]);
  const Example last = dataset->get(59999);
  EXPECT_GE(last.label, 0);
  EXPECT_LT(last.label, 10);
}

// ---------------------------------------------------------------------------------------------------
// PNG

at::Tensor decode(const std::string& png) { return decode_png(png.data(), png.size(), "test.png"); }

// A PNG written with libpng's simplified API.
std::string simplified_png(png_uint_32 format, png_uint_32 width, png_uint_32 height, const void* pixels,
                           const void* colormap = nullptr, png_uint_32 colormap_entries = 0) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = width;
  image.height = height;
  image.format = format;
  image.colormap_entries = colormap_entries;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, pixels, 0, colormap)) {
    ADD_FAILURE() << image.message;
    return {};
  }
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&image, out.data(), &size, 0, pixels, 0, colormap)) {
    ADD_FAILURE() << image.message;
    return {};
  }
  out.resize(size);
  return out;
}

std::string png_chunk(const std::string& type, const std::string& data) {
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(type.data()), 4);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  return be32(static_cast<uint32_t>(data.size())) + type + data + be32(static_cast<uint32_t>(crc));
}

// A PNG assembled chunk by chunk, for what the simplified writer cannot produce (colour keys, 16-bit
// samples without gamma information, gray below 8 bits). `rows` holds each row's packed samples.
std::string raw_png(uint32_t width, uint32_t height, int bit_depth, int color_type,
                    const std::vector<std::string>& rows, const std::string& palette = "",
                    const std::string& transparency = "") {
  std::string filtered;
  for (const std::string& row : rows) filtered += '\0' + row;  // filter type 0 (none)
  uLongf size = compressBound(static_cast<uLong>(filtered.size()));
  std::string idat(size, '\0');
  EXPECT_EQ(compress(reinterpret_cast<Bytef*>(idat.data()), &size, reinterpret_cast<const Bytef*>(filtered.data()),
                     static_cast<uLong>(filtered.size())),
            Z_OK);
  idat.resize(size);
  std::string png = "\x89PNG\r\n\x1a\n";
  png += png_chunk("IHDR", be32(width) + be32(height) + bytes_of({bit_depth, color_type, 0, 0, 0}));
  if (!palette.empty()) png += png_chunk("PLTE", palette);
  if (!transparency.empty()) png += png_chunk("tRNS", transparency);
  return png + png_chunk("IDAT", idat) + png_chunk("IEND", "");
}

std::string be16(int v) { return bytes_of({v >> 8, v & 0xFF}); }

// The colour type recorded in a PNG's IHDR chunk.
int color_type_of(const std::string& png) { return static_cast<uint8_t>(png.at(25)); }

TEST(Png, DecodesEightBitGrayGrayAlphaRgbAndRgba) {
  const uint8_t gray[] = {0, 200};
  const uint8_t gray_alpha[] = {10, 20, 30, 40};
  const uint8_t rgb[] = {1, 2, 3, 4, 5, 6};
  const uint8_t rgba[] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_TRUE(same_tensor(decode(simplified_png(PNG_FORMAT_GRAY, 2, 1, gray)), u8({0, 200}, {1, 1, 2})));
  EXPECT_TRUE(same_tensor(decode(simplified_png(PNG_FORMAT_GA, 2, 1, gray_alpha)), u8({10, 30, 20, 40}, {2, 1, 2})));
  EXPECT_TRUE(same_tensor(decode(simplified_png(PNG_FORMAT_RGB, 2, 1, rgb)), u8({1, 4, 2, 5, 3, 6}, {3, 1, 2})));
  EXPECT_TRUE(
      same_tensor(decode(simplified_png(PNG_FORMAT_RGBA, 2, 1, rgba)), u8({1, 5, 2, 6, 3, 7, 4, 8}, {4, 1, 2})));
}

TEST(Png, DecodesPaletteToRgb) {
  const uint8_t colormap[] = {255, 0, 0, 0, 255, 0, 0, 0, 255};
  const uint8_t indices[] = {2, 0, 1, 1};
  const std::string png = simplified_png(PNG_FORMAT_RGB_COLORMAP, 2, 2, indices, colormap, 3);
  ASSERT_EQ(color_type_of(png), 3);
  EXPECT_TRUE(same_tensor(decode(png), u8({0, 255, 0, 0, 0, 0, 255, 255, 255, 0, 0, 0}, {3, 2, 2})));
}

TEST(Png, DecodesPaletteWithTransparencyToRgba) {
  const uint8_t colormap[] = {255, 0, 0, 255, 0, 255, 0, 128, 10, 20, 30, 0};
  const uint8_t indices[] = {2, 0, 1, 1};
  const std::string png = simplified_png(PNG_FORMAT_RGBA_COLORMAP, 2, 2, indices, colormap, 3);
  ASSERT_EQ(color_type_of(png), 3);
  ASSERT_NE(png.find("tRNS"), std::string::npos);
  EXPECT_TRUE(same_tensor(decode(png), u8({10, 255, 0, 0, 20, 0, 255, 255, 30, 0, 0, 0, 0, 255, 128, 128}, {4, 2, 2})));
}

TEST(Png, GrayWithColourKeyBecomesGrayAlpha) {
  const std::string png = raw_png(3, 1, 8, 0, {bytes_of({7, 8, 255})}, "", be16(7));
  EXPECT_TRUE(same_tensor(decode(png), u8({7, 8, 255, 0, 255, 255}, {2, 1, 3})));
}

TEST(Png, RgbWithColourKeyBecomesRgba) {
  const std::string png = raw_png(2, 1, 8, 2, {bytes_of({10, 20, 30, 40, 50, 60})}, "", be16(40) + be16(50) + be16(60));
  EXPECT_TRUE(same_tensor(decode(png), u8({10, 40, 20, 50, 30, 60, 255, 0}, {4, 1, 2})));
}

TEST(Png, ReducesSixteenBitSamplesToEightBits) {
  const int k = 257;  // v·257 in 16 bits is v in 8 bits
  EXPECT_TRUE(same_tensor(decode(raw_png(3, 1, 16, 0, {be16(0) + be16(128 * k) + be16(255 * k)})),
                          u8({0, 128, 255}, {1, 1, 3})));
  EXPECT_TRUE(same_tensor(decode(raw_png(2, 1, 16, 4, {be16(100 * k) + be16(255 * k) + be16(50 * k) + be16(20 * k)})),
                          u8({100, 50, 255, 20}, {2, 1, 2})));
  EXPECT_TRUE(
      same_tensor(decode(raw_png(1, 1, 16, 2, {be16(1 * k) + be16(2 * k) + be16(3 * k)})), u8({1, 2, 3}, {3, 1, 1})));
  EXPECT_TRUE(same_tensor(decode(raw_png(1, 1, 16, 6, {be16(10 * k) + be16(20 * k) + be16(30 * k) + be16(200 * k)})),
                          u8({10, 20, 30, 200}, {4, 1, 1})));
}

TEST(Png, SixteenBitLinearFileIsGammaEncodedToEightBits) {
  // The simplified writer marks 16-bit data as linear (gAMA 1.0); 8-bit output is sRGB-like.
  const uint16_t linear[] = {0, 32768, 65535};
  const std::string png = simplified_png(PNG_FORMAT_LINEAR_Y, 3, 1, linear);
  const at::Tensor image = decode(png);
  ASSERT_EQ(image.sizes(), at::IntArrayRef({1, 1, 3}));
  const uint8_t* p = image.data_ptr<uint8_t>();
  EXPECT_EQ(p[0], 0);
  EXPECT_NEAR(p[1], 255 * std::pow(0.5, 1 / 2.2), 2.0);
  EXPECT_EQ(p[2], 255);
}

TEST(Png, ExpandsGrayBelowEightBits) {
  EXPECT_TRUE(same_tensor(decode(raw_png(8, 1, 1, 0, {bytes_of({0b10110001})})),
                          u8({255, 0, 255, 255, 0, 0, 0, 255}, {1, 1, 8})));
  EXPECT_TRUE(same_tensor(decode(raw_png(4, 1, 2, 0, {bytes_of({0b00011011})})), u8({0, 85, 170, 255}, {1, 1, 4})));
}

TEST(Png, EncodeDecodeRoundTripKeepsEveryChannelCount) {
  for (int64_t channels = 1; channels <= 4; ++channels) {
    SCOPED_TRACE(channels);
    const at::Tensor image = pattern({channels, 5, 7}, static_cast<int>(channels));
    const std::string png = encode_png(image);
    EXPECT_EQ(color_type_of(png), (std::vector<int>{0, 4, 2, 6}[channels - 1]));
    EXPECT_TRUE(same_tensor(decode(png), image));
  }
  const at::Tensor view = pattern({3, 6, 8}).narrow(2, 1, 5);
  EXPECT_TRUE(same_tensor(decode(encode_png(view)), view.contiguous()));
}

TEST(Png, EncodeRejectsWrongDtypeOrShape) {
  EXPECT_TRUE(throws_error(
      [] {
        encode_png(at::zeros({3, 2, 2}, at::kFloat));
      },
      ErrorCode::kInvalidArgument, {"uint8 [C, H, W]"}));
  EXPECT_TRUE(throws_error([] { encode_png(pattern({2, 2})); }, ErrorCode::kInvalidArgument, {"uint8 [C, H, W]"}));
  EXPECT_TRUE(throws_error([] { encode_png(pattern({5, 2, 2})); }, ErrorCode::kInvalidArgument, {"cannot encode"}));
  EXPECT_TRUE(throws_error([] { encode_png(pattern({3, 0, 2})); }, ErrorCode::kInvalidArgument, {"cannot encode"}));
  EXPECT_TRUE(throws_error([] { encode_png(at::Tensor()); }, ErrorCode::kInvalidArgument, {"undefined"}));
}

TEST(Png, TruncatedDataIsCorruptAndNamesTheFile) {
  const std::string png = encode_png(pattern({3, 16, 16}));
  for (size_t len : {size_t{4}, size_t{20}, size_t{40}, png.size() / 2}) {
    SCOPED_TRACE(len);
    EXPECT_TRUE(throws_error([&] { decode_png(png.data(), len, "/d/img3.png"); }, ErrorCode::kCorruptFile,
                             {"/d/img3.png", len <= 8 ? "truncated PNG" : "corrupt PNG"}));
  }
}

TEST(Png, BadSignatureIsNamed) {
  std::string png = encode_png(pattern({1, 2, 2}));
  png[1] = 'X';
  EXPECT_TRUE(throws_error([&] { decode_png(png.data(), png.size(), "/d/img3.png"); }, ErrorCode::kCorruptFile,
                           {"/d/img3.png: not a PNG file (bad signature)"}));
  const std::string jpeg = bytes_of({0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0});
  EXPECT_TRUE(throws_error([&] { decode_png(jpeg.data(), jpeg.size(), "/d/a.png"); }, ErrorCode::kCorruptFile,
                           {"/d/a.png: not a PNG file (bad signature)"}));
  EXPECT_TRUE(throws_error([&] { decode_png(nullptr, 0, "/d/empty.png"); }, ErrorCode::kCorruptFile,
                           {"/d/empty.png: not a PNG file"}));
}

TEST(Png, CorruptChunkChecksumIsReported) {
  std::string png = encode_png(pattern({1, 8, 8}));
  // The checksum follows the chunk's type and data; the data itself stays intact.
  const size_t type = png.find("IDAT");
  const size_t length = static_cast<uint8_t>(png[type - 2]) << 8 | static_cast<uint8_t>(png[type - 1]);
  png[type + 4 + length] ^= 0x55;
  EXPECT_TRUE(throws_error([&] { decode_png(png.data(), png.size(), "/d/img.png"); }, ErrorCode::kCorruptFile,
                           {"/d/img.png: corrupt PNG", "CRC"}));
}

TEST(Png, ImplausiblyLargeDimensionsAreRefusedBeforeDecoding) {
  const std::string png = raw_png(100000, 100000, 8, 0, {"x"});
  EXPECT_TRUE(throws_error([&] { decode_png(png.data(), png.size(), "/d/huge.png"); }, ErrorCode::kCorruptFile,
                           {"/d/huge.png", "too large to decode"}));
}

using PngFileTest = TempDirTest;

TEST_F(PngFileTest, WritePngThenReadPngGivesTheImageBack) {
  const at::Tensor image = pattern({4, 9, 11});
  write_png(path("x.png"), image);
  EXPECT_TRUE(same_tensor(read_png(path("x.png")), image));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"x.png"});  // no temporary left behind
}

TEST_F(PngFileTest, ReadingAMissingFileIsAnIoError) {
  EXPECT_TRUE(throws_error([&] { read_png(path("nope.png")); }, ErrorCode::kIo, {path("nope.png")}));
}

// ---------------------------------------------------------------------------------------------------
// PNG folders

class PngFolderTest : public TempDirTest {
 protected:
  void add_png(const std::string& relative, const at::Tensor& image) {
    fs::create_directories(fs::path(path(relative)).parent_path());
    write_png(path(relative), image);
  }
};

TEST_F(PngFolderTest, LabelsComeFromDatasetJson) {
  add_png("b.png", pattern({3, 4, 4}, 1));
  add_png("a.png", pattern({1, 4, 4}, 2));
  add_png("sub/c.png", pattern({4, 2, 3}, 3));
  write_bytes(path("dataset.json"), R"({"labels": [["sub/c.png", 0], ["a.png", 5], ["b.png", 2]]})");
  auto dataset = open_png_dataset(dir_);
  ASSERT_EQ(dataset->size(), 3);
  EXPECT_EQ(dataset->num_classes(), 6);
  EXPECT_EQ(dataset->describe(), "png:" + dir_);
  // Sorted by relative path: a.png, b.png, sub/c.png.
  EXPECT_EQ(dataset->get(0).label, 5);
  EXPECT_EQ(dataset->get(1).label, 2);
  EXPECT_EQ(dataset->get(2).label, 0);
  EXPECT_TRUE(same_tensor(dataset->get(0).image, pattern({1, 4, 4}, 2)));
  EXPECT_TRUE(same_tensor(dataset->get(2).image, pattern({4, 2, 3}, 3)));
}

TEST_F(PngFolderTest, NullLabelsInDatasetJsonMeanUnlabeled) {
  add_png("cat/a.png", pattern({1, 2, 2}));
  write_bytes(path("dataset.json"), R"({"labels": null})");
  auto dataset = open_png_dataset(dir_);
  EXPECT_EQ(dataset->num_classes(), 0);
  EXPECT_EQ(dataset->get(0).label, -1);
}

TEST_F(PngFolderTest, LabelsComeFromClassSubFolders) {
  add_png("dog/1.png", pattern({3, 2, 2}));
  add_png("cat/2.png", pattern({3, 2, 2}));
  add_png("cat/x/3.png", pattern({3, 2, 2}));
  add_png("eel/4.PNG", pattern({3, 2, 2}));
  write_bytes(path("cat/notes.txt"), "not an image");
  auto dataset = open_png_dataset(dir_);
  ASSERT_EQ(dataset->size(), 4);
  EXPECT_EQ(dataset->num_classes(), 3);
  // cat/2.png, cat/x/3.png, dog/1.png, eel/4.PNG
  const std::vector<int64_t> expected{0, 0, 1, 2};
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(dataset->get(i).label, expected[static_cast<size_t>(i)]);
}

TEST_F(PngFolderTest, FolderWithImagesAtItsRootIsUnlabeled) {
  add_png("0.png", pattern({1, 2, 2}));
  add_png("1.png", pattern({1, 2, 2}));
  add_png("sub/2.png", pattern({1, 2, 2}));
  auto dataset = open_png_dataset(dir_);
  EXPECT_EQ(dataset->size(), 3);
  EXPECT_EQ(dataset->num_classes(), 0);
  EXPECT_EQ(dataset->get(2).label, -1);
}

TEST_F(PngFolderTest, MalformedDatasetJsonIsReportedWithItsPath) {
  add_png("a.png", pattern({1, 2, 2}));
  add_png("b.png", pattern({1, 2, 2}));
  const std::vector<std::pair<std::string, std::string>> cases{
      {"{not json", "malformed JSON"},
      {"[1, 2]", "expected an object with a \"labels\" key"},
      {R"({"labels": 3})", "\"labels\" must be a list or null"},
      {R"({"labels": [["a.png"]]})", "labels[0] must be [\"relative/path\", integer]"},
      {R"({"labels": [["a.png", 1], ["b.png", "x"]]})", "labels[1] must be"},
      {R"({"labels": [["a.png", 1], ["b.png", -1]]})", "label -1 for 'b.png' is out of range"},
      {R"({"labels": [["a.png", 1], ["b.png", 0], ["a/b.png", 1]]})", "label for 'a/b.png' but no such file"},
      {R"({"labels": [["a.png", 1]]})", "no label for 'b.png'"},
      {R"({"labels": [["a.png", 1], ["./a.png", 2], ["b.png", 0]]})", "'a.png' is labelled twice"},
  };
  for (const auto& [json, phrase] : cases) {
    SCOPED_TRACE(json);
    write_bytes(path("dataset.json"), json);
    EXPECT_TRUE(throws_error([&] { open_png_dataset(dir_); }, ErrorCode::kCorruptFile, {path("dataset.json"), phrase}));
  }
}

TEST_F(PngFolderTest, MissingEmptyOrNonDirectoryIsReported) {
  EXPECT_TRUE(
      throws_error([&] { open_png_dataset(path("nope")); }, ErrorCode::kIo, {path("nope"), "cannot read directory"}));
  fs::create_directories(path("empty"));
  EXPECT_TRUE(throws_error([&] { open_png_dataset(path("empty")); }, ErrorCode::kNotFound,
                           {path("empty"), "no PNG files found"}));
  write_bytes(path("file"), "x");  // a file is read as a zip archive
  EXPECT_TRUE(throws_error([&] { open_png_dataset(path("file")); }, ErrorCode::kCorruptFile,
                           {path("file"), "cannot read zip archive", "Not a zip archive"}));
}

TEST_F(PngFolderTest, CorruptImageFailsInGetNamingTheFile) {
  add_png("a.png", pattern({1, 2, 2}));
  write_bytes(path("b.png"), "not a png at all");
  auto dataset = open_png_dataset(dir_);  // files are decoded lazily
  EXPECT_NO_THROW(dataset->get(0));
  EXPECT_TRUE(throws_error([&] { dataset->get(1); }, ErrorCode::kCorruptFile, {path("b.png"), "bad signature"}));
}

// ---------------------------------------------------------------------------------------------------
// PNG datasets in zip archives (as EDM2's dataset tool writes them with --dest=x.zip)

struct ZipMember {
  std::string name;
  std::string bytes;
  int32_t method = ZIP_CM_DEFLATE;
  bool encrypt = false;  // AES-256, password "secret"
};

// Writes `members` in their order with libzip; a name may repeat only in different spellings.
void write_zip(const std::string& path, const std::vector<ZipMember>& members) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  ASSERT_NE(archive, nullptr) << "zip_open: " << code;
  for (const ZipMember& member : members) {
    zip_source_t* source = zip_source_buffer(archive, member.bytes.data(), member.bytes.size(), 0);
    ASSERT_NE(source, nullptr);
    const zip_int64_t index = zip_file_add(archive, member.name.c_str(), source, ZIP_FL_ENC_UTF_8);
    ASSERT_GE(index, 0) << member.name << ": " << zip_strerror(archive);
    ASSERT_EQ(zip_set_file_compression(archive, static_cast<zip_uint64_t>(index),
                                       member.method, 0),
              0);
    if (member.encrypt) {
      ASSERT_EQ(zip_file_set_encryption(archive, static_cast<zip_uint64_t>(index), ZIP_EM_AES_256, "secret"), 0);
    }
  }
  ASSERT_EQ(zip_close(archive), 0) << zip_strerror(archive);
}

// The folder's files (relative names, '/'-separated) as zip members, deflated or stored by turns.
std::vector<ZipMember> members_of_folder(const std::string& root) {
  std::vector<ZipMember> members;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const int32_t method = members.size() % 2 == 0 ? ZIP_CM_DEFLATE : ZIP_CM_STORE;
    members.push_back({fs::relative(entry.path(), root).generic_string(), read_bytes(entry.path().string()), method});
  }
  return members;
}

::testing::AssertionResult same_dataset(const Dataset& actual, const Dataset& expected) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << "size " << actual.size() << " vs " << expected.size();
  if (actual.num_classes() != expected.num_classes())
    return ::testing::AssertionFailure() << "classes " << actual.num_classes() << " vs " << expected.num_classes();
  for (int64_t i = 0; i < actual.size(); ++i) {
    const Example a = actual.get(i), e = expected.get(i);
    if (a.label != e.label) return ::testing::AssertionFailure() << "label of " << i << ": " << a.label << " vs " << e.label;
    auto images = same_tensor(a.image, e.image);
    if (!images) return images << " (image " << i << ")";
  }
  return ::testing::AssertionSuccess();
}

class PngZipTest : public PngFolderTest {
 protected:
  // The archive of this test's folder, written beside it.
  std::string zip_folder(const std::string& name = "data.zip") {
    const std::string zip = dir_ + "-" + name;
    zips_.push_back(zip);
    write_zip(zip, members_of_folder(dir_));
    return zip;
  }
  std::string write_archive(const std::vector<ZipMember>& members) {
    const std::string zip = dir_ + "-" + std::to_string(zips_.size()) + ".zip";
    zips_.push_back(zip);
    write_zip(zip, members);
    return zip;
  }
  void TearDown() override {
    for (const std::string& zip : zips_) fs::remove(zip);
    PngFolderTest::TearDown();
  }
  std::vector<std::string> zips_;
};

TEST_F(PngZipTest, ArchiveWithDatasetJsonReadsLikeItsFolder) {
  add_png("00000/img00000000.png", pattern({3, 4, 4}, 1));
  add_png("00000/img00000001.png", pattern({1, 4, 4}, 2));
  add_png("00001/img00000002.png", pattern({4, 2, 3}, 3));
  add_png("00001/img00000003.png", pattern({2, 5, 1}, 4));
  write_bytes(path("dataset.json"),
              R"({"labels": [["00000/img00000000.png", 7], ["00000/img00000001.png", 0],)"
              R"( ["00001/img00000002.png", 3], ["00001/img00000003.png", 7]]})");
  const std::string zip = zip_folder();
  auto from_zip = open_png_dataset(zip);
  EXPECT_EQ(from_zip->describe(), "png-zip:" + zip);
  EXPECT_EQ(from_zip->num_classes(), 8);
  EXPECT_TRUE(same_dataset(*from_zip, *open_png_dataset(dir_)));
}

TEST_F(PngZipTest, ArchiveWithClassFoldersAndDirectoryEntriesReadsLikeItsFolder) {
  add_png("dog/1.png", pattern({3, 2, 2}, 1));
  add_png("cat/2.png", pattern({3, 2, 2}, 2));
  add_png("cat/x/3.png", pattern({3, 2, 2}, 3));
  add_png("eel/4.PNG", pattern({3, 2, 2}, 4));
  write_bytes(path("cat/notes.txt"), "not an image");
  std::vector<ZipMember> members = members_of_folder(dir_);
  members.insert(members.begin(), {ZipMember{"cat/", ""}, ZipMember{"cat/x/", ""}, ZipMember{"dog/", ""}});
  auto from_zip = open_png_dataset(write_archive(members));
  EXPECT_EQ(from_zip->num_classes(), 3);
  EXPECT_TRUE(same_dataset(*from_zip, *open_png_dataset(dir_)));
}

TEST_F(PngZipTest, NamesAreSortedAndNormalisedWhateverTheArchiveOrder) {
  const std::string a = encode_png(pattern({1, 2, 2}, 1)), b = encode_png(pattern({1, 2, 2}, 2));
  const std::string c = encode_png(pattern({1, 2, 2}, 3));
  auto dataset = open_png_dataset(write_archive({{"sub/./c.png", c}, {"b.png", b, ZIP_CM_STORE}, {"./a.png", a}}));
  ASSERT_EQ(dataset->size(), 3);
  EXPECT_EQ(dataset->num_classes(), 0);  // images at the root: unlabeled
  EXPECT_TRUE(same_tensor(dataset->get(0).image, pattern({1, 2, 2}, 1)));
  EXPECT_TRUE(same_tensor(dataset->get(1).image, pattern({1, 2, 2}, 2)));
  EXPECT_TRUE(same_tensor(dataset->get(2).image, pattern({1, 2, 2}, 3)));
}

TEST_F(PngZipTest, ANameStoredTwiceIsRefused) {
  const std::string png = encode_png(pattern({1, 2, 2}));
  const std::string zip = write_archive({{"a.png", png}, {"b.png", png}, {"./a.png", png}});
  EXPECT_TRUE(throws_error([&] { open_png_dataset(zip); }, ErrorCode::kCorruptFile,
                           {zip, "'a.png' is in the zip archive twice"}));
}

TEST_F(PngZipTest, DatasetJsonErrorsNameTheArchiveAndTheMember) {
  const std::string png = encode_png(pattern({1, 2, 2}));
  const std::string bad = write_archive({{"a.png", png}, {"dataset.json", R"({"labels": [["b.png", 1]]})"}});
  EXPECT_TRUE(throws_error([&] { open_png_dataset(bad); }, ErrorCode::kCorruptFile,
                           {bad + ": dataset.json", "label for 'b.png' but no such file"}));
  const std::string null_labels = write_archive({{"a/a.png", png}, {"dataset.json", R"({"labels": null})"}});
  EXPECT_EQ(open_png_dataset(null_labels)->num_classes(), 0);
}

TEST_F(PngZipTest, AnArchiveWithoutPngsIsNotFound) {
  const std::string zip = write_archive({{"notes.txt", "text"}, {"d/", ""}});
  EXPECT_TRUE(throws_error([&] { open_png_dataset(zip); }, ErrorCode::kNotFound, {zip, "no PNG files"}));
}

TEST_F(PngZipTest, ACutArchiveIsCorruptNamingIt) {
  add_png("a.png", pattern({3, 8, 8}));
  const std::string zip = zip_folder();
  const std::string bytes = read_bytes(zip);
  write_bytes(zip, bytes.substr(0, bytes.size() - 30));  // the end of the central directory is gone
  EXPECT_TRUE(throws_error([&] { open_png_dataset(zip); }, ErrorCode::kCorruptFile, {zip, "cannot read zip archive"}));
}

TEST_F(PngZipTest, DamagedDataFailsInGetNamingTheArchiveAndTheMember) {
  const std::string good = encode_png(pattern({3, 8, 8}, 1)), damaged = encode_png(pattern({3, 8, 8}, 2));
  for (const int32_t method : {ZIP_CM_STORE, ZIP_CM_DEFLATE, ZIP_CM_BZIP2}) {
    SCOPED_TRACE(method);
    const std::string zip = write_archive({{"a.png", good, method}, {"b.png", damaged, method}});
    std::string bytes = read_bytes(zip);
    // The second member's data begins after its local header (30 bytes, its name and an extra field
    // whose lengths are at bytes 26 and 28) and ends before the central directory.
    const size_t header = bytes.find(std::string("PK\x03\x04", 4), 4);
    const size_t directory = bytes.find(std::string("PK\x01\x02", 4));
    ASSERT_NE(header, std::string::npos);
    ASSERT_NE(directory, std::string::npos);
    const auto le16 = [&](size_t at) { return static_cast<uint8_t>(bytes[at]) | static_cast<uint8_t>(bytes[at + 1]) << 8; };
    const size_t data = header + 30 + le16(header + 26) + le16(header + 28);
    ASSERT_LT(data, directory);
    bytes[data + (directory - data) / 2] ^= 0x5A;
    write_bytes(zip, bytes);
    auto dataset = open_png_dataset(zip);  // members are read lazily
    EXPECT_TRUE(same_tensor(dataset->get(0).image, pattern({3, 8, 8}, 1)));
    EXPECT_TRUE(throws_error([&] { dataset->get(1); }, ErrorCode::kCorruptFile,
                             {zip + ": b.png", "cannot read", method == ZIP_CM_STORE ? "CRC error" : ""}));
    EXPECT_TRUE(same_tensor(dataset->get(0).image, pattern({3, 8, 8}, 1)));  // the archive stays usable
  }
}

TEST_F(PngZipTest, StoredDeflatedAndBzip2MembersReadAlike) {
  // Stored and deflated data are unpacked by diffuse outside the archive's lock, other methods by libzip.
  std::vector<ZipMember> members;
  const std::vector<int32_t> methods{ZIP_CM_STORE, ZIP_CM_DEFLATE, ZIP_CM_BZIP2};
  for (int i = 0; i < 6; ++i)
    members.push_back({std::to_string(i) + ".png", encode_png(pattern({3, 9, 7}, i)), methods[static_cast<size_t>(i % 3)]});
  members.push_back({"empty.bin", "", ZIP_CM_DEFLATE});
  members.push_back({"text.bin", std::string(100000, 'z'), ZIP_CM_DEFLATE});  // deflate shrinks it a thousandfold
  const std::string zip = write_archive(members);
  auto dataset = open_png_dataset(zip);
  ASSERT_EQ(dataset->size(), 6);
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(same_tensor(dataset->get(i).image, pattern({3, 9, 7}, i)));
  const ZipArchive archive(zip);
  EXPECT_EQ(archive.read(6, 10), "");
  EXPECT_EQ(archive.read(7, 100000), std::string(100000, 'z'));
  EXPECT_TRUE(throws_error([&] { archive.read(7, 99999); }, ErrorCode::kCorruptFile,
                           {zip + ": text.bin", "100000 bytes, more than the 99999"}));
}

TEST_F(PngZipTest, DeflateDataThatDisagreesWithItsRecordedSizeIsDamage) {
  const std::string zip = write_archive({{"text.bin", std::string(100000, 'z'), ZIP_CM_DEFLATE}});
  const std::string original = read_bytes(zip);
  const size_t directory = original.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(directory, std::string::npos);
  // The central directory's uncompressed size (bytes 24-27 of its entry) is what the reader trusts.
  const auto with_size = [&](uint32_t size) {
    std::string bytes = original;
    for (int b = 0; b < 4; ++b) bytes[directory + 24 + b] = static_cast<char>(size >> (8 * b));
    write_bytes(zip, bytes);
  };
  with_size(99999);
  EXPECT_TRUE(throws_error([&] { ZipArchive(zip).read(0, 1 << 20); }, ErrorCode::kCorruptFile,
                           {zip + ": text.bin", "unpacks to more than its recorded 99999 bytes"}));
  with_size(100001);
  EXPECT_TRUE(throws_error([&] { ZipArchive(zip).read(0, 1 << 20); }, ErrorCode::kCorruptFile,
                           {zip + ": text.bin", "deflate data cut short (100000 of its recorded 100001 bytes)"}));
  // A size that the data cannot reach (deflate unpacks to at most 1032 times its size) allocates
  // only what it can reach.
  with_size(1u << 30);
  EXPECT_TRUE(throws_error([&] { ZipArchive(zip).read(0, uint64_t{1} << 31); }, ErrorCode::kCorruptFile,
                           {zip + ": text.bin", "cut short (100000 of its recorded 1073741824 bytes)"}));
  with_size(100000);
  EXPECT_EQ(ZipArchive(zip).read(0, 1 << 20), std::string(100000, 'z'));
}

TEST_F(PngZipTest, StoredBytesBeyondTheArchivesLengthAreRefusedBeforeReading) {
  const std::string zip = write_archive({{"a.bin", "abc", ZIP_CM_STORE}});
  std::string bytes = read_bytes(zip);
  const size_t directory = bytes.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(directory, std::string::npos);
  // The compressed and uncompressed sizes (bytes 20-27 of the entry), as a fuzzer found them: 512 MB.
  for (const size_t field : {directory + 20, directory + 24})
    for (int b = 0; b < 4; ++b) bytes[field + b] = static_cast<char>(uint32_t{536871002} >> (8 * b));
  write_bytes(zip, bytes);
  EXPECT_TRUE(throws_error([&] { ZipArchive(zip).read(0, uint64_t{1} << 30); }, ErrorCode::kCorruptFile,
                           {zip + ": a.bin", "records 536871002 stored bytes, more than the archive's"}));
}

TEST_F(PngZipTest, AnEncryptedMemberIsRefusedNamingIt) {
  const std::string png = encode_png(pattern({1, 2, 2}));
  const std::string zip = write_archive({{"a.png", png}, {"b.png", png, ZIP_CM_DEFLATE, true}});
  auto dataset = open_png_dataset(zip);
  EXPECT_NO_THROW(dataset->get(0));
  EXPECT_TRUE(throws_error([&] { dataset->get(1); }, ErrorCode::kCorruptFile, {zip + ": b.png", "encrypted"}));
}

TEST_F(PngZipTest, ANonPngMemberNamedPngFailsInGetNamingIt) {
  const std::string zip = write_archive({{"a.png", encode_png(pattern({1, 2, 2}))}, {"b.png", "not a png at all"}});
  auto dataset = open_png_dataset(zip);
  EXPECT_TRUE(throws_error([&] { dataset->get(1); }, ErrorCode::kCorruptFile, {zip + ": b.png", "bad signature"}));
}

TEST_F(PngZipTest, ConcurrentReadersGetTheirOwnHandles) {
  std::vector<ZipMember> members;
  for (int i = 0; i < 24; ++i) members.push_back({"img" + std::to_string(100 + i) + ".png", encode_png(pattern({3, 16, 16}, i)),
                                                     i % 3 ? ZIP_CM_DEFLATE : ZIP_CM_STORE});
  auto dataset = open_png_dataset(write_archive(members));
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 6; ++t) {
    readers.emplace_back([&, t] {
      for (int round = 0; round < 8; ++round)
        for (int i = 0; i < 24; ++i) {
          const int index = (i * 7 + t + round) % 24;
          if (!at::equal(dataset->get(index).image, pattern({3, 16, 16}, index))) ++wrong;
        }
    });
  }
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(PngZipTest, AMemberLargerThanTheLimitIsRefusedBeforeReading) {
  const std::string zip = write_archive({{"big.bin", std::string(5000, 'x')}, {"small.bin", "abc", ZIP_CM_STORE}});
  const ZipArchive archive(zip);
  ASSERT_EQ(archive.files(), (std::vector<std::string>{"big.bin", "small.bin"}));
  EXPECT_EQ(archive.read(1, 3), "abc");
  EXPECT_EQ(archive.read(0, 5000), std::string(5000, 'x'));
  EXPECT_TRUE(throws_error([&] { archive.read(0, 4999); }, ErrorCode::kCorruptFile,
                           {zip + ": big.bin", "5000 bytes, more than the 4999"}));
  EXPECT_TRUE(throws_error([&] { archive.read(2, 10); }, ErrorCode::kInvalidArgument, {zip, "file 2 of 2"}));
}

// ---------------------------------------------------------------------------------------------------
// In-memory datasets and subsets

TEST(MemoryDataset, CopiesImagesAndLabels) {
  std::vector<uint8_t> pixels(12);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i);
  std::vector<int64_t> labels{3, 1};
  auto dataset = make_memory_dataset(pixels.data(), 2, 1, 2, 3, labels.data());
  std::fill(pixels.begin(), pixels.end(), 99);
  labels = {7, 7};
  EXPECT_EQ(dataset->size(), 2);
  EXPECT_EQ(dataset->num_classes(), 4);
  EXPECT_EQ(dataset->describe(), "memory:2×1×2×3");
  const Example second = dataset->get(1);
  EXPECT_TRUE(same_tensor(second.image, u8({6, 9, 7, 10, 8, 11}, {3, 1, 2})));
  EXPECT_EQ(second.label, 1);
  // Each get() returns its own tensor.
  dataset->get(0).image.fill_(0);
  EXPECT_TRUE(same_tensor(dataset->get(0).image, u8({0, 3, 1, 4, 2, 5}, {3, 1, 2})));

  auto unlabeled = make_memory_dataset(pixels.data(), 2, 1, 2, 3, nullptr);
  EXPECT_EQ(unlabeled->num_classes(), 0);
  EXPECT_EQ(unlabeled->get(0).label, -1);
}

TEST(MemoryDataset, RejectsInvalidArguments) {
  const uint8_t pixels[4] = {};
  const int64_t negative[] = {0, -2};
  EXPECT_TRUE(throws_error([&] { make_memory_dataset(pixels, 1, 1, 1, 5, nullptr); }, ErrorCode::kInvalidArgument,
                           {"invalid shape"}));
  EXPECT_TRUE(throws_error([&] { make_memory_dataset(pixels, 1, 0, 1, 1, nullptr); }, ErrorCode::kInvalidArgument,
                           {"invalid shape"}));
  EXPECT_TRUE(throws_error([&] { make_memory_dataset(pixels, -1, 1, 1, 1, nullptr); }, ErrorCode::kInvalidArgument,
                           {"invalid shape"}));
  EXPECT_TRUE(throws_error([&] { make_memory_dataset(nullptr, 2, 1, 1, 1, nullptr); }, ErrorCode::kInvalidArgument,
                           {"images is NULL"}));
  EXPECT_TRUE(throws_error([&] { make_memory_dataset(pixels, 2, 1, 1, 1, negative); }, ErrorCode::kInvalidArgument,
                           {"label -2 of image 1 is negative"}));
}

// `count` 1×1 gray images valued 0, 1, 2, ..., labels i % 4.
std::shared_ptr<Dataset> numbered_dataset(int64_t count) {
  std::vector<uint8_t> pixels(static_cast<size_t>(count));
  std::vector<int64_t> labels(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    pixels[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
    labels[static_cast<size_t>(i)] = i % 4;
  }
  return make_memory_dataset(pixels.data(), count, 1, 1, 1, labels.data());
}

TEST(Subset, ExposesARangeOfTheBase) {
  auto base = numbered_dataset(10);
  auto subset = make_subset(base, 2, 5);
  ASSERT_EQ(subset->size(), 3);
  EXPECT_EQ(subset->get(0).image.item<uint8_t>(), 2);
  EXPECT_EQ(subset->get(2).image.item<uint8_t>(), 4);
  EXPECT_EQ(subset->get(2).label, 0);
  EXPECT_EQ(subset->num_classes(), 4);  // the base's, so that every split agrees
  EXPECT_EQ(subset->describe(), base->describe() + "[2:5]");
  EXPECT_EQ(make_subset(base, 4, 4)->size(), 0);
  EXPECT_EQ(make_subset(base, 0, 10)->size(), 10);
  EXPECT_TRUE(throws_error([&] { subset->get(3); }, ErrorCode::kInvalidArgument, {"index 3 out of range"}));
}

TEST(Subset, RejectsRangesOutsideTheBase) {
  auto base = numbered_dataset(10);
  for (const auto& range : {std::pair{-1, 2}, std::pair{3, 2}, std::pair{0, 11}}) {
    EXPECT_TRUE(throws_error([&] { make_subset(base, range.first, range.second); }, ErrorCode::kInvalidArgument,
                             {fmt::format("range [{}, {})", range.first, range.second)}));
  }
  EXPECT_TRUE(throws_error([] { make_subset(nullptr, 0, 0); }, ErrorCode::kInvalidArgument, {"null"}));
}

// ---------------------------------------------------------------------------------------------------
// Image transform

ImageTransform make_transform(int resolution, int channels, ResizeMode mode, std::array<uint8_t, 3> background = {}) {
  ImageTransform transform;
  transform.resolution = resolution;
  transform.channels = channels;
  transform.mode = mode;
  transform.background = background;
  return transform;
}

// The transform's encoding of a uint8 image, without geometry.
at::Tensor encode_pixels(const at::Tensor& image) { return image.to(at::kFloat) / 127.5 - 1.0; }

TEST(ImageTransform, PadCentresTheImageOnTheBackground) {
  const at::Tensor image = at::full({1, 28, 28}, 255, at::kByte);
  const at::Tensor out = transform_image(image, make_transform(32, 3, ResizeMode::kPad, {10, 20, 30}), false);
  ASSERT_EQ(out.scalar_type(), at::kFloat);
  ASSERT_EQ(out.sizes(), at::IntArrayRef({3, 32, 32}));
  EXPECT_TRUE(at::equal(out.narrow(1, 2, 28).narrow(2, 2, 28), at::ones({3, 28, 28})));
  EXPECT_EQ(out.eq(1.0f).sum().item<int64_t>(), 3 * 28 * 28);
  EXPECT_FLOAT_EQ(out[0][0][0].item<float>(), encoded(10));
  EXPECT_FLOAT_EQ(out[1][31][31].item<float>(), encoded(20));
  EXPECT_FLOAT_EQ(out[2][1][30].item<float>(), encoded(30));
  EXPECT_FLOAT_EQ(out[0][15][1].item<float>(), encoded(10));

  const at::Tensor gray = transform_image(image, make_transform(32, 1, ResizeMode::kPad, {10, 20, 30}), false);
  EXPECT_NEAR(gray[0][0][0].item<float>(), encoded(0.299 * 10 + 0.587 * 20 + 0.114 * 30), 1e-5);
}

TEST(ImageTransform, CenterCropCutsTheCentralSquareAndPadsSmallImages) {
  const at::Tensor image = pattern({1, 6, 6});
  EXPECT_TRUE(same_tensor(transform_image(image, make_transform(4, 1, ResizeMode::kCenterCrop), false),
                          encode_pixels(image.narrow(1, 1, 4).narrow(2, 1, 4))));
  // An odd margin puts the extra row and column at the end.
  const at::Tensor odd = pattern({1, 5, 5});
  EXPECT_TRUE(same_tensor(transform_image(odd, make_transform(4, 1, ResizeMode::kCenterCrop), false),
                          encode_pixels(odd.narrow(1, 0, 4).narrow(2, 0, 4))));
  const at::Tensor small = pattern({1, 2, 2});
  const at::Tensor padded = transform_image(small, make_transform(4, 1, ResizeMode::kCenterCrop, {0, 0, 0}), false);
  EXPECT_TRUE(same_tensor(padded.narrow(1, 1, 2).narrow(2, 1, 2), encode_pixels(small)));
  EXPECT_FLOAT_EQ(padded[0][0][0].item<float>(), -1.0f);
}

TEST(ImageTransform, ResizeDownAveragesAreas) {
  at::Tensor image = at::empty({1, 4, 4}, at::kByte);
  for (int i = 0; i < 16; ++i) image.data_ptr<uint8_t>()[i] = static_cast<uint8_t>(i * 10);
  const at::Tensor out = transform_image(image, make_transform(2, 1, ResizeMode::kResize), false);
  const at::Tensor expected = (at::tensor({25.0f, 45.0f, 105.0f, 125.0f}).view({1, 2, 2}) / 127.5 - 1.0);
  EXPECT_TRUE(at::allclose(out, expected, 0, 1e-6)) << out;
}

TEST(ImageTransform, ResizeUpIsBilinearWithHalfPixelCentres) {
  const at::Tensor image = u8({0, 100, 0, 100}, {1, 2, 2});
  const at::Tensor out = transform_image(image, make_transform(4, 1, ResizeMode::kResize), false);
  const at::Tensor row = at::tensor({0.0f, 25.0f, 75.0f, 100.0f}) / 127.5 - 1.0;
  EXPECT_TRUE(at::allclose(out, row.view({1, 1, 4}).expand({1, 4, 4}), 0, 1e-6)) << out;
}

TEST(ImageTransform, ResizeScalesTheShortSideThenCutsTheLongSide) {
  // 4×8, columns valued 10·j: scaled to 2×4 by 2×2 averages (5, 25, 45, 65), centre columns kept.
  at::Tensor image = at::empty({1, 4, 8}, at::kByte);
  for (int i = 0; i < 32; ++i) image.data_ptr<uint8_t>()[i] = static_cast<uint8_t>((i % 8) * 10);
  const at::Tensor out = transform_image(image, make_transform(2, 1, ResizeMode::kResize), false);
  const at::Tensor row = at::tensor({25.0f, 45.0f}) / 127.5 - 1.0;
  EXPECT_TRUE(at::allclose(out, row.view({1, 1, 2}).expand({1, 2, 2}), 0, 1e-6)) << out;
}

TEST(ImageTransform, GrayBecomesRgbByReplication) {
  const at::Tensor out = transform_image(u8({0, 200}, {1, 1, 2}), make_transform(2, 3, ResizeMode::kPad), false);
  ASSERT_EQ(out.sizes(), at::IntArrayRef({3, 2, 2}));
  for (int c = 0; c < 3; ++c) {
    EXPECT_FLOAT_EQ(out[c][0][0].item<float>(), -1.0f);
    EXPECT_FLOAT_EQ(out[c][0][1].item<float>(), encoded(200));
  }
}

TEST(ImageTransform, RgbBecomesGrayByBt601Luma) {
  const at::Tensor out = transform_image(u8({100, 150, 200}, {3, 1, 1}), make_transform(1, 1, ResizeMode::kPad), false);
  ASSERT_EQ(out.sizes(), at::IntArrayRef({1, 1, 1}));
  EXPECT_NEAR(out.item<float>(), encoded(0.299 * 100 + 0.587 * 150 + 0.114 * 200), 1e-5);
}

TEST(ImageTransform, AlphaIsCompositedOntoTheBackground) {
  // RGBA pixels: 20 % opaque, fully transparent, fully opaque; background blue.
  const at::Tensor rgba = u8({200, 9, 9, 100, 9, 9, 0, 9, 9, 51, 0, 255}, {4, 1, 3});
  const ImageTransform to_rgb = make_transform(3, 3, ResizeMode::kCenterCrop, {0, 0, 255});
  const at::Tensor out = transform_image(rgba.expand({4, 3, 3}).contiguous(), to_rgb, false);
  const std::vector<std::array<double, 3>> expected{{40, 20, 204}, {0, 0, 255}, {9, 9, 9}};
  for (int x = 0; x < 3; ++x)
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(out[c][0][x].item<float>(), encoded(expected[x][c]), 1e-5) << x << c;

  const at::Tensor gray =
      transform_image(rgba.expand({4, 3, 3}).contiguous(), make_transform(3, 1, ResizeMode::kPad, {0, 0, 255}), false);
  EXPECT_NEAR(gray[0][0][0].item<float>(), encoded(0.299 * 40 + 0.587 * 20 + 0.114 * 204), 1e-4);

  const at::Tensor gray_alpha = u8({100, 51}, {2, 1, 1});
  const at::Tensor ga_out = transform_image(gray_alpha, make_transform(1, 1, ResizeMode::kPad, {50, 50, 50}), false);
  EXPECT_NEAR(ga_out.item<float>(), encoded(100 * 0.2 + 50 * 0.8), 1e-5);
}

TEST(ImageTransform, FlipMirrorsHorizontally) {
  const at::Tensor image = pattern({3, 4, 5});
  for (ResizeMode mode : {ResizeMode::kPad, ResizeMode::kResize}) {
    const ImageTransform transform = make_transform(6, 3, mode, {1, 2, 3});
    EXPECT_TRUE(
        same_tensor(transform_image(image, transform, true), transform_image(image, transform, false).flip({2})));
  }
  EXPECT_FALSE(at::equal(transform_image(image, make_transform(4, 3, ResizeMode::kPad), true),
                         transform_image(image, make_transform(4, 3, ResizeMode::kPad), false)));
}

TEST(ImageTransform, EncodesZeroAsMinusOneAnd255AsOne) {
  const at::Tensor out =
      transform_image(u8({0, 255, 255, 0}, {1, 2, 2}), make_transform(2, 1, ResizeMode::kPad), false);
  EXPECT_TRUE(same_tensor(out, at::tensor({-1.0f, 1.0f, 1.0f, -1.0f}).view({1, 2, 2})));
}

TEST(ImageTransform, RejectsInvalidInputs) {
  const ImageTransform ok = make_transform(4, 3, ResizeMode::kPad);
  EXPECT_TRUE(throws_error(
      [&] {
        transform_image(at::zeros({3, 4, 4}, at::kFloat), ok, false);
      },
      ErrorCode::kInvalidArgument, {"uint8 [C, H, W]"}));
  EXPECT_TRUE(throws_error(
      [&] {
        transform_image(pattern({4, 4}), ok, false);
      },
      ErrorCode::kInvalidArgument, {"uint8 [C, H, W]"}));
  EXPECT_TRUE(throws_error(
      [&] {
        transform_image(pattern({5, 4, 4}), ok, false);
      },
      ErrorCode::kInvalidArgument, {"C in 1..4"}));
  EXPECT_TRUE(throws_error(
      [&] {
        transform_image(pattern({3, 4, 4}), make_transform(4, 2, ResizeMode::kPad), false);
      },
      ErrorCode::kInvalidArgument, {"channels 2 must be 1 or 3"}));
  EXPECT_TRUE(throws_error(
      [&] {
        transform_image(pattern({3, 4, 4}), make_transform(0, 3, ResizeMode::kPad), false);
      },
      ErrorCode::kInvalidArgument, {"resolution 0"}));
}

// ---------------------------------------------------------------------------------------------------
// Sampler

TEST(Sampler, EveryEpochIsAPermutation) {
  for (int64_t size : {1, 2, 7, 100}) {
    for (uint64_t seed : {uint64_t{0}, uint64_t{42}}) {
      for (int64_t epoch = 0; epoch < 4; ++epoch) {
        std::vector<int64_t> order;
        for (int64_t i = 0; i < size; ++i) order.push_back(sampler_index(seed, size, epoch * size + i));
        EXPECT_EQ(order, epoch_permutation(seed, size, epoch));
        std::sort(order.begin(), order.end());
        std::vector<int64_t> all(static_cast<size_t>(size));
        std::iota(all.begin(), all.end(), int64_t{0});
        EXPECT_EQ(order, all) << "size " << size << " seed " << seed << " epoch " << epoch;
      }
    }
  }
}

TEST(Sampler, OrderDiffersBetweenEpochsAndSeeds) {
  const std::vector<int64_t> base = epoch_permutation(0, 100, 0);
  std::vector<int64_t> identity(100);
  std::iota(identity.begin(), identity.end(), int64_t{0});
  EXPECT_NE(base, identity);
  EXPECT_NE(base, epoch_permutation(0, 100, 1));
  EXPECT_NE(base, epoch_permutation(1, 100, 0));
  EXPECT_EQ(base, epoch_permutation(0, 100, 0));
}

TEST(Sampler, OrderIsTheSameOnEveryPlatform) {
  // Pinned values: a checkpoint's loader position must mean the same examples everywhere, always.
  EXPECT_EQ(epoch_permutation(0, 10, 0), (std::vector<int64_t>{6, 7, 1, 3, 8, 5, 9, 0, 4, 2}));
  EXPECT_EQ(epoch_permutation(12345, 10, 3), (std::vector<int64_t>{2, 5, 8, 3, 0, 4, 6, 1, 9, 7}));
  std::string flips;
  for (int64_t p = 0; p < 16; ++p) flips += sampler_xflip(7, p) ? '1' : '0';
  EXPECT_EQ(flips, "0001011111001100");
}

TEST(Sampler, XflipIsAboutHalfAndDependsOnTheSeed) {
  int flipped = 0, differ = 0;
  for (int64_t p = 0; p < 10000; ++p) {
    flipped += sampler_xflip(5, p);
    differ += sampler_xflip(5, p) != sampler_xflip(6, p);
  }
  EXPECT_NEAR(flipped, 5000, 200);
  EXPECT_NEAR(differ, 5000, 200);
}

TEST(Sampler, RejectsInvalidArguments) {
  EXPECT_TRUE(throws_error([] { sampler_index(0, 0, 0); }, ErrorCode::kInvalidArgument, {"dataset size 0"}));
  EXPECT_TRUE(throws_error([] { sampler_index(0, 5, -1); }, ErrorCode::kInvalidArgument, {"position -1"}));
  EXPECT_TRUE(throws_error([] { epoch_permutation(0, 5, -2); }, ErrorCode::kInvalidArgument, {"epoch -2"}));
}

// ---------------------------------------------------------------------------------------------------
// Loader

// `count` RGB images of 5×7 with distinct content, labels i % 3.
std::shared_ptr<Dataset> rgb_dataset(int64_t count) {
  std::vector<uint8_t> pixels(static_cast<size_t>(count * 5 * 7 * 3));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>((i * 131 + i / 105 * 17) % 256);
  std::vector<int64_t> labels(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) labels[static_cast<size_t>(i)] = i % 3;
  return make_memory_dataset(pixels.data(), count, 5, 7, 3, labels.data());
}

LoaderOptions small_options(int num_workers) {
  LoaderOptions options;
  options.batch_size = 4;
  options.seed = 7;
  options.xflip = true;
  options.label_dim = 3;
  options.transform = make_transform(8, 3, ResizeMode::kPad, {1, 2, 3});
  options.num_workers = num_workers;
  options.prefetch_batches = 2;
  return options;
}

std::vector<Batch> take(DataLoader& loader, int count) {
  std::vector<Batch> batches;
  for (int i = 0; i < count; ++i) batches.push_back(loader.next());
  return batches;
}

// Wraps a dataset: counts get() calls, throws for one index, or reports a wrong class count.
class TestDataset : public Dataset {
 public:
  explicit TestDataset(std::shared_ptr<const Dataset> base) : base_(std::move(base)) {}
  int64_t size() const override { return base_->size(); }
  Example get(int64_t index) const override {
    ++gets;
    if (index == failing_index) fail(ErrorCode::kCorruptFile, "/d/img{}.png: corrupt PNG: IDAT: CRC error", index);
    return base_->get(index);
  }
  int64_t num_classes() const override { return reported_classes >= 0 ? reported_classes : base_->num_classes(); }
  std::string describe() const override { return "test:" + base_->describe(); }

  mutable std::atomic<int64_t> gets{0};
  int64_t failing_index = -1;
  int64_t reported_classes = -1;

 private:
  std::shared_ptr<const Dataset> base_;
};

TEST(DataLoader, BatchesFollowTheSamplerAndTheTransform) {
  auto dataset = rgb_dataset(10);
  const LoaderOptions options = small_options(0);
  DataLoader loader(dataset, options);
  int flips = 0;
  for (int64_t b = 0; b < 5; ++b) {
    const Batch batch = loader.next();
    EXPECT_EQ(batch.position, 4 * b);
    ASSERT_EQ(batch.images.sizes(), at::IntArrayRef({4, 3, 8, 8}));
    ASSERT_EQ(batch.labels.sizes(), at::IntArrayRef({4, 3}));
    for (int64_t i = 0; i < 4; ++i) {
      const int64_t position = batch.position + i;
      const int64_t index = sampler_index(options.seed, 10, position);
      const bool flip = sampler_xflip(options.seed, position);
      flips += flip;
      EXPECT_TRUE(same_tensor(batch.images[i], transform_image(dataset->get(index).image, options.transform, flip)))
          << "position " << position;
      at::Tensor one_hot = at::zeros({3}, at::kFloat);
      one_hot[index % 3] = 1.0f;
      EXPECT_TRUE(same_tensor(batch.labels[i], one_hot)) << "position " << position;
    }
  }
  EXPECT_GT(flips, 0);
  EXPECT_LT(flips, 20);
}

TEST(DataLoader, UnlabelledBatchesHaveNoLabelTensor) {
  LoaderOptions options = small_options(1);
  options.label_dim = 0;
  DataLoader loader(rgb_dataset(10), options);
  const Batch batch = loader.next();
  EXPECT_TRUE(batch.images.defined());
  EXPECT_FALSE(batch.labels.defined());
}

TEST(DataLoader, SameBatchesWhateverTheNumberOfWorkers) {
  auto dataset = rgb_dataset(10);
  DataLoader reference_loader(dataset, small_options(0));
  const std::vector<Batch> reference = take(reference_loader, 7);  // 2.8 epochs
  for (int workers : {1, 3}) {
    SCOPED_TRACE(workers);
    DataLoader loader(dataset, small_options(workers));
    const std::vector<Batch> batches = take(loader, 7);
    for (size_t b = 0; b < batches.size(); ++b) {
      EXPECT_EQ(batches[b].position, reference[b].position);
      EXPECT_TRUE(same_tensor(batches[b].images, reference[b].images)) << "batch " << b;
      EXPECT_TRUE(same_tensor(batches[b].labels, reference[b].labels)) << "batch " << b;
    }
  }
}

TEST(DataLoader, StartingAtAPositionContinuesTheSameStream) {
  auto dataset = rgb_dataset(10);
  for (int workers : {0, 2}) {
    SCOPED_TRACE(workers);
    DataLoader from_zero(dataset, small_options(workers));
    std::vector<at::Tensor> images, labels;
    for (const Batch& batch : take(from_zero, 6)) {
      images.push_back(batch.images);
      labels.push_back(batch.labels);
    }
    const at::Tensor all_images = at::cat(images), all_labels = at::cat(labels);

    DataLoader resumed(dataset, small_options(workers), 6);
    EXPECT_EQ(resumed.position(), 6);
    for (int64_t b = 0; b < 4; ++b) {
      const Batch batch = resumed.next();
      EXPECT_EQ(batch.position, 6 + 4 * b);
      EXPECT_TRUE(same_tensor(batch.images, all_images.narrow(0, 6 + 4 * b, 4))) << "batch " << b;
      EXPECT_TRUE(same_tensor(batch.labels, all_labels.narrow(0, 6 + 4 * b, 4))) << "batch " << b;
    }
    EXPECT_EQ(resumed.position(), 22);
  }
}

// LoaderOptions::noise: each batch carries the noise its positions give, made on the workers, the
// same whatever their number and with a share of each group (a data-parallel rank's).
TEST(DataLoader, BatchNoiseIsTheFunctionOfItsPositions) {
  auto dataset = rgb_dataset(10);
  const auto noise_of = [](int64_t first, const at::Tensor& out) {
    for (int64_t i = 0; i < out.size(0); ++i) out[i].fill_(static_cast<double>(first + i) + 0.25);
  };
  for (int workers : {0, 1, 3}) {
    SCOPED_TRACE(workers);
    LoaderOptions options = small_options(workers);
    options.noise = noise_of;
    options.group_images = 12;
    options.group_offset = 4;
    options.group_take = 8;
    DataLoader loader(dataset, options, 24);
    for (const Batch& batch : take(loader, 5)) {
      ASSERT_TRUE(batch.noise.defined());
      ASSERT_EQ(batch.noise.sizes(), batch.images.sizes());
      at::Tensor expected = at::empty(batch.images.sizes(), at::kFloat);
      noise_of(batch.position, expected);
      EXPECT_TRUE(same_tensor(batch.noise, expected)) << "position " << batch.position;
    }
  }
  DataLoader without(dataset, small_options(1));
  EXPECT_FALSE(without.next().noise.defined());
}

TEST(DataLoader, WorkerErrorIsRethrownFromNext) {
  auto dataset = std::make_shared<TestDataset>(rgb_dataset(16));
  dataset->failing_index = 7;
  const LoaderOptions options = small_options(0);
  int64_t failing_position = 0;
  while (sampler_index(options.seed, 16, failing_position) != 7) ++failing_position;
  const int64_t failing_batch = failing_position / 4;

  for (int workers : {0, 2}) {
    SCOPED_TRACE(workers);
    DataLoader loader(dataset, small_options(workers));
    for (int64_t b = 0; b < failing_batch; ++b) EXPECT_NO_THROW(loader.next()) << "batch " << b;
    EXPECT_TRUE(throws_error([&] { loader.next(); }, ErrorCode::kCorruptFile, {"/d/img7.png: corrupt PNG"}));
    EXPECT_EQ(loader.position(), failing_batch * 4);
  }
}

TEST(DataLoader, DestructionWithAFullQueueDoesNotHang) {
  auto dataset = std::make_shared<TestDataset>(rgb_dataset(10));
  LoaderOptions options = small_options(3);
  options.prefetch_batches = 2;
  for (int consumed : {0, 1}) {
    SCOPED_TRACE(consumed);
    dataset->gets = 0;
    const auto start = std::chrono::steady_clock::now();
    {
      DataLoader loader(dataset, options);
      take(loader, consumed);
      // Wait until the workers have filled the queue and block on it.
      const int64_t filled = (consumed + options.prefetch_batches) * options.batch_size;
      while (dataset->gets < filled && std::chrono::steady_clock::now() - start < std::chrono::seconds(5))
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      EXPECT_EQ(dataset->gets, filled);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      EXPECT_EQ(dataset->gets, filled);  // the bound holds
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  }
}

TEST(DataLoader, RejectsLabelsOutsideTheOneHotWidth) {
  LoaderOptions options = small_options(0);
  options.label_dim = 2;
  EXPECT_TRUE(throws_error([&] { DataLoader loader(rgb_dataset(10), options); }, ErrorCode::kInvalidArgument,
                           {"labels up to 2", "label_dim = 2"}));

  // A dataset whose class count is wrong is caught at the example.
  auto dataset = std::make_shared<TestDataset>(rgb_dataset(10));
  dataset->reported_classes = 2;
  for (int workers : {0, 1}) {
    SCOPED_TRACE(workers);
    options.num_workers = workers;
    DataLoader loader(dataset, options);
    EXPECT_TRUE(throws_error([&] { take(loader, 3); }, ErrorCode::kInvalidArgument, {"has label 2", "label_dim = 2"}));
  }
}

TEST(DataLoader, RejectsLabelDimForAnUnlabelledDataset) {
  const uint8_t pixels[4] = {};
  auto dataset = make_memory_dataset(pixels, 4, 1, 1, 1, nullptr);
  EXPECT_TRUE(throws_error([&] { DataLoader loader(dataset, small_options(0)); }, ErrorCode::kInvalidArgument,
                           {"label_dim is 3", "has no labels"}));
}

TEST(DataLoader, RejectsInvalidOptions) {
  auto dataset = rgb_dataset(4);
  const auto rejects = [&](const LoaderOptions& options, int64_t start = 0) {
    return throws_error([&] { DataLoader loader(dataset, options, start); }, ErrorCode::kInvalidArgument,
                        {"data loader"});
  };
  LoaderOptions options = small_options(0);
  options.batch_size = 0;
  EXPECT_TRUE(rejects(options));
  options = small_options(0);
  options.prefetch_batches = 0;
  EXPECT_TRUE(rejects(options));
  options = small_options(0);
  options.num_workers = -1;
  EXPECT_TRUE(rejects(options));
  EXPECT_TRUE(rejects(small_options(0), -1));
  EXPECT_TRUE(
      throws_error([] { DataLoader loader(nullptr, small_options(0)); }, ErrorCode::kInvalidArgument, {"null"}));
  auto empty = make_subset(dataset, 0, 0);
  EXPECT_TRUE(
      throws_error([&] { DataLoader loader(empty, small_options(0)); }, ErrorCode::kInvalidArgument, {"is empty"}));
}

// Data parallelism: the ranks' loaders, each taking its share of every step's global batch, together
// yield exactly the batches of one loader over the whole batch, at every start position.
TEST(DataLoader, RanksTogetherYieldTheWholeBatchOfEveryStep) {
  auto dataset = rgb_dataset(10);
  for (int64_t start : {int64_t{0}, int64_t{24}}) {
    SCOPED_TRACE(start);
    LoaderOptions whole = small_options(0);
    whole.batch_size = 8;
    for (int ranks : {2, 4}) {
      SCOPED_TRACE(ranks);
      std::vector<std::unique_ptr<DataLoader>> loaders;
      for (int r = 0; r < ranks; ++r) {
        LoaderOptions share = small_options(r % 2);
        share.batch_size = 2;  // passes of 2 images: 4 / ranks passes per step
        share.group_images = 8;
        share.group_offset = r * (8 / ranks);
        share.group_take = 8 / ranks;
        loaders.push_back(std::make_unique<DataLoader>(dataset, share, start));
      }
      DataLoader whole_again(dataset, whole, start);
      for (int step = 0; step < 3; ++step) {
        const Batch expected = whole_again.next();
        std::vector<at::Tensor> parts;
        for (auto& loader : loaders) {
          for (int pass = 0; pass < 8 / ranks / 2; ++pass) parts.push_back(loader->next().images);
        }
        EXPECT_TRUE(same_tensor(at::cat(parts), expected.images)) << "step " << step;
        for (auto& loader : loaders) EXPECT_EQ(loader->position(), start + 8 * (step + 1));
      }
    }
  }
}

TEST(DataLoader, RefusesAGroupThatDoesNotFit) {
  LoaderOptions options = small_options(0);
  options.group_images = 8;
  options.group_offset = 6;
  options.group_take = 4;
  EXPECT_TRUE(throws_error([&] { DataLoader loader(rgb_dataset(10), options); }, ErrorCode::kInvalidArgument,
                           {"offset + take <= group"}));
}


// ---------------------------------------------------------------------------------------------------
// .npy files

at::Tensor read_npy(const std::string& npy, const std::string& name = "test.npy") {
  return decode_npy(npy.data(), npy.size(), name);
}

// An .npy file of version 1.0 with `header` (unpadded) and `data`.
std::string npy_file(const std::string& header, const std::string& data, int major = 1) {
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const size_t n = header.size();
  out += major == 1 ? bytes_of({static_cast<int>(n & 0xff), static_cast<int>(n >> 8)})
                    : bytes_of({static_cast<int>(n & 0xff), static_cast<int>((n >> 8) & 0xff), 0, 0});
  return out + header + data;
}

std::string float_bytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

// np.save(f, np.arange(6, dtype='<f4').reshape(2, 3)) with NumPy 2.4: its header, padded for the first
// dimension to grow and to 128 bytes in all, then the data.
const std::string kNumpyHeader = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + std::string(58, ' ') + "\n";

TEST(Npy, EncodesWhatNumpySaveWrites) {
  const std::string expected = std::string("\x93NUMPY\x01\x00\x76\x00", 10) + kNumpyHeader +
                               float_bytes({0, 1, 2, 3, 4, 5});
  EXPECT_EQ(encode_npy(at::arange(6, at::kFloat).view({2, 3})), expected);
  const at::Tensor transposed = at::arange(6, at::kFloat).view({3, 2}).t();  // not contiguous
  EXPECT_TRUE(same_tensor(read_npy(encode_npy(transposed)), transposed.contiguous()));
  EXPECT_TRUE(same_tensor(read_npy(expected), at::arange(6, at::kFloat).view({2, 3})));
}

TEST(Npy, RoundTripsEveryFloatTypeAndShape) {
  for (const at::ScalarType type : {at::kHalf, at::kFloat, at::kDouble}) {
    for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{}, {5}, {0, 3}, {8, 6, 6}, {1, 2, 3, 4}}) {
      SCOPED_TRACE(::testing::Message() << type << " " << at::IntArrayRef(shape));
      const at::Tensor array = at::randn(shape, at::kDouble).to(type);
      const std::string npy = encode_npy(array);
      EXPECT_EQ(npy.size() - static_cast<size_t>(array.numel()) * array.element_size(), 128u);
      EXPECT_TRUE(same_tensor(read_npy(npy), array));
    }
  }
}

TEST(Npy, ReadsFortranOrderAndFormatVersionTwo) {
  // np.lib.format.write_array(f, np.asfortranarray(np.arange(6.).reshape(2, 3)), version=(2, 0)).
  std::string data;
  for (double v : {0.0, 3.0, 1.0, 4.0, 2.0, 5.0}) data.append(reinterpret_cast<const char*>(&v), sizeof v);
  const std::string npy = npy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }" +
                                       std::string(57, ' ') + "\n", data, 2);
  EXPECT_TRUE(same_tensor(read_npy(npy), at::arange(6, at::kDouble).view({2, 3})));
  // Another spelling of the same header: double quotes, other key order, no trailing comma.
  EXPECT_TRUE(same_tensor(read_npy(npy_file(R"({"shape":(2,3),"fortran_order":True,"descr":"<f8"})", data, 3)),
                          at::arange(6, at::kDouble).view({2, 3})));
}

TEST(Npy, MalformedFilesAreCorruptAndNamed) {
  const std::string six = float_bytes({0, 1, 2, 3, 4, 5});
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"NUMPY\x01\x00", "not a .npy file (bad magic)"},
      {std::string("\x93NUMPY\x04\x00", 8) + "  " + good, "format version 4.0 is not read"},
      {std::string("\x93NUMPY\x01\x00\xff\x00", 10) + good + six, "truncated .npy file: a header of 255 bytes"},
      {npy_file(good, six.substr(4)), "data of 20 bytes where shape (2, 3) of <f4 needs 24"},
      {npy_file(good, six + "x"), "data of 25 bytes where shape (2, 3) of <f4 needs 24"},
      {npy_file("{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", six), "dtype '<i4' is not read"},
      {npy_file("{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }", six), "dtype '>f4' is not read"},
      {npy_file("{'descr': '<f4', 'shape': (6,), }", six), "needs the keys 'descr', 'fortran_order' and 'shape'"},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}", six), "unknown key 'x'"},
      {npy_file("{'descr': '<f4', 'fortran_order': maybe, 'shape': (6,), }", six), "must be True or False"},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }", six), "non-negative integer"},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (6 3), }", six), "expected ','"},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), } x", six), "text after the closing brace"},
      {npy_file("{'descr: '<f4'", six), "malformed .npy header"},
      // A shape whose size overflows is refused before anything is allocated.
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", six), "too large"},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", six), "too large"},
  };
  for (const auto& [bytes, message] : cases) {
    SCOPED_TRACE(message);
    EXPECT_TRUE(throws_error([&] { read_npy(bytes, "/d/x.npy"); }, ErrorCode::kCorruptFile, {"/d/x.npy: ", message}));
  }
}

TEST(Npy, EncodeRejectsOtherTypes) {
  EXPECT_TRUE(throws_error([] { encode_npy(at::zeros({2}, at::kInt)); }, ErrorCode::kInvalidArgument,
                           {"encode_npy: dtype Int"}));
}

// ---------------------------------------------------------------------------------------------------
// .npy datasets (VAE latents, as EDM2's dataset tool encodes them)

class NpyDatasetTest : public PngZipTest {
 protected:
  void add_npy(const std::string& relative, const at::Tensor& array) {
    fs::create_directories(fs::path(path(relative)).parent_path());
    write_bytes(path(relative), encode_npy(array));
  }
};

// A posterior of `channels` channels at r×r: means, then standard deviations, deterministic.
at::Tensor posterior(int64_t channels, int64_t r, int salt) {
  const at::Tensor mean = at::arange(channels * r * r, at::kFloat).view({channels, r, r}).mul(0.25).sub(salt);
  return at::cat({mean, mean.abs().mul(0.01).add(0.1)});
}

TEST_F(NpyDatasetTest, AFolderAndItsArchiveReadAlikeWithDatasetJsonLabels) {
  for (int i = 0; i < 5; ++i) {
    const std::string name = "0000" + std::to_string(i / 3) + "/img-mean-std-0000000" + std::to_string(i) + ".npy";
    // One file holds a leading axis of 1, as np.save(encode_pixels(x)) without [0] would write it.
    add_npy(name, i == 2 ? posterior(4, 3, i).unsqueeze(0) : posterior(4, 3, i));
  }
  write_bytes(path("dataset.json"),
              R"({"labels": [["00000/img-mean-std-00000000.npy", 3], ["00000/img-mean-std-00000001.npy", 1],)"
              R"( ["00000/img-mean-std-00000002.npy", 0], ["00001/img-mean-std-00000003.npy", 1],)"
              R"( ["00001/img-mean-std-00000004.npy", 2]]})");
  auto folder = open_npy_dataset(dir_);
  ASSERT_EQ(folder->size(), 5);
  EXPECT_EQ(folder->describe(), "npy:" + dir_);
  EXPECT_EQ(folder->num_classes(), 4);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(same_tensor(folder->get(i).image, posterior(4, 3, i))) << i;
  EXPECT_EQ(folder->get(0).label, 3);
  EXPECT_EQ(folder->get(4).label, 2);
  const std::string zip = zip_folder();
  auto archive = open_npy_dataset(zip);
  EXPECT_EQ(archive->describe(), "npy-zip:" + zip);
  EXPECT_TRUE(same_dataset(*archive, *folder));
}

TEST_F(NpyDatasetTest, HalfAndDoubleArraysBecomeFloat) {
  add_npy("a.npy", posterior(1, 2, 0).to(at::kHalf));
  add_npy("b.npy", posterior(1, 2, 1).to(at::kDouble));
  auto dataset = open_npy_dataset(dir_);
  EXPECT_TRUE(same_tensor(dataset->get(0).image, posterior(1, 2, 0).to(at::kHalf).to(at::kFloat)));
  EXPECT_TRUE(same_tensor(dataset->get(1).image, posterior(1, 2, 1)));
}

TEST_F(NpyDatasetTest, AnArrayOfAnotherShapeIsCorruptNamingBothFiles) {
  add_npy("a.npy", posterior(4, 3, 0));
  add_npy("b.npy", posterior(4, 2, 0));
  add_npy("c.npy", at::zeros({7}));
  auto dataset = open_npy_dataset(dir_);
  EXPECT_TRUE(throws_error([&] { dataset->get(1); }, ErrorCode::kCorruptFile,
                           {path("b.npy"), "shape [8, 2, 2] but the dataset's first file, a.npy, has [8, 3, 3]"}));
  EXPECT_TRUE(throws_error([&] { dataset->get(2); }, ErrorCode::kCorruptFile,
                           {path("c.npy"), "an array of 1 dimensions; an image needs at least 2"}));
  write_bytes(path("a.npy"), "not an array");
  EXPECT_TRUE(throws_error([&] { open_npy_dataset(dir_); }, ErrorCode::kCorruptFile, {path("a.npy"), "bad magic"}));
}

TEST_F(NpyDatasetTest, NoArraysIsNotFound) {
  add_png("a.png", pattern({1, 2, 2}));
  EXPECT_TRUE(throws_error([&] { open_npy_dataset(dir_); }, ErrorCode::kNotFound, {dir_, "no .npy files found"}));
  const std::string zip = zip_folder();
  EXPECT_TRUE(throws_error([&] { open_npy_dataset(zip); }, ErrorCode::kNotFound, {zip, "no .npy files found in the zip"}));
}

// ---------------------------------------------------------------------------------------------------
// The latent transform

// Stable Diffusion's VAE statistics, EDM2's defaults.
LatentTransform sd_vae_transform(int resolution) {
  return make_latent_transform(resolution, {5.81, 3.25, 0.12, -2.15}, {4.17, 4.62, 3.71, 3.28}, 0.5);
}

TEST(LatentTransform, ScaleAndBiasAreTheReferencesFloat32Values) {
  const LatentTransform t = sd_vae_transform(8);
  ASSERT_EQ(t.channels, 4);
  // np.float32(0.5) / np.float32([4.17, 4.62, 3.71, 3.28]) and 0 - np.float32(raw_mean) * scale, as
  // NumPy 2.4 prints them (float32 repr, round-trip exact).
  const std::vector<float> scale{0.11990407f, 0.10822511f, 0.13477089f, 0.15243903f};
  const std::vector<float> bias{-0.69664264f, -0.3517316f, -0.016172506f, 0.32774392f};
  EXPECT_EQ(t.scale, scale);
  EXPECT_EQ(t.bias, bias);
}

TEST(LatentTransform, AZeroStdPosteriorIsItsMeanMappedExactly) {
  const LatentTransform t = sd_vae_transform(3);
  at::Tensor mean_std = posterior(4, 3, 0);
  mean_std.narrow(0, 4, 4).zero_();
  const at::Tensor out = transform_latent(mean_std, t, false, 123);
  ASSERT_EQ(out.sizes(), at::IntArrayRef({4, 3, 3}));
  for (int64_t c = 0; c < 4; ++c) {
    for (int64_t i = 0; i < 9; ++i) {
      const float m = mean_std[c].flatten()[i].item<float>();
      EXPECT_EQ(out[c].flatten()[i].item<float>(), m * t.scale[c] + t.bias[c]) << c << " " << i;
    }
  }
  // The raw statistics land on the final ones: raw_mean → 0, raw_mean + raw_std → 0.5.
  at::Tensor at_mean = at::zeros({8, 3, 3});
  for (int64_t c = 0; c < 4; ++c) at_mean[c].fill_(std::vector<double>{5.81, 3.25, 0.12, -2.15}[c]);
  EXPECT_LT(transform_latent(at_mean, t, false, 0).abs().max().item<float>(), 1e-6);
  at::Tensor one_std = at_mean.clone();
  for (int64_t c = 0; c < 4; ++c) one_std[c].add_(std::vector<double>{4.17, 4.62, 3.71, 3.28}[c]);
  EXPECT_LT((transform_latent(one_std, t, false, 0) - 0.5).abs().max().item<float>(), 1e-6);
  // flip mirrors the posterior before anything else.
  EXPECT_TRUE(same_tensor(transform_latent(mean_std, t, true, 5), out.flip({2})));
}

TEST(LatentTransform, PosteriorSamplesHaveItsMomentsAndFollowTheSeed) {
  // Mean m and std s per channel: z' = (m + ε s)·scale + bias has mean m·scale + bias, std s·scale.
  const int64_t r = 64;
  const LatentTransform t = make_latent_transform(r, {1.0, -2.0}, {2.0, 0.5}, 0.5);
  const std::vector<float> means{3.0f, -1.0f}, stds{0.5f, 4.0f};
  at::Tensor mean_std = at::empty({4, r, r});
  for (int64_t c = 0; c < 2; ++c) {
    mean_std[c].fill_(means[c]);
    mean_std[2 + c].fill_(stds[c]);
  }
  std::vector<at::Tensor> samples;
  for (uint64_t seed = 0; seed < 16; ++seed) samples.push_back(transform_latent(mean_std, t, false, seed));
  const at::Tensor all = at::stack(samples).to(at::kDouble);  // [16, 2, 64, 64]: 65536 draws per channel
  for (int64_t c = 0; c < 2; ++c) {
    const at::Tensor x = all.select(1, c);
    const double want_mean = means[c] * t.scale[c] + t.bias[c], want_std = stds[c] * t.scale[c];
    // 5 standard errors: of the mean want_std/256, of the std about want_std/362.
    EXPECT_NEAR(x.mean().item<double>(), want_mean, 5 * want_std / 256) << c;
    EXPECT_NEAR(x.std().item<double>(), want_std, 5 * want_std / 362) << c;
  }
  EXPECT_TRUE(same_tensor(transform_latent(mean_std, t, false, 3), samples[3]));
  EXPECT_FALSE(at::equal(samples[3], samples[4]));
}

TEST(LatentTransform, AWrongShapeNamesBoth) {
  const LatentTransform t = sd_vae_transform(8);
  EXPECT_TRUE(throws_error([&] { transform_latent(at::zeros({4, 8, 8}), t, false, 0); }, ErrorCode::kInvalidArgument,
                           {"latent of shape [4, 8, 8] (Float) where the model takes [8, 8, 8] float"}));
  EXPECT_TRUE(throws_error([&] { transform_latent(at::zeros({8, 8, 4}), t, false, 0); }, ErrorCode::kInvalidArgument,
                           {"latent of shape [8, 8, 4]"}));
  EXPECT_TRUE(throws_error([&] { make_latent_transform(8, {1.0}, {1.0, 2.0}, 0.5); }, ErrorCode::kInvalidArgument,
                           {"1 means and 2 standard deviations"}));
}

TEST(DataLoader, LatentBatchesAreThePositionsPosteriorSamples) {
  std::vector<at::Tensor> examples;
  for (int i = 0; i < 10; ++i) examples.push_back(posterior(4, 8, i));
  // An in-memory dataset of float arrays: the loader only hands them to the transform.
  class Latents final : public Dataset {
   public:
    explicit Latents(std::vector<at::Tensor> e) : e_(std::move(e)) {}
    int64_t size() const override { return static_cast<int64_t>(e_.size()); }
    Example get(int64_t i) const override { return {e_[static_cast<size_t>(i)], i % 3}; }
    int64_t num_classes() const override { return 3; }
    std::string describe() const override { return "latents"; }

   private:
    std::vector<at::Tensor> e_;
  };
  auto dataset = std::make_shared<Latents>(examples);
  const auto options = [](int workers) {
    LoaderOptions o = small_options(workers);
    o.latent = sd_vae_transform(8);
    return o;
  };
  DataLoader loader(dataset, options(0));
  std::vector<at::Tensor> images;
  for (int64_t b = 0; b < 6; ++b) {
    const Batch batch = loader.next();
    ASSERT_EQ(batch.images.sizes(), at::IntArrayRef({4, 4, 8, 8}));
    for (int64_t i = 0; i < 4; ++i) {
      const int64_t position = batch.position + i;
      const uint64_t seed = options(0).seed;
      const at::Tensor expected = transform_latent(examples[static_cast<size_t>(sampler_index(seed, 10, position))],
                                                   *options(0).latent, sampler_xflip(seed, position),
                                                   sampler_latent_seed(seed, position));
      EXPECT_TRUE(same_tensor(batch.images[i], expected)) << "position " << position;
    }
    images.push_back(batch.images);
  }
  // Another epoch draws other samples of the same posteriors; more workers and a restart change nothing.
  const at::Tensor all = at::cat(images);
  EXPECT_FALSE(at::equal(all.narrow(0, 0, 10), all.narrow(0, 10, 10)));
  DataLoader resumed(dataset, options(2), 8);
  for (int64_t b = 0; b < 4; ++b) EXPECT_TRUE(same_tensor(resumed.next().images, all.narrow(0, 8 + 4 * b, 4))) << b;
  // A dataset's example of the wrong shape stops the loader, naming the dataset and the example.
  examples[0] = posterior(4, 4, 0);
  DataLoader wrong(std::make_shared<Latents>(examples), options(0));
  EXPECT_TRUE(throws_error([&] { for (int b = 0; b < 3; ++b) wrong.next(); }, ErrorCode::kInvalidArgument,
                           {"latents: example 0: latent of shape [8, 4, 4]"}));
}

}  // namespace
}  // namespace diffuse::data_test
