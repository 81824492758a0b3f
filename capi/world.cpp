// diffuse_world_join: one communicator per process for sampling and evaluation.
#include "world.h"

#include <mutex>

#include <ATen/Parallel.h>

#include "diffuse.h"
#include "dist/world.h"
#include "util/cpu_count.h"
#include "status.h"

namespace diffuse::capi {
namespace {

std::mutex world_mutex;
// Never destroyed: it lives as long as the process, and tearing its threads and sockets down during
// static destruction (after LibTorch's own statics) would be unsafe.
Communicator* joined = nullptr;
bool asked = false;

}  // namespace

Communicator* sampling_world() {
  std::lock_guard<std::mutex> lock(world_mutex);
  return joined;
}

}  // namespace diffuse::capi

extern "C" {

diffuse_status diffuse_world_join(int* rank, int* world_size) {
  return diffuse::capi::guarded([&] {
    using namespace diffuse::capi;
    std::lock_guard<std::mutex> lock(world_mutex);
    if (!asked) {
      const std::optional<diffuse::World> world = diffuse::world_from_environment();
      if (world && world->size > 1) {
        diffuse::CommunicatorOptions options;
        options.purpose = "sample";
        joined = new diffuse::Communicator(*world, options);
        // The machine's ranks share its CPUs, as a trainer's do (run.threads 0).
        at::set_num_threads(diffuse::threads_per_process(*world, diffuse::usable_cpu_count()));
      }
      asked = true;
    }
    if (rank) *rank = joined ? joined->rank() : 0;
    if (world_size) *world_size = joined ? joined->size() : 1;
    return DIFFUSE_OK;
  });
}

}  // extern "C"
