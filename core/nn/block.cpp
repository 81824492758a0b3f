#include "nn/block.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/version.h>

#include "cuda/fused_ops.h"
#include "nn/mp_ops.h"
#include "util/seed.h"

namespace diffuse {

at::Tensor DropoutStream::image_keys(int64_t n, bool pinned) const {
  at::Tensor keys = at::empty({n}, at::TensorOptions(at::kLong).pinned_memory(pinned));
  int64_t* key = keys.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) key[i] = static_cast<int64_t>(image_key(first_image + i));
  return keys;
}

namespace {
thread_local const DropoutStream* scoped_dropout = nullptr;
}  // namespace

DropoutStream::Scope::Scope(const DropoutStream& stream) : outer_(scoped_dropout) { scoped_dropout = &stream; }

DropoutStream::Scope::~Scope() { scoped_dropout = outer_; }

const DropoutStream* DropoutStream::on_this_thread(const DropoutStream* own) {
  return scoped_dropout ? scoped_dropout : own;
}

BlockImpl::BlockImpl(const BlockPlan& plan, int64_t emb_channels, const ModelOptions& o)
    : flavor_(plan.flavor),
      resample_(plan.resample),
      num_heads_(plan.attention ? plan.out_channels / o.channels_per_head : 0),
      dropout_(o.dropout),
      res_balance_(o.res_balance),
      attn_balance_(o.attn_balance),
      clip_act_(o.clip_act) {
  const int64_t cin = plan.in_channels, cout = plan.out_channels;
  emb_gain_ = register_parameter("emb_gain", at::zeros({}));
  conv_res0_ = register_module("conv_res0", MPConv(flavor_ == BlockFlavor::kEnc ? cout : cin, cout,
                                                   std::vector<int64_t>{3, 3}));
  emb_linear_ = register_module("emb_linear", MPConv(emb_channels, cout, std::vector<int64_t>{}));
  conv_res1_ = register_module("conv_res1", MPConv(cout, cout, std::vector<int64_t>{3, 3}));
  if (plan.has_conv_skip()) {
    conv_skip_ = register_module("conv_skip", MPConv(cin, cout, std::vector<int64_t>{1, 1}));
  }
  if (num_heads_ > 0) {
    attn_qkv_ = register_module("attn_qkv", MPConv(cout, cout * 3, std::vector<int64_t>{1, 1}));
    attn_proj_ = register_module("attn_proj", MPConv(cout, cout, std::vector<int64_t>{1, 1}));
  }
}

at::Tensor BlockImpl::forward(at::Tensor x, const at::Tensor& emb) {
  if (!is_training() && !at::GradMode::is_enabled()) return forward_inference(std::move(x), emb);
  x = resample(x, resample_);
  if (flavor_ == BlockFlavor::kEnc) {
    if (conv_skip_) x = conv_skip_->forward(x);
    x = normalize_over(x, 1);  // pixel norm
  }

  const bool fused = fused_elementwise_ && kernels::has_fused_ops(x.device());
  // Residual branch, modulated by the embedding: c = 1 at initialisation (emb_gain = 0).
  at::Tensor y = conv_res0_->forward(fused ? kernels::fused_mp_silu(x, kSiluRms) : mp_silu(x));
  const at::Tensor c = emb_linear_->forward(emb, emb_gain_) + 1;
  const at::Tensor c4 = c.unsqueeze(2).unsqueeze(3).to(y.scalar_type());
  if (fused) {
    y = kernels::fused_modulated_mp_silu(y, c4.expand({y.size(0), -1, -1, -1}), kSiluRms);
  } else {
    y = mp_silu(y * c4);
  }
  if (is_training() && dropout_ > 0) {
    // Inverted dropout with masks from the network's own stream (resumable, thread-independent).
    const DropoutStream* stream = DropoutStream::on_this_thread(dropout_stream_.get());
    if (stream && stream->keys.defined()) {
      y = kernels::fused_dropout(y, stream->keys, ordinal_, dropout_);
    } else {
      at::Tensor keep = at::empty(y.sizes(), y.options());  // NCHW whatever y's layout: the masks' draw order
      if (stream) {
        at::Generator generator = stream->generator;
        for (int64_t i = 0; i < y.size(0); ++i) {
          const uint64_t image_key = stream->image_key(stream->first_image + i);
          generator.set_current_seed(kernels::dropout_block_key(image_key, ordinal_));
          keep[i].bernoulli_(1 - dropout_, generator);
        }
      } else {
        keep.bernoulli_(1 - dropout_);
      }
      y = y * keep / (1 - dropout_);
    }
  }
  y = conv_res1_->forward(y);

  if (flavor_ == BlockFlavor::kDec && conv_skip_) x = conv_skip_->forward(x);
  // Fused, the activation clipping is done by the block's last mp_sum, in the same pass.
  const double clip = std::max(clip_act_, 0.0);
  if (fused) {
    x = kernels::fused_mp_sum(x, y, res_balance_, num_heads_ > 0 ? 0 : clip);
    if (num_heads_ > 0) x = kernels::fused_mp_sum(x, attention(x), attn_balance_, clip);
    return x;
  }
  x = mp_sum(x, y, res_balance_);
  if (num_heads_ > 0) x = mp_sum(x, attention(x), attn_balance_);
  if (clip > 0) x = x.clamp(-clip, clip);
  return x;
}

at::Tensor BlockImpl::forward_inference(at::Tensor x, const at::Tensor& emb) {
  x = resample(x, resample_);
  if (flavor_ == BlockFlavor::kEnc) {
    if (conv_skip_) x = conv_skip_->forward(x);
    x = normalize_over(x, 1);
  }
  // conv(silu(x)/0.596) = conv'(silu(x)) with conv' = conv/0.596.
  at::Tensor y = conv_res0_->forward_folded(at::silu(x), 1 / kSiluRms);
  const at::Tensor c = emb_linear_->forward(emb, emb_gain_) + 1;
  at::silu_(y.mul_(c.unsqueeze(2).unsqueeze(3).to(y.scalar_type())));
  // mp_sum(x, y, t) = (1-t)·s·x + t·s·y, s = 1/√((1-t)²+t²): t·s (and 0.596) go into conv_res1.
  const double t = res_balance_, s = 1 / std::sqrt((1 - t) * (1 - t) + t * t);
  y = conv_res1_->forward_folded(y, t * s / kSiluRms);
  if (flavor_ == BlockFlavor::kDec && conv_skip_) x = conv_skip_->forward(x);
  x = y.add_(x, (1 - t) * s);

  if (num_heads_ > 0) {
    const int64_t channels = x.size(1), h = x.size(2), w = x.size(3);
    const double ta = attn_balance_, sa = 1 / std::sqrt((1 - ta) * (1 - ta) + ta * ta);
    const at::Tensor heads = attention_heads(attn_qkv_->forward(x), channels, h, w);
    x = attn_proj_->forward_folded(heads, ta * sa).add_(x, (1 - ta) * sa);
  }
  if (clip_act_ > 0) x.clamp_(-clip_act_, clip_act_);
  return x;
}

at::Tensor BlockImpl::normalize_over(const at::Tensor& x, int64_t dim) const {
  if (fused_normalize_.value_or(x.is_cuda()) && kernels::has_fused_ops(x.device())) {
    return kernels::fused_normalize(x, dim);
  }
  return normalize(x, {dim});
}

// Self-attention over the H·W tokens (§2 step 6). attn_qkv's output channel (h·C_head + c)·3 + j
// holds component j (q, k, v) of channel c of head h.
at::Tensor BlockImpl::attention(const at::Tensor& x) {
  const int64_t channels = x.size(1), h = x.size(2), w = x.size(3);
  return attn_proj_->forward(attention_heads(attn_qkv_->forward(x), channels, h, w));
}

bool BlockImpl::has_fused_attention() { return TORCH_VERSION_MAJOR >= 2; }

// The heads' outputs [N, channels, H, W] from attn_qkv's output.
at::Tensor BlockImpl::attention_heads(const at::Tensor& qkv_in, int64_t channels, int64_t h, int64_t w) const {
  const int64_t n = qkv_in.size(0);
#if TORCH_VERSION_MAJOR >= 2
  if (fused_attention_.value_or(qkv_in.is_cuda())) {
    // Tokens first, each head's q, k and v channels last and contiguous, as the fused kernels take them.
    at::Tensor qkv = qkv_in.reshape({n, num_heads_, -1, 3, h * w}).permute({0, 1, 4, 3, 2}).contiguous();
    qkv = normalize_over(qkv, 4);
    const at::Tensor q = qkv.select(3, 0), k = qkv.select(3, 1), v = qkv.select(3, 2);  // [N, heads, L, C]
    const at::Tensor out = at::scaled_dot_product_attention(q, k, v);                   // scale 1/√C
    return out.permute({0, 1, 3, 2}).reshape({n, channels, h, w});
  }
#endif
  at::Tensor qkv = qkv_in.reshape({n, num_heads_, -1, 3, h * w});
  qkv = normalize_over(qkv, 2);
  const at::Tensor q = qkv.select(3, 0), k = qkv.select(3, 1), v = qkv.select(3, 2);
  const double head_channels = static_cast<double>(q.size(2));
  const at::Tensor logits = at::einsum("nhcq,nhck->nhqk", {q, k / std::sqrt(head_channels)});
  const at::Tensor weights = logits.softmax(3);
  const at::Tensor out = at::einsum("nhqk,nhck->nhcq", {weights, v});
  return out.reshape({n, channels, h, w});
}

}  // namespace diffuse
