// Independent, reproducible seeds derived from a run's seed: one stream per purpose, per step.
#pragma once

#include <cstdint>

namespace diffuse {

// splitmix64 finaliser: a well-mixed 64-bit hash.
inline uint64_t mix_seed(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

enum class SeedPurpose : uint64_t { kInit = 1, kStep = 2, kData = 3, kValidation = 4, kMetrics = 5 };

inline uint64_t derive_seed(uint64_t seed, SeedPurpose purpose, uint64_t value) {
  return mix_seed(mix_seed(mix_seed(seed) ^ static_cast<uint64_t>(purpose)) ^ value);
}

}  // namespace diffuse
