#include "util/error.h"

namespace diffuse {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kInvalidConfig: return "invalid config";
    case ErrorCode::kIo: return "I/O error";
    case ErrorCode::kCorruptFile: return "corrupt file";
    case ErrorCode::kOutOfMemory: return "out of memory";
    case ErrorCode::kDeviceUnavailable: return "device unavailable";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kBusy: return "busy";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kInternal: return "internal error";
    case ErrorCode::kDiverged: return "training diverged";
    case ErrorCode::kPeerLost: return "peer lost";
  }
  return "unknown error";
}

}  // namespace diffuse
