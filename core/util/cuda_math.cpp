#include "util/cuda_math.h"

#include <mutex>

#include <ATen/Context.h>

namespace diffuse {

void use_reference_cuda_math() {
  static std::once_flag once;
  std::call_once(once, [] {
    at::Context& context = at::globalContext();
    context.setAllowTF32CuDNN(false);
    context.setAllowTF32CuBLAS(false);
    context.setAllowFP16ReductionCuBLAS(false);
    context.setBenchmarkCuDNN(true);
  });
}

}  // namespace diffuse
