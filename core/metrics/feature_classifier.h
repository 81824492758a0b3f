// The small classifier whose penultimate activations serve as the feature space of FD_cls, KID_cls
// and precision/recall (data README "Measuring sample quality": Inception weights cannot be had
// offline). Trained once per dataset by a reproducible command (tools/train_feature_classifier);
// the Fashion-MNIST weights ship in metrics/.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

namespace diffuse {

// Input: images [N, C, H, W] in [-1, 1], brought to 32×32 first (28×28 is zero-padded by 2 — the
// background is −1 after encoding — other sizes are resized bilinearly). Three stages of two 3×3
// convolutions with SiLU (16, 32, 64 channels; average pooling between stages), global average
// pooling to 64 features, then a linear layer to the class logits.
class FeatureClassifierImpl : public torch::nn::Module {
 public:
  FeatureClassifierImpl(int64_t channels, int64_t classes);

  at::Tensor features(const at::Tensor& images);  // [N, 64]
  at::Tensor forward(const at::Tensor& images);   // logits [N, classes]

  int64_t channels() const { return channels_; }
  int64_t classes() const { return classes_; }

 private:
  int64_t channels_, classes_;
  torch::nn::Sequential body_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(FeatureClassifier);

// 28×28 → zero-padded (value −1) 32×32; other sizes bilinearly resized to 32×32.
at::Tensor classifier_input(const at::Tensor& images);

struct ClassifierTraining {
  int64_t epochs = 6;
  int64_t batch_size = 64;
  double learning_rate = 2e-3;  // decays linearly to 0
  uint64_t seed = 0;
};

// Trains on uint8 images [N, C, H, W] with labels [N] (int64): weights drawn and batches shuffled
// from `seed`, Adam with a linearly decaying rate, cross-entropy; logs the mean loss of each epoch. Returns the network in eval mode.
FeatureClassifier train_feature_classifier(const at::Tensor& images, const at::Tensor& labels, int64_t classes,
                                           const ClassifierTraining& options);

// Fraction of images classified as their label.
double classifier_accuracy(FeatureClassifier& net, const at::Tensor& images, const at::Tensor& labels);

// Penultimate features of uint8 or float images, in batches, without autograd. uint8 images are
// encoded x/127.5 − 1 first.
at::Tensor classifier_features(FeatureClassifier& net, const at::Tensor& images, int64_t batch_size = 256);

// Safetensors with metadata {"format": "diffuse-feature-classifier", "channels", "classes", plus
// `extra`}. load throws Error(kCorruptFile) naming the file for anything else.
void save_feature_classifier(FeatureClassifier& net, const std::string& path,
                             const std::map<std::string, std::string>& extra = {});
FeatureClassifier load_feature_classifier(const std::string& path);

}  // namespace diffuse
