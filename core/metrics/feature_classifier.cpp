#include "metrics/feature_classifier.h"

#include <cmath>
#include <map>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>
#include <torch/optim/adam.h>

#include "io/safetensors.h"
#include "log/log.h"
#include "util/error.h"

namespace diffuse {
namespace {

constexpr int64_t kWidths[3] = {16, 32, 64};
constexpr const char* kFormat = "diffuse-feature-classifier";

torch::nn::Conv2d conv3x3(int64_t in, int64_t out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1));
}

at::Tensor encode(const at::Tensor& images) {
  return images.scalar_type() == at::kByte ? images.to(at::kFloat).div(127.5).sub(1) : images.to(at::kFloat);
}

}  // namespace

FeatureClassifierImpl::FeatureClassifierImpl(int64_t channels, int64_t classes) : channels_(channels), classes_(classes) {
  torch::nn::Sequential body;
  int64_t in = channels;
  for (int stage = 0; stage < 3; ++stage) {
    if (stage > 0) body->push_back(torch::nn::AvgPool2d(2));
    body->push_back(conv3x3(in, kWidths[stage]));
    body->push_back(torch::nn::SiLU());
    body->push_back(conv3x3(kWidths[stage], kWidths[stage]));
    body->push_back(torch::nn::SiLU());
    in = kWidths[stage];
  }
  body_ = register_module("body", body);
  head_ = register_module("head", torch::nn::Linear(kWidths[2], classes));
}

at::Tensor FeatureClassifierImpl::features(const at::Tensor& images) {
  return body_->forward(classifier_input(images)).mean({2, 3});
}

at::Tensor FeatureClassifierImpl::forward(const at::Tensor& images) { return head_->forward(features(images)); }

at::Tensor classifier_input(const at::Tensor& images) {
  const at::Tensor x = encode(images);
  if (x.size(2) == 32 && x.size(3) == 32) return x;
  if (x.size(2) == 28 && x.size(3) == 28) return at::constant_pad_nd(x, {2, 2, 2, 2}, -1.0);
  return at::upsample_bilinear2d(x, {32, 32}, false);
}

FeatureClassifier train_feature_classifier(const at::Tensor& images, const at::Tensor& labels, int64_t classes,
                                           const ClassifierTraining& options) {
  if (images.dim() != 4 || labels.dim() != 1 || labels.size(0) != images.size(0) || images.size(0) == 0) {
    fail(ErrorCode::kInvalidArgument, "train_feature_classifier: images [N, C, H, W] and labels [N] expected");
  }
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  FeatureClassifier net(images.size(1), classes);
  {
    // Reproducible initialisation: every weight redrawn from the seeded generator (PyTorch's default
    // uniform ±1/√fan_in).
    at::NoGradGuard no_grad;
    for (auto& p : net->parameters()) {
      const int64_t fan_in = p.dim() > 1 ? p[0].numel() : p.numel();
      const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
      p.uniform_(-bound, bound, generator);
    }
  }
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(options.learning_rate));
  const int64_t n = images.size(0);
  const int64_t steps_per_epoch = (n + options.batch_size - 1) / options.batch_size;
  const double total_steps = static_cast<double>(options.epochs * steps_per_epoch);
  int64_t step = 0;
  for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    net->train();
    const at::Tensor order = at::randperm(n, generator, at::kLong);
    double loss_sum = 0;
    int64_t batches = 0;
    for (int64_t begin = 0; begin < n; begin += options.batch_size) {
      const at::Tensor index = order.narrow(0, begin, std::min(options.batch_size, n - begin));
      const at::Tensor loss = at::cross_entropy_loss(net->forward(images.index_select(0, index)), labels.index_select(0, index));
      // Linear decay to 0 over the whole training: a settled network without tuning a schedule.
      static_cast<torch::optim::AdamOptions&>(optimizer.param_groups()[0].options())
          .lr(options.learning_rate * (1 - static_cast<double>(step++) / total_steps));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    log_info("feature classifier: epoch {} of {}, mean loss {:.4f}", epoch + 1, options.epochs, loss_sum / batches);
  }
  net->eval();
  return net;
}

at::Tensor classifier_features(FeatureClassifier& net, const at::Tensor& images, int64_t batch_size) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> parts;
  for (int64_t begin = 0; begin < images.size(0); begin += batch_size) {
    parts.push_back(net->features(images.narrow(0, begin, std::min(batch_size, images.size(0) - begin))));
  }
  return at::cat(parts);
}

double classifier_accuracy(FeatureClassifier& net, const at::Tensor& images, const at::Tensor& labels) {
  at::NoGradGuard no_grad;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < images.size(0); begin += 256) {
    const int64_t len = std::min<int64_t>(256, images.size(0) - begin);
    const at::Tensor predicted = net->forward(images.narrow(0, begin, len)).argmax(1);
    correct += predicted.eq(labels.narrow(0, begin, len)).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(images.size(0));
}

void save_feature_classifier(FeatureClassifier& net, const std::string& path,
                             const std::map<std::string, std::string>& extra) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& item : net->named_parameters()) tensors.emplace_back(item.key(), item.value().detach());
  std::map<std::string, std::string> metadata = extra;
  metadata["format"] = kFormat;
  metadata["channels"] = std::to_string(net->channels());
  metadata["classes"] = std::to_string(net->classes());
  write_safetensors(path, tensors, metadata);
}

FeatureClassifier load_feature_classifier(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  const auto format = meta.find("format");
  if (format == meta.end() || format->second != kFormat || !meta.count("channels") || !meta.count("classes")) {
    fail(ErrorCode::kCorruptFile, "{}: not a feature classifier (metadata format != {})", path, kFormat);
  }
  FeatureClassifier net(std::stoll(meta.at("channels")), std::stoll(meta.at("classes")));
  at::NoGradGuard no_grad;
  for (auto& item : net->named_parameters()) {
    if (!file.contains(item.key())) fail(ErrorCode::kCorruptFile, "{}: tensor {} is missing", path, item.key());
    const at::Tensor t = file.read(item.key());
    if (!t.sizes().equals(item.value().sizes())) {
      fail(ErrorCode::kCorruptFile, "{}: tensor {} has the wrong shape", path, item.key());
    }
    item.value().copy_(t);
  }
  net->eval();
  return net;
}

}  // namespace diffuse
