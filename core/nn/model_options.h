// Resolved network hyper-parameters (spec edm2.md §3, §4). Plain data: the protobuf ModelConfig is
// validated once at the edge (config/model_config) and turned into this struct, so the network code
// never sees protobuf.
#pragma once

#include <vector>

namespace diffuse {

// Body precision of the U-Net. Reduced precision applies only on CUDA; on the CPU the body is fp32.
enum class Precision { kFp32, kFp16, kBf16 };

struct ModelOptions {
  int img_resolution = 64;
  int img_channels = 3;
  int label_dim = 0;  // 0 = unconditional
  int model_channels = 192;
  std::vector<int> channel_mult{1, 2, 3, 4};
  int num_blocks = 3;
  std::vector<int> attn_resolutions{16, 8};
  int channels_per_head = 64;
  double dropout = 0.0;
  double res_balance = 0.3;
  double attn_balance = 0.3;
  double label_balance = 0.5;
  double concat_balance = 0.5;
  double clip_act = 256.0;  // 0 disables clamping
  int logvar_channels = 128;
  double sigma_data = 0.5;
  Precision precision = Precision::kFp16;
};

}  // namespace diffuse
