#include "nn/mp_fourier.h"

#include <cmath>

#include <ATen/ATen.h>

namespace diffuse {

MPFourierImpl::MPFourierImpl(int64_t num_channels, double bandwidth) {
  freqs_ = register_buffer("freqs", 2 * M_PI * at::randn({num_channels}) * bandwidth);
  phases_ = register_buffer("phases", 2 * M_PI * at::rand({num_channels}));
}

at::Tensor MPFourierImpl::forward(const at::Tensor& x) {
  at::Tensor y = x.to(at::kFloat);
  y = at::outer(y, freqs_.to(at::kFloat)) + phases_.to(at::kFloat);
  return (y.cos() * std::sqrt(2.0)).to(x.scalar_type());
}

}  // namespace diffuse
