#include "dist/communicator.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#if defined(DIFFUSE_WITH_NCCL)
#include <c10/cuda/CUDAGuard.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "util/error.h"

namespace diffuse {
namespace {

using Clock = std::chrono::steady_clock;
// LibTorch 2 split the process group into a front end and per-device backends; 1.13's Gloo group is
// the process group itself. Both offer the same collectives.
#if TORCH_VERSION_MAJOR >= 2
using Group = c10d::Backend;
#else
using Group = c10d::ProcessGroup;
#endif
using WorkPtr = decltype(std::declval<Group&>().barrier());

constexpr auto kHeartbeatPeriod = std::chrono::milliseconds(250);
// A rank whose heartbeat stays still this long (8 periods) counts as lost.
constexpr auto kSilence = std::chrono::milliseconds(2000);

std::chrono::milliseconds to_millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

// c10::Error::what() carries a C++ backtrace; the user needs the message.
std::string message_of(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

std::vector<uint8_t> to_bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string to_text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

std::string list_ranks(const std::vector<int>& ranks) {
  std::string out = ranks.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < ranks.size(); ++i) out += (i ? ", " : "") + std::to_string(ranks[i]);
  return out;
}

// "line 12: rank 0 has 'a', rank 2 has 'b'".
std::string first_difference(const std::string& mine, const std::string& theirs, int their_rank) {
  std::istringstream a(mine), b(theirs);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ha = static_cast<bool>(std::getline(a, la)), hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) return "they differ";
    if (ha != hb || la != lb) {
      return fmt::format("line {}: rank 0 has '{}', rank {} has '{}'", line, ha ? la : "(end)", their_rank,
                         hb ? lb : "(end)");
    }
  }
}

}  // namespace

struct Communicator::Impl {
  World world;
  CommunicatorOptions options;
  std::chrono::milliseconds timeout;
  c10::intrusive_ptr<c10d::Store> store;  // prefixed: the keys of this launch
  c10::intrusive_ptr<Group> group;
  double communication_seconds = 0;
  int64_t barriers = 0;

  // The heartbeat: its own store connection, touched by the beating thread and by lost_ranks().
  std::mutex beat_mutex;
  c10::intrusive_ptr<c10d::Store> beat_store;
  std::mutex stop_mutex;
  std::condition_variable stop_signal;
  bool stopping = false;
  std::thread beat_thread;

  Impl(const World& w, const CommunicatorOptions& o) : world(w), options(o), timeout(to_millis(o.timeout_seconds)) {}

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(stop_mutex);
      stopping = true;
    }
    stop_signal.notify_all();
    if (beat_thread.joinable()) beat_thread.join();
  }

  std::string where() const { return fmt::format("{}:{}", world.master_addr, world.master_port); }

  c10::intrusive_ptr<c10d::Store> open_store(bool host, const std::string& prefix) {
    c10d::TCPStoreOptions o;
    o.port = static_cast<uint16_t>(world.master_port);
    o.isServer = host;
    o.waitWorkers = false;
    o.timeout = timeout;
    o.multiTenant = true;  // the trainer's and the sampling world's communicators share one server
    c10::intrusive_ptr<c10d::TCPStore> tcp;
    try {
      tcp = c10::make_intrusive<c10d::TCPStore>(world.master_addr, o);
    } catch (const std::exception& e) {
      if (host) fail(ErrorCode::kIo, "data-parallel run: rank 0 cannot host the rendezvous store at {}: {}", where(), message_of(e));
      fail(ErrorCode::kPeerLost, "data-parallel run: rank {} cannot reach the rendezvous store at {} within {} s: {}",
           world.rank, where(), options.timeout_seconds, message_of(e));
    }
    return c10::make_intrusive<c10d::PrefixStore>(world.store_prefix + prefix, tcp);
  }

  std::string beat_key(int rank) const { return "heartbeat/" + std::to_string(rank); }

  void beat() {
    std::unique_lock<std::mutex> stop_lock(stop_mutex);
    while (!stopping) {
      try {
        std::lock_guard<std::mutex> lock(beat_mutex);
        beat_store->add(beat_key(world.rank), 1);
      } catch (const std::exception&) {
        return;  // the store is gone; lost_ranks() will say so
      }
      stop_signal.wait_for(stop_lock, kHeartbeatPeriod, [&] { return stopping; });
    }
  }

  std::vector<int64_t> beats() {
    std::lock_guard<std::mutex> lock(beat_mutex);
    std::vector<int64_t> counts;
    for (int r = 0; r < world.size; ++r) counts.push_back(beat_store->add(beat_key(r), 0));
    return counts;
  }

  // Which peers are gone: those whose heartbeat stood still for kSilence.
  std::string lost_ranks() {
    try {
      const std::vector<int64_t> before = beats();
      std::this_thread::sleep_for(kSilence);
      const std::vector<int64_t> after = beats();
      std::vector<int> lost;
      for (int r = 0; r < world.size; ++r) {
        if (r != world.rank && after[static_cast<size_t>(r)] == before[static_cast<size_t>(r)]) lost.push_back(r);
      }
      if (lost.empty()) return "no rank stopped its heartbeat (a peer may be stuck)";
      return fmt::format("{} of {} lost (no heartbeat for {} s)", list_ranks(lost), world.size,
                         std::chrono::duration<double>(kSilence).count());
    } catch (const std::exception&) {
      if (world.launcher_hosts_store) return fmt::format("the launcher's rendezvous store at {} is gone", where());
      return fmt::format("rank 0 of {} lost (it hosted the rendezvous store at {})", world.size, where());
    }
  }

  [[noreturn]] void fail_lost(const char* during, const std::exception& e) {
    const std::string cause = message_of(e);
    fail(ErrorCode::kPeerLost, "data-parallel run: {} during {}; rank {} stops ({})", lost_ranks(), during, world.rank,
         cause);
  }

  // The value of `key` once `writer` (or, for -1, whichever rank sets it) has set it. Polls, so that
  // a writer whose heartbeat stops is reported within kSilence instead of after the timeout.
  std::string await_key(const std::string& key, int writer, const char* during) {
    try {
      const auto deadline = Clock::now() + timeout;
      auto looked = Clock::now();
      std::vector<int64_t> seen = beats();
      while (!store->check({key})) {
        if (Clock::now() > deadline) {
          fail(ErrorCode::kPeerLost, "data-parallel run: {} did not answer within {} s during {}",
               writer >= 0 ? fmt::format("rank {}", writer) : std::string("a rank"), options.timeout_seconds, during);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (Clock::now() - looked < kSilence) continue;
        const std::vector<int64_t> now = beats();
        for (int r = 0; r < world.size; ++r) {
          if (r == world.rank || (writer >= 0 && r != writer)) continue;
          if (now[static_cast<size_t>(r)] == seen[static_cast<size_t>(r)]) {
            fail(ErrorCode::kPeerLost, "data-parallel run: rank {} of {} lost (no heartbeat for {} s) during {}; rank {} stops",
                 r, world.size, std::chrono::duration<double>(kSilence).count(), during, world.rank);
          }
        }
        seen = now;
        looked = Clock::now();
      }
      return to_text(store->get(key));
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      fail_lost(during, e);
    }
  }

  void join() {
    try {
      store->set("joined/" + std::to_string(world.rank), to_bytes("1"));
    } catch (const std::exception& e) {
      fail_lost("start-up", e);
    }
    std::vector<std::string> keys;
    for (int r = 0; r < world.size; ++r) keys.push_back("joined/" + std::to_string(r));
    try {
      store->wait(keys, timeout);
    } catch (const std::exception& e) {
      std::vector<int> missing;
      try {
        for (int r = 0; r < world.size; ++r) {
          if (!store->check({keys[static_cast<size_t>(r)]})) missing.push_back(r);
        }
      } catch (const std::exception&) {
        fail_lost("start-up", e);
      }
      if (missing.empty()) fail_lost("start-up", e);
      fail(ErrorCode::kPeerLost, "data-parallel run: {} of {} did not join within {} s (rendezvous store at {})",
           list_ranks(missing), world.size, options.timeout_seconds, where());
    }
  }

  void make_group() {
    const c10::intrusive_ptr<c10d::Store> group_store = c10::make_intrusive<c10d::PrefixStore>("group", store);
    try {
      if (options.backend == CommunicatorOptions::Backend::kGloo) {
        auto o = c10d::ProcessGroupGloo::Options::create(timeout);
        o->devices.push_back(gloo_device());
        group = c10::make_intrusive<c10d::ProcessGroupGloo>(group_store, world.rank, world.size, o);
        return;
      }
#if defined(DIFFUSE_WITH_NCCL)
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      c10::cuda::CUDAGuard guard(options.device);
      group = c10::make_intrusive<c10d::ProcessGroupNCCL>(group_store, world.rank, world.size, o);
#else
      fail(ErrorCode::kDeviceUnavailable, "run.distributed.backend: NCCL needs a build against a LibTorch with CUDA");
#endif
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      fail_lost("the process group's start-up", e);
    }
  }

  // Gloo's transport binds to $GLOO_SOCKET_IFNAME when set (as torch.distributed does), to loopback
  // when every rank is on this machine, else to the address this host's name resolves to.
  std::shared_ptr<::gloo::transport::Device> gloo_device() const {
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) {
      return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
    }
    if (world.master_addr == "127.0.0.1" || world.master_addr == "localhost" || world.size == 1) {
      return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    }
    return c10d::ProcessGroupGloo::createDefaultDevice();
  }
};

Communicator::Communicator(const World& world, const CommunicatorOptions& options)
    : impl_(std::make_unique<Impl>(world, options)) {
  Impl& m = *impl_;
  m.store = m.open_store(world.rank == 0 && !world.launcher_hosts_store, options.purpose + "/");
  m.beat_store = m.open_store(false, options.purpose + "/");
  m.beat_thread = std::thread([&m] { m.beat(); });
  m.join();
  m.make_group();
}

// The rank that hosts the store leaves last: the others may still be reading a key (the end of a
// barrier, a verdict). It waits until every rank has said goodbye or has stopped its heartbeat.
Communicator::~Communicator() {
  Impl& m = *impl_;
  try {
    m.store->add("departed", 1);
    if (m.world.rank != 0 || m.world.launcher_hosts_store) return;
    auto looked = Clock::now();
    std::vector<int64_t> seen = m.beats();
    const auto deadline = Clock::now() + m.timeout;
    while (m.store->add("departed", 0) < m.world.size && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (Clock::now() - looked < kSilence) continue;
      const std::vector<int64_t> now = m.beats();
      bool anyone_alive = false;
      for (int r = 1; r < m.world.size; ++r) anyone_alive |= now[static_cast<size_t>(r)] != seen[static_cast<size_t>(r)];
      if (!anyone_alive) return;
      seen = now;
      looked = Clock::now();
    }
  } catch (const std::exception&) {
    // The store is gone already: nobody is left to wait for.
  }
}

int Communicator::rank() const { return impl_->world.rank; }
int Communicator::size() const { return impl_->world.size; }
double Communicator::communication_seconds() const { return impl_->communication_seconds; }

void Communicator::allreduce_sum(const std::vector<at::Tensor>& tensors) {
  Impl& m = *impl_;
  const auto start = Clock::now();
  const auto capacity = static_cast<int64_t>(m.options.bucket_mib * 1024 * 1024);
  struct Bucket {
    std::vector<at::Tensor> members;
    int64_t bytes = 0;
    at::Tensor flat;
    WorkPtr work;
  };
  std::vector<Bucket> buckets;
  for (const at::Tensor& t : tensors) {
    if (!t.defined()) continue;
    const int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
    if (buckets.empty() || buckets.back().members.front().scalar_type() != t.scalar_type() ||
        buckets.back().bytes + bytes > capacity) {
      buckets.emplace_back();
    }
    buckets.back().members.push_back(t);
    buckets.back().bytes += bytes;
  }
  try {
#if defined(DIFFUSE_WITH_NCCL)
    std::optional<c10::cuda::CUDAGuard> guard;
    if (m.options.device.is_cuda()) guard.emplace(m.options.device);
#endif
    for (Bucket& b : buckets) {
      if (b.members.size() == 1 && b.members.front().is_contiguous()) {
        b.flat = b.members.front();
      } else {
        std::vector<at::Tensor> flat;
        for (const at::Tensor& t : b.members) flat.push_back(t.reshape({-1}));
        b.flat = at::cat(flat);
      }
      std::vector<at::Tensor> io{b.flat};
      b.work = m.group->allreduce(io);
    }
    for (Bucket& b : buckets) {
      b.work->wait();
      if (b.flat.is_same(b.members.front())) continue;
      int64_t offset = 0;
      for (const at::Tensor& t : b.members) {
        t.copy_(b.flat.narrow(0, offset, t.numel()).view(t.sizes()));
        offset += t.numel();
      }
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    m.fail_lost("an all-reduce", e);
  }
  m.communication_seconds += std::chrono::duration<double>(Clock::now() - start).count();
}

at::Tensor Communicator::allgather(const at::Tensor& local) {
  Impl& m = *impl_;
  const auto start = Clock::now();
  const at::Tensor input = local.contiguous();
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < m.world.size; ++r) outputs[0].push_back(at::empty_like(input));
  try {
    std::vector<at::Tensor> inputs{input};
    m.group->allgather(outputs, inputs)->wait();
  } catch (const std::exception& e) {
    m.fail_lost("an all-gather", e);
  }
  m.communication_seconds += std::chrono::duration<double>(Clock::now() - start).count();
  return at::cat(outputs[0]);
}

void Communicator::require_same(const std::string& what, const std::string& text) {
  Impl& m = *impl_;
  const std::string key = "same/" + what + "/";
  std::string verdict;
  try {
    m.store->set(key + std::to_string(m.world.rank), to_bytes(text));
    if (m.world.rank == 0) {
      for (int r = 1; r < m.world.size && verdict.empty(); ++r) {
        const std::string theirs = m.await_key(key + std::to_string(r), r, "start-up");
        if (theirs != text) {
          verdict = fmt::format("rank {}'s {} differs from rank 0's ({}); every rank must run the same", r, what,
                                first_difference(text, theirs, r));
        }
      }
      m.store->set(key + "verdict", to_bytes(verdict));
    } else {
      verdict = m.await_key(key + "verdict", 0, "start-up");
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    m.fail_lost("start-up", e);
  }
  if (verdict.empty()) return;
  // Rank 0 hosts the store: it must not leave before every rank has read the verdict.
  barrier("refusing " + what);
  fail(ErrorCode::kInvalidConfig, "data-parallel run: {}", verdict);
}

void Communicator::publish_outcome(const std::string& what, int code, const std::string& error) {
  Impl& m = *impl_;
  try {
    m.store->set("outcome/" + what, to_bytes(std::to_string(code) + "\n" + error));
  } catch (const std::exception& e) {
    m.fail_lost(what.c_str(), e);
  }
  if (code != 0) barrier("failed at " + what);  // every rank has read it before the store may go
}

void Communicator::await_outcome(const std::string& what) {
  Impl& m = *impl_;
  const std::string outcome = m.await_key("outcome/" + what, 0, what.c_str());
  const size_t newline = outcome.find('\n');
  const int code = std::atoi(outcome.substr(0, newline).c_str());
  if (code == 0) return;
  barrier("failed at " + what);
  const ErrorCode error = code >= 1 && code <= kLastErrorCode ? static_cast<ErrorCode>(code) : ErrorCode::kInternal;
  fail(error, "rank 0 failed at {}: {}", what, newline == std::string::npos ? "" : outcome.substr(newline + 1));
}

void Communicator::barrier(const std::string& what) {
  Impl& m = *impl_;
  const std::string key = fmt::format("barrier/{}/{}", m.barriers++, what);
  try {
    if (m.store->add(key, 1) == m.world.size) m.store->set(key + "/done", to_bytes("1"));
  } catch (const std::exception& e) {
    m.fail_lost(what.c_str(), e);
  }
  m.await_key(key + "/done", -1, what.c_str());
}

}  // namespace diffuse
