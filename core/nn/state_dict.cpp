#include "nn/state_dict.h"

#include <set>

#include <ATen/core/grad_mode.h>
#include <torch/nn/module.h>

#include "util/error.h"

namespace diffuse {
std::string shape_string(at::IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

NamedTensors state_dict(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

void load_state_dict(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                     const std::string& source, const std::string& prefix) {
  const NamedTensors targets = state_dict(module);
  std::set<std::string> expected;
  for (const auto& [name, target] : targets) {
    const std::string key = prefix + name;
    expected.insert(key);
    auto it = tensors.find(key);
    if (it == tensors.end()) fail(ErrorCode::kInvalidArgument, "{}: missing tensor '{}'", source, key);
    if (it->second.sizes() != target.sizes()) {
      fail(ErrorCode::kInvalidArgument, "{}: tensor '{}' has shape {} but the model expects {}", source, key,
           shape_string(it->second.sizes()), shape_string(target.sizes()));
    }
    if (!it->second.is_floating_point()) {
      fail(ErrorCode::kInvalidArgument, "{}: tensor '{}' has non-floating dtype {}", source, key,
           std::string(c10::toString(it->second.scalar_type())));
    }
  }
  for (const auto& [key, tensor] : tensors) {
    if (key.compare(0, prefix.size(), prefix) == 0 && !expected.count(key)) {
      fail(ErrorCode::kInvalidArgument, "{}: unexpected tensor '{}' is not part of the model", source, key);
    }
  }
  at::NoGradGuard no_grad;
  for (const auto& [name, target] : targets) {
    at::Tensor dst = target;  // aliases the module's storage
    dst.copy_(tensors.at(prefix + name));
  }
}

}  // namespace diffuse
