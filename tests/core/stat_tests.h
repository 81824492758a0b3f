// Goodness-of-fit tests for the sampler tests: one-sample and two-sample Kolmogorov–Smirnov with the
// asymptotic Kolmogorov distribution, and Pearson's chi-square with its exact p-value (regularised
// upper incomplete gamma function).
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

namespace diffuse::test {

// P(K > x) for the Kolmogorov distribution K = sup|B(t)|.
inline double kolmogorov_sf(double x) {
  if (x <= 0) return 1;
  if (x < 1.18) {
    // Small x: the theta-function form converges fast.
    double sum = 0;
    for (int k = 1; k <= 20; ++k) {
      const double j = 2 * k - 1;
      sum += std::exp(-j * j * M_PI * M_PI / (8 * x * x));
    }
    return 1 - std::sqrt(2 * M_PI) / x * sum;
  }
  double sum = 0;
  for (int k = 1; k <= 100; ++k) sum += (k % 2 ? 1 : -1) * std::exp(-2.0 * k * k * x * x);
  return std::clamp(2 * sum, 0.0, 1.0);
}

struct KsResult {
  double d = 0;  // sup |F_n − F|
  double p = 0;  // asymptotic p-value with Stephens' finite-n correction
};

// `cdf` is right-continuous; `cdf_left` gives its left limit (for distributions with atoms, e.g.
// clamped draws); by default the CDF is continuous.
inline KsResult ks_test(std::vector<double> x, const std::function<double(double)>& cdf,
                        const std::function<double(double)>& cdf_left = nullptr) {
  std::sort(x.begin(), x.end());
  const double n = static_cast<double>(x.size());
  double d = 0;
  for (size_t i = 0; i < x.size();) {
    size_t j = i;
    while (j < x.size() && x[j] == x[i]) ++j;  // ties: one step of the empirical CDF
    const double f = cdf(x[i]), fl = cdf_left ? cdf_left(x[i]) : f;
    d = std::max({d, static_cast<double>(j) / n - f, fl - static_cast<double>(i) / n});
    i = j;
  }
  const double sn = std::sqrt(n);
  return {d, kolmogorov_sf(d * (sn + 0.12 + 0.11 / sn))};
}

inline KsResult ks_two_sample(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  size_t i = 0, j = 0;
  double d = 0;
  while (i < a.size() && j < b.size()) {
    const double v = std::min(a[i], b[j]);
    while (i < a.size() && a[i] == v) ++i;
    while (j < b.size() && b[j] == v) ++j;
    d = std::max(d, std::abs(static_cast<double>(i) / na - static_cast<double>(j) / nb));
  }
  const double ne = std::sqrt(na * nb / (na + nb));
  return {d, kolmogorov_sf(d * (ne + 0.12 + 0.11 / ne))};
}

// Q(a, x) = Γ(a, x)/Γ(a): series for x < a + 1, Lentz continued fraction otherwise.
inline double regularized_gamma_q(double a, double x) {
  if (x <= 0) return 1;
  const double log_prefix = a * std::log(x) - x - std::lgamma(a);
  if (x < a + 1) {
    double term = 1 / a, sum = term;
    for (int n = 1; n < 10000; ++n) {
      term *= x / (a + n);
      sum += term;
      if (term < sum * 1e-16) break;
    }
    return 1 - sum * std::exp(log_prefix);
  }
  const double tiny = 1e-300;
  double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < 10000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1) < 1e-16) break;
  }
  return std::exp(log_prefix) * h;
}

struct ChiSquareResult {
  double statistic = 0;
  int dof = 0;
  double p = 0;
};

// Pearson's test of category counts against probabilities; neighbouring categories are pooled until
// each pool expects at least 20 draws (where the chi-square approximation holds well).
inline ChiSquareResult chi_square_test(const std::vector<int64_t>& counts, const std::vector<double>& probabilities) {
  double n = 0;
  for (int64_t c : counts) n += static_cast<double>(c);
  std::vector<double> observed, expected;
  double o = 0, e = 0;
  for (size_t k = 0; k < counts.size(); ++k) {
    o += static_cast<double>(counts[k]);
    e += probabilities[k] * n;
    if (e >= 20) {
      observed.push_back(o);
      expected.push_back(e);
      o = e = 0;
    }
  }
  if (e > 0 || o > 0) {
    if (expected.empty()) {
      observed.push_back(o);
      expected.push_back(e);
    } else {
      observed.back() += o;
      expected.back() += e;
    }
  }
  ChiSquareResult r;
  for (size_t k = 0; k < observed.size(); ++k) r.statistic += (observed[k] - expected[k]) * (observed[k] - expected[k]) / expected[k];
  r.dof = static_cast<int>(observed.size()) - 1;
  r.p = regularized_gamma_q(r.dof / 2.0, r.statistic / 2.0);
  return r;
}

}  // namespace diffuse::test
