// Helpers of the noise-distribution tests: resolved noise configs, draws as logSNR, and the analytic
// CDFs of the spec's §2.3 table written out independently of the library.
#pragma once

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "config/proto_format.h"
#include "config/train_config.h"
#include "noise/noise_distribution.h"

namespace diffuse::test {

// A resolved TrainConfig whose noise/loss/optimizer blocks come from `text`.
inline v1::TrainConfig resolved_methods_config(const std::string& text, std::vector<std::string>* warnings = nullptr) {
  const std::string base = R"(
    model { preset: "edm2-img64-xs" img_channels: 1 }
    data { train { format: IDX path: "/x/images.gz" } }
    run { output_dir: "/tmp/run" duration_images: 1000000 }
  )";
  v1::TrainConfig config, extra;
  parse_config(base.data(), base.size(), ConfigFormat::kText, &config);
  parse_config(text.data(), text.size(), ConfigFormat::kText, &extra);
  config.MergeFrom(extra);
  std::vector<std::string> ignored;
  return resolve_train_config(config, warnings ? warnings : &ignored);
}

inline v1::NoiseConfig resolved_noise(const std::string& noise_block) {
  return resolved_methods_config("noise { " + noise_block + " }").noise();
}

inline std::unique_ptr<NoiseDistribution> noise_from(const std::string& noise_block, double sigma_data = 0.5) {
  return make_noise_distribution(resolved_noise(noise_block), sigma_data);
}

inline at::Generator generator_with_seed(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

inline std::vector<double> to_vector(const at::Tensor& t) {
  const at::Tensor d = t.to(at::kDouble).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

// n draws of RAW logSNR λ = −2 ln σ.
inline std::vector<double> draw_lambda(const NoiseDistribution& noise, int64_t n, uint64_t seed,
                                       TrainingProgress progress = {}) {
  std::vector<double> out = to_vector(noise.sample_sigma(n, progress, generator_with_seed(seed), at::kCPU));
  for (double& v : out) v = -2 * std::log(v);
  return out;
}

// §2.3 table, column F(λ).
inline double cosine_cdf(double l) { return 1 - (2 / M_PI) * std::atan(std::exp(-l / 2)); }
inline double cauchy_cdf(double l, double mu, double gamma) { return 0.5 + std::atan((l - mu) / gamma) / M_PI; }
inline double laplace_cdf(double l, double mu, double b) {
  return l < mu ? 0.5 * std::exp((l - mu) / b) : 1 - 0.5 * std::exp(-(l - mu) / b);
}
inline double edm_lambda_cdf(double l, double p_mean, double p_std) {
  return 0.5 * std::erfc(-((l + 2 * p_mean) / (2 * p_std)) / std::sqrt(2.0));
}
inline double fm_ot_cdf(double l) { return 1 / (1 + std::exp(-l / 2)); }

}  // namespace diffuse::test
