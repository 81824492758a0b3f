// Calls of diffuse.h that need no handle but pass arrays or buffers, in the facade's array types.
#pragma once

#include <string>

#include "arrays.hpp"
#include "diffuse.h"
#include "status.hpp"

namespace diffuse_binding {

// Parses, fills the defaults of and validates a TrainConfig; returns it in `out_format`.
inline Bytes resolve_train_config(const Bytes& config, int format, int out_format, Status& status) {
  diffuse_buffer buffer{nullptr, 0};
  if (!status.record(diffuse_train_config_resolve(config.data(), config.size(), static_cast<diffuse_format>(format),
                                                  static_cast<diffuse_format>(out_format), &buffer)))
    return {};
  const auto* data = static_cast<const uint8_t*>(buffer.data);
  Bytes bytes(data, data + buffer.len);
  diffuse_buffer_free(&buffer);
  return bytes;
}

// Post-hoc EMA (diffuse_phema_reconstruct); returns the residual of each sigma_rel.
inline Doubles phema_reconstruct(const std::string& run_dir, const Doubles& sigma_rels, int64_t nimg,
                                 double max_residual, bool force, const std::string& out_dir, bool fp16,
                                 Status& status) {
  Doubles residuals(sigma_rels.size());
  if (!status.record(diffuse_phema_reconstruct(run_dir.c_str(), sigma_rels.data(), sigma_rels.size(), nimg,
                                               max_residual, force ? 1 : 0, out_dir.c_str(), fp16 ? 1 : 0,
                                               residuals.data())))
    return {};
  return residuals;
}

// Whether `device` ("cpu", "cuda", "cuda:N") is usable here.
inline bool device_available(const std::string& device, Status& status) {
  int available = 0;
  status.record(diffuse_device_available(device.c_str(), &available));
  return available != 0;
}

// Where this process stands in a data-parallel launch (diffuse_world_join): rank 0 of 1 outside one.
struct WorldPosition {
  int rank = 0;
  int world_size = 1;
};

inline WorldPosition world_join(Status& status) {
  WorldPosition position;
  status.record(diffuse_world_join(&position.rank, &position.world_size));
  return position;
}

// Also writes every log message to `path` ("" stops).
inline void log_to_file(const std::string& path, Status& status) {
  status.record(diffuse_log_to_file(path.empty() ? nullptr : path.c_str()));
}

}  // namespace diffuse_binding
