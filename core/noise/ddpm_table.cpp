#include "noise/ddpm_table.h"

#include <algorithm>
#include <cmath>

namespace diffuse {
namespace {

DdpmTable from_betas(const std::vector<double>& betas) {
  DdpmTable t;
  double product = 1;
  for (double beta : betas) {
    product *= 1 - beta;
    t.alpha_bar.push_back(product);
    // ln ᾱ − ln(1 − ᾱ), with log1p keeping precision when ᾱ is close to 0 or 1.
    t.lambda.push_back(std::log(product) - std::log1p(-product));
    t.sigma.push_back(std::sqrt((1 - product) / product));
  }
  return t;
}

}  // namespace

DdpmTable linear_beta_table(int64_t steps, double beta_start, double beta_end) {
  std::vector<double> betas(static_cast<size_t>(steps));
  for (int64_t i = 0; i < steps; ++i) {
    betas[static_cast<size_t>(i)] =
        beta_start + (beta_end - beta_start) * static_cast<double>(i) / static_cast<double>(steps - 1);
  }
  return from_betas(betas);
}

DdpmTable cosine_table(int64_t steps) {
  constexpr double s = 0.008;
  auto f = [&](double t) {
    const double c = std::cos((t / static_cast<double>(steps) + s) / (1 + s) * M_PI / 2);
    return c * c;
  };
  std::vector<double> betas(static_cast<size_t>(steps));
  for (int64_t i = 0; i < steps; ++i) {
    betas[static_cast<size_t>(i)] = std::min(1 - f(static_cast<double>(i + 1)) / f(static_cast<double>(i)), 0.999);
  }
  return from_betas(betas);
}

DdpmTable make_ddpm_table(const v1::DdpmTableConfig& c) {
  if (c.schedule() == v1::DdpmTableConfig::COSINE) return cosine_table(c.steps());
  return linear_beta_table(c.steps(), c.beta_start(), c.beta_end());
}

}  // namespace diffuse
