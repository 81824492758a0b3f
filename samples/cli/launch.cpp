#include "launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

volatile std::sig_atomic_t forwarded_signal = 0;

void remember_signal(int signal) { forwarded_signal = signal; }

// A TCP port that is free now on the loopback interface (rank 0 binds it moments later).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string describe(int rank, pid_t pid, int status) {
  char text[160];
  if (WIFSIGNALED(status)) {
    std::snprintf(text, sizeof text, "rank %d (pid %d) was killed by signal %d (%s)", rank, static_cast<int>(pid),
                  WTERMSIG(status), strsignal(WTERMSIG(status)));
  } else {
    std::snprintf(text, sizeof text, "rank %d (pid %d) exited with status %d", rank, static_cast<int>(pid),
                  WEXITSTATUS(status));
  }
  return text;
}

int exit_code(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

}  // namespace

int launch_local_workers(int nproc, const std::vector<std::string>& args, double grace_seconds, int stopped_status) {
  const char* addr = std::getenv("MASTER_ADDR");
  const std::string master_addr = addr ? addr : "127.0.0.1";
  int port = std::getenv("MASTER_PORT") ? std::atoi(std::getenv("MASTER_PORT")) : free_port();
  if (port <= 0) {
    std::fprintf(stderr, "diffuse: --nproc: no free TCP port for the rendezvous (set MASTER_PORT)\n");
    return 1;
  }
  struct sigaction action {};
  action.sa_handler = remember_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  std::vector<pid_t> workers;
  for (int rank = 0; rank < nproc; ++rank) {
    const pid_t pid = fork();
    if (pid < 0) {
      std::fprintf(stderr, "diffuse: --nproc: cannot start rank %d: %s\n", rank, std::strerror(errno));
      for (pid_t w : workers) kill(w, SIGKILL);
      return 1;
    }
    if (pid == 0) {
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      setenv("MASTER_ADDR", master_addr.c_str(), 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      std::vector<char*> argv;
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "diffuse: --nproc: cannot run /proc/self/exe: %s\n", std::strerror(errno));
      _exit(127);
    }
    workers.push_back(pid);
  }

  using Clock = std::chrono::steady_clock;
  int running = nproc, result = 0, passed_on = 0;
  Clock::time_point failed_at{};
  bool failed = false;
  while (running > 0) {
    if (forwarded_signal != 0 && forwarded_signal != passed_on) {
      passed_on = forwarded_signal;
      for (size_t r = 0; r < workers.size(); ++r) {
        if (workers[r] > 0) kill(workers[r], passed_on);
      }
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t r = 0; r < workers.size(); ++r) {
        if (workers[r] != pid) continue;
        workers[r] = 0;
        --running;
        if (WIFEXITED(status) && WEXITSTATUS(status) == stopped_status) {
          if (!failed) result = stopped_status;
        } else if (status != 0 && !failed) {
          failed = true;
          failed_at = Clock::now();
          result = exit_code(status);
          std::fprintf(stderr, "diffuse: --nproc: %s; the other ranks stop\n", describe(static_cast<int>(r), pid, status).c_str());
        }
      }
      continue;
    }
    if (failed && Clock::now() - failed_at > std::chrono::duration<double>(grace_seconds)) {
      for (size_t r = 0; r < workers.size(); ++r) {
        if (workers[r] <= 0) continue;
        std::fprintf(stderr, "diffuse: --nproc: rank %zu did not stop within %.0f s; killing it\n", r, grace_seconds);
        kill(workers[r], SIGKILL);
      }
      grace_seconds = 1e9;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return result;
}
