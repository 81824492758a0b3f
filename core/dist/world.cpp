#include "dist/world.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "util/error.h"

namespace diffuse {
namespace {

int parse_int(const Environment& env, const char* name, int lo, int hi) {
  const std::optional<std::string> text = env(name);
  if (!text) fail(ErrorCode::kInvalidConfig, "distributed launch: ${} is not set", name);
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || errno != 0 || value < lo || value > hi) {
    fail(ErrorCode::kInvalidConfig, "distributed launch: ${} = '{}' is not an integer in {}..{}", name, *text, lo, hi);
  }
  return static_cast<int>(value);
}

std::optional<std::string> process_environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace

std::optional<World> world_from_environment(const Environment& given) {
  const Environment env = given ? given : Environment(process_environment);
  constexpr int kMaxWorld = 1 << 20;
  World w;
  if (env("WORLD_SIZE")) {
    w.size = parse_int(env, "WORLD_SIZE", 1, kMaxWorld);
    w.rank = parse_int(env, "RANK", 0, w.size - 1);
    w.local_rank = env("LOCAL_RANK") ? parse_int(env, "LOCAL_RANK", 0, w.size - 1) : 0;
    w.local_size = env("LOCAL_WORLD_SIZE") ? parse_int(env, "LOCAL_WORLD_SIZE", w.local_rank + 1, w.size) : 1;
  } else if (env("SLURM_NTASKS")) {
    w.size = parse_int(env, "SLURM_NTASKS", 1, kMaxWorld);
    w.rank = parse_int(env, "SLURM_PROCID", 0, w.size - 1);
    w.local_rank = env("SLURM_LOCALID") ? parse_int(env, "SLURM_LOCALID", 0, w.size - 1) : 0;
    // Set by --cpus-per-task; inside a job that torchrun launches, torchrun's variables decide instead.
    if (env("SLURM_CPUS_PER_TASK")) w.cpus_per_process = parse_int(env, "SLURM_CPUS_PER_TASK", 1, kMaxWorld);
  } else {
    return std::nullopt;
  }
  if (const auto addr = env("MASTER_ADDR")) {
    if (addr->empty()) fail(ErrorCode::kInvalidConfig, "distributed launch: $MASTER_ADDR is empty");
    w.master_addr = *addr;
  } else if (w.size > 1) {
    fail(ErrorCode::kInvalidConfig,
         "distributed launch: $MASTER_ADDR is not set (the host of rank 0; torchrun and `diffuse train --nproc` set it, "
         "under Slurm export it from the first host of $SLURM_JOB_NODELIST)");
  }
  if (env("MASTER_PORT")) w.master_port = parse_int(env, "MASTER_PORT", 1, 65535);
  const auto agent = env("TORCHELASTIC_USE_AGENT_STORE");
  w.launcher_hosts_store = agent && (*agent == "True" || *agent == "true" || *agent == "1");
  const auto restart = env("TORCHELASTIC_RESTART_COUNT");
  w.store_prefix = "diffuse/" + (restart ? *restart : std::string("0")) + "/";
  return w;
}

int threads_per_process(const World& world, int usable_cpus) {
  if (world.cpus_per_process > 0) return std::max(1, std::min(world.cpus_per_process, usable_cpus));
  return std::max(1, usable_cpus / std::max(1, world.local_size));
}

}  // namespace diffuse
