// Sampling throughput of the diffuse sampler on a CUDA device (bench/gpu/README.md).
//
//   sample_bench [--preset edm2-img64-xs] [--precision fp16|bf16|fp32] [--batch 64] [--steps 32]
//                [--repeats 5] [--warmup 2] [--without cuda-graphs|fused-attention|fused-normalize]...
//
// The network of the preset with its initial weights (sampling cost does not depend on them), class
// labels, deterministic Heun sampling (2·steps − 1 network evaluations) of `batch` images per call,
// timed over `repeats` calls after `warmup` calls. Prints one RESULT line as train_bench does. --without
// turns one of the sampler's speed levers off; the row is then named diffuse-sampler-without-<lever>.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#include "bench_args.h"
#include "config/model_config.h"
#include "config/proto_format.h"
#include "nn/initialize.h"
#include "nn/precond.h"
#include "sample/sampler.h"
#include "util/cuda_math.h"
#include "util/device_memory.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string preset = "edm2-img64-xs";
  std::string precision = "fp16";
  int64_t batch = 64, steps = 32, repeats = 5, warmup = 2;
  bool cuda_graphs = true, fused_attention = true, fused_normalize = true;
  std::string impl = "diffuse-sampler";
};

constexpr char kUsage[] =
    "usage: sample_bench [--preset edm2-img64-xs] [--precision fp16|bf16|fp32] [--batch 64] [--steps 32]\n"
    "                    [--repeats 5] [--warmup 2] [--without cuda-graphs|fused-attention|fused-normalize]...\n"
    "Sampling images/s of the diffuse sampler (deterministic Heun) on CUDA, as one RESULT line\n"
    "(bench/gpu/README.md); --without turns one of the sampler's speed levers off.\n";

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--help" || k == "-h") {
      std::printf("%s", kUsage);
      std::exit(0);
    }
    if (i + 1 >= argc) bench::usage_error("sample_bench", k + " needs a value");
    const std::string v = argv[++i];
    auto count = [&](int64_t least) { return bench::parse_count("sample_bench", k, v, least); };
    if (k == "--preset") a.preset = v;
    else if (k == "--precision") {
      a.precision = v;
      bench::precision_enum("sample_bench", v);  // refuses an unknown one here
    }
    else if (k == "--batch") a.batch = count(1);
    else if (k == "--steps") a.steps = count(1);
    else if (k == "--repeats") a.repeats = count(1);
    else if (k == "--warmup") a.warmup = count(0);
    else if (k == "--without" && (v == "cuda-graphs" || v == "fused-attention" || v == "fused-normalize")) {
      (v == "cuda-graphs" ? a.cuda_graphs : v == "fused-attention" ? a.fused_attention : a.fused_normalize) = false;
      a.impl += "-without-" + v;
    } else {
      bench::usage_error("sample_bench", "unknown argument " + k + (k == "--without" ? " " + v : ""));
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (!torch::cuda::is_available()) {
    std::fprintf(stderr, "sample_bench: no CUDA device\n");
    return 77;
  }
  try {
    using namespace diffuse;
    const std::string precision = bench::precision_enum("sample_bench", a.precision);
    const std::string text = "preset: \"" + a.preset + "\" precision: " + precision;
    v1::ModelConfig config;
    parse_config(text.data(), text.size(), ConfigFormat::kText, &config);
    const ModelOptions options = to_model_options(resolve_model_config(config));
    use_reference_cuda_math();
    const at::Device device(at::kCUDA);
    Precond net(options);
    initialize_parameters(*net, at::make_generator<at::CPUGeneratorImpl>(1));
    net->to(device);
    net->eval();
    net->unet()->set_fused_attention(a.fused_attention && BlockImpl::has_fused_attention());
    net->unet()->set_fused_normalize(a.fused_normalize);

    SamplerOptions sampler;
    sampler.num_steps = static_cast<int>(a.steps);
    sampler.batch_size = a.batch;
    sampler.cuda_graphs = a.cuda_graphs;
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2);
    const at::Tensor noise =
        at::randn({a.batch, options.img_channels, options.img_resolution, options.img_resolution}, gen).to(device);
    std::vector<int64_t> classes(static_cast<size_t>(a.batch));
    for (size_t i = 0; i < classes.size(); ++i) classes[i] = static_cast<int64_t>(i) % std::max<int64_t>(1, options.label_dim);
    const at::Tensor labels = options.label_dim > 0 ? one_hot_labels(classes, options.label_dim).to(device) : at::Tensor();

    at::Tensor images;
    for (int64_t i = 0; i < a.warmup; ++i) images = edm_sample(net, nullptr, noise, labels, sampler);
    torch::cuda::synchronize();
    const auto t0 = Clock::now();
    for (int64_t i = 0; i < a.repeats; ++i) images = edm_sample(net, nullptr, noise, labels, sampler);
    torch::cuda::synchronize();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("RESULT impl=%s precision=%s batch=%lld steps=%lld images_per_s=%.1f ms_per_batch=%.2f "
                "peak_bytes=%lld mean=%.4f\n",
                a.impl.c_str(), a.precision.c_str(), static_cast<long long>(a.batch), static_cast<long long>(a.steps),
                static_cast<double>(a.batch * a.repeats) / s, 1000 * s / static_cast<double>(a.repeats),
                static_cast<long long>(peak_device_memory_bytes(device)), images.mean().item<double>());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sample_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
