#include "ema/power_ema.h"

#include <set>

#include <ATen/core/grad_mode.h>
#include <fmt/core.h>
#include <torch/nn/module.h>
#include <torch/version.h>

#include "ema/power_function.h"
#include "util/error.h"

namespace diffuse {
namespace {


std::string checkpoint_name(size_t profile, const std::string& param) {
  return "ema" + std::to_string(profile) + "." + param;
}

// The net's parameters in order, after checking they are the ones the EMA was built from.
std::vector<at::Tensor> matching_parameters(const torch::nn::Module& net, const std::vector<std::string>& names) {
  const auto params = net.named_parameters(/*recurse=*/true);
  if (params.size() != names.size()) {
    fail(ErrorCode::kInvalidArgument, "EMA: the network has {} parameters but the EMA tracks {}", params.size(),
         names.size());
  }
  std::vector<at::Tensor> out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (params[i].key() != names[i]) {
      fail(ErrorCode::kInvalidArgument, "EMA: parameter {} is '{}' but the EMA tracks '{}'", i, params[i].key(),
           names[i]);
    }
    out.push_back(params[i].value());
  }
  return out;
}

// At least fp32 (§6 "Precision"): fp16/bf16 parameters are averaged in fp32, fp64 ones stay fp64.
at::ScalarType average_dtype(const at::Tensor& param) {
  return param.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

}  // namespace

PowerEma::PowerEma(const torch::nn::Module& net, std::vector<double> sigma_rels, bool multi_tensor)
    : sigma_rels_(std::move(sigma_rels)), multi_tensor_(multi_tensor) {
  for (double sigma_rel : sigma_rels_) power_function_gamma(sigma_rel);  // validates before anything is allocated
  std::vector<at::Tensor> params;
  for (const auto& item : net.named_parameters(/*recurse=*/true)) {
    names_.push_back(item.key());
    params.push_back(item.value());
  }
  at::NoGradGuard no_grad;
  for (size_t p = 0; p < sigma_rels_.size(); ++p) {
    std::vector<at::Tensor> averages;
    for (const at::Tensor& param : params) {
      averages.push_back(param.detach().to(param.options().dtype(average_dtype(param)), /*non_blocking=*/false,
                                           /*copy=*/true));
    }
    averages_.push_back(std::move(averages));
  }
}

// §7: θ_ema ← β·θ_ema + (1−β)·θ.
void PowerEma::update(const torch::nn::Module& net, int64_t nimg_after, int64_t batch_size) {
  std::vector<at::Tensor> params = matching_parameters(net, names_);
  at::NoGradGuard no_grad;
  // Parameters in the averages' dtype (fp16/bf16 ones as fp32), once for every profile.
  for (size_t i = 0; i < params.size(); ++i) {
    const at::ScalarType dtype = average_dtype(params[i]);
    if (params[i].scalar_type() != dtype) params[i] = params[i].to(dtype);
  }
  for (size_t p = 0; p < sigma_rels_.size(); ++p) {
    const double beta = power_function_beta(sigma_rels_[p], static_cast<double>(nimg_after),
                                            static_cast<double>(batch_size));
    // lerp_ reads both tensors once (mul_ + add_ would take two passes), and at weight 1 − β = 1 it
    // returns the parameter exactly, so the first update copies the net.
#if TORCH_VERSION_MAJOR >= 2
    if (multi_tensor_) {
      at::_foreach_lerp_(averages_[p], params, 1 - beta);
      continue;
    }
#endif
    for (size_t i = 0; i < params.size(); ++i) averages_[p][i].lerp_(params[i], 1 - beta);
  }
}

NamedTensors PowerEma::averaged_state(size_t profile, const torch::nn::Module& net) const {
  if (profile >= averages_.size()) {
    fail(ErrorCode::kInvalidArgument, "EMA: profile {} requested but {} are tracked", profile, averages_.size());
  }
  matching_parameters(net, names_);
  NamedTensors state = state_dict(net);
  // state_dict lists the parameters first, in named_parameters order, then the buffers.
  for (size_t i = 0; i < names_.size(); ++i) state[i].second = averages_[profile][i];
  return state;
}

NamedTensors PowerEma::checkpoint_state() const {
  NamedTensors out;
  for (size_t p = 0; p < averages_.size(); ++p) {
    for (size_t i = 0; i < names_.size(); ++i) out.emplace_back(checkpoint_name(p, names_[i]), averages_[p][i]);
  }
  return out;
}

void PowerEma::load_checkpoint_state(const std::map<std::string, at::Tensor>& tensors, const std::string& source) {
  std::set<std::string> expected;
  for (size_t p = 0; p < averages_.size(); ++p) {
    for (size_t i = 0; i < names_.size(); ++i) {
      const std::string key = checkpoint_name(p, names_[i]);
      expected.insert(key);
      auto it = tensors.find(key);
      if (it == tensors.end()) fail(ErrorCode::kCorruptFile, "{}: missing EMA tensor '{}'", source, key);
      if (it->second.sizes() != averages_[p][i].sizes()) {
        fail(ErrorCode::kCorruptFile, "{}: EMA tensor '{}' has shape {} but the model expects {}", source, key,
             shape_string(it->second.sizes()), shape_string(averages_[p][i].sizes()));
      }
      if (!it->second.is_floating_point()) {
        fail(ErrorCode::kCorruptFile, "{}: EMA tensor '{}' has non-floating dtype {}", source, key,
             std::string(c10::toString(it->second.scalar_type())));
      }
    }
  }
  // A checkpoint with more profiles than configured was written with another σ_rel list.
  for (const auto& [key, tensor] : tensors) {
    const size_t dot = key.find('.');
    const bool ema_name = key.compare(0, 3, "ema") == 0 && dot != std::string::npos && dot > 3 &&
                          key.find_first_not_of("0123456789", 3) == dot;
    if (ema_name && !expected.count(key)) {
      fail(ErrorCode::kCorruptFile, "{}: unexpected EMA tensor '{}' (the EMA tracks {} profiles of {} parameters)",
           source, key, averages_.size(), names_.size());
    }
  }
  at::NoGradGuard no_grad;
  for (size_t p = 0; p < averages_.size(); ++p) {
    for (size_t i = 0; i < names_.size(); ++i) averages_[p][i].copy_(tensors.at(checkpoint_name(p, names_[i])));
  }
}

}  // namespace diffuse
