#include "nn/unet.h"

#include <cmath>
#include <functional>
#include <memory>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "nn/mp_ops.h"

namespace diffuse {
namespace {

// A named container, so that state-dict names read "enc.<stage>.*" and "dec.<stage>.*".
class Container : public torch::nn::Module {};

}  // namespace

UNetImpl::UNetImpl(const ModelOptions& o)
    : label_dim_(o.label_dim), label_balance_(o.label_balance), concat_balance_(o.concat_balance) {
  const UNetPlan plan = plan_unet(o);
  const int64_t cemb = plan.embedding_channels;

  emb_fourier_ = register_module("emb_fourier", MPFourier(plan.noise_channels));
  emb_noise_ = register_module("emb_noise", MPConv(plan.noise_channels, cemb, std::vector<int64_t>{}));
  if (label_dim_ > 0) emb_label_ = register_module("emb_label", MPConv(label_dim_, cemb, std::vector<int64_t>{}));

  auto build = [&](const char* name, const std::vector<BlockPlan>& plans, std::vector<Stage>& stages) {
    auto container = register_module(name, std::make_shared<Container>());
    for (const BlockPlan& p : plans) {
      Stage stage{p};
      if (p.stem) {
        stage.conv = container->register_module(p.name, MPConv(p.in_channels, p.out_channels,
                                                               std::vector<int64_t>{3, 3}));
      } else {
        stage.block = container->register_module(p.name, Block(p, cemb, o));
      }
      stages.push_back(std::move(stage));
    }
  };
  build("enc", plan.encoder, encoder_);
  build("dec", plan.decoder, decoder_);

  out_gain_ = register_parameter("out_gain", at::zeros({}));
  out_conv_ = register_module("out_conv", MPConv(plan.out_in_channels, o.img_channels, std::vector<int64_t>{3, 3}));
}

void UNetImpl::set_dropout_stream(const std::shared_ptr<const DropoutStream>& stream) {
  int64_t ordinal = 0;
  for_each_block([&](BlockImpl& b) { b.set_dropout_stream(stream, ordinal++); });
}

void UNetImpl::for_each_block(const std::function<void(BlockImpl&)>& f) {
  for (std::vector<Stage>* stages : {&encoder_, &decoder_}) {
    for (Stage& s : *stages) {
      if (s.block) f(*s.block);
    }
  }
}

void UNetImpl::set_fused_elementwise(bool fused) {
  for_each_block([fused](BlockImpl& b) { b.set_fused_elementwise(fused); });
}

void UNetImpl::set_fused_normalize(bool fused) {
  for_each_block([fused](BlockImpl& b) { b.set_fused_normalize(fused); });
  for (const auto& module : modules()) {
    if (auto* conv = module->as<MPConvImpl>()) conv->set_fused_normalize(fused);
  }
}

void UNetImpl::set_fused_attention(bool fused) {
  for_each_block([fused](BlockImpl& b) { b.set_fused_attention(fused); });
}

at::Tensor UNetImpl::forward(const at::Tensor& x_in, const at::Tensor& noise_labels, const at::Tensor& class_labels) {
  // Embedding, all in fp32 (§3).
  at::Tensor emb = emb_noise_->forward(emb_fourier_->forward(noise_labels));
  if (emb_label_) {
    const double scale = std::sqrt(static_cast<double>(label_dim_));  // one-hot → unit RMS
    emb = mp_sum(emb, emb_label_->forward(class_labels * scale), label_balance_);
  }
  emb = mp_silu(emb);

  // A constant ones channel is the network's only bias-like input.
  at::Tensor x = at::cat({x_in, at::ones_like(x_in.narrow(1, 0, 1))}, 1);
  // Sampling runs channels-last: oneDNN's and cuDNN's convolutions take it without reordering every
  // input and output (bench/sampling/README.md has the measured gain). Training keeps NCHW unless told.
  const bool inference = !is_training() && !at::GradMode::is_enabled();
  const bool channels_last = inference || channels_last_training_;
  if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  std::vector<at::Tensor> skips;
  skips.reserve(encoder_.size());
  for (Stage& s : encoder_) {
    x = s.plan.stem ? s.conv->forward(x) : s.block->forward(x, emb);
    skips.push_back(x);
  }
  for (Stage& s : decoder_) {
    if (s.plan.consumes_skip) {
      x = mp_cat(x, skips.back(), concat_balance_);
      skips.pop_back();
    }
    x = s.block->forward(x, emb);
  }
  if (inference) return out_conv_->forward_folded(x, out_gain_, 1.0).contiguous();
  const at::Tensor out = out_conv_->forward(x, out_gain_);
  return channels_last ? out.contiguous() : out;
}

}  // namespace diffuse
