#include "store/tensor_table.h"

#include <map>

#include <fmt/ranges.h>

#include "io/safetensors.h"
#include "nn/model_plan.h"

namespace diffuse {

void require_parameter_table(const SafetensorsFile& file, const ModelOptions& options, const std::string& prefix,
                             ErrorCode code) {
  std::map<std::string, const SafetensorsEntry*> table;
  for (const SafetensorsEntry& e : file.entries()) table[e.name] = &e;
  for (const auto& [name, shape] : parameter_shapes(options)) {
    const auto found = table.find(prefix + name);
    if (found == table.end()) fail(code, "{}: missing tensor '{}'", file.path(), prefix + name);
    if (found->second->shape != shape) {
      fail(code, "{}: tensor '{}' has shape [{}] but the model expects [{}]", file.path(), prefix + name,
           fmt::join(found->second->shape, ", "), fmt::join(shape, ", "));
    }
  }
}

}  // namespace diffuse
