// Trains the feature classifier of FD_cls / KID_cls / precision-recall on an IDX dataset and writes
// it with its test accuracy in the metadata. The committed Fashion-MNIST weights were made with
//   build/bin/train_feature_classifier /usr/share/datasets/fashion-mnist metrics/fashion-mnist-classifier.safetensors
// (seed 0, 6 epochs, batch 64, Adam 2e-3 decaying linearly to 0, one thread: the same bits on every run of
// the same build).
#include <cstdio>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "data/dataset.h"
#include "log/log.h"
#include "metrics/feature_classifier.h"
#include "util/error.h"

namespace {

// The whole dataset as uint8 [N, C, H, W] and int64 labels [N].
std::pair<at::Tensor, at::Tensor> load(const std::string& images, const std::string& labels) {
  const auto dataset = diffuse::open_idx_dataset(images, labels);
  std::vector<at::Tensor> xs;
  std::vector<int64_t> ys;
  for (int64_t i = 0; i < dataset->size(); ++i) {
    diffuse::Example e = dataset->get(i);
    xs.push_back(e.image);
    ys.push_back(e.label);
  }
  return {at::stack(xs), at::tensor(ys, at::kLong)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: train_feature_classifier IDX_DIR OUT.safetensors\n"
                         "  IDX_DIR holds {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz\n");
    return 2;
  }
  const std::string dir = argv[1];
  try {
    at::set_num_threads(1);  // one thread: the same bits on every machine
    const auto [train_x, train_y] = load(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz");
    const auto [test_x, test_y] = load(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz");
    const diffuse::ClassifierTraining options;
    diffuse::FeatureClassifier net =
        diffuse::train_feature_classifier(train_x, train_y, train_y.max().item<int64_t>() + 1, options);
    const double accuracy = diffuse::classifier_accuracy(net, test_x, test_y);
    std::printf("test accuracy %.4f on %lld images\n", accuracy, static_cast<long long>(test_x.size(0)));
    char text[32];
    std::snprintf(text, sizeof text, "%.4f", accuracy);
    diffuse::save_feature_classifier(net, argv[2],
                                     {{"test_accuracy", text},
                                      {"dataset", "Fashion-MNIST (train 60000, test 10000)"},
                                      {"training", "seed 0, 6 epochs, batch 64, Adam 2e-3 linear decay, 1 thread"}});
    std::printf("wrote %s\n", argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_feature_classifier: %s\n", e.what());
    return 1;
  }
  return 0;
}
