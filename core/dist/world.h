// Which processes a data-parallel run has, as its launcher tells them through the environment:
// torchrun and `diffuse train --nproc` set RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT;
// under Slurm (srun) SLURM_PROCID, SLURM_NTASKS and SLURM_LOCALID stand in for the first three.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace diffuse {

struct World {
  int rank = 0;
  int size = 1;
  int local_rank = 0;  // rank among the processes of this machine (picks cuda:LOCAL_RANK)
  int local_size = 1;  // processes on this machine sharing its CPUs ($LOCAL_WORLD_SIZE; Slurm binds each task)
  int cpus_per_process = 0;  // the CPUs the launcher gives each process ($SLURM_CPUS_PER_TASK), 0: not said
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // The launcher hosts the rendezvous store (torchrun's TORCHELASTIC_USE_AGENT_STORE=True): every
  // rank, rank 0 included, connects to it as a client.
  bool launcher_hosts_store = false;
  std::string store_prefix;  // keeps the keys of one launch apart from another's (torchrun restarts)
};

using Environment = std::function<std::optional<std::string>(const char* name)>;

// The world named by `env` (default: the process environment), or nullopt when neither WORLD_SIZE nor
// SLURM_NTASKS is set. Throws Error(kInvalidConfig) naming the variable that is missing or malformed.
std::optional<World> world_from_environment(const Environment& env = {});

// The intra-op threads of each process of `world` on a machine where this process may use `usable_cpus`
// (util/cpu_count.h): the launcher's share if it names one, else an even share of the usable CPUs
// among the machine's processes, which torchrun and `diffuse train --nproc` start with the same
// affinity. At least 1.
int threads_per_process(const World& world, int usable_cpus);

}  // namespace diffuse
