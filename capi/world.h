// The data-parallel launch that diffuse_world_join joined, for sampling and evaluation.
#pragma once

#include "dist/communicator.h"

namespace diffuse::capi {

// Null until diffuse_world_join joined a launch of more than one process.
Communicator* sampling_world();

}  // namespace diffuse::capi
