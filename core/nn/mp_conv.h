// MPConv (spec edm2.md §1.6): a bias-free convolution (kernel k×k) or linear layer (no kernel) whose
// weight is normalized to unit RMS per output channel on every use, and in training mode also
// rewritten in place (forced weight normalization), so Adam acts on a fixed weight scale. Outside
// training and autograd (sampling, validation) the normalized weight is computed once and kept until the
// parameter changes: the same values, without renormalizing every weight on every network call.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace diffuse {

class MPConvImpl : public torch::nn::Module {
 public:
  // kernel = {} → linear layer with weight [out, in]; {k, k} → convolution, weight [out, in, k, k].
  // The weight is initialised N(0, 1).
  MPConvImpl(int64_t in_channels, int64_t out_channels, std::vector<int64_t> kernel);

  // Effective weight ŵ·gain/√fan_in, cast to x's dtype; stride 1, padding k/2.
  at::Tensor forward(const at::Tensor& x);
  // Same with a learned scalar gain (Block emb_gain, U-Net out_gain); gradients flow into it.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& gain);

  // Inference only (eval mode, no autograd): the effective weight times `scale`, so that a constant
  // factor of the op next to this one (mp_silu's 1/0.596, mp_sum's weights) costs no pass over the
  // activations. ŵ·scale/√fan_in is cached for one scale at a time.
  at::Tensor forward_folded(const at::Tensor& x, double scale);
  at::Tensor forward_folded(const at::Tensor& x, const at::Tensor& gain, double scale);

  const at::Tensor& weight() const { return weight_; }
  // The weight normalisation as one fused kernel (kernels::fused_normalize over the weight's rows)
  // where the device has it; the same weights up to rounding.
  void set_fused_normalize(bool fused) { fused_normalize_ = fused; }

  // Forced weight normalization on the owner's call instead of in every training-mode forward: for
  // concurrent forwards of one network (the trainer's CPU workers), which must not each rewrite the
  // parameter. With `external` set, the owner calls force_normalize() before the forwards, which then
  // see the weight a single training-mode forward sees after its own rewrite.
  void set_external_force(bool external) { external_force_ = external; }
  void force_normalize();

 private:
  at::Tensor normalized_weight();  // steps 1-3 of §1.6, fp32
  at::Tensor apply(const at::Tensor& x, const at::Tensor& w) const;

  // The inference-time cache: ŵ and ŵ·scale/√fan_in, valid for one storage and version of the
  // parameter. Copies (Module::clone) start empty. Threads sampling from one network share it under
  // the mutex.
  struct Cache {
    std::mutex mutex;
    at::Tensor normalized, scaled;
    double scale = 1;
    const void* data = nullptr;
    int64_t version = -1;
    Cache() = default;
    Cache(const Cache&) {}
    Cache& operator=(const Cache&) { return *this; }
  };
  // {ŵ, ŵ·scale/√fan_in}, from the cache when it may be used and is valid; in training or under
  // autograd {ŵ, undefined}.
  std::pair<at::Tensor, at::Tensor> inference_weights(double scale);

  at::Tensor normalize_rows(const at::Tensor& w) const;  // §1.1 over each output channel

  at::Tensor weight_;
  bool fused_normalize_ = false;
  bool external_force_ = false;
  Cache cache_;
};
TORCH_MODULE(MPConv);

// Every MPConv of `root` (root itself included), in registration order.
std::vector<std::shared_ptr<MPConvImpl>> find_mp_convs(torch::nn::Module& root);

}  // namespace diffuse
