// Named state of a module (parameters and buffers) with the reference's state-dict names, and
// strict loading that checks every name, shape and value before anything is overwritten.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace torch::nn {
class Module;
}

namespace diffuse {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// "[3, 32, 3, 3]": a shape as error messages show it.
std::string shape_string(at::IntArrayRef sizes);

// Parameters, then buffers, in registration order; tensors alias the module's storage.
NamedTensors state_dict(const torch::nn::Module& module);

// Copies tensors[prefix + name] into every parameter and buffer of `module` (converting dtype and
// device). Strict: throws Error(kInvalidArgument) naming `source` and the first tensor that is
// missing, has another shape, or (among names starting with `prefix`) is not part of the module.
// Nothing is modified unless every check passes.
void load_state_dict(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                     const std::string& source, const std::string& prefix = "");

}  // namespace diffuse
