#include "io/png.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include <ATen/ops/empty.h>
#include <png.h>

#include "io/atomic_file.h"
#include "util/error.h"

namespace diffuse {
namespace {

// A decoded image larger than this is refused rather than allocated.
constexpr uint64_t kMaxDecodedBytes = uint64_t{1} << 30;
// Deflate expands at most 1032:1, and a decoded 8-bit RGBA pixel holds at most 32 times the bits of
// a 1-bit palette pixel, so a file of n bytes cannot honestly decode to more than about n × 33024.
constexpr uint64_t kMaxExpansion = 1032 * 32;
constexpr uint64_t kSignatureBytes = 8;

// Releases libpng's state on every path (png_image_free is a no-op once finish_read has freed it).
struct PngImage {
  png_image image;
  PngImage() {
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
  }
  ~PngImage() { png_image_free(&image); }
  PngImage(const PngImage&) = delete;
  PngImage& operator=(const PngImage&) = delete;
};

png_uint_32 format_for_channels(int64_t channels) {
  switch (channels) {
    case 1: return PNG_FORMAT_GRAY;
    case 2: return PNG_FORMAT_GA;
    case 3: return PNG_FORMAT_RGB;
    default: return PNG_FORMAT_RGBA;
  }
}

}  // namespace

at::Tensor decode_png(const void* data, size_t len, const std::string& name) {
  const auto* bytes = static_cast<const png_byte*>(data);
  const size_t sig_len = std::min<size_t>(len, kSignatureBytes);
  if (data == nullptr || png_sig_cmp(bytes, 0, sig_len) != 0)
    fail(ErrorCode::kCorruptFile, "{}: not a PNG file (bad signature)", name);
  if (len <= kSignatureBytes) fail(ErrorCode::kCorruptFile, "{}: truncated PNG: only {} bytes", name, len);

  PngImage png;
  png_image& image = png.image;
  if (!png_image_begin_read_from_memory(&image, data, len))
    fail(ErrorCode::kCorruptFile, "{}: corrupt PNG: {}", name, image.message);

  // Keep the file's colour model at 8 bits: a palette expands (COLORMAP dropped), 16-bit reduces
  // (LINEAR dropped). A tRNS chunk already shows up as PNG_FORMAT_FLAG_ALPHA here.
  image.format &= PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA;
  // 16-bit files without gAMA/sRGB are almost always sRGB-encoded, not linear: reduce them as is.
  image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;

  const int64_t channels = PNG_IMAGE_SAMPLE_CHANNELS(image.format);
  const uint64_t decoded_bytes = uint64_t{image.width} * image.height * static_cast<uint64_t>(channels);
  if (decoded_bytes > kMaxDecodedBytes || decoded_bytes > len * kMaxExpansion)
    fail(ErrorCode::kCorruptFile, "{}: PNG of {}×{}×{} is too large to decode from {} bytes", name, image.width,
         image.height, channels, len);

  at::Tensor hwc =
      at::empty({static_cast<int64_t>(image.height), static_cast<int64_t>(image.width), channels}, at::kByte);
  if (!png_image_finish_read(&image, nullptr, hwc.data_ptr(), 0, nullptr))
    fail(ErrorCode::kCorruptFile, "{}: corrupt PNG: {}", name, image.message);
  return hwc.permute({2, 0, 1}).contiguous();
}

at::Tensor read_png(const std::string& path) {
  const std::string data = read_file(path);
  return decode_png(data.data(), data.size(), path);
}

std::string encode_png(const at::Tensor& image) {
  if (!image.defined() || image.scalar_type() != at::kByte || image.dim() != 3)
    fail(ErrorCode::kInvalidArgument, "encode_png: expected a uint8 [C, H, W] tensor, got {}",
         image.defined() ? fmt::format("{} of {} dimensions", c10::toString(image.scalar_type()), image.dim())
                         : std::string("an undefined tensor"));
  const int64_t channels = image.size(0), height = image.size(1), width = image.size(2);
  if (channels < 1 || channels > 4 || height < 1 || width < 1 || height > PNG_UINT_31_MAX || width > PNG_UINT_31_MAX)
    fail(ErrorCode::kInvalidArgument, "encode_png: cannot encode an image of {}×{}×{} (C×H×W, C in 1..4)", channels,
         height, width);

  const at::Tensor hwc = image.cpu().permute({1, 2, 0}).contiguous();
  PngImage png;
  png.image.width = static_cast<png_uint_32>(width);
  png.image.height = static_cast<png_uint_32>(height);
  png.image.format = format_for_channels(channels);

  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&png.image, nullptr, &size, 0, hwc.data_ptr(), 0, nullptr))
    fail(ErrorCode::kInvalidArgument, "encode_png: {}", png.image.message);
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&png.image, out.data(), &size, 0, hwc.data_ptr(), 0, nullptr))
    fail(ErrorCode::kInternal, "encode_png: {}", png.image.message);
  out.resize(size);
  return out;
}

void write_png(const std::string& path, const at::Tensor& image) {
  const std::string data = encode_png(image);
  write_file_atomic(path, data.data(), data.size());
}

}  // namespace diffuse
