// Tensor comparison helpers for parity tests.
#pragma once

#include <algorithm>
#include <map>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace diffuse::test {

// Largest error seen per report key, printed at the end of the test binary: the parity numbers.
inline std::map<std::string, double>& parity_report() {
  static std::map<std::string, double> report;
  return report;
}

// Records errors of comparisons against the reference's golden tensors (names as in shared/golden),
// grouping the per-parameter ones ("grad.unet..." → "grad").
inline void note_error(const std::string& what, const std::string& metric, double error) {
  const std::string prefix = what.substr(0, what.find('.'));
  std::string key;
  if (prefix == "forced_wn" || prefix == "grad" || prefix == "adam1") {
    key = prefix;
  } else if (prefix == "eval" || prefix == "train" || what.rfind("out_steps", 0) == 0) {
    key = what;
  } else {
    return;
  }
  double& worst = parity_report()[key + " (" + metric + ")"];
  worst = std::max(worst, error);
}

// max |actual − expected| / max |expected| (0/0 = 0): the error relative to the tensor's scale, or to
// min_scale where that is larger (a sum that cancels far below the terms it rounds).
inline double max_relative_error(const at::Tensor& actual, const at::Tensor& expected, double min_scale = 0) {
  const at::Tensor a = actual.detach().to(at::kCPU, at::kDouble);
  const at::Tensor e = expected.detach().to(at::kCPU, at::kDouble);
  const double diff = (a - e).abs().max().item<double>();
  const double scale = std::max(e.abs().max().item<double>(), min_scale);
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
  note_error(what, "rel L2", err);
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
  note_error(what, "max rel", err);
  if (err <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": max relative error " << err << " > " << tolerance;
}

}  // namespace diffuse::test
