// Fixtures shared by the core tests: error assertions, the golden networks' configuration, and a
// small Fashion-MNIST training config.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/proto_format.h"
#include "diffuse.pb.h"
#include "io/safetensors.h"
#include "nn/model_options.h"
#include "test_util.h"
#include "util/error.h"

namespace diffuse::test {

// Passes if `fn` throws diffuse::Error with `code` and a message containing every phrase.
template <typename Fn>
::testing::AssertionResult throws_error(Fn&& fn, ErrorCode code, const std::vector<std::string>& phrases) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string message = e.what();
    if (e.code() != code) {
      return ::testing::AssertionFailure() << "code is '" << error_code_name(e.code()) << "', expected '"
                                           << error_code_name(code) << "'; message: " << message;
    }
    for (const std::string& phrase : phrases) {
      if (message.find(phrase) == std::string::npos) {
        return ::testing::AssertionFailure() << "message lacks \"" << phrase << "\": " << message;
      }
    }
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-diffuse exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "nothing was thrown";
}

// A file of shared/golden, opened and read once per process.
struct GoldenFile {
  SafetensorsFile file;
  std::map<std::string, at::Tensor> tensors;
  const at::Tensor& operator[](const std::string& name) const { return tensors.at(name); }
};

inline const GoldenFile& golden_file(const std::string& name) {
  static std::map<std::string, std::unique_ptr<GoldenFile>> cache;
  auto& entry = cache[name];
  if (!entry) {
    SafetensorsFile file = SafetensorsFile::open(golden_path(name));
    auto tensors = file.read_all();
    entry.reset(new GoldenFile{std::move(file), std::move(tensors)});
  }
  return *entry;
}

// Writes `bytes` to `path` as they are (for malformed-file tests).
inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// The network configuration a golden file records in its metadata "config" (fp32, as computed).
inline ModelOptions golden_model_options(const SafetensorsFile& file) {
  const auto config = nlohmann::json::parse(file.metadata().at("config"));
  ModelOptions o;
  o.img_resolution = config.at("img_resolution");
  o.img_channels = config.at("img_channels");
  o.label_dim = config.at("label_dim");
  o.model_channels = config.at("model_channels");
  o.channel_mult = config.at("channel_mult").get<std::vector<int>>();
  o.num_blocks = config.at("num_blocks");
  o.attn_resolutions = config.at("attn_resolutions").get<std::vector<int>>();
  o.logvar_channels = config.at("logvar_channels");
  o.sigma_data = config.at("sigma_data");
  o.channels_per_head = config.at("channels_per_head");
  o.res_balance = config.at("res_balance");
  o.attn_balance = config.at("attn_balance");
  o.clip_act = config.at("clip_act");
  o.label_balance = config.at("label_balance");
  o.concat_balance = config.at("concat_balance");
  o.precision = Precision::kFp32;
  return o;
}

// A small class-conditional model on Fashion-MNIST (test::fashion_mnist_dir()) reduced to
// 16×16, batch 32 in micro-batches of 16, `steps` optimizer steps, in `dir`; `overrides` (text format,
// e.g. the test's ema and run cadences) are merged on top; the device is test::test_device() unless they
// name one.
inline v1::TrainConfig fashion_mnist_tiny_config(const std::string& dir, int64_t steps, const std::string& overrides) {
  const std::string data = test::fashion_mnist_dir();
  const std::string base = R"(
    model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]
            num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }
    data {
      train { format: IDX path: ")" + data + R"(train-images-idx3-ubyte.gz"
              labels_path: ")" + data + R"(train-labels-idx1-ubyte.gz" }
      validation { format: IDX path: ")" + data + R"(t10k-images-idx3-ubyte.gz"
                   labels_path: ")" + data + R"(t10k-labels-idx1-ubyte.gz" }
      resize: RESIZE num_workers: 2
    }
    optimizer { ref_lr: 0.01 ref_batches: 1000000 rampup_images: 640 }
    run { batch_size: 32 batch_per_step: 16 validation_images: 64 }
  )";
  v1::TrainConfig config, extra;
  parse_config(base.data(), base.size(), ConfigFormat::kText, &config);
  parse_config(overrides.data(), overrides.size(), ConfigFormat::kText, &extra);
  config.MergeFrom(extra);
  config.mutable_run()->set_output_dir(dir);
  config.mutable_run()->set_duration_images(steps * 32);
  if (!config.run().has_device()) config.mutable_run()->set_device(test::test_device());
  return config;
}

}  // namespace diffuse::test
