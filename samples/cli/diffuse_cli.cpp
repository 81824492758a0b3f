// The `diffuse` command line, built on the C API (diffuse.h) alone.
//
//   diffuse train CONFIG                    start the run a TrainConfig describes
//   diffuse train --resume RUN              continue a run from its newest checkpoint
//   diffuse train --nproc N CONFIG|--resume RUN   the same, data-parallel over N local processes
//   diffuse sample MODEL --seeds 0-63 --out grid.png [--class K | --class-rows] [--columns N]
//                  [--steps N] [--solver S] [--schedule edm|log-linear] [--eta E]
//                  [--guide MODEL --guidance W] [--device D] [--sampler CONFIG]
//   diffuse phema RUN --sigma-rel 0.05,0.1 --out DIR [--nimg N] [--force] [--fp32]
//   diffuse eval MODEL CONFIG [--device D]  FD_cls, KID_cls, precision/recall, SWD (an EvalConfig)
//   (sample and eval take --nproc N too: the seeds spread over N local processes)
//   diffuse consistency MODEL_A MODEL_B [--seeds 0-63] [--steps N]   similarity of the two models' samples
//   diffuse info FILE                       a model file's config and parameter count
//   diffuse validate-config CONFIG          check a TrainConfig and print it resolved
//
// Config files are text format (.textproto, .txtpb, .pbtxt), JSON (.json) or binary (anything else).
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "diffuse.h"
#include "launch.h"

namespace {

diffuse_trainer* active_trainer = nullptr;
volatile std::sig_atomic_t stop_signal = 0;

void on_sigint(int) {
  // An atomic flag inside the library: safe in a signal handler. The run stops after its current
  // step and writes a checkpoint.
  stop_signal = 1;
  if (active_trainer) diffuse_trainer_request_stop(active_trainer);
}

int usage() {
  std::fputs(
      "usage: diffuse train [--nproc N] CONFIG | train [--nproc N] --resume RUN\n"
      "       diffuse sample [--nproc N] MODEL --seeds A-B[,C...] --out FILE.png [--class K | --class-rows] [--columns N]\n"
      "                      [--steps N] [--solver heun|euler|dpmpp-2m|dpmpp-2m-sde|euler-ancestral]\n"
      "                      [--schedule edm|log-linear] [--eta E] [--guide MODEL --guidance W] [--device D]\n"
      "                      [--sampler CONFIG]\n"
      "       diffuse phema RUN --sigma-rel S[,S...] --out DIR [--nimg N] [--force] [--fp32]\n"
      "       diffuse eval [--nproc N] MODEL EVAL_CONFIG [--device D]\n"
      "       diffuse consistency MODEL_A MODEL_B [--seeds A-B[,C...]] [--steps N]\n"
      "       diffuse info FILE\n"
      "       diffuse validate-config CONFIG\n",
      stderr);
  return 2;
}

int report(const char* what, diffuse_status status) {
  std::fprintf(stderr, "diffuse: %s: %s: %s\n", what, diffuse_status_string(status), diffuse_last_error());
  return 1;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

diffuse_format format_of(const std::string& path) {
  if (ends_with(path, ".json")) return DIFFUSE_FORMAT_JSON;
  if (ends_with(path, ".textproto") || ends_with(path, ".txtpb") || ends_with(path, ".pbtxt")) return DIFFUSE_FORMAT_TEXT;
  return DIFFUSE_FORMAT_BINARY;
}

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "diffuse: cannot read %s\n", path.c_str());
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

// "0-3,7,10-11" → 0 1 2 3 7 10 11.
constexpr unsigned long long kMaxSeeds = 1000000;

// One seed in 0..2^64-1, digits only (strtoull would take "-1" as 2^64-1).
bool parse_seed(const char* text, const char** end, unsigned long long* value) {
  if (*text < '0' || *text > '9') return false;
  errno = 0;
  char* stop = nullptr;
  *value = std::strtoull(text, &stop, 10);
  *end = stop;
  return errno == 0;
}

// "0-63", "5", "1,7,10-12": at most kMaxSeeds seeds in all. On failure *why says what is wrong.
bool parse_seeds(const std::string& text, std::vector<uint64_t>* seeds, std::string* why) {
  std::stringstream ss(text);
  std::string part;
  seeds->clear();
  while (std::getline(ss, part, ',')) {
    const char* end = nullptr;
    unsigned long long a = 0, b = 0;
    if (!parse_seed(part.c_str(), &end, &a)) {
      *why = "'" + part + "' is not a seed (0 to 18446744073709551615) or a range A-B";
      return false;
    }
    b = a;
    if (*end == '-' && !parse_seed(end + 1, &end, &b)) {
      *why = "'" + part + "' is not a range A-B of seeds (0 to 18446744073709551615)";
      return false;
    }
    if (*end != '\0') {
      *why = "'" + part + "' is not a seed or a range A-B";
      return false;
    }
    if (b < a) {
      *why = "the range '" + part + "' ends before it begins";
      return false;
    }
    if (b - a >= kMaxSeeds || seeds->size() + (b - a + 1) > kMaxSeeds) {
      *why = "more than " + std::to_string(kMaxSeeds) + " seeds";
      return false;
    }
    for (unsigned long long s = a;; ++s) {  // written so that b = 2^64-1 ends the loop
      seeds->push_back(s);
      if (s == b) break;
    }
  }
  if (seeds->empty()) *why = "no seeds";
  return !seeds->empty();
}

// --seeds VALUE, or an error naming it.
bool seeds_argument(const char* command, const char* value, std::vector<uint64_t>* seeds) {
  std::string why;
  if (parse_seeds(value, seeds, &why)) return true;
  std::fprintf(stderr, "diffuse: %s: --seeds '%s': %s\n", command, value, why.c_str());
  return false;
}

// "0.05,0.1" or an evenly spaced "a,b,...,c" as in the reference (0.010,0.015,...,0.250).
bool parse_floats(const std::string& text, std::vector<double>* values) {
  std::vector<std::string> parts;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) parts.push_back(part);
  if (parts.size() == 4 && parts[2] == "...") {
    const double a = std::atof(parts[0].c_str()), b = std::atof(parts[1].c_str()), c = std::atof(parts[3].c_str());
    const double step = b - a;
    if (!(step > 0) || c < a) return false;
    const long n = std::lround((c - a) / step);
    for (long i = 0; i <= n; ++i) values->push_back(a + static_cast<double>(i) * step);
    return true;
  }
  for (const auto& p : parts) {
    char* end = nullptr;
    values->push_back(std::strtod(p.c_str(), &end));
    if (end == p.c_str() || *end != '\0') return false;
  }
  return !values->empty();
}

std::string duration(double seconds) {
  if (!(seconds > 0) || !std::isfinite(seconds)) return "--";
  const long s = std::lround(seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

// `--nproc N` anywhere after the command: this process becomes the launcher of N workers that run the
// same command line without it. Returns their exit status, or -1 without --nproc.
int launch_if_asked(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--nproc") != 0) continue;
    char* end = nullptr;
    const long nproc = i + 1 < argc ? std::strtol(argv[i + 1], &end, 10) : 0;
    if (i + 1 >= argc || *end != '\0' || nproc < 1 || nproc > 1024) {
      std::fprintf(stderr, "diffuse: %s: --nproc needs a number of processes in 1..1024, got '%s'\n", argv[1],
                   i + 1 < argc ? argv[i + 1] : "");
      return 2;
    }
    std::vector<std::string> worker;
    for (int j = 0; j < argc; ++j) {
      if (j != i && j != i + 1) worker.emplace_back(argv[j]);
    }
    return launch_local_workers(static_cast<int>(nproc), worker, 30.0);
  }
  return -1;
}

// This process's rank when a launcher (--nproc, torchrun, Slurm) started it as one of several.
bool launched_rank(long* rank) {
  const char* value = std::getenv(std::getenv("WORLD_SIZE") ? "RANK" : "SLURM_PROCID");
  if (value == nullptr || (!std::getenv("WORLD_SIZE") && !std::getenv("SLURM_NTASKS"))) return false;
  *rank = std::atol(value);
  return true;
}

// Sampling and evaluation spread over the launch's ranks (diffuse_world_join); false (after
// reporting) when joining failed. *quiet: this rank leaves the printing to rank 0.
bool join_world(bool* quiet) {
  long rank = 0;
  *quiet = false;
  if (!launched_rank(&rank)) return true;
  int joined_rank = 0;
  const diffuse_status status = diffuse_world_join(&joined_rank, nullptr);
  if (status != DIFFUSE_OK) {
    report("--nproc", status);
    return false;
  }
  *quiet = joined_rank != 0;
  return true;
}

int train(int argc, char** argv) {
  if (argc < 3) return usage();
  diffuse_trainer* trainer = nullptr;
  diffuse_status status;
  if (std::strcmp(argv[2], "--resume") == 0) {
    if (argc < 4) return usage();
    status = diffuse_trainer_resume(&trainer, argv[3]);
    if (status != DIFFUSE_OK) return report("resume", status);
  } else {
    std::string config;
    if (!read_file(argv[2], &config)) return 1;
    status = diffuse_trainer_create(&trainer, config.data(), config.size(), format_of(argv[2]));
    if (status != DIFFUSE_OK) return report(argv[2], status);
  }
  active_trainer = trainer;
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);

  // A progress bar on a terminal, plain lines otherwise (logs, CI); in a data-parallel run only rank 0
  // reports progress (the others log to log-rankN.txt in the run directory).
  long rank = 0;
  const bool quiet = launched_rank(&rank) && rank != 0;
  const bool tty = !quiet && isatty(STDOUT_FILENO);
  diffuse_train_status s;
  std::memset(&s, 0, sizeof s);
  s.size = sizeof s;
  long last_line_kimg = -1;
  bool stopped = false;
  for (;;) {
    const int64_t requested = tty ? 4 : 32;
    int64_t taken = 0;
    status = diffuse_trainer_run(trainer, requested, &taken);
    if (status != DIFFUSE_OK) break;
    diffuse_trainer_get_status(trainer, &s);
    const double fraction = s.images_total ? static_cast<double>(s.images_seen) / s.images_total : 0;
    if (tty) {
      const int width = 30, filled = static_cast<int>(fraction * width);
      std::printf("\r[%.*s%*s] %5.1f%%  %.1f/%.1f kimg  loss %.4f  %.0f img/s  ETA %s ", filled,
                  "##############################", width - filled, "", 100 * fraction, s.images_seen / 1000.0,
                  s.images_total / 1000.0, s.loss, s.images_per_second, duration(s.eta_seconds).c_str());
      std::fflush(stdout);
    } else if (!quiet && (s.images_seen / 10000 != last_line_kimg || s.done)) {
      last_line_kimg = s.images_seen / 10000;
      std::printf("%.1f/%.1f kimg  loss %.4f  %.0f img/s  ETA %s\n", s.images_seen / 1000.0, s.images_total / 1000.0,
                  s.loss, s.images_per_second, duration(s.eta_seconds).c_str());
      std::fflush(stdout);
    }
    // Stopped (here or, in a data-parallel run, on another rank): run() wrote a checkpoint.
    stopped = !s.done && taken < requested;
    if (s.done || stopped) break;
  }
  if (tty) std::printf("\n");
  active_trainer = nullptr;
  diffuse_trainer_free(trainer);
  if (status != DIFFUSE_OK) return report("train", status);
  if (quiet) return 0;
  std::printf(s.done ? "done: %.1f kimg\n" : "stopped at %.1f kimg; a checkpoint was written (diffuse train --resume)\n",
              s.images_seen / 1000.0);
  return 0;
}

// The SamplerConfig.Solver name of a --solver value, or "" for an unknown one.
std::string solver_enum(const std::string& name) {
  if (name == "heun") return "HEUN";
  if (name == "euler") return "EULER";
  if (name == "dpmpp-2m") return "DPMPP_2M";
  if (name == "dpmpp-2m-sde") return "DPMPP_2M_SDE";
  if (name == "euler-ancestral") return "EULER_ANCESTRAL";
  return "";
}

int sample(int argc, char** argv) {
  if (argc < 3) return usage();
  const char* model_path = argv[2];
  std::string out, guide_path, device = "cpu", sampler_path;
  std::vector<uint64_t> seeds;
  long klass = -1, columns = 0, steps = -1;
  bool class_rows = false;
  double guidance = 1;
  std::string solver, schedule, eta;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--seeds" && has_value) {
      if (!seeds_argument("sample", argv[++i], &seeds)) return 2;
    } else if (arg == "--out" && has_value) {
      out = argv[++i];
    } else if (arg == "--class" && has_value) {
      klass = std::atol(argv[++i]);
    } else if (arg == "--class-rows") {
      class_rows = true;
    } else if (arg == "--columns" && has_value) {
      columns = std::atol(argv[++i]);
    } else if (arg == "--steps" && has_value) {
      steps = std::atol(argv[++i]);
    } else if (arg == "--guide" && has_value) {
      guide_path = argv[++i];
    } else if (arg == "--guidance" && has_value) {
      guidance = std::atof(argv[++i]);
    } else if (arg == "--device" && has_value) {
      device = argv[++i];
    } else if (arg == "--sampler" && has_value) {
      sampler_path = argv[++i];
    } else if (arg == "--solver" && has_value) {
      solver = solver_enum(argv[++i]);
      if (solver.empty()) return usage();
    } else if (arg == "--schedule" && has_value) {
      schedule = std::strcmp(argv[i + 1], "log-linear") == 0 ? "LOG_LINEAR" : std::strcmp(argv[i + 1], "edm") == 0 ? "EDM_RHO" : "";
      ++i;
      if (schedule.empty()) return usage();
    } else if (arg == "--eta" && has_value) {
      eta = argv[++i];
    } else {
      return usage();
    }
  }
  if (seeds.empty()) seeds_argument("sample", "0-63", &seeds);
  if (out.empty()) return usage();
  bool quiet = false;
  if (!join_world(&quiet)) return 1;

  diffuse_model* model = nullptr;
  diffuse_model* guide = nullptr;
  diffuse_status status = diffuse_model_open(&model, model_path, device.c_str(), nullptr, 0, DIFFUSE_FORMAT_TEXT);
  if (status != DIFFUSE_OK) return report(model_path, status);
  if (!guide_path.empty() &&
      (status = diffuse_model_open(&guide, guide_path.c_str(), device.c_str(), nullptr, 0, DIFFUSE_FORMAT_TEXT)) != DIFFUSE_OK) {
    diffuse_model_free(model);
    return report(guide_path.c_str(), status);
  }
  std::string sampler;
  diffuse_format sampler_format = DIFFUSE_FORMAT_TEXT;
  if (!sampler_path.empty()) {
    if (!read_file(sampler_path, &sampler)) return 1;
    sampler_format = format_of(sampler_path);
  } else {
    if (steps > 0) sampler += "num_steps: " + std::to_string(steps) + " ";
    if (guidance != 1) sampler += "guidance: " + std::to_string(guidance) + " ";
    if (!solver.empty()) sampler += "solver: " + solver + " ";
    if (!schedule.empty()) sampler += "schedule: " + schedule + " ";
    if (!eta.empty()) sampler += "eta: " + eta + " ";
  }
  int label_dim = 0;
  diffuse_model_shape(model, nullptr, nullptr, &label_dim);
  if (class_rows && columns == 0) columns = label_dim > 0 ? label_dim : 0;
  std::vector<int64_t> labels(seeds.size(), klass);
  if (class_rows && label_dim > 0) {
    for (size_t i = 0; i < seeds.size(); ++i) labels[i] = static_cast<int64_t>(i / columns) % label_dim;
  }
  diffuse_sampler* handle = nullptr;
  status = diffuse_sampler_create(&handle, model, guide, sampler.data(), sampler.size(), sampler_format);
  if (status == DIFFUSE_OK) {
    status = diffuse_sampler_write_png_grid(handle, seeds.data(), labels.data(), seeds.size(), static_cast<int>(columns),
                                            out.c_str());
  }
  diffuse_sampler_free(handle);
  diffuse_model_free(guide);
  diffuse_model_free(model);
  if (status != DIFFUSE_OK) return report("sample", status);
  if (!quiet) std::printf("wrote %zu samples to %s\n", seeds.size(), out.c_str());
  return 0;
}

int phema(int argc, char** argv) {
  if (argc < 3) return usage();
  const char* run = argv[2];
  std::vector<double> sigma_rels;
  std::string out;
  long long nimg = -1;
  bool force = false, fp16 = true;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--sigma-rel" && has_value) {
      if (!parse_floats(argv[++i], &sigma_rels)) return usage();
    } else if (arg == "--out" && has_value) {
      out = argv[++i];
    } else if (arg == "--nimg" && has_value) {
      nimg = std::atoll(argv[++i]);
    } else if (arg == "--force") {
      force = true;
    } else if (arg == "--fp32") {
      fp16 = false;
    } else {
      return usage();
    }
  }
  if (sigma_rels.empty() || out.empty()) return usage();
  std::vector<double> residuals(sigma_rels.size());
  const diffuse_status status = diffuse_phema_reconstruct(run, sigma_rels.data(), sigma_rels.size(), nimg, 0, force,
                                                          out.c_str(), fp16, residuals.data());
  if (status != DIFFUSE_OK) return report("phema", status);
  for (size_t i = 0; i < sigma_rels.size(); ++i) {
    std::printf("sigma_rel %.3f  profile residual %.3g\n", sigma_rels[i], residuals[i]);
  }
  std::printf("written to %s\n", out.c_str());
  return 0;
}

int info(int argc, char** argv) {
  if (argc != 3) return usage();
  diffuse_model* model = nullptr;
  diffuse_status status = diffuse_model_open(&model, argv[2], "cpu", nullptr, 0, DIFFUSE_FORMAT_TEXT);
  if (status != DIFFUSE_OK) return report(argv[2], status);
  diffuse_buffer config = {nullptr, 0};
  int64_t parameters = 0;
  status = diffuse_model_info(model, DIFFUSE_FORMAT_TEXT, &config, &parameters);
  if (status == DIFFUSE_OK) {
    std::printf("%s\nparameters: %lld\n", static_cast<const char*>(config.data), static_cast<long long>(parameters));
  }
  diffuse_buffer_free(&config);
  diffuse_model_free(model);
  return status == DIFFUSE_OK ? 0 : report("info", status);
}

int validate_config(int argc, char** argv) {
  if (argc != 3) return usage();
  std::string config;
  if (!read_file(argv[2], &config)) return 1;
  diffuse_buffer resolved = {nullptr, 0};
  const diffuse_status status =
      diffuse_train_config_resolve(config.data(), config.size(), format_of(argv[2]), DIFFUSE_FORMAT_TEXT, &resolved);
  if (status != DIFFUSE_OK) return report(argv[2], status);
  std::printf("%s: valid\n%s", argv[2], static_cast<const char*>(resolved.data));
  diffuse_buffer_free(&resolved);
  return 0;
}

}  // namespace

int eval(int argc, char** argv) {
  if (argc != 4 && !(argc == 6 && std::strcmp(argv[4], "--device") == 0)) return usage();
  std::string config;
  if (!read_file(argv[3], &config)) return 1;
  bool quiet = false;
  if (!join_world(&quiet)) return 1;
  diffuse_model* model = nullptr;
  diffuse_status status = diffuse_model_open(&model, argv[2], argc == 6 ? argv[5] : "cpu", nullptr, 0, DIFFUSE_FORMAT_TEXT);
  if (status != DIFFUSE_OK) return report(argv[2], status);
  diffuse_eval_result r;
  std::memset(&r, 0, sizeof r);
  r.size = sizeof r;
  status = diffuse_evaluate(model, config.data(), config.size(), format_of(argv[3]), &r);
  diffuse_model_free(model);
  if (status != DIFFUSE_OK) return report(argv[3], status);
  if (quiet) return 0;
  std::printf("images           %lld\nFD_cls           %.4f\nKID_cls          %.6f\nprecision        %.4f\n"
              "recall           %.4f\nSWD (x1e3)       %.3f\nvalidation loss  %.5f\n",
              static_cast<long long>(r.num_images), r.fd_cls, r.kid_cls, r.precision, r.recall, r.swd,
              r.validation_loss);
  return 0;
}

// The same seeds (and classes, cycling for conditional models) sampled by two models.
int consistency(int argc, char** argv) {
  if (argc < 4) return usage();
  std::vector<uint64_t> seeds;
  long steps = 32;
  for (int i = 4; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seeds" && i + 1 < argc) {
      if (!seeds_argument("consistency", argv[++i], &seeds)) return 2;
    } else if (arg == "--steps" && i + 1 < argc) {
      steps = std::atol(argv[++i]);
    } else {
      return usage();
    }
  }
  if (seeds.empty()) {
    for (uint64_t s = 0; s < 64; ++s) seeds.push_back(s);
  }
  diffuse_model *a = nullptr, *b = nullptr;
  diffuse_status status = diffuse_model_open(&a, argv[2], "cpu", nullptr, 0, DIFFUSE_FORMAT_TEXT);
  if (status != DIFFUSE_OK) return report(argv[2], status);
  status = diffuse_model_open(&b, argv[3], "cpu", nullptr, 0, DIFFUSE_FORMAT_TEXT);
  if (status != DIFFUSE_OK) {
    diffuse_model_free(a);
    return report(argv[3], status);
  }
  int label_dim = 0;
  diffuse_model_shape(a, nullptr, nullptr, &label_dim);
  std::vector<int64_t> labels(seeds.size(), -1);
  for (size_t i = 0; i < labels.size() && label_dim > 0; ++i) labels[i] = static_cast<int64_t>(i % label_dim);
  const std::string config = "num_steps: " + std::to_string(steps);
  double msd = 0, cosine = 0;
  diffuse_sampler* sampler = nullptr;
  status = diffuse_sampler_create(&sampler, a, nullptr, config.data(), config.size(), DIFFUSE_FORMAT_TEXT);
  if (status == DIFFUSE_OK) {
    status = diffuse_consistency(sampler, b, seeds.data(), labels.data(), seeds.size(), &msd, &cosine);
  }
  diffuse_sampler_free(sampler);
  diffuse_model_free(a);
  diffuse_model_free(b);
  if (status != DIFFUSE_OK) return report("consistency", status);
  std::printf("images           %zu\nrelative MSD     %.4f\ncosine           %.4f\n", seeds.size(), msd, cosine);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string command = argv[1];
  if (command == "train" || command == "sample" || command == "eval") {
    const int launched = launch_if_asked(argc, argv);
    if (launched >= 0) return launched;
  }
  if (command == "train") return train(argc, argv);
  if (command == "sample") return sample(argc, argv);
  if (command == "phema") return phema(argc, argv);
  if (command == "info") return info(argc, argv);
  if (command == "eval") return eval(argc, argv);
  if (command == "consistency") return consistency(argc, argv);
  if (command == "validate-config") return validate_config(argc, argv);
  if (command == "--version") {
    std::printf("diffuse %s\n", diffuse_version());
    return 0;
  }
  return usage();
}
