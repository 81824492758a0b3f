#include "util/torch_error.h"

namespace diffuse {

ErrorCode torch_error_code(const c10::Error& error) {
  if (dynamic_cast<const c10::OutOfMemoryError*>(&error) != nullptr) return ErrorCode::kOutOfMemory;
  // The CPU allocator's failure is a plain enforce: "DefaultCPUAllocator: can't allocate memory" (1.13 and
  // 2.x; older ones said "not enough memory").
  const std::string message = error.what_without_backtrace();
  for (const char* phrase : {"can't allocate memory", "not enough memory", "out of memory"}) {
    if (message.find(phrase) != std::string::npos) return ErrorCode::kOutOfMemory;
  }
  return ErrorCode::kInternal;
}

std::string torch_error_message(const c10::Error& error) {
  std::string message = error.what_without_backtrace();
  // "[enforce fail at alloc_cpu.cpp:75] err == 0. " (where, and the condition) says nothing to the user.
  if (message.rfind("[enforce fail at ", 0) == 0) {
    const size_t end = message.find(". ", message.find("] "));
    if (end != std::string::npos) message.erase(0, end + 2);
  }
  return message;
}

}  // namespace diffuse
