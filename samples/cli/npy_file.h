// Samples as an .npy file, what NumPy's np.load reads: the CLI's `sample --out FILE.npy`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace diffuse_cli {

// Writes `values` (float32, C order, of `shape`) as an .npy file (format 1.0, little-endian), through a
// temporary file renamed over `path`, so that a reader never sees half a file. False with `*error`
// set when it cannot be written.
bool write_npy_float32(const std::string& path, const float* values, const std::vector<int64_t>& shape,
                       std::string* error);

}  // namespace diffuse_cli
