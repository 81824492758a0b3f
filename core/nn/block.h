// The U-Net's residual block (spec edm2.md §2): resample, (encoder) skip projection and pixel norm,
// the modulated residual branch, magnitude-preserving residual add, optional self-attention with
// normalized q/k/v, and activation clipping.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "nn/model_options.h"
#include "nn/model_plan.h"
#include "nn/mp_conv.h"
#include "util/seed.h"

namespace diffuse {

// Where dropout masks come from: the mask of image i (its index in the step's global batch) in
// block b is a function of its block key kernels::dropout_block_key(image_key(i), b). Masks belong
// to images, so a batch split over processes or passes draws the same ones. With `keys` defined, the
// blocks draw them with kernels::fused_dropout from the keys of the batch now going forward (one
// kernel, no generator state: a CUDA graph can replay it); otherwise from `generator`, reseeded with
// each image's block key.
struct DropoutStream {
  at::Generator generator;  // a CPU generator for CPU tensors, a CUDA one for CUDA tensors
  uint64_t seed = 0;
  int64_t first_image = 0;  // global index of the first image of the batch now going forward
  at::Tensor keys;          // int64 [n] on the batch's device: image_key of each of its images

  uint64_t image_key(int64_t index) const { return mix_seed(seed ^ mix_seed(static_cast<uint64_t>(index))); }
  // The keys of the n images from first_image (int64 [n] in host memory, page-locked if asked): what
  // `keys` holds, on the device, for the batch now going forward.
  at::Tensor image_keys(int64_t n, bool pinned = false) const;

  // While a Scope lives, the blocks that go forward on its thread draw from its stream instead of
  // their network's: how a pass split over threads (the CPU trainer's parts) gives each part the
  // masks of its own images. Thread-local like LibTorch's grad mode; scopes nest.
  class Scope {
   public:
    explicit Scope(const DropoutStream& stream);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    const DropoutStream* outer_;
  };
  // The innermost Scope's stream on this thread; `own` where none is open.
  static const DropoutStream* on_this_thread(const DropoutStream* own);
};

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const BlockPlan& plan, int64_t emb_channels, const ModelOptions& options);

  // x: [N, in_channels, H, W] in the body dtype; emb: [N or 1, emb_channels] fp32. In eval mode
  // without autograd (sampling, validation) the same function runs with fewer passes over the
  // activations: see forward_inference.
  at::Tensor forward(at::Tensor x, const at::Tensor& emb);

  // The attention branch alone (before attn_balance); requires a block planned with attention.
  at::Tensor attention(const at::Tensor& x);
  int64_t num_heads() const { return num_heads_; }
  // Training's mp_silu, modulation and mp_sum (the last one with the activation clipping) as fused
  // kernels (cuda/fused_ops.h) where the device has them; the same function up to rounding. Off: the
  // ops of nn/mp_ops.h.
  void set_fused_elementwise(bool fused) { fused_elementwise_ = fused; }
  // The pixel norm and the attention's q, k, v normalisation as one fused kernel each
  // (kernels::fused_normalize), in training and in sampling; the same function up to rounding. Unset
  // (the default): on CUDA tensors.
  void set_fused_normalize(bool fused) { fused_normalize_ = fused; }
  // Attention as LibTorch's scaled_dot_product_attention (flash / memory-efficient kernels on CUDA,
  // no [L, L] logits kept for the backward) instead of two einsums and a softmax; LibTorch 2.x only
  // (has_fused_attention), the same function up to rounding. Unset (the default): on CUDA tensors.
  void set_fused_attention(bool fused) { fused_attention_ = fused; }
  static bool has_fused_attention();
  // Dropout masks from `stream` as block number `ordinal`; null = LibTorch's default generator.
  void set_dropout_stream(std::shared_ptr<const DropoutStream> stream, int64_t ordinal) {
    dropout_stream_ = std::move(stream);
    ordinal_ = ordinal;
  }

 private:
  // The forward pass for eval mode without autograd: the constant factors of mp_silu and mp_sum
  // folded into the next convolution's cached weight, the rest in place on fresh tensors. Equal to
  // the graph path up to rounding (tests: InferencePath.*).
  at::Tensor forward_inference(at::Tensor x, const at::Tensor& emb);
  at::Tensor attention_heads(const at::Tensor& qkv, int64_t channels, int64_t h, int64_t w) const;
  at::Tensor normalize_over(const at::Tensor& x, int64_t dim) const;  // nn/mp_ops.h's normalize(x, {dim})

  BlockFlavor flavor_;
  Resample resample_;
  int64_t num_heads_;
  double dropout_, res_balance_, attn_balance_, clip_act_;
  std::shared_ptr<const DropoutStream> dropout_stream_;
  int64_t ordinal_ = 0;
  bool fused_elementwise_ = false;
  std::optional<bool> fused_normalize_;
  std::optional<bool> fused_attention_;

  at::Tensor emb_gain_;
  MPConv conv_res0_{nullptr}, emb_linear_{nullptr}, conv_res1_{nullptr};
  MPConv conv_skip_{nullptr}, attn_qkv_{nullptr}, attn_proj_{nullptr};
};
TORCH_MODULE(Block);

}  // namespace diffuse
