// LibTorch's CUDA numerics as the reference trains (spec edm2.md §6 "Precision"): float32
// convolutions and matrix products in full float32 (LibTorch lets cuDNN use TF32 by default, whose
// 10-bit mantissa moves float32 results far beyond the golden tolerances), fp16 matrix products
// without reduced-precision reductions, and cuDNN's per-shape algorithm search (cudnn.benchmark).
#pragma once

namespace diffuse {

// Applies the settings above. They are process-wide LibTorch flags, so this runs once, when the
// library first puts work on a CUDA device; later calls do nothing.
void use_reference_cuda_math();

}  // namespace diffuse
