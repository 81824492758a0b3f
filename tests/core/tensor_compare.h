// Tensor comparison helpers for parity tests.
#pragma once

#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace diffuse::test {

// max |actual − expected| / max |expected| (0/0 = 0): the error relative to the tensor's scale.
inline double max_relative_error(const at::Tensor& actual, const at::Tensor& expected) {
  const at::Tensor a = actual.detach().to(at::kCPU, at::kDouble);
  const at::Tensor e = expected.detach().to(at::kCPU, at::kDouble);
  const double diff = (a - e).abs().max().item<double>();
  const double scale = e.abs().max().item<double>();
  return scale == 0 ? diff : diff / scale;
}

// ‖actual − expected‖₂ / ‖expected‖₂ (0/0 = 0): the error of the tensor as a whole.
inline double relative_l2_error(const at::Tensor& actual, const at::Tensor& expected) {
  const at::Tensor a = actual.detach().to(at::kCPU, at::kDouble);
  const at::Tensor e = expected.detach().to(at::kCPU, at::kDouble);
  const double diff = (a - e).norm().item<double>();
  const double scale = e.norm().item<double>();
  return scale == 0 ? diff : diff / scale;
}

inline ::testing::AssertionResult tensors_close_l2(const std::string& what, const at::Tensor& actual,
                                                   const at::Tensor& expected, double tolerance) {
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure() << what << ": shape " << actual.sizes() << " vs expected "
                                         << expected.sizes();
  }
  const double err = relative_l2_error(actual, expected);
  if (err <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": relative L2 error " << err << " > " << tolerance;
}

inline ::testing::AssertionResult tensors_close(const std::string& what, const at::Tensor& actual,
                                                const at::Tensor& expected, double tolerance) {
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure() << what << ": shape " << actual.sizes() << " vs expected "
                                         << expected.sizes();
  }
  const double err = max_relative_error(actual, expected);
  if (err <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": max relative error " << err << " > " << tolerance;
}

}  // namespace diffuse::test
