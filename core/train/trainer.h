// The training loop (spec edm2.md §6, methods.md §6): a run directory, a network, Adam, the
// power-function EMAs and a data loader, advanced one optimizer step at a time by the host. Every
// random draw of a step comes from streams seeded by (seed, images seen), and a checkpoint holds all
// other state, so a resumed run continues bit for bit.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "data/dataset.h"
#include "diffuse.pb.h"
#include "nn/precond.h"
#include "train/training_data.h"

namespace diffuse {

class PowerEma;

// Switches of the trainer's speed levers, for the benchmarks that measure each one (bench/gpu) and the
// tests that show it changes nothing: any setting trains the same run, bit for bit, or up to rounding
// for the levers that change the arithmetic (the fused kernels and normalisations, channels-last, the
// fused attention; TrainerTuning.*). Not part of the config, as no result depends on them beyond
// rounding.
struct TrainerTuning {
  // Steps whose losses stay on the device before one read brings them to the host (the statistics,
  // the status's loss, the non-finite guard), so that the host queues the next steps without waiting
  // for the device; 0: 1 on the CPU, 32 on CUDA. A read also comes before every stats line and
  // checkpoint, at the end of run(), and after every step where the noise curriculum paces itself by
  // the loss (the cluster curriculum).
  int64_t loss_readback_steps = 0;
  // Adam's and the EMA's updates as multi-tensor (_foreach) calls (AdamOptions::multi_tensor).
  bool multi_tensor = true;
  // The blocks' mp_silu, modulation and mp_sum (with the activation clipping) as fused kernels
  // (cuda/fused_ops.h), the same run up to rounding (not bit for bit); unset: on CUDA, off on the CPU (whose results so stay bit for bit
  // those of the unfused graph).
  std::optional<bool> fused_elementwise;
  // The U-Net's normalisations (the blocks' pixel norm and attention q, k, v, the weight normalisation
  // of every convolution) as one fused kernel each (UNetImpl::set_fused_normalize), the same run up
  // to rounding; unset: on CUDA, off on the CPU.
  std::optional<bool> fused_normalize;
  // The U-Net trains in the channels-last layout (UNetImpl::set_channels_last_training), the same run
  // up to rounding; unset: on CUDA, off on the CPU.
  std::optional<bool> channels_last;
  // The blocks' attention through scaled_dot_product_attention (BlockImpl::set_fused_attention), the
  // same run up to rounding; unset: on CUDA with LibTorch 2.x, off on the CPU.
  std::optional<bool> fused_attention;
  // On CUDA, each pass's inputs (images, labels, σ, noise) made in page-locked host memory and copied
  // without waiting: a copy from pageable memory first waits for the device to finish the work queued
  // before it, four times per pass, so the host could never run ahead. No effect on the CPU.
  bool pinned_transfers = true;
  // Dropout (in a network that has it) as one kernel forward and one back whose masks are a function
  // of each image's key (kernels::fused_dropout), instead of a generator reseeded per image and block
  // (two launches for each image). Its masks are other draws of the same distribution, so the run
  // is another one (the same on any world size and bit for bit on resume, as the unfused one); it is
  // what lets the CUDA graphs capture a pass with dropout. Unset: on CUDA, off on the CPU (whose runs
  // so stay bit for bit those of earlier versions).
  std::optional<bool> fused_dropout;
  // Each pass's noise drawn by the data loader's threads with its batch, ahead of the step, instead of
  // on the training thread inside it (train/step_noise.h: the same numbers either way). Unset: on CUDA,
  // where the host so queues the step sooner; off on the CPU, whose cores the step's math already
  // keeps busy (measured there: no gain).
  std::optional<bool> loader_noise;
  // Each pass's forward and backward (network, loss, gradients accumulated) replayed as one CUDA graph
  // from the second pass on (cuda/graphed_call.h); Adam, the EMA and the all-reduce stay outside it
  // (a few multi-tensor launches each). The same kernels on the same values. A pass that cannot be
  // captured runs eagerly from then on, with a warning. Unset: on CUDA unless the network has
  // unfused dropout (its masks are seeded per image from the host); on the CPU, true runs the passes
  // through the graph's static buffers (the tests' check of that plumbing).
  std::optional<bool> cuda_graphs;
  // On the CPU, each pass's images split into this many parts, each part's forward and backward on a
  // thread of its own with single-threaded math (run_single_threaded_jobs), the parts' gradients then
  // summed in part order: no fork and join of the intra-op threads around every small op, so more
  // images per second (bench/training). The same run up to rounding (the gradient sums over the
  // batch are split), and bit for bit on resume. 0: one part per intra-op thread (run.threads) but no
  // more than the CPUs the process may use; 1: one call on all intra-op threads. No effect when a pass
  // has fewer images than parts (the parts would leave cores idle), on CUDA, or with the CUDA graphs.
  // Dropout masks belong to images (DropoutStream), so each part draws those of its own.
  int cpu_workers = 0;
};

class Trainer {
 public:
  // Starts a new run in config.run.output_dir, which must not hold a run already. Throws
  // Error(kInvalidConfig) for an invalid config (naming the field), Error(kIo) for file problems,
  // Error(kDeviceUnavailable) for an absent device.
  static std::unique_ptr<Trainer> create(const v1::TrainConfig& config, HostData host_data = {},
                                         TrainerTuning tuning = {});
  // Continues the run in `run_dir` from its newest readable checkpoint. Throws Error(kNotFound) if it
  // has none.
  static std::unique_ptr<Trainer> resume(const std::string& run_dir, HostData host_data = {},
                                         TrainerTuning tuning = {});
  ~Trainer();

  // Trains up to `max_steps` optimizer steps; returns the number taken. Returns early when the run is
  // done (after writing the final stats, EMA snapshots and checkpoint) or when a stop was requested
  // (after writing a checkpoint), so a stopped run returns fewer than max_steps. In a data-parallel
  // run every rank calls run() with the same max_steps, and a stop requested on any rank stops all
  // at the same step. Throws Error(kDiverged) after too many non-finite losses, Error(kPeerLost)
  // when a rank is lost.
  int64_t run(int64_t max_steps);
  // Makes run() return before its next step: the current call, or the next one when the request
  // comes during the last step of the current call. Any thread.
  void request_stop();
  // Called on the training thread after every step (e.g. to publish progress to other threads).
  void set_step_callback(std::function<void(const v1::TrainStatus&)> callback);
  // Writes checkpoint-<kimg>.safetensors now and prunes old ones.
  void save_checkpoint();

  // Progress as of the last completed step: the schema's TrainStatus (run directory included), the
  // one statement of its fields.
  v1::TrainStatus status() const;
  bool done() const;
  const v1::TrainConfig& config() const;  // resolved
  const std::string& run_dir() const;
  Precond& network();
  const PowerEma& ema() const;

 private:
  struct Impl;
  explicit Trainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace diffuse
