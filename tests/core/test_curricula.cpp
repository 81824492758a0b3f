// Axis 1 curricula (spec methods.md §3, §11 tests 8–20, 33): CLTS SUPPRESS and MIXTURE, and the Kim
// cluster curriculum with its pacing.
#include <algorithm>
#include <cmath>
#include <tuple>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "noise/base_samplers.h"
#include "noise/clts.h"
#include "noise/cluster_curriculum.h"
#include "noise/standard_normal.h"
#include "fixtures.h"
#include "noise_test_util.h"
#include "stat_tests.h"

namespace diffuse::curricula_test {
namespace {

constexpr int64_t kDraws = 100000;

SigmaDensity edm_density(double p_mean, double p_std) {
  return SigmaDensity(LogSnrDensity(LogSnrShape::kNormal, -2 * p_mean, 2 * p_std), 0);
}

CltsOptions clts_defaults() { return CltsOptions{}; }

// ln σ where the table's CDF reaches u (bisection).
double table_quantile(const CltsTable& t, const SigmaDensity& d, double u) {
  double a = -30, b = 30;
  for (int i = 0; i < 200; ++i) {
    const double m = 0.5 * (a + b);
    (t.cdf(d, m) < u ? a : b) = m;
  }
  return 0.5 * (a + b);
}

// F_q(ℓ) = (F0(ℓ) − s·H(ℓ))/(1 − s·H(∞)), H(ℓ) = ∫ h(e^ℓ')p0(ℓ')dℓ' by trapezoid quadrature of the
// analytic density, independent of the library's grid.
struct QuadratureCdf {
  const SigmaDensity& d;
  double s, sigma_data, k;
  double lo = -14, step = 1e-4;
  std::vector<double> h;
  QuadratureCdf(const SigmaDensity& density, double s_, double sd, double k_) : d(density), s(s_), sigma_data(sd), k(k_) {
    const int n = static_cast<int>((-2 * lo) / step);
    h.assign(static_cast<size_t>(n + 1), 0.0);
    auto f = [&](double l) { return clts_easiness(std::exp(l), sigma_data, k) * d.pdf(l); };
    for (int i = 1; i <= n; ++i) h[static_cast<size_t>(i)] = h[static_cast<size_t>(i - 1)] + 0.5 * step * (f(lo + (i - 1) * step) + f(lo + i * step));
  }
  double H(double l) const {
    const double x = std::clamp((l - lo) / step, 0.0, static_cast<double>(h.size() - 1));
    const size_t i = std::min(static_cast<size_t>(x), h.size() - 2);
    return h[i] + (x - static_cast<double>(i)) * (h[i + 1] - h[i]);
  }
  double operator()(double l) const { return (d.cdf(l) - s * H(l)) / (1 - s * h.back()); }
};

TEST(Clts, RampValues) {
  CltsOptions o = clts_defaults();
  EXPECT_NEAR(clts_strength(o, 0.125), 0.125, 1e-12);
  EXPECT_NEAR(clts_strength(o, 0.25), 0.25, 1e-12);
  EXPECT_NEAR(clts_strength(o, 0.5), 0.5, 1e-12);
  EXPECT_NEAR(clts_strength(o, 0.9), 0.5, 1e-12);
  o.s_quantum = 1e-12;
  o.cosine = true;
  EXPECT_NEAR(clts_strength(o, 0.125), 0.0732233, 1e-7);
  EXPECT_NEAR(clts_strength(o, 0.25), 0.25, 1e-12);
  EXPECT_NEAR(clts_strength(o, 0.9), 0.5, 1e-12);
  o.ramp = 0;
  EXPECT_EQ(clts_strength(o, 0), 0.5);
}

TEST(Clts, InactiveIsBitIdenticalToBase) {
  for (const char* base : {"p_mean: -0.4 p_std: 1.0", "distribution: LAPLACE", "distribution: DDPM_UNIFORM"}) {
    const auto plain = test::noise_from(base);
    const auto clts = test::noise_from(std::string(base) + " curriculum: CLTS clts { }");
    at::Generator g1 = test::generator_with_seed(9), g2 = test::generator_with_seed(9);
    EXPECT_TRUE(at::equal(plain->sample_sigma(512, {0, 0}, g1, at::kCPU), clts->sample_sigma(512, {0, 0}, g2, at::kCPU)));
    // Same RNG consumption: the next draws agree too.
    EXPECT_TRUE(at::equal(at::rand({4}, g1), at::rand({4}, g2))) << base;
  }
}

struct Reference {
  const char* name;
  double p_mean, p_std, k, s;
  double mean_h, z, p_le1_base, p_le1, median_base, median;
};

TEST(Clts, NormalisersAndTableMatchReferenceNumbers) {
  const std::vector<Reference> refs = {
      {"img512", -0.4, 1.0, 1, 0.5, 0.588023, 0.705988, 0.655422, 0.735107, 0.670320, 0.527608},
      {"img64", -0.8, 1.6, 1, 0.5, 0.476659, 0.761670, 0.691462, 0.784551, 0.449329, 0.294747},
      {"edm2022", -1.2, 1.2, 1, 0.5, 0.366062, 0.816969, 0.841345, 0.894096, 0.301194, 0.237858},
      {"img512_k2", -0.4, 1.0, 2, 0.5, 0.440450, 0.779775, 0.655422, 0.743624, 0.670320, 0.532006},
      {"img512_s1", -0.4, 1.0, 1, 1.0, 0.588023, 0.411977, 0.655422, 0.928528, 0.670320, 0.333653},
  };
  for (const Reference& r : refs) {
    const SigmaDensity d = edm_density(r.p_mean, r.p_std);
    CltsOptions o = clts_defaults();
    o.exponent = r.k;
    // Quadrature of the analytic density: 𝔼[h] and Z = 1 − s·𝔼[h].
    const QuadratureCdf q(d, r.s, 0.5, r.k);
    EXPECT_NEAR(q.h.back(), r.mean_h, 1e-6) << r.name;
    EXPECT_NEAR(1 - r.s * q.h.back(), r.z, 1e-6) << r.name;
    EXPECT_NEAR(q(0), r.p_le1, 1e-6) << r.name;
    // The sampler's grid table: total weight Z, P(σ ≤ 1) and the median.
    const CltsTable t = build_clts_table(d, o, r.s);
    EXPECT_NEAR(t.total(), r.z, 2e-6) << r.name;
    EXPECT_NEAR(d.cdf(0), r.p_le1_base, 1e-6) << r.name;
    EXPECT_NEAR(t.cdf(d, 0), r.p_le1, 2e-6) << r.name;
    EXPECT_NEAR(std::exp(d.quantile(0.5)), r.median_base, 1e-6) << r.name;
    EXPECT_NEAR(std::exp(table_quantile(t, d, 0.5)), r.median, 2e-6) << r.name;
  }
}

TEST(Clts, InverseCdfDrawsPassKsAgainstQuadratureCdf) {
  const std::vector<std::pair<const char*, std::string>> bases = {
      {"img512", "p_mean: -0.4 p_std: 1.0"}, {"img64", "p_mean: -0.8 p_std: 1.6"}, {"laplace", "distribution: LAPLACE"}};
  for (const auto& [name, text] : bases) {
    const SigmaDensity d = *make_base_noise(test::resolved_noise(text), 0.5).density;
    for (double s : {0.25, 0.5, 1.0}) {
      const auto noise = test::noise_from(text + fmt::format(" curriculum: CLTS clts {{ s_max: {} ramp: 0 }}", s));
      std::vector<double> l = test::draw_lambda(*noise, kDraws, 21);
      for (double& v : l) v = -v / 2;
      const QuadratureCdf cdf(d, s, 0.5, 1);
      const test::KsResult ks = test::ks_test(l, cdf);
      std::printf("[ KS ] CLTS %s s=%.2f: D = %.5f, p = %.4f\n", name, s, ks.d, ks.p);
      EXPECT_GT(ks.p, 0.01) << name << " s " << s;
    }
  }
}

TEST(Clts, RejectionAgreesWithInverseCdfAndAcceptsAtRateZ) {
  const std::string base = "p_mean: -0.4 p_std: 1.0 curriculum: CLTS clts { ramp: 0 ";
  const auto inverse = test::noise_from(base + "}");
  const auto rejection = test::noise_from(base + "method: REJECTION }");
  const test::KsResult ks = test::ks_two_sample(test::draw_lambda(*inverse, kDraws, 1), test::draw_lambda(*rejection, kDraws, 2));
  std::printf("[ KS2 ] CLTS rejection vs inverse CDF: D = %.5f, p = %.4f\n", ks.d, ks.p);
  EXPECT_GT(ks.p, 0.01);
  const auto& r = dynamic_cast<const CltsSuppressNoise&>(*rejection);
  const int64_t before = r.candidates();
  test::draw_lambda(*rejection, kDraws, 3);
  const double drawn = static_cast<double>(r.candidates() - before);
  // Accepted count is n; candidates ~ n/Z. Compare the acceptance rate to Z = 0.705988 (3 standard errors).
  const double rate = static_cast<double>(kDraws) / drawn, se = std::sqrt(0.705988 * (1 - 0.705988) / drawn);
  std::printf("[ rate ] CLTS rejection acceptance %.5f (Z 0.705988, se %.5f)\n", rate, se);
  EXPECT_NEAR(rate, 0.705988, 3 * se);
}

TEST(Clts, TableIsRebuiltOnlyWhenTheQuantisedStrengthChanges) {
  const auto noise = test::noise_from("p_mean: -0.4 p_std: 1.0 curriculum: CLTS clts { }");
  const auto& clts = dynamic_cast<const CltsSuppressNoise&>(*noise);
  at::Generator g = test::generator_with_seed(0);
  clts.sample_sigma(8, {0.1, 0}, g, at::kCPU);
  EXPECT_EQ(clts.table_builds(), 1);
  clts.sample_sigma(8, {0.1 + 1e-5, 0}, g, at::kCPU);  // s moves by 1e-5 < quantum
  EXPECT_EQ(clts.table_builds(), 1);
  clts.sample_sigma(8, {0.6, 0}, g, at::kCPU);
  clts.sample_sigma(8, {0.9, 0}, g, at::kCPU);  // after the ramp: constant
  EXPECT_EQ(clts.table_builds(), 2);
  // A fresh instance (a resumed run) rebuilds the identical table from p alone.
  const auto again = test::noise_from("p_mean: -0.4 p_std: 1.0 curriculum: CLTS clts { }");
  const auto& fresh = dynamic_cast<const CltsSuppressNoise&>(*again);
  EXPECT_EQ(fresh.table_at(0.3).cumulative, clts.table_at(0.3).cumulative);
}

TEST(Clts, DiscreteBaseFollowsTheExactPmf) {
  for (auto [sd, z, mean_t, tail] : {std::tuple{1.0, 0.637757, 429.659, 0.039203}, {0.5, 0.586527, 444.726, 0.042625}}) {
    const auto noise = test::noise_from(fmt::format("distribution: DDPM_UNIFORM curriculum: CLTS clts {{ sigma_data: {} }}", sd));
    const auto& clts = dynamic_cast<const CltsSuppressNoise&>(*noise);
    const std::vector<double>& pmf = clts.pmf_at(0.5);
    const DdpmTable table = linear_beta_table(1000, 1e-4, 0.02);
    double zsum = 0, mean = 0, above = 0;
    for (size_t t = 0; t < 1000; ++t) {
      const double factor = 1 - 0.5 * clts_easiness(table.sigma[t], sd, 1);
      zsum += factor / 1000;
      mean += static_cast<double>(t) * pmf[t];
      if (t >= 950) above += pmf[t];
      if (sd == 1.0) {
        EXPECT_NEAR(pmf[t] * 1000 * 0.637757, 1 - 0.5 * (1 - table.alpha_bar[t]), 2e-6);  // ∝ 1 − s(1 − ᾱ_t)
      }
    }
    EXPECT_NEAR(zsum, z, 1e-6);
    EXPECT_NEAR(mean, mean_t, 1e-3);
    EXPECT_NEAR(above, tail, 1e-6);
  }
}

TEST(Clts, LaplaceBaseReferenceNumbers) {
  const auto noise = test::noise_from("distribution: LAPLACE curriculum: CLTS clts { ramp: 0 sigma_data: 0.5 }");
  const auto& clts = dynamic_cast<const CltsSuppressNoise&>(*noise);
  const SigmaDensity d = *make_base_noise(test::resolved_noise("distribution: LAPLACE"), 0.5).density;
  const CltsTable& t = clts.table_at(1);
  EXPECT_NEAR(t.total(), 0.609853, 2e-6);
  EXPECT_NEAR(1 - t.cdf(d, 0), 0.467569, 2e-6);  // λ < 0 ⇔ ln σ > 0
  EXPECT_NEAR((1 - t.cdf(d, 2)) / 1.379e-4, 1, 1e-3);  // λ < −4 ⇔ ln σ > 2
  std::vector<double> lambda = test::draw_lambda(*noise, kDraws, 8);
  const QuadratureCdf q(d, 0.5, 0.5, 1);
  const test::KsResult ks = test::ks_test(lambda, [&](double l) { return 1 - q(-l / 2); });
  std::printf("[ KS ] Laplace + CLTS: D = %.5f, p = %.4f\n", ks.d, ks.p);
  EXPECT_GT(ks.p, 0.01);
}

TEST(CltsMixture, PmfFollowsTheSpec) {
  const auto noise = test::noise_from("distribution: DDPM_UNIFORM curriculum: CLTS clts { variant: MIXTURE sigma_frac: 0.1 }");
  const auto& mix = dynamic_cast<const CltsMixtureNoise&>(*noise);
  const std::vector<double> uniform = mix.pmf(0);
  for (double p : uniform) EXPECT_DOUBLE_EQ(p, 1e-3);
  const std::vector<double> full = mix.pmf(1);
  double sum = 0;
  for (double p : full) sum += p;
  EXPECT_NEAR(sum, 1, 1e-12);
  EXPECT_EQ(std::max_element(full.begin(), full.end()) - full.begin(), 300);
  for (int d = 1; d <= 300; ++d) EXPECT_NEAR(full[300 - d], full[300 + d], 1e-15) << d;
  // G(t)/ΣG with std 100 at t = 400: relative to the mode e^(−1/2).
  EXPECT_NEAR(full[400] / full[300], std::exp(-0.5), 1e-12);
  for (double p : {0.0, 0.1, 0.25, 0.5, 0.7, 1.0}) EXPECT_LE(mix.weight(p), 1.0);
  EXPECT_NEAR(mix.weight(0.25), 0.5, 1e-12);
  // Draws follow the pmf at p = 0.25 (ω = 0.5).
  const std::vector<double> sigma = test::to_vector(noise->sample_sigma(kDraws, {0.25, 0}, test::generator_with_seed(4), at::kCPU));
  const DdpmTable table = linear_beta_table(1000, 1e-4, 0.02);
  std::vector<int64_t> counts(1000, 0);
  for (double s : sigma) ++counts[static_cast<size_t>(std::lower_bound(table.sigma.begin(), table.sigma.end(), s * (1 - 1e-6)) - table.sigma.begin())];
  const test::ChiSquareResult chi = test::chi_square_test(counts, mix.pmf(0.5));
  std::printf("[ chi2 ] CLTS mixture at p 0.25: p = %.4f\n", chi.p);
  EXPECT_GT(chi.p, 0.01);
}

TEST(Clusters, BoundariesMatchTheSpec) {
  const std::vector<std::tuple<double, double, double, double, double>> rows = {
      {-0.4, 1.0, 0.129399, 0.670320, 3.472426}, {-0.8, 1.6, 0.0323298, 0.449329, 6.244904}, {-1.2, 1.2, 0.0418433, 0.301194, 2.168042}};
  for (auto [mean, std, b1, b10, b19] : rows) {
    const SigmaDensity d = edm_density(mean, std);
    const std::vector<double> b = cluster_boundaries(d, 20);
    ASSERT_EQ(b.size(), 19u);
    EXPECT_NEAR(b[0], b1, 1e-6);
    EXPECT_NEAR(b[9], b10, 1e-6);
    EXPECT_NEAR(b[18], b19, 1e-6);
    for (size_t i = 1; i < b.size(); ++i) EXPECT_NEAR(d.mass(std::log(b[i - 1]), std::log(b[i])), 0.05, 1e-12);
  }
}

TEST(Clusters, StageDrawsFollowTheTruncatedBase) {
  const std::string text = "p_mean: -0.4 p_std: 1.0 curriculum: CLUSTERS clusters { pacing: FIXED fixed_stage_iterations: 10 }";
  const auto noise = test::noise_from(text);
  const SigmaDensity d = edm_density(-0.4, 1.0);
  for (int64_t m : {1, 7, 19}) {
    std::vector<double> l = test::draw_lambda(*noise, kDraws, 40 + m, {0, (m - 1) * 10});
    for (double& v : l) v = -v / 2;
    const double edge = d.quantile(1 - static_cast<double>(m) / 20);  // A_m = [σ^(N−m), ∞)
    const test::KsResult ks = test::ks_test(l, [&](double x) { return x <= edge ? 0.0 : d.mass(edge, x) / d.sf(edge); });
    std::printf("[ KS ] cluster stage %lld: D = %.5f, p = %.4f\n", static_cast<long long>(m), ks.d, ks.p);
    EXPECT_GT(ks.p, 0.01) << m;
    EXPECT_GE(*std::min_element(l.begin(), l.end()), edge - 1e-6);
  }
  // Stage N is the base sampler, bit for bit.
  const auto base = test::noise_from("p_mean: -0.4 p_std: 1.0");
  at::Generator g1 = test::generator_with_seed(5), g2 = test::generator_with_seed(5);
  EXPECT_TRUE(at::equal(noise->sample_sigma(64, {0, 190}, g1, at::kCPU), base->sample_sigma(64, {0, 190}, g2, at::kCPU)));
}

TEST(Clusters, EqualLogWidthStagesStartAtTheirEdge) {
  const auto noise = test::noise_from("distribution: LAPLACE laplace_b: 2 curriculum: CLUSTERS clusters { partition: EQUAL_LOG_WIDTH pacing: FIXED fixed_stage_iterations: 1 num_clusters: 4 }");
  const SigmaDensity d = *make_base_noise(test::resolved_noise("distribution: LAPLACE laplace_b: 2"), 0.5).density;
  const double width = std::log(80 / 0.002) / 4, edge = std::log(0.002) + 2 * width;  // stage 2: clusters 3 and 4
  std::vector<double> l = test::draw_lambda(*noise, kDraws, 6, {0, 1});
  for (double& v : l) v = -v / 2;
  const test::KsResult ks = test::ks_test(l, [&](double x) { return x <= edge ? 0.0 : d.mass(edge, x) / d.sf(edge); });
  EXPECT_GT(ks.p, 0.01);
}

TEST(Clusters, DdpmStagesCoverTheNoisiestIndices) {
  const auto noise = test::noise_from("distribution: DDPM_UNIFORM curriculum: CLUSTERS clusters { pacing: FIXED fixed_stage_iterations: 1 }");
  const DdpmTable table = linear_beta_table(1000, 1e-4, 0.02);
  for (int64_t m : {1, 3}) {
    const std::vector<double> sigma = test::to_vector(noise->sample_sigma(kDraws, {0, m - 1}, test::generator_with_seed(m), at::kCPU));
    const int64_t first = 1000 - 50 * m;
    std::vector<int64_t> counts(static_cast<size_t>(50 * m), 0);
    for (double s : sigma) {
      const int64_t k = std::lower_bound(table.sigma.begin(), table.sigma.end(), s * (1 - 1e-6)) - table.sigma.begin();
      ASSERT_GE(k, first);
      ++counts[static_cast<size_t>(k - first)];
    }
    const test::ChiSquareResult chi = test::chi_square_test(counts, std::vector<double>(counts.size(), 1.0 / static_cast<double>(counts.size())));
    EXPECT_GT(chi.p, 0.01) << m;
  }
}

TEST(Clusters, PlateauWithConstantLossAdvancesEvery201Iterations) {
  PlateauPacer pacer(20, 200, 0.99, 0);
  std::vector<int64_t> stage_start = {1};
  for (int64_t iteration = 1; iteration <= 4000; ++iteration) {
    const int64_t before = pacer.stage();
    pacer.observe(1.0);
    if (pacer.stage() != before) stage_start.push_back(iteration + 1);
  }
  ASSERT_EQ(stage_start.size(), 20u);
  for (size_t m = 1; m <= 20; ++m) EXPECT_EQ(stage_start[m - 1], static_cast<int64_t>(m - 1) * 201 + 1) << m;
  EXPECT_EQ(stage_start.back(), 3820);
}

TEST(Clusters, PlateauNeverAdvancesOnAStrictlyDecreasingLoss) {
  PlateauPacer pacer(20, 5, 0.99, 0);
  for (int i = 0; i < 1000; ++i) pacer.observe(10.0 - 0.001 * i);
  EXPECT_EQ(pacer.stage(), 1);
  // The best loss resets on a stage change: a higher loss in stage 2 counts as an improvement at first.
  PlateauPacer reset(20, 3, 0, 0);
  for (int i = 0; i < 4; ++i) reset.observe(1.0);
  ASSERT_EQ(reset.stage(), 2);
  reset.observe(5.0);  // new stage: best = 5
  reset.observe(4.0);  // improvement
  reset.observe(4.0);
  reset.observe(4.0);
  EXPECT_EQ(reset.stage(), 2);
  reset.observe(4.0);
  EXPECT_EQ(reset.stage(), 3);
}

TEST(Clusters, FixedPacing) {
  ClusterOptions o;
  o.plateau = false;
  EXPECT_EQ(fixed_stage(o, {0, 0}), 1);
  EXPECT_EQ(fixed_stage(o, {0.05, 0}), 10);
  EXPECT_EQ(fixed_stage(o, {0.0999, 0}), 19);
  EXPECT_EQ(fixed_stage(o, {0.1, 0}), 20);
  o.fixed_stage_iterations = 100;
  EXPECT_EQ(fixed_stage(o, {0.9, 250}), 3);
}

TEST(Clusters, StateRoundTripGivesTheSameNextDraws) {
  const std::string text = "p_mean: -0.4 p_std: 1.0 curriculum: CLUSTERS clusters { patience: 3 num_clusters: 5 smoothing: 0 }";
  const auto a = test::noise_from(text);
  for (double loss : {3.0, 2.0, 2.5, 2.5, 2.5, 2.4, 1.0}) a->observe_loss(loss);
  const auto b = test::noise_from(text);
  b->load_state(a->state());
  EXPECT_TRUE(at::equal(a->state(), b->state()));
  EXPECT_EQ(a->status({}).stage, 2);
  at::Generator g1 = test::generator_with_seed(11), g2 = test::generator_with_seed(11);
  EXPECT_TRUE(at::equal(a->sample_sigma(256, {}, g1, at::kCPU), b->sample_sigma(256, {}, g2, at::kCPU)));
  for (double loss : {1.0, 1.0, 1.0, 1.0}) {
    a->observe_loss(loss);
    b->observe_loss(loss);
  }
  EXPECT_TRUE(at::equal(a->state(), b->state()));
  EXPECT_EQ(b->status({}).stage, 3);
  EXPECT_TRUE(test::throws_error([&] { b->load_state(at::zeros({3}, at::kDouble)); }, ErrorCode::kCorruptFile, {"curriculum"}));
}

}  // namespace
}  // namespace diffuse::curricula_test
