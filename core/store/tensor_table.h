// A file's tensor table against the network a config describes, checked before the network is built:
// a config that claims a huge network costs nothing when the file does not hold it. Model files,
// checkpoints at resume and post-hoc EMA's snapshots all check this way.
#pragma once

#include <string>

#include "nn/model_options.h"
#include "util/error.h"

namespace diffuse {

class SafetensorsFile;

// Every parameter of the network `options` describes is in `file` as `prefix` + its state-dict name,
// with its shape. Throws Error(code) naming the file and the first missing or misshapen tensor.
void require_parameter_table(const SafetensorsFile& file, const ModelOptions& options, const std::string& prefix,
                             ErrorCode code);

}  // namespace diffuse
