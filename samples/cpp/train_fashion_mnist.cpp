// Trains a small class-conditional diffusion model on Fashion-MNIST (padded to 32×32) on the CPU,
// using nothing but the C API in diffuse.h, and leaves a run directory:
//
//   train_fashion_mnist RUN_DIR [--kimg N]     start a run of N thousand images (default 64)
//   train_fashion_mnist RUN_DIR --resume       continue it from its newest checkpoint
//
// Ctrl-C stops after the current step and writes a checkpoint, so --resume continues exactly.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "diffuse.h"

namespace {

volatile std::sig_atomic_t interrupted = 0;

void on_sigint(int) { interrupted = 1; }

std::string config_text(const std::string& run_dir, long kimg) {
  const std::string data = "/usr/share/datasets/fashion-mnist/";  // Debian package dataset-fashion-mnist
  return R"(
    model {                      # a small MP-UNet: 32x32x1, levels 32/16/8, attention at 8x8
      img_resolution: 32 img_channels: 1 label_dim: 10
      model_channels: 32 channel_mult: [1, 2, 2] num_blocks: 2
      attn_resolutions: [8] channels_per_head: 64 logvar_channels: 32
    }
    data {
      train { format: IDX path: ")" + data + R"(train-images-idx3-ubyte.gz"
              labels_path: ")" + data + R"(train-labels-idx1-ubyte.gz" }
      validation { format: IDX path: ")" + data + R"(t10k-images-idx3-ubyte.gz"
                   labels_path: ")" + data + R"(t10k-labels-idx1-ubyte.gz" }
      resize: PAD                # 28x28 centred on a 32x32 black canvas
    }
    optimizer { ref_lr: 0.01 ref_batches: 2000 rampup_images: 4096 }
    ema { sigma_rels: [0.05, 0.10] snapshot_images: 16384 }
    run {
      output_dir: ")" + run_dir + R"("
      batch_size: 64
      duration_images: )" + std::to_string(kimg * 1000) + R"(
      status_images: 2048 checkpoint_images: 16384 validation_interval_images: 8192
      validation_images: 256
    }
  )";
}

int fail(const char* what, diffuse_status status) {
  std::fprintf(stderr, "%s failed: %s: %s\n", what, diffuse_status_string(status), diffuse_last_error());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s RUN_DIR [--kimg N | --resume]\n", argv[0]);
    return 2;
  }
  const std::string run_dir = argv[1];
  long kimg = 64;
  bool resume = false;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--resume") == 0) resume = true;
    else if (std::strcmp(argv[i], "--kimg") == 0 && i + 1 < argc) kimg = std::atol(argv[++i]);
  }

  diffuse_trainer* trainer = nullptr;
  diffuse_status status;
  if (resume) {
    status = diffuse_trainer_resume(&trainer, run_dir.c_str());
  } else {
    const std::string config = config_text(run_dir, kimg);
    status = diffuse_trainer_create(&trainer, config.data(), config.size(), DIFFUSE_FORMAT_TEXT);
  }
  if (status != DIFFUSE_OK) return fail(resume ? "diffuse_trainer_resume" : "diffuse_trainer_create", status);

  std::signal(SIGINT, on_sigint);
  diffuse_train_status progress{};
  progress.size = sizeof progress;
  while (!interrupted) {
    status = diffuse_trainer_run(trainer, 32, nullptr);
    if (status != DIFFUSE_OK) {
      diffuse_trainer_free(trainer);
      return fail("diffuse_trainer_run", status);
    }
    diffuse_trainer_get_status(trainer, &progress);
    std::printf("\r%7.1f / %.1f kimg  loss %.4f  %.0f img/s  ETA %.0f s   ", progress.images_seen / 1000.0,
                progress.images_total / 1000.0, progress.loss, progress.images_per_second, progress.eta_seconds);
    std::fflush(stdout);
    if (progress.done) break;
  }
  std::printf("\n");
  if (interrupted && (status = diffuse_trainer_save_checkpoint(trainer)) != DIFFUSE_OK) {
    diffuse_trainer_free(trainer);
    return fail("diffuse_trainer_save_checkpoint", status);
  }
  std::printf("run directory: %s (validation loss %.4f)\n", run_dir.c_str(), progress.validation_loss);
  diffuse_trainer_free(trainer);
  return 0;
}
