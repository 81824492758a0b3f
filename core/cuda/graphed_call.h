// A function of fixed-shape tensors replayed as one CUDA graph (issue 20's graph lever): a network call
// of a small batch is hundreds of short kernels, each launched by the host; a replayed graph launches
// them all at once. The sampler uses it for its network calls (SamplerOptions::cuda_graphs).
//
// The first call with a given signature (shapes, strides, dtypes, devices of the inputs) runs the function
// eagerly: LibTorch's lazy initialisation, cuDNN's algorithm search and the weight caches happen there,
// outside any capture. The second copies its inputs into static buffers and captures the function on
// them, then replays; every later call copies its inputs into the buffers and replays. Whatever else
// the function reads (weights, labels held by the caller) must keep its storage and values for the
// object's lifetime: the graph reads it where it was at capture. A new signature starts over.
//
// Where there are no graphs (the CPU, or a build without CUDA) the calls after the first run the
// function eagerly on the same static buffers: the plumbing the graph relies on, which the CPU tests
// check against plain calls.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace diffuse::kernels {

class GraphedCall {
 public:
  using Function = std::function<at::Tensor(const std::vector<at::Tensor>& inputs)>;

  explicit GraphedCall(Function function);
  ~GraphedCall();
  GraphedCall(const GraphedCall&) = delete;
  GraphedCall& operator=(const GraphedCall&) = delete;

  // function(inputs) as a tensor of its own (never the graph's output buffer, which the next replay
  // overwrites). Throws Error(kInternal) naming SamplerConfig.cuda_graphs when the capture fails (an
  // op that synchronises with the host cannot be captured).
  at::Tensor operator()(const std::vector<at::Tensor>& inputs);

  // Whether the last call replayed a captured graph.
  bool replayed() const;

  // Whether calls on `device` are captured: CUDA devices in a build with CUDA.
  static bool has_graphs(const c10::Device& device);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace diffuse::kernels
