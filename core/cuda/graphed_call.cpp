#include "cuda/graphed_call.h"

#include <exception>
#include <utility>

#include <ATen/ATen.h>

#ifdef DIFFUSE_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include "log/log.h"
#include "util/error.h"

namespace diffuse::kernels {

struct GraphedCall::State {
  // What a capture is valid for: every input's shape, strides, dtype and device.
  struct Signature {
    std::vector<int64_t> sizes, strides;
    at::ScalarType dtype;
    c10::Device device;
    bool operator==(const Signature& o) const {
      return sizes == o.sizes && strides == o.strides && dtype == o.dtype && device == o.device;
    }
  };

  static std::vector<Signature> signature_of(const std::vector<at::Tensor>& inputs) {
    std::vector<Signature> out;
    out.reserve(inputs.size());
    for (const at::Tensor& t : inputs) {
      if (!t.defined()) fail(ErrorCode::kInvalidArgument, "GraphedCall: input {} is undefined", out.size());
      out.push_back({t.sizes().vec(), t.strides().vec(), t.scalar_type(), t.device()});
    }
    return out;
  }

  Function function;
  std::vector<Signature> signature;
  bool warmed_up = false;  // the first call with this signature ran eagerly
  std::vector<at::Tensor> inputs;  // the static buffers, from the second call on
  at::Tensor output;               // the captured function's output (a buffer of the graph's pool)
  bool replayed = false;
#ifdef DIFFUSE_WITH_CUDA
  std::unique_ptr<at::cuda::CUDAGraph> graph;

  // Captures the function on the static buffers, on a side stream (the legacy default stream cannot
  // capture). Thread-local mode: another thread of the host process that touches CUDA meanwhile (a
  // loader allocating page-locked memory) is not an error of this capture.
  void capture(const c10::Device& device, const std::string& setting) {
    c10::cuda::device_synchronize();  // the buffers' copies are done before the side stream reads them
    const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
    graph = std::make_unique<at::cuda::CUDAGraph>();
    {
      const c10::cuda::CUDAStreamGuard on_side(side);
      graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
      try {
        output = function(inputs);
        graph->capture_end();
      } catch (const std::exception& e) {
        try {
          graph->capture_end();  // leaves the stream's capture state clean
        } catch (...) {
        }
        graph.reset();
        output = at::Tensor();
        fail(ErrorCode::kInternal, "the call could not be captured as a CUDA graph ({}: false runs it without): {}",
             setting, e.what());
      }
    }
    side.synchronize();
  }
#endif
};

GraphedCall::GraphedCall(Function function, std::string setting, OnCaptureFailure on_failure)
    : state_(std::make_unique<State>()), setting_(std::move(setting)), on_failure_(on_failure) {
  state_->function = std::move(function);
}

GraphedCall::~GraphedCall() = default;

bool GraphedCall::replayed() const { return state_->replayed; }
bool GraphedCall::eager_after_failure() const { return eager_after_failure_; }

bool GraphedCall::has_graphs(const c10::Device& device) {
#ifdef DIFFUSE_WITH_CUDA
  return device.is_cuda();
#else
  (void)device;
  return false;
#endif
}

at::Tensor GraphedCall::operator()(const std::vector<at::Tensor>& inputs) {
  if (eager_after_failure_) return state_->function(inputs);
  std::vector<State::Signature> signature = State::signature_of(inputs);
  if (signature != state_->signature) {  // start over: a fresh state keeping only the function
    auto fresh = std::make_unique<State>();
    fresh->function = std::move(state_->function);
    fresh->signature = std::move(signature);
    state_ = std::move(fresh);
  }
  State& now = *state_;
  now.replayed = false;
  if (!now.warmed_up) {  // eager: the warm-up outside any capture
    now.warmed_up = true;
    return now.function(inputs);
  }

  if (now.inputs.empty()) {
    for (const at::Tensor& t : inputs) now.inputs.push_back(at::empty_strided(t.sizes(), t.strides(), t.options()));
  }
  for (size_t i = 0; i < inputs.size(); ++i) now.inputs[i].copy_(inputs[i]);
  const c10::Device device = inputs.front().device();
  if (!has_graphs(device)) return now.function(now.inputs).clone();
#ifdef DIFFUSE_WITH_CUDA
  if (!now.graph) {
    try {
      now.capture(device, setting_);
    } catch (const Error& e) {
      if (on_failure_ == OnCaptureFailure::kThrow) throw;
      log_warn("{}; running it eagerly from now on", e.what());
      eager_after_failure_ = true;
      now.inputs.clear();  // the static buffers are no longer needed
      return now.function(inputs);
    }
  }
  now.graph->replay();
  now.replayed = true;
#else
  (void)on_failure_;  // nothing is captured without CUDA
  (void)setting_;
#endif
  return now.output.clone();
}

}  // namespace diffuse::kernels
