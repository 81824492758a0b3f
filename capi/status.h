// Internal to the C API: turning exceptions into a diffuse_status and a thread-local message.
#pragma once

#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "diffuse.h"
#include "util/error.h"

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
