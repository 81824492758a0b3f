// Internal to the C API: turning exceptions into a diffuse_status and a thread-local message.
#pragma once

#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "diffuse.h"
#include "util/error.h"
#include "util/torch_error.h"

namespace diffuse::capi {

// The integer a C caller passed for an enum parameter. C allows any int there, but loading an
// out-of-range value as the C++ enum type is undefined behaviour, so the bytes are read as an int.
template <typename Enum>
int enum_value(const Enum& value) {
  static_assert(sizeof(Enum) == sizeof(int), "C enums are int-sized on the supported ABIs");
  int out;
  std::memcpy(&out, &value, sizeof out);
  return out;
}

// Copies a size-prefixed struct (first member `size_t size`, set by the caller) to a caller compiled
// against an older or newer header: only the fields that fit in out->size are written.
template <typename Versioned>
void copy_versioned(const Versioned& full, Versioned* out) {
  const size_t n = out->size < sizeof full ? out->size : sizeof full;
  std::memcpy(reinterpret_cast<char*>(out) + sizeof(size_t), reinterpret_cast<const char*>(&full) + sizeof(size_t),
              n - sizeof(size_t));
}

// Records `message` as the calling thread's diffuse_last_error() and returns `status`.
diffuse_status set_error(diffuse_status status, const std::string& message);

diffuse_status to_status(ErrorCode code);

// Runs `body` (which returns a diffuse_status) and converts any exception into a status and message.
template <typename F>
diffuse_status guarded(F&& body) noexcept {
  try {
    return body();
  } catch (const Error& e) {
    return set_error(to_status(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return set_error(DIFFUSE_E_OUT_OF_MEMORY, "out of memory");
  } catch (const c10::Error& e) {  // LibTorch's own: the message without its C++ backtrace
    return set_error(to_status(torch_error_code(e)), torch_error_message(e));
  } catch (const std::exception& e) {
    return set_error(DIFFUSE_E_INTERNAL, e.what());
  } catch (...) {
    return set_error(DIFFUSE_E_INTERNAL, "unknown exception");
  }
}

// DIFFUSE_E_INVALID_ARGUMENT naming `function` and `argument` when `pointer` is NULL.
#define DIFFUSE_REQUIRE_ARG(function, pointer)                                                     \
  do {                                                                                             \
    if ((pointer) == nullptr)                                                                      \
      return ::diffuse::capi::set_error(DIFFUSE_E_INVALID_ARGUMENT, function ": " #pointer " is NULL"); \
  } while (0)

}  // namespace diffuse::capi
