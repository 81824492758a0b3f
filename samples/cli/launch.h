// `diffuse train --nproc N ...`: starts N local workers of this very program for a data-parallel
// run, with the environment torchrun would give them, and supervises them.
#pragma once

#include <string>
#include <vector>

// Runs `args` (the worker's argv, without --nproc) as ranks 0..nproc-1 on this machine and waits for
// them. SIGINT and SIGTERM are passed on to every worker (which stop with a checkpoint); when a worker
// fails, the others get `grace_seconds` to notice and stop, then SIGKILL. A worker that exits with
// `stopped_status` stopped on request, which is no failure. Returns the exit status of the first worker
// that failed (128 + signal for a killed one), else `stopped_status` if any stopped, else 0.
int launch_local_workers(int nproc, const std::vector<std::string>& args, double grace_seconds, int stopped_status);
