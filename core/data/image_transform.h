// Turning a dataset image into a network input: channel conversion, geometry, flip, and the EDM2
// pixel encoding x/127.5 − 1 (so the data has roughly σ_data = 0.5).
#pragma once

#include <array>
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace diffuse {

enum class ResizeMode {
  kPad,         // centre the image on a background canvas of R×R (crop the centre if larger)
  kCenterCrop,  // cut the central R×R (pad with background if smaller)
  kResize,      // scale the short side to R (area average down, bilinear up), then cut the central R×R
};

struct ImageTransform {
  int resolution = 32;  // R: output is R×R
  int channels = 3;     // 1 (gray) or 3 (RGB)
  ResizeMode mode = ResizeMode::kPad;
  std::array<uint8_t, 3> background{0, 0, 0};  // padding colour, and what alpha is composited onto
};

// uint8 [C, H, W] (C = 1..4) → float32 [channels, R, R] in [-1, 1]. Gray → RGB replicates; RGB → gray
// uses ITU-R BT.601 luma (0.299, 0.587, 0.114); alpha is composited onto `background`. `flip` mirrors
// horizontally.
at::Tensor transform_image(const at::Tensor& image, const ImageTransform& transform, bool flip);

}  // namespace diffuse
