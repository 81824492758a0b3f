// What the user is told about an error that LibTorch raised: its message without the C++ backtrace
// that c10::Error::what() carries, and out of memory as such.
#pragma once

#include <string>

#include <c10/util/Exception.h>

#include "util/error.h"

namespace diffuse {

// kOutOfMemory for a failed allocation (CPU or CUDA), else kInternal.
ErrorCode torch_error_code(const c10::Error& error);

// The message without "Exception raised from ..." and the frames.
std::string torch_error_message(const c10::Error& error);

}  // namespace diffuse
