// The U-Net's topology as plain data (spec edm2.md §3): which blocks exist, in which order, with which
// channel counts. The network is built from this plan, and parameter counts are derived from it
// without allocating anything.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nn/model_options.h"

namespace diffuse {

enum class BlockFlavor { kEnc, kDec };
enum class Resample { kKeep, kDown, kUp };

// One entry of the encoder or decoder, named as in the reference state dict ("16x16_block0").
struct BlockPlan {
  std::string name;
  bool stem = false;  // the encoder's first 3x3 MPConv ("{R}x{R}_conv"), not a Block
  int in_channels = 0;
  int out_channels = 0;
  BlockFlavor flavor = BlockFlavor::kEnc;
  Resample resample = Resample::kKeep;
  bool attention = false;
  bool consumes_skip = false;  // decoder "block*" entries concatenate a popped skip first
  bool has_conv_skip() const { return !stem && in_channels != out_channels; }
};

struct UNetPlan {
  int noise_channels = 0;      // cnoise = cblock[0]
  int embedding_channels = 0;  // cemb = max(cblock)
  std::vector<BlockPlan> encoder;
  std::vector<BlockPlan> decoder;
  int out_in_channels = 0;  // channels entering out_conv
};

// Plans the U-Net of `options` (which must be valid: see config/model_config).
UNetPlan plan_unet(const ModelOptions& options);

// Every parameter of the preconditioned model (Precond), with its state-dict name and shape, in
// registration order. Buffers (the Fourier freqs/phases) are not included.
std::vector<std::pair<std::string, std::vector<int64_t>>> parameter_shapes(const ModelOptions& options);

// Total number of parameter elements (buffers excluded).
int64_t count_parameters(const ModelOptions& options);

}  // namespace diffuse
