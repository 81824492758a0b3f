// NumPy's .npy files (format versions 1.0, 2.0 and 3.0) as tensors: what np.save writes and EDM2's
// dataset tool stores its VAE latents in. Floating-point arrays only; the data is copied.
#pragma once

#include <cstddef>
#include <string>

#include <ATen/core/Tensor.h>

namespace diffuse {

// Decodes an .npy file held in memory into a CPU tensor of its shape and type: little-endian float16,
// float32 or float64 ('<f2', '<f4', '<f8'), C or Fortran order (the result is contiguous either way).
// Throws Error(kCorruptFile) naming `name_for_errors` for a bad magic or version, a malformed header,
// another dtype, or data that is shorter or longer than the shape says.
at::Tensor decode_npy(const void* data, size_t len, const std::string& name_for_errors);

// Encodes a float16, float32 or float64 tensor (any device, any layout) as an .npy file (version 1.0,
// C order, little-endian), as np.save writes it. Throws Error(kInvalidArgument) for another dtype.
std::string encode_npy(const at::Tensor& array);

}  // namespace diffuse
