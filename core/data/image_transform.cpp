#include "data/image_transform.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/TensorOperators.h>
#include <ATen/ops/adaptive_avg_pool2d.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/upsample_bilinear2d.h>
#include <fmt/ranges.h>

#include "util/error.h"

namespace diffuse {
namespace {

// Beyond this an output image is a configuration mistake, not a dataset.
constexpr int kMaxResolution = 1 << 14;

// ITU-R BT.601 luma weights.
constexpr double kLumaR = 0.299, kLumaG = 0.587, kLumaB = 0.114;

// float32 [C, H, W] filled per channel with `values`.
at::Tensor filled(const std::vector<float>& values, int64_t height, int64_t width) {
  at::Tensor out = at::empty({static_cast<int64_t>(values.size()), height, width}, at::kFloat);
  for (size_t c = 0; c < values.size(); ++c) out[static_cast<int64_t>(c)].fill_(values[c]);
  return out;
}

// Colour channels (1 or 3) converted to `channels` (1 or 3).
at::Tensor convert_channels(const at::Tensor& color, int channels) {
  if (color.size(0) == channels) return color;
  if (channels == 3) return color.expand({3, color.size(1), color.size(2)});
  return (color[0] * kLumaR + color[1] * kLumaG + color[2] * kLumaB).unsqueeze(0);
}

// The image centred on an R×R canvas of `background`: padded where smaller, centre-cut where larger.
at::Tensor center_on_canvas(const at::Tensor& image, int64_t resolution, const std::vector<float>& background) {
  const int64_t height = image.size(1), width = image.size(2);
  if (height == resolution && width == resolution) return image;
  at::Tensor canvas = filled(background, resolution, resolution);
  const auto span = [resolution](int64_t size) {
    struct {
      int64_t src, dst, len;
    } s;
    s.len = std::min(size, resolution);
    s.src = size > resolution ? (size - resolution) / 2 : 0;
    s.dst = size < resolution ? (resolution - size) / 2 : 0;
    return s;
  };
  const auto rows = span(height), cols = span(width);
  canvas.narrow(1, rows.dst, rows.len)
      .narrow(2, cols.dst, cols.len)
      .copy_(image.narrow(1, rows.src, rows.len).narrow(2, cols.src, cols.len));
  return canvas;
}

// Short side scaled to R, the aspect ratio kept: area averaging down, bilinear up.
at::Tensor scale_short_side(const at::Tensor& image, int64_t resolution) {
  const int64_t height = image.size(1), width = image.size(2);
  const int64_t short_side = std::min(height, width);
  if (short_side == resolution) return image;
  const auto scaled = [&](int64_t size) {
    return std::max<int64_t>(resolution, std::llround(static_cast<double>(size) * resolution / short_side));
  };
  const std::vector<int64_t> size{scaled(height), scaled(width)};
  if (resolution < short_side) return at::adaptive_avg_pool2d(image, size);
  return at::upsample_bilinear2d(image.unsqueeze(0), size, /*align_corners=*/false).squeeze(0);
}

}  // namespace

at::Tensor transform_image(const at::Tensor& image, const ImageTransform& transform, bool flip) {
  if (transform.resolution < 1 || transform.resolution > kMaxResolution ||
      (transform.channels != 1 && transform.channels != 3))
    fail(ErrorCode::kInvalidArgument, "image transform: resolution {} must be in 1..{} and channels {} must be 1 or 3",
         transform.resolution, kMaxResolution, transform.channels);
  if (!image.defined() || image.scalar_type() != at::kByte || image.dim() != 3 || image.size(0) < 1 ||
      image.size(0) > 4 || image.size(1) < 1 || image.size(2) < 1)
    fail(ErrorCode::kInvalidArgument, "image transform: expected a uint8 [C, H, W] image with C in 1..4, got {}",
         image.defined() ? fmt::format("{} [{}]", c10::toString(image.scalar_type()), fmt::join(image.sizes(), ", "))
                         : "undefined");

  const auto& bg = transform.background;
  const std::vector<float> background =
      transform.channels == 3
          ? std::vector<float>(bg.begin(), bg.end())
          : std::vector<float>{static_cast<float>(kLumaR * bg[0] + kLumaG * bg[1] + kLumaB * bg[2])};

  const at::Tensor pixels = image.to(at::kFloat);
  const int64_t in_channels = pixels.size(0);
  const bool has_alpha = in_channels == 2 || in_channels == 4;
  at::Tensor x = convert_channels(has_alpha ? pixels.narrow(0, 0, in_channels - 1) : pixels, transform.channels);
  if (has_alpha) {
    // Straight (non-premultiplied) alpha: out = bg + (colour − bg)·α.
    const at::Tensor alpha = pixels.narrow(0, in_channels - 1, 1) / 255.0;
    const at::Tensor bg_pixel = filled(background, 1, 1);
    x = bg_pixel + (x - bg_pixel) * alpha;
  }

  if (transform.mode == ResizeMode::kResize) x = scale_short_side(x, transform.resolution);
  x = center_on_canvas(x, transform.resolution, background);
  if (flip) x = x.flip({2});
  return x / 127.5 - 1.0;
}

}  // namespace diffuse
