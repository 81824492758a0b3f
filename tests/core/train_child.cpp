// Test helper: resumes a run in a fresh process, so that resume tests cross a process boundary.
//   train_child RUN_DIR STEPS [--checkpoint] [--file-size-limit BYTES]
// --checkpoint writes a checkpoint after the steps; --file-size-limit makes the kernel kill the process
// (SIGXFSZ) when it writes past BYTES into any file, i.e. in the middle of a large write.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/resource.h>

#include "train/trainer.h"
#include "util/error.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s RUN_DIR STEPS [--checkpoint] [--file-size-limit BYTES]\n", argv[0]);
    return 2;
  }
  bool checkpoint = false;
  for (int i = 3; i < argc; ++i) {
    if (std::strcmp(argv[i], "--checkpoint") == 0) {
      checkpoint = true;
    } else if (std::strcmp(argv[i], "--file-size-limit") == 0 && i + 1 < argc) {
      const rlim_t bytes = std::strtoull(argv[++i], nullptr, 10);
      const rlimit limit{bytes, bytes};
      setrlimit(RLIMIT_FSIZE, &limit);
    }
  }
  try {
    auto trainer = diffuse::Trainer::resume(argv[1]);
    trainer->run(std::atoll(argv[2]));
    if (checkpoint) trainer->save_checkpoint();
  } catch (const diffuse::Error& e) {
    std::fprintf(stderr, "train_child: %s\n", e.what());
    return 1;
  }
  return 0;
}
