// Trains the feature classifier of FD_cls / KID_cls / precision-recall on a labelled dataset (an IDX
// folder, or PNG folders with one sub-folder per class) and writes it with its test accuracy in the
// metadata. The committed Fashion-MNIST weights were made with
//   build/bin/train_feature_classifier /usr/share/datasets/fashion-mnist metrics/fashion-mnist-classifier.safetensors
// (seed 0, 6 epochs, batch 64, Adam 2e-3 decaying linearly to 0, one thread: the same bits on every run of
// the same build; more threads are faster but may change the last bits).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "data/dataset.h"
#include "log/log.h"
#include "metrics/feature_classifier.h"
#include "util/error.h"

namespace {

// The whole dataset as uint8 [N, C, H, W] and int64 labels [N].
std::pair<at::Tensor, at::Tensor> load(const std::shared_ptr<diffuse::Dataset>& dataset) {
  if (dataset->num_classes() < 2)
    throw std::runtime_error(dataset->describe() + ": the classifier needs class labels (at least 2 classes)");
  std::vector<at::Tensor> xs;
  std::vector<int64_t> ys;
  for (int64_t i = 0; i < dataset->size(); ++i) {
    diffuse::Example e = dataset->get(i);
    xs.push_back(e.image);
    ys.push_back(e.label);
  }
  return {at::stack(xs), at::tensor(ys, at::kLong)};
}

int usage() {
  std::fprintf(stderr,
               "usage: train_feature_classifier [--threads N] [--epochs N] IDX_DIR OUT.safetensors\n"
               "       train_feature_classifier [--threads N] [--epochs N] --png TRAIN_DIR TEST_DIR OUT.safetensors\n"
               "  IDX_DIR holds {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz; a PNG folder (or zip\n"
               "  archive of one) has dataset.json labels or one sub-folder per class. --threads: CPU\n"
               "  threads (default 1, the reproducible setting); --epochs: passes over the training set\n"
               "  (default 6).\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  int threads = 1;
  diffuse::ClassifierTraining options;
  while (args.size() >= 2 && (args[0] == "--threads" || args[0] == "--epochs")) {
    const int value = std::atoi(args[1].c_str());
    if (value < 1) return usage();
    if (args[0] == "--threads")
      threads = value;
    else
      options.epochs = value;
    args.erase(args.begin(), args.begin() + 2);
  }
  const bool png = !args.empty() && args[0] == "--png";
  if (png) args.erase(args.begin());
  if (args.size() != (png ? 3u : 2u)) return usage();
  const std::string out = args.back();
  try {
    at::set_num_threads(threads);
    const auto train_set = png ? diffuse::open_png_dataset(args[0])
                               : diffuse::open_idx_dataset(args[0] + "/train-images-idx3-ubyte.gz",
                                                           args[0] + "/train-labels-idx1-ubyte.gz");
    const auto test_set = png ? diffuse::open_png_dataset(args[1])
                              : diffuse::open_idx_dataset(args[0] + "/t10k-images-idx3-ubyte.gz",
                                                          args[0] + "/t10k-labels-idx1-ubyte.gz");
    const auto [train_x, train_y] = load(train_set);
    const auto [test_x, test_y] = load(test_set);
    diffuse::FeatureClassifier net =
        diffuse::train_feature_classifier(train_x, train_y, train_y.max().item<int64_t>() + 1, options);
    const double accuracy = diffuse::classifier_accuracy(net, test_x, test_y);
    std::printf("test accuracy %.4f on %lld images\n", accuracy, static_cast<long long>(test_x.size(0)));
    char text[32];
    std::snprintf(text, sizeof text, "%.4f", accuracy);
    const std::string dataset = train_set->describe() + " (" + std::to_string(train_x.size(0)) + "), test " +
                                test_set->describe() + " (" + std::to_string(test_x.size(0)) + ")";
    diffuse::save_feature_classifier(
        net, out,
        {{"test_accuracy", text},
         {"dataset", dataset},
         {"training", "seed 0, " + std::to_string(options.epochs) + " epochs, batch 64, Adam 2e-3 linear decay, " +
                          std::to_string(threads) + " thread" + (threads == 1 ? "" : "s")}});
    std::printf("wrote %s\n", out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_feature_classifier: %s\n", e.what());
    return 1;
  }
  return 0;
}
