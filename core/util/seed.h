// Independent, reproducible seeds derived from a run's seed: one stream per purpose, per step.
#pragma once

#include <cstdint>

namespace diffuse {

// splitmix64 (Steele, Lea, Flood 2014): its finaliser, a bijective 64-bit mix, and its step
// mix_seed(x) = finaliser(x + γ), a well-mixed hash; mix_seed(s + i·γ) is the generator's i-th output
// from state s. constexpr, so that CUDA kernels call them too (nvcc's relaxed constexpr).
constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;

constexpr uint64_t splitmix64_finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

constexpr uint64_t mix_seed(uint64_t x) { return splitmix64_finalize(x + kGoldenGamma); }

enum class SeedPurpose : uint64_t { kInit = 1, kStep = 2, kData = 3, kValidation = 4, kMetrics = 5 };

inline uint64_t derive_seed(uint64_t seed, SeedPurpose purpose, uint64_t value) {
  return mix_seed(mix_seed(mix_seed(seed) ^ static_cast<uint64_t>(purpose)) ^ value);
}

}  // namespace diffuse
