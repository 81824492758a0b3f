// The collectives of a data-parallel run, over c10d (LibTorch's own torch.distributed engine): a
// TCPStore rendezvous, a Gloo (CPU) or NCCL (CUDA) process group, bucketed all-reduce, and a
// heartbeat through the store so that a failed collective can name the rank that was lost.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "dist/world.h"

namespace diffuse {

struct CommunicatorOptions {
  enum class Backend { kGloo, kNccl };
  Backend backend = Backend::kGloo;
  c10::Device device{c10::kCPU};  // where the tensors of allreduce_sum live
  double timeout_seconds = 300;   // for joining, for the store and for each collective
  double bucket_mib = 25;         // all-reduce granularity
  // Keeps the store keys of this communicator apart from those of another one of the same launch
  // (a trainer's and the sampling world's); every rank creates them in the same order.
  std::string purpose = "train";
};

class Communicator {
 public:
  // Joins the world; every rank waits up to the timeout for the others. Throws Error(kPeerLost)
  // naming the ranks that did not arrive, Error(kIo) when the store cannot be hosted or reached,
  // Error(kDeviceUnavailable) for NCCL in a build without CUDA.
  Communicator(const World& world, const CommunicatorOptions& options);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const;
  int size() const;

  // Sums `tensors` over the ranks in place, packed into buckets of at most bucket_mib that are all
  // in flight at once; every rank ends with the same values. Throws Error(kPeerLost) naming the
  // lost rank when a peer died or did not answer within the timeout.
  void allreduce_sum(const std::vector<at::Tensor>& tensors);

  // Every rank's `local` (the same shape and dtype on every rank), concatenated along dim 0 in rank
  // order, on every rank.
  at::Tensor allgather(const at::Tensor& local);

  // Every rank hands in its `text` (a resolved config, a version); when any differs from rank 0's,
  // every rank throws Error(kInvalidConfig) naming that rank and the first line that differs.
  void require_same(const std::string& what, const std::string& text);

  // Rank 0 reports how a step that only it does (creating the run directory) went; the others wait
  // for that and rethrow rank 0's error. `code` is 0 on success; after a failure both sides wait
  // until every rank has the news (rank 0 hosts the store).
  void publish_outcome(const std::string& what, int code, const std::string& error);
  void await_outcome(const std::string& what);

  // Waits until every rank arrived here (through the store, so on any backend).
  void barrier(const std::string& what);

  // Seconds spent in allreduce_sum so far (launch to the last wait).
  double communication_seconds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace diffuse
