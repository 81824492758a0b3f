// What the fuzz targets share: the oracle, scratch files, and inputs of several parts.
//
// The oracle: a parser answers bad bytes with a diffuse::Error whose code a caller can act on (invalid
// config or argument, corrupt file, I/O, not found). Anything else — another exception type, an
// internal error, a sanitizer report, a hang, an allocation beyond libFuzzer's -malloc_limit_mb — is a
// defect: the target aborts and libFuzzer keeps the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "train/training_data.h"

namespace diffuse::fuzz {

// Runs `body`, accepting only the errors a caller is meant to get (printed when $DIFFUSE_FUZZ_VERBOSE is
// set); aborts on anything else.
void expect_clean(const char* what, void (*body)(void*), void* context);
template <typename F>
void expect_clean(const char* what, F&& body) {
  expect_clean(what, [](void* f) { (*static_cast<F*>(f))(); }, &body);
}

// A directory of this process for scratch files (under /dev/shm when it exists), empty at first use.
const std::string& scratch_dir();
// scratch_dir()/name, emptied (created when missing): each input starts from nothing.
std::string fresh_scratch_dir(const std::string& name);
// Writes bytes to scratch_dir()/name (or to a path with a '/'), returns the path.
std::string write_file(const std::string& name, std::string_view bytes);

// The parts of an input separated by kPartSeparator, at most `max_parts` (the last keeps the rest).
inline constexpr std::string_view kPartSeparator = "\n--8<--\n";
std::vector<std::string_view> split_parts(const uint8_t* data, size_t size, size_t max_parts);

// The host images of the resume target and of the run its seeds come from: 16 random 8×8 gray
// images of 2 classes (format MEMORY), for training and validation.
HostData tiny_host_images();

// Silences the library's log, pins LibTorch to one thread and prints the largest single allocation at
// exit; call from LLVMFuzzerInitialize.
void quiet_library();

}  // namespace diffuse::fuzz
