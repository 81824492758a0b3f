#include "sample/sampler_config.h"

#include <cmath>
#include <string>

#include "util/error.h"

namespace diffuse {
namespace {

[[noreturn]] void reject(const char* field, const std::string& why) {
  fail(ErrorCode::kInvalidConfig, "SamplerConfig.{}: {}", field, why);
}

}  // namespace

SamplerOptions resolve_sampler_config(const v1::SamplerConfig& c) {
  SamplerOptions o;
  if (c.has_num_steps()) o.num_steps = c.num_steps();
  if (c.has_sigma_min()) o.sigma_min = c.sigma_min();
  if (c.has_sigma_max()) o.sigma_max = c.sigma_max();
  if (c.has_rho()) o.rho = c.rho();
  if (c.has_solver()) {
    switch (c.solver()) {
      case v1::SamplerConfig::SOLVER_UNSPECIFIED:
      case v1::SamplerConfig::HEUN: o.solver = Solver::kHeun; break;
      case v1::SamplerConfig::EULER: o.solver = Solver::kEuler; break;
      case v1::SamplerConfig::DPMPP_2M: o.solver = Solver::kDpmpp2m; break;
      case v1::SamplerConfig::DPMPP_2M_SDE: o.solver = Solver::kDpmpp2mSde; break;
      case v1::SamplerConfig::EULER_ANCESTRAL: o.solver = Solver::kEulerAncestral; break;
      default: reject("solver", fmt::format("unknown value {}", static_cast<int>(c.solver())));
    }
  }
  if (c.has_schedule()) {
    switch (c.schedule()) {
      case v1::SamplerConfig::SCHEDULE_UNSPECIFIED:
      case v1::SamplerConfig::EDM_RHO: o.schedule = Schedule::kEdmRho; break;
      case v1::SamplerConfig::LOG_LINEAR: o.schedule = Schedule::kLogLinear; break;
      default: reject("schedule", fmt::format("unknown value {}", static_cast<int>(c.schedule())));
    }
  }
  if (c.has_eta()) o.eta = c.eta();
  if (c.has_s_churn()) o.s_churn = c.s_churn();
  if (c.has_s_min()) o.s_min = c.s_min();
  if (c.has_s_max()) o.s_max = c.s_max();
  if (c.has_s_noise()) o.s_noise = c.s_noise();
  if (c.has_guidance()) o.guidance = c.guidance();
  if (c.has_batch_size()) o.batch_size = c.batch_size();
  if (c.has_cpu_workers()) o.cpu_workers = c.cpu_workers();
  if (c.has_cuda_graphs()) o.cuda_graphs = c.cuda_graphs();

  if (o.num_steps < 1) reject("num_steps", fmt::format("{} must be >= 1", o.num_steps));
  if (!(o.sigma_min > 0) || !std::isfinite(o.sigma_min)) reject("sigma_min", fmt::format("{} must be > 0", o.sigma_min));
  if (!(o.sigma_max > o.sigma_min) || !std::isfinite(o.sigma_max)) {
    reject("sigma_max", fmt::format("{} must be finite and > sigma_min {}", o.sigma_max, o.sigma_min));
  }
  if (!(o.rho > 0) || !std::isfinite(o.rho)) reject("rho", fmt::format("{} must be > 0", o.rho));
  if (!(o.s_churn >= 0) || !std::isfinite(o.s_churn)) reject("s_churn", fmt::format("{} must be >= 0", o.s_churn));
  if (std::isnan(o.s_min) || std::isnan(o.s_max) || o.s_min > o.s_max) {
    reject("s_min", fmt::format("[{}, {}] is not a range", o.s_min, o.s_max));
  }
  if (!(o.s_noise >= 0) || !std::isfinite(o.s_noise)) reject("s_noise", fmt::format("{} must be >= 0", o.s_noise));
  if (!std::isfinite(o.guidance)) reject("guidance", fmt::format("{} is not finite", o.guidance));
  if (o.batch_size < 1) reject("batch_size", fmt::format("{} must be >= 1", o.batch_size));
  if (o.cpu_workers < 0) reject("cpu_workers", fmt::format("{} must be >= 0", o.cpu_workers));
  if (!(o.eta >= 0 && o.eta <= 1)) reject("eta", fmt::format("{} is outside [0, 1]", o.eta));
  if (o.s_churn > 0 && o.solver != Solver::kHeun && o.solver != Solver::kEuler) {
    reject("s_churn", "applies to HEUN and EULER only; the other solvers take eta");
  }
  return o;
}

}  // namespace diffuse
