// Device names ("cpu", "cuda", "cuda:N"): the one parser, so every entry point that takes a device
// accepts the same names, reports them the same way and prepares CUDA the same way.
#pragma once

#include <string>

#include <c10/core/Device.h>

namespace diffuse {

// Parses `name`; `what` names the field or argument that carried it ("TrainConfig.run.device"), for
// the message. Throws Error(kInvalidArgument) for anything but cpu, cuda or cuda:N.
c10::Device parse_device(const std::string& name, const std::string& what);

// Whether this build, on this machine, has the device (cuda without an index means cuda:0).
bool device_available(const c10::Device& device);

// The device to put work on: parse_device, then Error(kDeviceUnavailable) unless it is available; a
// CUDA device gets the reference CUDA math settings (util/cuda_math.h) before any work goes there.
c10::Device open_device(const std::string& name, const std::string& what);

}  // namespace diffuse
