// Adam (not AdamW; spec edm2.md §6): no weight decay, learning rate and β1 given per step. Bias
// correction uses running products of β1 and β2, so it stays exact when β1 changes between steps
// (momentum decay, spec methods.md §5.3); with constant betas it equals 1 − β^t. STOCK bias correction
// is available for parity with LibTorch.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace diffuse {

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.99;
  double eps = 1e-8;
  // true: m̂ = m/(1 − Π β1) (exact under a changing β1); false: m/(1 − β1^t) with the current β1, as
  // LibTorch's Adam does (spec methods.md §5.3).
  bool exact_bias_correction = true;
  // true: each update is a few multi-tensor (_foreach) calls over all parameters, where LibTorch has
  // them (2.x; 1.13 lacks _foreach_lerp_ and loops); false: a loop over the parameters. The same
  // numbers on the CPU, where _foreach loops too; on CUDA a handful of launches instead of ~6 per
  // parameter (test: AdamMultiTensor.*).
  bool multi_tensor = true;
};

class Adam {
 public:
  Adam(std::vector<at::Tensor> params, AdamOptions options);

  // One update of every parameter that has a gradient, with learning rate `lr` and this step's β1.
  void step(double lr, double beta1);
  void step(double lr) { step(lr, options_.beta1); }
  void zero_grad();

  const AdamOptions& options() const { return options_; }
  int64_t step_count() const { return step_count_; }
  double beta1_product() const { return beta1_product_; }  // Π β1 over the steps taken
  double beta2_product() const { return beta2_product_; }
  std::vector<at::Tensor>& exp_avg() { return exp_avg_; }        // first moments, one per parameter
  std::vector<at::Tensor>& exp_avg_sq() { return exp_avg_sq_; }  // second moments
  // Restores the step count and the running products (the moments are restored through the accessors).
  void restore_counters(int64_t step_count, double beta1_product, double beta2_product);

 private:
  std::vector<at::Tensor> params_;
  AdamOptions options_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  int64_t step_count_ = 0;
  double beta1_product_ = 1.0, beta2_product_ = 1.0;
};

}  // namespace diffuse
