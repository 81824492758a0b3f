#include "data/latent_transform.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/ranges.h>

#include "util/error.h"

namespace diffuse {

LatentTransform make_latent_transform(int resolution, const std::vector<double>& raw_mean,
                                      const std::vector<double>& raw_std, double final_std) {
  if (raw_mean.size() != raw_std.size() || raw_mean.empty())
    fail(ErrorCode::kInvalidArgument, "latent transform: {} means and {} standard deviations", raw_mean.size(),
         raw_std.size());
  LatentTransform t;
  t.resolution = resolution;
  t.channels = static_cast<int>(raw_mean.size());
  for (size_t c = 0; c < raw_mean.size(); ++c) {
    // float32 throughout, as np.float32(final_std) / np.float32(raw_std) in the reference.
    const float scale = static_cast<float>(final_std) / static_cast<float>(raw_std[c]);
    t.scale.push_back(scale);
    t.bias.push_back(0.0f - static_cast<float>(raw_mean[c]) * scale);
  }
  return t;
}

at::Tensor transform_latent(const at::Tensor& mean_std, const LatentTransform& t, bool flip, uint64_t noise_seed) {
  const int64_t c = t.channels, r = t.resolution;
  if (mean_std.dim() != 3 || mean_std.size(0) != 2 * c || mean_std.size(1) != r || mean_std.size(2) != r ||
      mean_std.scalar_type() != at::kFloat) {
    fail(ErrorCode::kInvalidArgument,
         "latent of shape [{}] ({}) where the model takes [{}, {}, {}] float (the posterior's {} means, then its {} "
         "standard deviations, of {}×{})",
         fmt::join(mean_std.sizes(), ", "), c10::toString(mean_std.scalar_type()), 2 * c, r, r, c, c, r, r);
  }
  const at::Tensor x = flip ? mean_std.flip({2}) : mean_std;
  const at::Tensor mean = x.narrow(0, 0, c), stddev = x.narrow(0, c, c);
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(noise_seed);
  const at::Tensor eps = at::empty_like(mean, at::MemoryFormat::Contiguous).normal_(0, 1, generator);
  const auto options = at::TensorOptions(at::kFloat);
  const at::Tensor scale = at::tensor(t.scale, options).view({c, 1, 1});
  const at::Tensor bias = at::tensor(t.bias, options).view({c, 1, 1});
  // The reference's order of float32 operations: mean + ε·std, then ·scale, then + bias.
  return (mean + eps * stddev) * scale + bias;
}

}  // namespace diffuse
