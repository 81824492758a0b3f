// A function of fixed-shape tensors replayed as one CUDA graph: a network call of a small batch is
// hundreds of short kernels, each launched by the host; a replayed graph launches them all at once. The
// sampler uses it for its network calls (SamplerOptions::cuda_graphs), the trainer for each pass's
// forward and backward (TrainerTuning::cuda_graphs).
//
// The first call with a given signature (shapes, strides, dtypes, devices of the inputs) runs the function
// eagerly: LibTorch's lazy initialisation, cuDNN's algorithm search and the weight caches happen there,
// outside any capture. The second copies its inputs into static buffers and captures the function on
// them, then replays; every later call copies its inputs into the buffers and replays. Whatever else
// the function reads or writes (weights, labels held by the caller, gradients it accumulates into) must
// keep its storage for the object's lifetime: the graph reads and writes it where it was at capture. A
// new signature starts over.
//
// Where there are no graphs (the CPU, or a build without CUDA) the calls after the first run the
// function eagerly on the same static buffers: the plumbing the graph relies on, which the CPU tests
// check against plain calls.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace diffuse::kernels {

class GraphedCall {
 public:
  using Function = std::function<at::Tensor(const std::vector<at::Tensor>& inputs)>;
  // When the function cannot be captured (an op that synchronises with the host, or one CUDA cannot
  // capture): throw, or warn once and run every later call eagerly.
  enum class OnCaptureFailure { kThrow, kRunEagerly };

  // `setting` names what turns the graphs off (e.g. "SamplerConfig.cuda_graphs"), for the messages.
  GraphedCall(Function function, std::string setting, OnCaptureFailure on_failure = OnCaptureFailure::kThrow);
  ~GraphedCall();
  GraphedCall(const GraphedCall&) = delete;
  GraphedCall& operator=(const GraphedCall&) = delete;

  // function(inputs) as a tensor of its own (never the graph's output buffer, which the next replay
  // overwrites). With kThrow, throws Error(kInternal) naming the setting when the capture fails; with
  // kRunEagerly, runs this call and every later one eagerly instead (a failed capture ran nothing).
  at::Tensor operator()(const std::vector<at::Tensor>& inputs);

  // Whether the last call replayed a captured graph.
  bool replayed() const;
  // Whether a capture failed and the calls now run eagerly (kRunEagerly).
  bool eager_after_failure() const;

  // Whether calls on `device` are captured: CUDA devices in a build with CUDA.
  static bool has_graphs(const c10::Device& device);

 private:
  struct State;
  std::unique_ptr<State> state_;  // of the current signature
  std::string setting_;
  OnCaptureFailure on_failure_;
  bool eager_after_failure_ = false;
};

}  // namespace diffuse::kernels
