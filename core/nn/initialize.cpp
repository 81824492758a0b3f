#include "nn/initialize.h"

#include <cmath>
#include <string>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/module.h>

#include "util/error.h"

namespace diffuse {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void initialize_parameters(torch::nn::Module& net, at::Generator generator) {
  at::NoGradGuard no_grad;
  // Draw in state-dict order on the CPU, so the values do not depend on the device.
  auto draw = [&](at::Tensor& t, auto fill) {
    at::Tensor cpu = at::empty(t.sizes(), at::TensorOptions().dtype(at::kFloat));
    fill(cpu);
    t.copy_(cpu);
  };
  for (auto& item : net.named_parameters()) {
    at::Tensor& p = item.value();
    if (ends_with(item.key(), "weight")) {
      draw(p, [&](at::Tensor& c) { c.normal_(0, 1, generator); });
    } else if (ends_with(item.key(), "_gain")) {
      p.zero_();
    } else {
      fail(ErrorCode::kInternal, "initialize_parameters: no rule for parameter '{}'", item.key());
    }
  }
  for (auto& item : net.named_buffers()) {
    at::Tensor& b = item.value();
    if (ends_with(item.key(), "freqs")) {
      draw(b, [&](at::Tensor& c) { c.normal_(0, 1, generator).mul_(2 * M_PI); });
    } else if (ends_with(item.key(), "phases")) {
      draw(b, [&](at::Tensor& c) { c.uniform_(0, 1, generator).mul_(2 * M_PI); });
    } else {
      fail(ErrorCode::kInternal, "initialize_parameters: no rule for buffer '{}'", item.key());
    }
  }
}

}  // namespace diffuse
