#include "metrics/validation_loss.h"

#include <cmath>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include "loss/edm2_loss.h"

namespace diffuse {

std::vector<double> Validator::sigmas() {
  std::vector<double> out;
  for (int i = 0; i < 10; ++i) out.push_back(0.002 * std::pow(80.0 / 0.002, i / 9.0));
  return out;
}

Validator::Validator(at::Tensor images, at::Tensor labels, uint64_t seed, double sigma_data)
    : images_(std::move(images)), labels_(std::move(labels)), seed_(seed), sigma_data_(sigma_data) {}

ValidationResult Validator::evaluate(Precond& net, int64_t batch_size) const {
  at::NoGradGuard no_grad;
  const bool was_training = net->is_training();
  net->eval();
  const at::Device device = net->parameters().front().device();
  ValidationResult result;
  result.sigmas = sigmas();
  const int64_t n = images_.size(0);
  for (size_t s = 0; s < result.sigmas.size(); ++s) {
    const double sigma = result.sigmas[s];
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed_ + s);
    const at::Tensor noise = at::randn(images_.sizes(), generator, at::TensorOptions().dtype(at::kFloat));
    double sum = 0;
    for (int64_t begin = 0; begin < n; begin += batch_size) {
      const int64_t len = std::min(batch_size, n - begin);
      const at::Tensor y = images_.narrow(0, begin, len).to(device);
      const at::Tensor noisy = y + sigma * noise.narrow(0, begin, len).to(device);
      const at::Tensor labels = labels_.defined() ? labels_.narrow(0, begin, len).to(device) : at::Tensor();
      const at::Tensor sigma_t = at::full({len}, sigma, at::TensorOptions().dtype(at::kFloat).device(device));
      const at::Tensor d = net->forward(noisy, sigma_t, labels).denoised;
      sum += (d - y).square().to(at::kDouble).sum().item<double>();
    }
    const double weight = edm_loss_weight(at::tensor(sigma, at::kDouble), sigma_data_).item<double>();
    result.losses.push_back(weight * sum / static_cast<double>(images_.numel()));
  }
  double total = 0;
  for (double l : result.losses) total += l;
  result.mean = total / static_cast<double>(result.losses.size());
  if (was_training) net->train();
  return result;
}

}  // namespace diffuse
