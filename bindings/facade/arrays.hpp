// Array types of the facade. Each binding maps them to its own arrays (Java byte[]/long[]/double[]/
// float[], Go []byte/[]int64/[]float64/[]float32, C# ByteVector/Int64Vector/DoubleVector/FloatVector).
#pragma once

#include <cstdint>
#include <vector>

namespace diffuse_binding {

using Bytes = std::vector<uint8_t>;
using Int64s = std::vector<int64_t>;
using Doubles = std::vector<double>;
using Floats = std::vector<float>;

}  // namespace diffuse_binding
