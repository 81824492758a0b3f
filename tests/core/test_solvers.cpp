// The solvers of spec solvers.md on data whose ideal denoiser is known in closed form: convergence at
// each deterministic solver's order, the stochastic ones' distribution, the η = 0 reductions, network
// evaluations, per-seed noise streams and guidance at w = 1.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "fixtures.h"
#include "nn/initialize.h"
#include "nn/precond.h"
#include "sample/sampler.h"
#include "test_util.h"

namespace diffuse::solvers_test {
namespace {

const char* name_of(Solver s) {
  switch (s) {
    case Solver::kHeun: return "Heun";
    case Solver::kEuler: return "Euler";
    case Solver::kDpmpp2m: return "DPM++(2M)";
    case Solver::kDpmpp2mSde: return "DPM++(2M) SDE";
    case Solver::kEulerAncestral: return "Euler ancestral";
  }
  return "?";
}

SamplerOptions options_for(Solver solver, int num_steps, double eta = 1) {
  SamplerOptions o;
  o.solver = solver;
  o.num_steps = num_steps;
  o.eta = eta;
  return o;
}

// Data y ~ N(μ, s²) per element: D(x; σ) = μ + s²/(s² + σ²)·(x − μ), and the ODE's solution at σ = 0
// from x(σ_max) is μ + s/√(s² + σ_max²)·(x(σ_max) − μ) (solvers.md §6).
struct Gaussian {
  double mu = 0.3, s = 0.5;
  Denoiser denoiser() const {
    return [m = mu, v = s * s](const at::Tensor& x, double sigma) {
      return ((x.to(at::kDouble) - m) * (v / (v + sigma * sigma)) + m).to(at::kFloat);
    };
  }
  at::Tensor solution(const at::Tensor& x_max, double sigma_max) const {
    return (x_max.to(at::kDouble) - mu) * (s / std::sqrt(s * s + sigma_max * sigma_max)) + mu;
  }
};

// A mixture of two Gaussians per element: the posterior mean is the responsibility-weighted mean of the
// components' own denoisers, a non-linear D.
struct Mixture {
  double weights[2] = {0.4, 0.6}, means[2] = {-0.6, 0.5}, scales[2] = {0.2, 0.3};
  at::Tensor denoise(const at::Tensor& x, double sigma) const {
    at::Tensor log_p[2], mean[2];
    for (int k = 0; k < 2; ++k) {
      const double v = scales[k] * scales[k] + sigma * sigma;
      log_p[k] = -(x - means[k]).square() / (2 * v) - 0.5 * std::log(v) + std::log(weights[k]);
      mean[k] = (x - means[k]) * (scales[k] * scales[k] / v) + means[k];
    }
    const at::Tensor w0 = at::sigmoid(log_p[0] - log_p[1]);
    return w0 * mean[0] + (1 - w0) * mean[1];
  }
  Denoiser denoiser() const {
    return [this](const at::Tensor& x, double sigma) { return denoise(x.to(at::kDouble), sigma).to(at::kFloat); };
  }
  // dx/du = x − D(x; e^u) in u = log σ, integrated in float64 with 4th-order Runge-Kutta from σ_max
  // down to σ = 1e-7, where x equals x(0) far below the solvers' errors.
  at::Tensor solution(const at::Tensor& x_max, double sigma_max) const {
    at::Tensor x = x_max.to(at::kDouble);
    const int n = 1500;
    const double u0 = std::log(sigma_max), u1 = std::log(1e-7), h = (u1 - u0) / n;
    auto f = [&](const at::Tensor& y, double u) { return y - denoise(y, std::exp(u)); };
    for (int i = 0; i < n; ++i) {
      const double u = u0 + i * h;
      const at::Tensor k1 = f(x, u), k2 = f(x + k1 * (h / 2), u + h / 2), k3 = f(x + k2 * (h / 2), u + h / 2),
                       k4 = f(x + k3 * h, u + h);
      x = x + (k1 + 2 * k2 + 2 * k3 + k4) * (h / 6);
    }
    return x;
  }
};

// Slope of log(error) against log(N) (least squares).
double slope(const std::vector<int>& ns, const std::vector<double>& errors) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < ns.size(); ++i) mx += std::log(ns[i]), my += std::log(errors[i]);
  mx /= static_cast<double>(ns.size()), my /= static_cast<double>(ns.size());
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < ns.size(); ++i) {
    const double dx = std::log(ns[i]) - mx;
    sxy += dx * (std::log(errors[i]) - my), sxx += dx * dx;
  }
  return sxy / sxx;
}

at::Tensor unit_noise(int64_t count, uint64_t seed) {
  return at::randn({count, 1, 16, 16}, at::make_generator<at::CPUGeneratorImpl>(seed));
}

template <typename Data>
void expect_order(const Data& data, Solver solver, double order, const std::string& what) {
  const at::Tensor noise = unit_noise(1, 0);  // x(σ_max) = 80·z, 256 values
  const std::vector<int> ns{16, 32, 64, 128};
  std::vector<double> errors;
  const double sigma_max = SamplerOptions{}.sigma_max;
  const at::Tensor exact = data.solution(noise * sigma_max, sigma_max);
  for (int n : ns) {
    const SamplerOptions o = options_for(solver, n, 0);
    const at::Tensor x = edm_sample_with(data.denoiser(), noise, o);
    errors.push_back((x.to(at::kDouble) - exact).abs().max().item<double>());
  }
  const double fitted = slope(ns, errors);
  std::printf("convergence %-8s %-16s slope %6.3f, max error %.3g / %.3g / %.3g / %.3g at N = 16 / 32 / 64 / 128\n",
              what.c_str(), name_of(solver), fitted, errors[0], errors[1], errors[2], errors[3]);
  EXPECT_NEAR(fitted, -order, 0.3) << what << " " << name_of(solver) << ": errors " << errors[0] << " " << errors[1]
                                   << " " << errors[2] << " " << errors[3];
  EXPECT_LT(errors.back(), errors.front()) << what << " " << name_of(solver);
}

TEST(Solvers, DeterministicSolversConvergeAtTheirOrderOnAGaussian) {
  expect_order(Gaussian{}, Solver::kEuler, 1, "Gaussian");
  expect_order(Gaussian{}, Solver::kHeun, 2, "Gaussian");
  expect_order(Gaussian{}, Solver::kDpmpp2m, 2, "Gaussian");
  // η = 0: the stochastic solvers are their deterministic counterparts.
  expect_order(Gaussian{}, Solver::kDpmpp2mSde, 2, "Gaussian");
  expect_order(Gaussian{}, Solver::kEulerAncestral, 1, "Gaussian");
}

TEST(Solvers, DeterministicSolversConvergeAtTheirOrderOnAGaussianMixture) {
  expect_order(Mixture{}, Solver::kEuler, 1, "mixture");
  expect_order(Mixture{}, Solver::kHeun, 2, "mixture");
  expect_order(Mixture{}, Solver::kDpmpp2m, 2, "mixture");
}

TEST(Solvers, LogLinearScheduleSpacesLogSigmaEvenly) {
  SamplerOptions o = options_for(Solver::kDpmpp2m, 5);
  o.schedule = Schedule::kLogLinear;
  const std::vector<double> sigmas = sigma_steps(o);
  ASSERT_EQ(sigmas.size(), 6u);
  EXPECT_DOUBLE_EQ(sigmas[0], 80);
  EXPECT_NEAR(sigmas[4], 0.002, 1e-15);
  EXPECT_EQ(sigmas[5], 0);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(std::log(sigmas[i] / sigmas[i + 1]), std::log(80 / 0.002) / 4, 1e-12);
  o.num_steps = 1;
  EXPECT_EQ(sigma_steps(o), (std::vector<double>{80, 0}));
  // DPM++(2M) converges on it too.
  const at::Tensor noise = unit_noise(1, 0);
  std::vector<double> errors;
  for (int n : {16, 32, 64, 128}) {
    SamplerOptions on = options_for(Solver::kDpmpp2m, n);
    on.schedule = Schedule::kLogLinear;
    const Gaussian data;
    errors.push_back((edm_sample_with(data.denoiser(), noise, on).to(at::kDouble) - data.solution(noise * 80, 80))
                         .abs().max().item<double>());
  }
  EXPECT_NEAR(slope({16, 32, 64, 128}, errors), -2, 0.3);
}

TEST(Solvers, EtaZeroReducesTheStochasticSolversToTheirOdeCounterparts) {
  const at::Tensor noise = unit_noise(2, 3);
  const Mixture data;
  for (const auto& [stochastic, ode] : {std::pair{Solver::kDpmpp2mSde, Solver::kDpmpp2m},
                                        std::pair{Solver::kEulerAncestral, Solver::kEuler}}) {
    const at::Tensor a = edm_sample_with(data.denoiser(), noise, options_for(stochastic, 12, 0));
    const at::Tensor b = edm_sample_with(data.denoiser(), noise, options_for(ode, 12));
    const double scale = b.abs().max().item<double>();
    EXPECT_LE((a - b).abs().max().item<double>(), 1e-6 * scale) << name_of(stochastic);
  }
}

TEST(Solvers, DeterministicSolversRepeatBitForBit) {
  const at::Tensor noise = unit_noise(2, 4);
  const Mixture data;
  for (Solver s : {Solver::kHeun, Solver::kEuler, Solver::kDpmpp2m}) {
    EXPECT_TRUE(at::equal(edm_sample_with(data.denoiser(), noise, options_for(s, 10)),
                          edm_sample_with(data.denoiser(), noise, options_for(s, 10))))
        << name_of(s);
  }
}

// 10⁴ samples (100 images of 100 values) of the Gaussian at σ = 0: mean and variance within a few
// standard errors of μ and s². N is large enough that the discretisation's own bias stays below one
// standard error: Euler ancestral is first order, and its variance recursion for this Gaussian gives
// 0.174 / 0.228 / 0.244 / 0.249 at N = 32 / 128 / 512 / 2048 (s² = 0.25); DPM++(2M) SDE is close at 128.
TEST(Solvers, StochasticSolversSampleTheDataDistribution) {
  const Gaussian data;
  std::vector<uint64_t> seeds(100);
  for (size_t i = 0; i < seeds.size(); ++i) seeds[i] = 1000 + i;
  for (const auto& [s, n_steps] : {std::pair{Solver::kDpmpp2mSde, 128}, std::pair{Solver::kEulerAncestral, 1024}}) {
    SeedGenerators streams(seeds);
    const at::Tensor noise = streams.randn({1, 10, 10});
    const at::Tensor x = edm_sample_with(data.denoiser(), noise, options_for(s, n_steps), &streams).to(at::kDouble);
    const double n = static_cast<double>(x.numel());
    const double mean = x.mean().item<double>(), var = x.var().item<double>();
    EXPECT_NEAR(mean, data.mu, 4 * data.s / std::sqrt(n)) << name_of(s);
    EXPECT_NEAR(var, data.s * data.s, 4 * data.s * data.s * std::sqrt(2 / n)) << name_of(s);
    // The ODE from the same noise keeps the noise's own sample statistics; the SDE does not.
    const at::Tensor ode = edm_sample_with(data.denoiser(), noise, options_for(Solver::kDpmpp2m, 128));
    EXPECT_FALSE(at::allclose(x.to(at::kFloat), ode, 1e-3, 1e-3)) << name_of(s);
  }
}

TEST(Solvers, StochasticSolversNeedNoiseStreams) {
  const at::Tensor noise = unit_noise(1, 0);
  EXPECT_TRUE(test::throws_error([&] { edm_sample_with(Gaussian{}.denoiser(), noise, options_for(Solver::kDpmpp2mSde, 4)); },
                                 ErrorCode::kInvalidArgument, {"noise streams"}));
  EXPECT_NO_THROW(edm_sample_with(Gaussian{}.denoiser(), noise, options_for(Solver::kDpmpp2mSde, 4, 0)));
  SamplerOptions churned = options_for(Solver::kDpmpp2m, 4);
  churned.s_churn = 1;
  EXPECT_TRUE(test::throws_error([&] { validate_sampler_options(churned, nullptr); }, ErrorCode::kInvalidArgument,
                                 {"s_churn", "HEUN and EULER"}));
  SamplerOptions bad_eta = options_for(Solver::kEulerAncestral, 4, 1.5);
  EXPECT_TRUE(test::throws_error([&] { validate_sampler_options(bad_eta, nullptr); }, ErrorCode::kInvalidArgument,
                                 {"eta"}));
}

TEST(Solvers, NetworkEvaluationsPerSolver) {
  const at::Tensor noise = unit_noise(1, 0);
  for (const auto& [solver, n, nfe] : std::vector<std::tuple<Solver, int, int>>{
           {Solver::kHeun, 8, 15}, {Solver::kEuler, 8, 8}, {Solver::kDpmpp2m, 8, 8}, {Solver::kDpmpp2mSde, 8, 8},
           {Solver::kEulerAncestral, 8, 8}, {Solver::kDpmpp2m, 1, 1}}) {
    int calls = 0;
    const Denoiser counting = [&](const at::Tensor& x, double) {
      ++calls;
      return at::zeros_like(x);
    };
    SeedGenerators streams({1});
    const SamplerOptions o = options_for(solver, n);
    edm_sample_with(counting, noise, o, &streams);
    EXPECT_EQ(calls, nfe) << name_of(solver);
    EXPECT_EQ(network_evaluations(o), nfe) << name_of(solver);
  }
}

// A fresh network (out_gain = 0) denoises elementwise, so its images expose every random draw.
Precond elementwise_network() {
  Precond net(test::golden_model_options(test::golden_file("sampler_tiny.safetensors").file));
  initialize_parameters(*net, at::make_generator<at::CPUGeneratorImpl>(5));
  return net;
}

TEST(Solvers, AnImagesNoiseDependsOnlyOnItsSeedAndUnitGuidanceNeverEvaluatesTheGuide) {
  Precond net = elementwise_network();
  Precond poisoned = elementwise_network();
  {
    at::NoGradGuard no_grad;
    for (auto& p : poisoned->parameters()) p.fill_(std::nan(""));
  }
  const std::vector<uint64_t> seeds{10, 11, 12, 13};
  const std::vector<int64_t> labels{1, -1, 3, 4};
  for (Solver s : {Solver::kDpmpp2m, Solver::kDpmpp2mSde, Solver::kEulerAncestral}) {
    SamplerOptions o = options_for(s, 6);
    o.batch_size = 4;
    const at::Tensor whole = sample_images(net, nullptr, seeds, labels, o);
    o.batch_size = 1;
    EXPECT_TRUE(at::equal(sample_images(net, nullptr, seeds, labels, o), whole)) << name_of(s);
    const at::Tensor alone = sample_images(net, nullptr, {12}, {3}, o);
    EXPECT_TRUE(at::equal(alone[0], whole[2])) << name_of(s);
    const at::Tensor guided = sample_images(net, &poisoned, seeds, labels, o);  // w = 1
    EXPECT_TRUE(at::equal(guided, whole)) << name_of(s);
  }
}

}  // namespace
}  // namespace diffuse::solvers_test
