// The magnitude-preserving U-Net of EDM2 (spec edm2.md §3), built from plan_unet(). Module and
// parameter names equal the reference's state-dict names ("enc.16x16_block0.conv_res0.weight").
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "nn/block.h"
#include "nn/model_options.h"
#include "nn/model_plan.h"
#include "nn/mp_conv.h"
#include "nn/mp_fourier.h"

namespace diffuse {

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(const ModelOptions& options);

  // x: [N, img_channels, R, R] in the body dtype; noise_labels: [N] or [1] fp32 (c_noise);
  // class_labels: [N or 1, label_dim] fp32, or undefined for an unconditional network.
  // Returns F(x) in the body dtype.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& noise_labels, const at::Tensor& class_labels);

  // Where every Block draws its dropout masks from (each block by its own ordinal).
  void set_dropout_stream(const std::shared_ptr<const DropoutStream>& stream);
  // Every Block's training ops as fused kernels, or not (BlockImpl::set_fused_elementwise).
  void set_fused_elementwise(bool fused);
  // Every normalisation of the U-Net (the blocks' pixel norm and attention q, k, v, the weight of each
  // of its MPConvs) as a fused kernel, or not (kernels::fused_normalize). Unset, the blocks' are fused
  // on CUDA tensors (BlockImpl::set_fused_normalize) and the weights' are not.
  void set_fused_normalize(bool fused);
  // Every Block's attention through scaled_dot_product_attention (BlockImpl::set_fused_attention).
  void set_fused_attention(bool fused);
  // Training in the channels-last layout (sampling always uses it): cuDNN's fp16/bf16 convolutions
  // work in NHWC, so NCHW activations are transposed on the way in and out of every one. The same
  // function up to rounding (the convolutions' algorithms differ by layout).
  void set_channels_last_training(bool channels_last) { channels_last_training_ = channels_last; }

 private:
  void for_each_block(const std::function<void(BlockImpl&)>& f);  // encoder, then decoder order

  // One encoder or decoder entry: the stem conv or a Block.
  struct Stage {
    BlockPlan plan;
    MPConv conv{nullptr};
    Block block{nullptr};
  };

  int64_t label_dim_;
  double label_balance_, concat_balance_;
  bool channels_last_training_ = false;
  MPFourier emb_fourier_{nullptr};
  MPConv emb_noise_{nullptr}, emb_label_{nullptr};
  std::vector<Stage> encoder_, decoder_;
  at::Tensor out_gain_;
  MPConv out_conv_{nullptr};
};
TORCH_MODULE(UNet);

}  // namespace diffuse
