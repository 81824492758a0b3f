// The outcome of one facade call: the diffuse_status and, for a failure, the message that
// diffuse_last_error() gave on the calling thread right after the call. Each binding passes a Status
// into every fallible call and turns a failure into its own error type, so no host language needs to
// call diffuse_last_error() itself (a Go goroutine may change OS threads between two cgo calls).
#pragma once

#include <string>

#include "diffuse.h"

namespace diffuse_binding {

class Status {
 public:
  int code() const { return code_; }
  bool ok() const { return code_ == DIFFUSE_OK; }
  std::string message() const { return message_; }
  // Short English name of the code ("invalid config").
  std::string name() const { return diffuse_status_string(static_cast<diffuse_status>(code_)); }

#ifndef SWIG
  // Keeps `status` and, for a failure, this thread's diffuse_last_error(). Returns whether it is OK.
  bool record(diffuse_status status) {
    code_ = status;
    message_ = status == DIFFUSE_OK ? std::string() : std::string(diffuse_last_error());
    return status == DIFFUSE_OK;
  }
  // A failure detected by the facade itself, before calling the library.
  void fail(diffuse_status status, const std::string& message) {
    code_ = status;
    message_ = message;
  }
#endif

 private:
  int code_ = DIFFUSE_OK;
  std::string message_;
};

}  // namespace diffuse_binding
