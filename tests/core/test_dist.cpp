// core/dist: the launcher's environment, and the collectives of two ranks in one process (threads),
// over a real TCPStore and Gloo on loopback.
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <future>
#include <map>
#include <thread>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dist/communicator.h"
#include "dist/world.h"
#include "fixtures.h"

namespace diffuse::dist_test {
namespace {

using test::throws_error;

Environment env_of(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    const auto found = vars.find(name);
    if (found == vars.end()) return std::nullopt;
    return found->second;
  };
}

TEST(World, NotDistributedWithoutAWorldSize) { EXPECT_FALSE(world_from_environment(env_of({{"RANK", "0"}}))); }

TEST(World, ReadsTorchrunsVariables) {
  const auto w = world_from_environment(env_of({{"WORLD_SIZE", "4"}, {"RANK", "3"}, {"LOCAL_RANK", "1"},
                                               {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "1234"},
                                               {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                                               {"TORCHELASTIC_RESTART_COUNT", "2"}}));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->size, 4);
  EXPECT_EQ(w->rank, 3);
  EXPECT_EQ(w->local_rank, 1);
  EXPECT_EQ(w->master_addr, "node7");
  EXPECT_EQ(w->master_port, 1234);
  EXPECT_TRUE(w->launcher_hosts_store);
  EXPECT_EQ(w->store_prefix, "diffuse/2/");
}

TEST(World, ReadsSlurmsVariables) {
  const auto w = world_from_environment(env_of({{"SLURM_NTASKS", "8"}, {"SLURM_PROCID", "5"}, {"SLURM_LOCALID", "1"},
                                               {"MASTER_ADDR", "10.0.0.1"}}));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->size, 8);
  EXPECT_EQ(w->rank, 5);
  EXPECT_EQ(w->local_rank, 1);
  EXPECT_EQ(w->master_port, 29500);
  EXPECT_FALSE(w->launcher_hosts_store);
}

TEST(World, SharesTheMachinesCpusAmongItsProcesses) {
  // torchrun and `diffuse train --nproc` start the machine's processes with the same affinity.
  const auto torchrun = world_from_environment(env_of(
      {{"WORLD_SIZE", "8"}, {"RANK", "5"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "4"}, {"MASTER_ADDR", "h"}}));
  ASSERT_TRUE(torchrun);
  EXPECT_EQ(torchrun->local_size, 4);
  EXPECT_EQ(torchrun->cpus_per_process, 0);
  EXPECT_EQ(threads_per_process(*torchrun, 64), 16);
  EXPECT_EQ(threads_per_process(*torchrun, 6), 1);  // 6 / 4, rounded down
  EXPECT_EQ(threads_per_process(*torchrun, 2), 1);  // never 0
  // Slurm's --cpus-per-task is each task's share; torchrun's variables win inside a Slurm job.
  const auto slurm = world_from_environment(env_of({{"SLURM_NTASKS", "8"}, {"SLURM_PROCID", "5"},
                                                    {"SLURM_CPUS_PER_TASK", "12"}, {"MASTER_ADDR", "h"}}));
  ASSERT_TRUE(slurm);
  EXPECT_EQ(slurm->cpus_per_process, 12);
  EXPECT_EQ(threads_per_process(*slurm, 48), 12);
  EXPECT_EQ(threads_per_process(*slurm, 8), 8);  // no more than the process may use
  const auto inside_slurm = world_from_environment(env_of({{"WORLD_SIZE", "2"}, {"RANK", "0"},
                                                           {"LOCAL_WORLD_SIZE", "2"}, {"SLURM_NTASKS", "1"},
                                                           {"SLURM_PROCID", "0"}, {"SLURM_CPUS_PER_TASK", "16"},
                                                           {"MASTER_ADDR", "h"}}));
  ASSERT_TRUE(inside_slurm);
  EXPECT_EQ(threads_per_process(*inside_slurm, 16), 8);
  EXPECT_EQ(threads_per_process(World{}, 3), 3);  // one process alone
}

TEST(World, NamesTheVariableThatIsWrong) {
  EXPECT_TRUE(throws_error([] { world_from_environment(env_of({{"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}})); },
                           ErrorCode::kInvalidConfig, {"$RANK is not set"}));
  EXPECT_TRUE(throws_error(
      [] { world_from_environment(env_of({{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_ADDR", "h"}})); },
      ErrorCode::kInvalidConfig, {"$RANK = '2'", "0..1"}));
  EXPECT_TRUE(throws_error([] { world_from_environment(env_of({{"WORLD_SIZE", "two"}})); }, ErrorCode::kInvalidConfig,
                           {"$WORLD_SIZE = 'two'"}));
  EXPECT_TRUE(throws_error([] { world_from_environment(env_of({{"WORLD_SIZE", "2"}, {"RANK", "1"}})); },
                           ErrorCode::kInvalidConfig, {"$MASTER_ADDR is not set"}));
  EXPECT_TRUE(throws_error(
      [] {
        world_from_environment(env_of({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "0"}}));
      },
      ErrorCode::kInvalidConfig, {"$MASTER_PORT = '0'"}));
  EXPECT_TRUE(throws_error(
      [] {
        world_from_environment(env_of({{"WORLD_SIZE", "4"}, {"RANK", "1"}, {"LOCAL_RANK", "2"},
                                       {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}));
      },
      ErrorCode::kInvalidConfig, {"$LOCAL_WORLD_SIZE = '2'", "3..4"}));
  EXPECT_TRUE(throws_error(
      [] {
        world_from_environment(env_of({{"SLURM_NTASKS", "2"}, {"SLURM_PROCID", "1"}, {"SLURM_CPUS_PER_TASK", "0"},
                                       {"MASTER_ADDR", "h"}}));
      },
      ErrorCode::kInvalidConfig, {"$SLURM_CPUS_PER_TASK = '0'"}));
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// Runs `body(communicator)` as ranks 0 and 1 on two threads; returns what each returned.
template <typename Body>
auto on_two_ranks(Body body, double bucket_mib = 25) {
  const int port = free_port();
  auto rank = [&](int r) {
    World w;
    w.rank = r;
    w.size = 2;
    w.master_port = port;
    w.store_prefix = "test/";
    CommunicatorOptions o;
    o.timeout_seconds = 30;
    o.bucket_mib = bucket_mib;
    Communicator c(w, o);
    return body(c);
  };
  auto one = std::async(std::launch::async, rank, 1);
  auto zero = rank(0);
  return std::make_pair(std::move(zero), one.get());
}

TEST(Communicator, AllReduceSumsEveryTensorInPlaceAcrossBuckets) {
  // Buckets of 1 KiB: the 300-float tensor gets one of its own, the small ones share; a double joins
  // no float bucket.
  const auto [a, b] = on_two_ranks(
      [](Communicator& c) {
        const float k = static_cast<float>(c.rank() + 1);
        std::vector<at::Tensor> t{at::full({3, 4}, k), at::arange(300, at::kFloat) * k, at::full({2}, 2.0 * k, at::kDouble),
                                  at::full({5}, -k), at::full({2, 2}, k).t()};  // the last one not contiguous
        c.allreduce_sum(t);
        return t;
      },
      1.0 / 1024);
  for (const auto* result : {&a, &b}) {
    EXPECT_TRUE(at::equal((*result)[0], at::full({3, 4}, 3.0f)));
    EXPECT_TRUE(at::equal((*result)[1], at::arange(300, at::kFloat) * 3));
    EXPECT_TRUE(at::equal((*result)[2], at::full({2}, 6.0, at::kDouble)));
    EXPECT_TRUE(at::equal((*result)[3], at::full({5}, -3.0f)));
    EXPECT_TRUE(at::equal((*result)[4], at::full({2, 2}, 3.0f)));
  }
}

TEST(Communicator, RefusesDifferentTextsOnEveryRankNamingTheLine) {
  const auto [a, b] = on_two_ranks([](Communicator& c) {
    c.require_same("code version", "v1");
    try {
      c.require_same("TrainConfig", c.rank() == 0 ? "a: 1\nb: 2\n" : "a: 1\nb: 3\n");
    } catch (const Error& e) {
      return std::string(e.what()) + (e.code() == ErrorCode::kInvalidConfig ? " [invalid config]" : "");
    }
    return std::string("accepted");
  });
  for (const std::string& message : {a, b}) {
    EXPECT_NE(message.find("rank 1's TrainConfig differs from rank 0's (line 2: rank 0 has 'b: 2', rank 1 has 'b: 3')"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("[invalid config]"), std::string::npos) << message;
  }
}

TEST(Communicator, RankZerosErrorReachesTheOthers) {
  const auto [a, b] = on_two_ranks([](Communicator& c) {
    if (c.rank() == 0) {
      c.publish_outcome("creating the run directory", static_cast<int>(ErrorCode::kIo), "/runs/x: read-only");
      c.barrier("end");
      return std::string();
    }
    std::string message;
    try {
      c.await_outcome("creating the run directory");
    } catch (const Error& e) {
      message = std::string(e.what()) + (e.code() == ErrorCode::kIo ? " [io]" : "");
    }
    c.barrier("end");
    return message;
  });
  EXPECT_EQ(b, "rank 0 failed at creating the run directory: /runs/x: read-only [io]");
}

}  // namespace
}  // namespace diffuse::dist_test
