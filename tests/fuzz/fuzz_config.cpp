// Config messages as the C API and the CLI read them: TrainConfig, ModelConfig, SamplerConfig and
// EvalConfig in binary, text and JSON. The first byte picks the message (byte % 4) and the format
// (byte / 4 % 3); the rest is the message. Whatever parses is resolved; a config that resolves must
// print, parse and resolve again to the same bytes (resolving is idempotent and byte-stable).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/model_config.h"
#include "config/proto_format.h"
#include "config/train_config.h"
#include "diffuse.pb.h"
#include "fuzz_support.h"
#include "metrics/evaluate.h"
#include "nn/model_plan.h"
#include "sample/sampler_config.h"

namespace {

using diffuse::ConfigFormat;
namespace v1 = diffuse::v1;

template <typename Message, typename Resolve>
void check(const uint8_t* data, size_t size, ConfigFormat format, Resolve resolve) {
  Message parsed;
  diffuse::parse_config(data, size, format, &parsed);
  const Message resolved = resolve(parsed);
  for (ConfigFormat f : {ConfigFormat::kBinary, ConfigFormat::kText, ConfigFormat::kJson}) {
    const std::string printed = diffuse::print_config(resolved, f);
    Message again;
    diffuse::parse_config(printed.data(), printed.size(), f, &again);
    const std::string reprinted = diffuse::print_config(resolve(again), f);
    if (reprinted != printed) {
      std::fprintf(stderr, "%s: resolving is not stable in format %d:\n%s\n---\n%s\n",
                   Message::descriptor()->full_name().c_str(), static_cast<int>(f), printed.c_str(), reprinted.c_str());
      std::abort();
    }
  }
}

v1::TrainConfig resolve_train(const v1::TrainConfig& c) {
  std::vector<std::string> warnings;
  return diffuse::resolve_train_config(c, &warnings);
}

v1::ModelConfig resolve_model(const v1::ModelConfig& c) {
  v1::ModelConfig resolved = diffuse::resolve_model_config(c);
  // The plan a network would be built from (no tensors).
  (void)diffuse::count_parameters(diffuse::to_model_options(resolved));
  return resolved;
}

// SamplerConfig and EvalConfig have no resolved message: their settings are checked, the message
// itself round-trips.
v1::SamplerConfig check_sampler(const v1::SamplerConfig& c) {
  (void)diffuse::resolve_sampler_config(c);
  return c;
}

v1::EvalConfig check_eval(const v1::EvalConfig& c) {
  (void)diffuse::resolve_eval_config(c);
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  diffuse::fuzz::quiet_library();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int kind = data[0] % 4;
  const auto format = static_cast<ConfigFormat>(data[0] / 4 % 3);
  ++data;
  --size;
  diffuse::fuzz::expect_clean("config", [&] {
    switch (kind) {
      case 0: check<v1::TrainConfig>(data, size, format, resolve_train); break;
      case 1: check<v1::ModelConfig>(data, size, format, resolve_model); break;
      case 2: check<v1::SamplerConfig>(data, size, format, check_sampler); break;
      default: check<v1::EvalConfig>(data, size, format, check_eval); break;
    }
  });
  return 0;
}
