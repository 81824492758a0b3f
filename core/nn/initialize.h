// Draws a fresh network's parameters and Fourier buffers from an explicit generator (spec edm2.md
// §1.5, §1.6), so that initialisation depends only on the run's seed, not on global RNG state.
#pragma once

#include <ATen/core/Generator.h>

namespace torch::nn {
class Module;
}

namespace diffuse {

// MPConv weights ~ N(0, 1); emb_gain / out_gain = 0; MPFourier freqs = 2π·N(0, 1), phases = 2π·U(0, 1).
void initialize_parameters(torch::nn::Module& net, at::Generator generator);

}  // namespace diffuse
