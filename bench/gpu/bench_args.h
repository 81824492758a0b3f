// Command-line values of the GPU benchmarks: a bad one stops the program with a message naming the
// option (exit 2) instead of timing something else, since a GPU run has no second try.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace bench {

[[noreturn]] inline void usage_error(const char* program, const std::string& message) {
  std::fprintf(stderr, "%s: %s (--help lists the options)\n", program, message.c_str());
  std::exit(2);
}

// A whole number of at least `least`.
inline int64_t parse_count(const char* program, const std::string& option, const std::string& text, int64_t least) {
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || value < least) {
    usage_error(program, option + " takes a whole number of at least " + std::to_string(least) + ", not '" + text + "'");
  }
  return value;
}

// fp16, bf16 or fp32, as ModelConfig's PRECISION_* name.
inline std::string precision_enum(const char* program, const std::string& precision) {
  if (precision == "fp16") return "PRECISION_FP16";
  if (precision == "bf16") return "PRECISION_BF16";
  if (precision == "fp32") return "PRECISION_FP32";
  usage_error(program, "--precision takes fp16, bf16 or fp32, not '" + precision + "'");
}

}  // namespace bench
