#include "util/device.h"

#include <torch/cuda.h>

#include "util/cuda_math.h"
#include "util/error.h"

namespace diffuse {

c10::Device parse_device(const std::string& name, const std::string& what) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda") return c10::Device(c10::kCUDA);
  const std::string prefix = "cuda:";
  const bool indexed = name.size() > prefix.size() && name.size() <= prefix.size() + 3 &&
                       name.compare(0, prefix.size(), prefix) == 0 &&
                       name.find_first_not_of("0123456789", prefix.size()) == std::string::npos;
  if (!indexed) fail(ErrorCode::kInvalidArgument, "{}: \"{}\" is not cpu, cuda or cuda:N", what, name);
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(std::stoi(name.substr(prefix.size()))));
}

bool device_available(const c10::Device& device) {
  if (device.is_cpu()) return true;
  if (!device.is_cuda() || !torch::cuda::is_available()) return false;
  return (device.has_index() ? device.index() : 0) < static_cast<int64_t>(torch::cuda::device_count());
}

c10::Device open_device(const std::string& name, const std::string& what) {
  const c10::Device device = parse_device(name, what);
  if (!device_available(device)) {
    fail(ErrorCode::kDeviceUnavailable, "{}: \"{}\" requested, but {}", what, name,
         torch::cuda::is_available() ? fmt::format("this machine has {} CUDA device(s)", torch::cuda::device_count())
                                     : std::string("no CUDA device is available"));
  }
  if (device.is_cuda()) use_reference_cuda_math();
  return device;
}

}  // namespace diffuse
