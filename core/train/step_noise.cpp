#include "train/step_noise.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "util/error.h"
#include "util/seed.h"

namespace diffuse {
namespace {

// The sub-stream of a step's seed that the image noise draws from.
constexpr uint64_t kImageNoiseStream = 1;

}  // namespace

void fill_step_noise(uint64_t run_seed, int64_t batch_size, int64_t first_position, const at::Tensor& out) {
  const int64_t n = out.size(0), first = first_position % batch_size, nimg = first_position - first;
  if (batch_size < 1 || first_position < 0 || first + n > batch_size || out.scalar_type() != at::kFloat) {
    fail(ErrorCode::kInternal, "step noise: {} float images from position {} do not lie in one step of {} ({})", n,
         first_position, batch_size, c10::toString(out.scalar_type()));
  }
  const uint64_t step_seed = derive_seed(run_seed, SeedPurpose::kStep, static_cast<uint64_t>(nimg));
  const uint64_t stream = mix_seed(step_seed ^ kImageNoiseStream);
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(0);
  for (int64_t i = 0; i < n; ++i) {
    generator.set_current_seed(mix_seed(stream ^ mix_seed(static_cast<uint64_t>(first + i))));
    out[i].normal_(0, 1, generator);
  }
}

}  // namespace diffuse
