#include "metrics/sliced_wasserstein.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "util/error.h"
#include "util/seed.h"

namespace diffuse {
namespace {

// `count` patches [count, C·p·p] at random positions, `per_image` from each of the first images.
at::Tensor random_patches(const at::Tensor& images, int64_t images_used, int64_t per_image, int64_t p,
                          at::Generator& generator) {
  const int64_t h = images.size(2), w = images.size(3);
  const at::Tensor ys = at::randint(h - p + 1, {images_used, per_image}, generator, at::kLong);
  const at::Tensor xs = at::randint(w - p + 1, {images_used, per_image}, generator, at::kLong);
  const auto y = ys.accessor<int64_t, 2>();
  const auto x = xs.accessor<int64_t, 2>();
  std::vector<at::Tensor> patches;
  patches.reserve(static_cast<size_t>(images_used * per_image));
  for (int64_t i = 0; i < images_used; ++i) {
    const at::Tensor image = images[i];
    for (int64_t j = 0; j < per_image; ++j) {
      patches.push_back(image.narrow(1, y[i][j], p).narrow(2, x[i][j], p).reshape({-1}));
    }
  }
  return at::stack(patches);
}

}  // namespace

double sliced_wasserstein(const at::Tensor& a, const at::Tensor& b, const SlicedWassersteinOptions& options) {
  if (!a.defined() || !b.defined() || a.dim() != 4 || b.dim() != 4 || a.size(0) < 1 || b.size(0) < 1 ||
      a.sizes().slice(1) != b.sizes().slice(1)) {
    fail(ErrorCode::kInvalidArgument, "sliced_wasserstein: image sets must be [N, C, H, W] of the same C, H, W");
  }
  const int64_t p = options.patch_size;
  if (p < 1 || a.size(2) < p || a.size(3) < p) {
    fail(ErrorCode::kInvalidArgument, "sliced_wasserstein: images of {}x{} are smaller than {}x{} patches", a.size(2),
         a.size(3), p, p);
  }
  if (options.patches_per_image < 1 || options.projections < 1) {
    fail(ErrorCode::kInvalidArgument, "sliced_wasserstein: patches_per_image and projections must be >= 1");
  }
  const at::Tensor x = a.to(at::kCPU, at::kDouble);
  const at::Tensor y = b.to(at::kCPU, at::kDouble);
  const int64_t used = std::min(x.size(0), y.size(0));
  at::Generator ga = at::make_generator<at::CPUGeneratorImpl>(derive_seed(options.seed, SeedPurpose::kMetrics, 0));
  at::Generator gb = at::make_generator<at::CPUGeneratorImpl>(derive_seed(options.seed, SeedPurpose::kMetrics, 1));
  at::Generator gd = at::make_generator<at::CPUGeneratorImpl>(derive_seed(options.seed, SeedPurpose::kMetrics, 2));
  at::Tensor pa = random_patches(x, used, options.patches_per_image, p, ga);
  at::Tensor pb = random_patches(y, used, options.patches_per_image, p, gb);
  const at::Tensor mean = pa.mean(0);
  const at::Tensor std = pa.std(0).clamp_min(1e-8);
  pa = (pa - mean) / std;
  pb = (pb - mean) / std;
  at::Tensor directions = at::randn({pa.size(1), options.projections}, gd, at::kDouble);
  directions = directions / directions.norm(2, 0, true);
  const at::Tensor sa = std::get<0>(at::matmul(pa, directions).sort(0));
  const at::Tensor sb = std::get<0>(at::matmul(pb, directions).sort(0));
  return (sa - sb).abs().mean().item<double>() * 1e3;
}

}  // namespace diffuse
