// PNG images as uint8 [C, H, W] tensors, through libpng's simplified API (no setjmp/longjmp crosses
// C++ frames).
#pragma once

#include <cstddef>
#include <string>

#include <ATen/core/Tensor.h>

namespace diffuse {

// Decodes a PNG held in memory into uint8 [C, H, W], keeping the colour model: gray → 1 channel,
// gray+alpha → 2, RGB → 3, RGBA → 4. A palette becomes RGB, or RGBA when it has transparency; a
// tRNS colour key adds an alpha channel; 16-bit samples are reduced to 8 bits (files without
// colour-space information are taken as sRGB). Throws Error(kCorruptFile) naming `name_for_errors`
// for a bad signature, truncated or corrupt data, or an image too large to decode.
at::Tensor decode_png(const void* data, size_t len, const std::string& name_for_errors);

// Reads and decodes a PNG file. Throws Error(kIo) if it cannot be read, else as decode_png.
at::Tensor read_png(const std::string& path);

// Encodes uint8 [C, H, W] (C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) as an 8-bit PNG. The tensor may
// live on any device. Throws Error(kInvalidArgument) for another dtype or shape.
std::string encode_png(const at::Tensor& image);

// Encodes and writes atomically (temporary file, then rename). Throws as encode_png, or Error(kIo).
void write_png(const std::string& path, const at::Tensor& image);

}  // namespace diffuse
