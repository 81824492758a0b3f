// CUDA-graph replay of fixed-shape calls (core/cuda/graphed_call.h) and the sampler's graphed network
// calls (SamplerOptions::cuda_graphs). On the CPU there is no graph: these check the plumbing a graph
// relies on (the warm-up call, the static input buffers, outputs that later calls do not overwrite, a
// new signature starting over) and that the sampler gives the same images bit for bit through it.
// With a CUDA device present the same tests capture and replay real graphs (device-check's core suite).
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "cuda/graphed_call.h"
#include "io/safetensors.h"
#include "nn/precond.h"
#include "nn/state_dict.h"
#include "sample/sampler.h"
#include "sample/sampler_config.h"
#include "fixtures.h"
#include "test_util.h"
#include "util/error.h"

namespace diffuse::graphed_call_test {
namespace {

using kernels::GraphedCall;

class GraphedCallTest : public ::testing::TestWithParam<std::string> {
 protected:
  at::Device device() const { return at::Device(GetParam()); }
  bool graphs() const { return GraphedCall::has_graphs(device()); }
  at::Tensor values(at::IntArrayRef shape, uint64_t seed) const {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    return at::randn(shape, gen).to(device());
  }
};

// f(x, s) = x·s + 1, seen through a counter of eager runs and the input storage each one read.
struct Recorder {
  int runs = 0;
  std::vector<const void*> read;
  GraphedCall::Function function() {
    return [this](const std::vector<at::Tensor>& in) {
      ++runs;
      read.push_back(in[0].data_ptr());
      return in[0] * in[1] + 1;
    };
  }
};

TEST_P(GraphedCallTest, EveryCallReturnsTheFunctionOfItsOwnInputs) {
  Recorder recorder;
  GraphedCall call(recorder.function(), "test.cuda_graphs");
  std::vector<at::Tensor> outputs, expected;
  for (uint64_t i = 0; i < 4; ++i) {
    const at::Tensor x = values({3, 5}, i), s = values({}, 100 + i);
    outputs.push_back(call({x, s}));
    expected.push_back(x * s + 1);
    EXPECT_EQ(call.replayed(), graphs() && i > 0) << "call " << i;
  }
  // Each output is the tensor's own: the later calls (one graph output buffer) did not overwrite it.
  for (size_t i = 0; i < outputs.size(); ++i) EXPECT_TRUE(at::equal(outputs[i], expected[i])) << "call " << i;
  // One eager warm-up, then one capture (a graph) or one run per call on the static buffers.
  EXPECT_EQ(recorder.runs, graphs() ? 2 : 4);
}

TEST_P(GraphedCallTest, CallsAfterTheFirstReadTheStaticBuffersNotTheCallersTensors) {
  Recorder recorder;
  GraphedCall call(recorder.function(), "test.cuda_graphs");
  const at::Tensor x0 = values({2, 2}, 1), x1 = values({2, 2}, 2), s = values({}, 3);
  call({x0, s});
  call({x1, s});
  ASSERT_EQ(recorder.read.size(), 2u);
  EXPECT_EQ(recorder.read[0], x0.data_ptr());  // the warm-up runs on the caller's tensors
  EXPECT_NE(recorder.read[1], x1.data_ptr());  // the capture on buffers of its own
  if (!graphs()) {
    call({x0, s});
    ASSERT_EQ(recorder.read.size(), 3u);
    EXPECT_EQ(recorder.read[2], recorder.read[1]);  // the same buffers every time
  }
}

TEST_P(GraphedCallTest, ANewSignatureStartsOverWithAnEagerCall) {
  Recorder recorder;
  GraphedCall call(recorder.function(), "test.cuda_graphs");
  const at::Tensor s = values({}, 9);
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{4}, {4}, {6}, {6}, {6}}) {
    const at::Tensor x = values(shape, static_cast<uint64_t>(shape[0]));
    EXPECT_TRUE(at::equal(call({x, s}), x * s + 1));
  }
  EXPECT_EQ(recorder.runs, graphs() ? 4 : 5);  // per shape: warm-up and capture, or one run per call
  // A transposed input of the same shape has other strides: another signature.
  const at::Tensor square = values({3, 3}, 5);
  call({square, s});
  call({square, s});
  const int runs = recorder.runs;
  EXPECT_TRUE(at::equal(call({square.t(), s}), square.t() * s + 1));
  EXPECT_EQ(recorder.runs, runs + 1);
  EXPECT_FALSE(call.replayed());
}

TEST_P(GraphedCallTest, AnUndefinedInputIsRefused) {
  GraphedCall call([](const std::vector<at::Tensor>& in) { return in[0]; }, "test.cuda_graphs");
  try {
    call({values({2}, 1), at::Tensor()});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("input 1 is undefined"), std::string::npos) << e.what();
  }
}

// A function that reads a value back to the host cannot be captured. kThrow names the setting that
// turns the graphs off; kRunEagerly runs that call and every later one eagerly, with the right result.
// On the CPU, which captures nothing, both run it through the static buffers.
TEST_P(GraphedCallTest, AFunctionThatSynchronisesThrowsOrRunsEagerly) {
  const GraphedCall::Function synchronising = [](const std::vector<at::Tensor>& in) {
    return in[0] * in[0].sum().item<double>();
  };
  const at::Tensor x = values({4}, 1);
  const at::Tensor expected = x * x.sum().item<double>();
  GraphedCall throwing(synchronising, "test.cuda_graphs");
  EXPECT_TRUE(at::allclose(throwing({x}), expected));  // the eager warm-up
  if (graphs()) {
    EXPECT_TRUE(test::throws_error([&] { throwing({x}); }, ErrorCode::kInternal,
                                   {"could not be captured as a CUDA graph", "test.cuda_graphs: false"}));
  } else {
    EXPECT_TRUE(at::allclose(throwing({x}), expected));
  }
  GraphedCall eager(synchronising, "test.cuda_graphs", GraphedCall::OnCaptureFailure::kRunEagerly);
  for (uint64_t i = 0; i < 4; ++i) {
    const at::Tensor xi = values({4}, 10 + i);
    EXPECT_TRUE(at::allclose(eager({xi}), xi * xi.sum().item<double>())) << "call " << i;
    EXPECT_FALSE(eager.replayed()) << "call " << i;
    EXPECT_EQ(eager.eager_after_failure(), graphs() && i > 0) << "call " << i;
  }
}

// The golden tiny networks (shared/golden/sampler_tiny.safetensors), 8 Heun steps with guidance and
// churn: the graphed network calls give the eager calls' images bit for bit (the same kernels on the
// same values; on CUDA the same algorithms too, chosen per shape in the warm-up call).
TEST_P(GraphedCallTest, GuidedChurnSamplingGivesTheSameImagesBitForBit) {
  const test::GoldenFile& golden = test::golden_file("sampler_tiny.safetensors");
  const ModelOptions options = test::golden_model_options(golden.file);
  auto load = [&](const std::string& prefix) {
    Precond net(options);
    load_state_dict(*net, golden.tensors, "sampler_tiny.safetensors", prefix);
    net->to(device());
    return net;
  };
  Precond net = load("net."), guide = load("gnet.");
  SamplerOptions sampler;
  sampler.num_steps = 8;
  sampler.guidance = 1.7;
  sampler.s_churn = 10;
  sampler.s_min = 0.05;
  sampler.s_max = 50;
  auto run = [&](bool graphed) {
    sampler.cuda_graphs = graphed;
    const at::Tensor noise = golden["noise"];
    SeedGenerators churn(std::vector<uint64_t>(static_cast<size_t>(noise.size(0)), 7));
    return edm_sample(net, &guide, noise, golden["labels"], sampler, &churn).cpu();
  };
  const at::Tensor eager = run(false), graphed = run(true);
  EXPECT_TRUE(at::equal(eager, graphed)) << "max difference " << (eager - graphed).abs().max().item<double>();
  EXPECT_GT(eager.std().item<double>(), 0.1);  // real images, not a constant
}

INSTANTIATE_TEST_SUITE_P(Devices, GraphedCallTest, ::testing::ValuesIn(test::available_devices()));

TEST(SamplerConfigGraphs, TheFieldSetsTheOptionAndUnsetLeavesItToTheDevice) {
  v1::SamplerConfig c;
  EXPECT_FALSE(resolve_sampler_config(c).cuda_graphs.has_value());
  c.set_cuda_graphs(false);
  EXPECT_EQ(resolve_sampler_config(c).cuda_graphs, std::optional<bool>(false));
  EXPECT_FALSE(GraphedCall::has_graphs(at::Device(at::kCPU)));
}

}  // namespace
}  // namespace diffuse::graphed_call_test
