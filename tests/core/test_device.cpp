// The one device parser (util/device.h) and the one table of status names (util/error.h).
#include <set>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "fixtures.h"
#include "util/device.h"
#include "util/error.h"
#include "util/torch_error.h"

namespace diffuse::device_test {
namespace {

using test::throws_error;

// LibTorch's errors reach the user as their message, without the C++ backtrace, and an allocation
// that fails is out of memory.
TEST(TorchErrors, AreTheirMessageAndOutOfMemoryIsNamed) {
  try {
    TORCH_CHECK(false, "the tensor is too small");
    FAIL() << "no error";
  } catch (const c10::Error& e) {
    EXPECT_EQ(torch_error_message(e), "the tensor is too small");
    EXPECT_NE(std::string(e.what()).find("the tensor is too small"), std::string::npos);
    EXPECT_EQ(torch_error_code(e), ErrorCode::kInternal);
  }
  try {
    at::empty({int64_t{1} << 52}, at::kByte);  // 4 PiB
    FAIL() << "no error";
  } catch (const c10::Error& e) {
    EXPECT_EQ(torch_error_code(e), ErrorCode::kOutOfMemory) << torch_error_message(e);
    EXPECT_EQ(torch_error_message(e).find("frame #"), std::string::npos);
    EXPECT_EQ(torch_error_message(e).rfind("DefaultCPUAllocator: can't allocate memory", 0), 0u) << torch_error_message(e);
  }
}

TEST(Device, ParsesCpuCudaAndIndexedCuda) {
  EXPECT_TRUE(parse_device("cpu", "x").is_cpu());
  const c10::Device cuda = parse_device("cuda", "x");
  EXPECT_TRUE(cuda.is_cuda());
  EXPECT_FALSE(cuda.has_index());
  const c10::Device third = parse_device("cuda:2", "x");
  EXPECT_TRUE(third.is_cuda());
  EXPECT_EQ(third.index(), 2);
}

TEST(Device, RefusesEveryOtherNameNamingTheField) {
  for (const std::string name : {"", "CPU", "gpu", "cuda:", "cuda:-1", "cuda:x", "cuda:1234", "mps", "cuda:0 ", "tpu"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(throws_error([&] { parse_device(name, "TrainConfig.run.device"); }, ErrorCode::kInvalidArgument,
                             {"TrainConfig.run.device", "\"" + name + "\"", "cpu, cuda or cuda:N"}));
  }
}

TEST(Device, OpensOnlyWhatTheMachineHas) {
  EXPECT_TRUE(device_available(parse_device("cpu", "x")));
  EXPECT_TRUE(open_device("cpu", "x").is_cpu());
  const int64_t count = torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  EXPECT_EQ(device_available(parse_device("cuda", "x")), count > 0);
  EXPECT_FALSE(device_available(parse_device("cuda:99", "x")));
  EXPECT_TRUE(throws_error([&] { open_device("cuda:99", "diffuse_model_open: device"); }, ErrorCode::kDeviceUnavailable,
                           {"diffuse_model_open: device", "\"cuda:99\""}));
}

TEST(ErrorCodes, EachHasItsOwnName) {
  std::set<std::string> names;
  for (int code = 1; code <= kLastErrorCode; ++code) {
    const std::string name = error_code_name(static_cast<ErrorCode>(code));
    EXPECT_NE(name, "unknown error") << code;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_EQ(static_cast<int>(ErrorCode::kInternal), 10);  // diffuse_status's values (capi pins all)
  EXPECT_EQ(static_cast<int>(ErrorCode::kDiverged), 11);
  EXPECT_EQ(static_cast<int>(ErrorCode::kPeerLost), 12);
}

}  // namespace
}  // namespace diffuse::device_test
