// The `diffuse` command line, built on the C API (diffuse.h) alone. `diffuse --help` lists the commands,
// `diffuse COMMAND --help` explains each (the declarations below, samples/cli/command_line.h).
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

#include "command_line.h"
#include "diffuse.h"
#include "launch.h"
#include "npy_file.h"
#include "terminal.h"

namespace {

diffuse_trainer* active_trainer = nullptr;
volatile std::sig_atomic_t stop_signal = 0;

void on_sigint(int) {
  // An atomic flag inside the library: safe in a signal handler. The run stops after its current
  // step and writes a checkpoint.
  stop_signal = 1;
  if (active_trainer) diffuse_trainer_request_stop(active_trainer);
}

using diffuse_cli::Arguments;
using diffuse_cli::Command;
using diffuse_cli::Option;
using diffuse_cli::Parse;
using diffuse_cli::kExitFailed;
using diffuse_cli::kExitOk;
using diffuse_cli::kExitStopped;
using diffuse_cli::kExitUsage;

int report(const char* what, diffuse_status status) {
  std::fprintf(stderr, "diffuse: %s: %s: %s\n", what, diffuse_status_string(status), diffuse_last_error());
  return kExitFailed;
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

// `config` (an EvalConfig read from `path`) with base_dir set to the file's directory, so that its
// relative paths mean what they say wherever diffuse runs; a config that sets base_dir itself, and a
// binary one, go as they are.
std::string with_base_dir(const std::string& config, diffuse_format format, const std::string& path) {
  char* resolved = realpath(path.c_str(), nullptr);
  if (!resolved) return config;
  std::string dir(resolved);
  std::free(resolved);
  dir = dir.substr(0, dir.find_last_of('/') + 1);
  std::string quoted = "\"";
  for (char c : dir) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  if (format == DIFFUSE_FORMAT_TEXT && config.find("base_dir") == std::string::npos) {
    return config + "\nbase_dir: " + quoted + "\n";
  }
  if (format == DIFFUSE_FORMAT_JSON && config.find("base_dir") == std::string::npos &&
      config.find("baseDir") == std::string::npos) {
    const size_t open = config.find('{');
    if (open == std::string::npos) return config;
    const size_t next = config.find_first_not_of(" \t\r\n", open + 1);
    const bool empty = next != std::string::npos && config[next] == '}';
    return config.substr(0, open + 1) + "\"baseDir\": " + quoted + (empty ? "" : ", ") + config.substr(open + 1);
  }
  return config;
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
// same command line without it. Returns their exit status, or -1 without --nproc (or with --help).
int launch_if_asked(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) return -1;
  }
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--nproc") != 0) continue;
    char* end = nullptr;
    const long nproc = i + 1 < argc ? std::strtol(argv[i + 1], &end, 10) : 0;
    if (i + 1 >= argc || *end != '\0' || nproc < 1 || nproc > 1024) {
      std::fprintf(stderr, "diffuse: %s: --nproc needs a number of processes in 1..1024, got '%s'\n", argv[1],
                   i + 1 < argc ? argv[i + 1] : "");
      return kExitUsage;
    }
    std::vector<std::string> worker;
    for (int j = 0; j < argc; ++j) {
      if (j != i && j != i + 1) worker.emplace_back(argv[j]);
    }
    return launch_local_workers(static_cast<int>(nproc), worker, 30.0, kExitStopped);
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

// A config given on the command line: a file when one of that name exists, else the text itself
// (text format), e.g. --sampler 'num_steps: 16 solver: DPMPP_2M'.
bool config_argument(const std::string& value, std::string* bytes, diffuse_format* format) {
  std::ifstream probe(value, std::ios::binary);
  if (probe.good()) {
    *format = format_of(value);
    return read_file(value, bytes);
  }
  *bytes = value;
  *format = DIFFUSE_FORMAT_TEXT;
  return true;
}

// Opens a model file on `device` with the --model-config of `args`, if any.
diffuse_status open_model(const std::string& path, const std::string& device, const Arguments& args,
                          diffuse_model** out) {
  std::string config;
  diffuse_format format = DIFFUSE_FORMAT_TEXT;
  if (args.has("--model-config") && !config_argument(args.get("--model-config"), &config, &format)) {
    return DIFFUSE_E_IO;
  }
  return diffuse_model_open(out, path.c_str(), device.c_str(), config.empty() ? nullptr : config.data(), config.size(),
                            format);
}

const Option kNproc = {"--nproc", "N", "run as N local processes (data-parallel; also torchrun, Slurm)"};
const Option kDevice = {"--device", "D", "cpu (default), cuda or cuda:N"};
const Option kModelConfig = {"--model-config", "CONFIG",
                             "the ModelConfig of a file that carries none (a file, or text: 'preset: \"edm2-img64-s\"')"};

const Command kTrain = {
    "train", "CONFIG | --resume RUN",
    "Starts the run a TrainConfig describes, or continues one from its newest checkpoint.",
    {{"--resume", "RUN", "continue the run in directory RUN exactly where its checkpoint left it"}, kNproc},
    {"diffuse train samples/configs/fashion-mnist-demo.textproto", "diffuse train --resume runs/demo-fashion-mnist",
     "diffuse train --nproc 2 samples/configs/fashion-mnist-demo.textproto"},
    "Ctrl-C or SIGTERM stops the run after its current step with a checkpoint (exit status 3); --resume\n"
    "continues it bit for bit. The run directory holds config.textproto, stats.jsonl, log.txt, the\n"
    "checkpoints, the EMA snapshots, sample grids and TensorBoard event files: tensorboard --logdir\n"
    "runs/ shows the runs under runs/ live (README \"The run directory\", \"TensorBoard\")."};

const Command kSample = {
    "sample", "MODEL",
    "Samples a model file (checkpoint, EMA snapshot, post-hoc output or saved model) into a PNG grid,\n"
    "or into an .npy file of the samples themselves (a latent model's latents, for a VAE to decode).",
    {{"--out", "FILE.png|FILE.npy", "the grid to write, or the samples as float32 [N, C, H, W] (required)"},
     {"--seeds", "A-B[,C...]", "one image per seed (default 0-63); image i depends only on its seed and class"},
     {"--class", "K", "class of every image of a conditional model (default: none, an all-zero label)"},
     {"--class-rows", "", "one class per row, cycling through the classes"},
     {"--columns", "N", "images per row (default ceil(sqrt(count)); with --class-rows the class count)"},
     {"--steps", "N", "sampler steps (default 32)"},
     {"--solver", "S", "heun (default), euler, dpmpp-2m, dpmpp-2m-sde or euler-ancestral"},
     {"--schedule", "S", "edm (default, the rho schedule) or log-linear"},
     {"--eta", "E", "share of fresh noise of the SDE and ancestral solvers, in [0, 1] (default 1)"},
     {"--guide", "MODEL", "a guide model for autoguidance / CFG (with --guidance)"},
     {"--guidance", "W", "guidance weight (default 1: no guide)"},
     {"--cpu-workers", "N", "on the CPU, split each batch over N single-threaded workers (default: one per core; 1: none)"},
     {"--sampler", "CONFIG", "a whole SamplerConfig (a file, or text: 'num_steps: 16 solver: DPMPP_2M')"},
     kModelConfig,
     kDevice,
     kNproc},
    {"diffuse sample runs/demo-fashion-mnist/phema/phema-0.075-0000065.safetensors --seeds 0-99 --class-rows "
     "--out grid.png",
     "diffuse sample MODEL --seeds 0-15 --solver dpmpp-2m --steps 12 --out fast.png",
     "diffuse sample runs/img512/phema/phema-0.100-2147484.safetensors --seeds 0-63 --class 88 --out latents.npy"},
    ""};

const Command kPhema = {
    "phema", "RUN",
    "Post-hoc EMA: reconstructs the EMA of any sigma_rel from a run's EMA snapshots.",
    {{"--sigma-rel", "S[,S...]", "the profiles to reconstruct, each in (0, 0.2886); 'a,b,...,c' for a sweep (required)"},
     {"--out", "DIR", "where phema-<sigma_rel>-<kimg>.safetensors go (required)"},
     {"--nimg", "N", "training time to reconstruct at: a time with snapshots (default the latest)"},
     {"--force", "", "write profiles whose fit residual is above 0.05 too"},
     {"--fp32", "", "write fp32 weights (default fp16)"}},
    {"diffuse phema runs/demo-fashion-mnist --sigma-rel 0.075 --out runs/demo-fashion-mnist/phema",
     "diffuse phema RUN --sigma-rel 0.010,0.015,...,0.250 --out sweep/"},
    "A profile is reconstructed from snapshots of at least two sigma_rels (the run's ema.sigma_rels) at\n"
    "several times; with snapshots at few times the fit residual rises (printed per profile)."};

const Command kEval = {
    "eval", "MODEL EVAL_CONFIG",
    "Measures sample quality against real images: FD_cls, KID_cls, precision/recall, SWD, validation loss.",
    {kModelConfig, kDevice, kNproc},
    {"diffuse eval runs/demo-fashion-mnist/phema/phema-0.075-0000065.safetensors samples/eval/fashion-mnist.textproto"},
    "EVAL_CONFIG is an EvalConfig (schemas/diffuse/v1/diffuse.proto): the reference images, the feature\n"
    "classifier, the number of samples and the sampler. Its relative paths are relative to its own\n"
    "directory; a classifier is also looked for in the installed share/diffuse (e.g.\n"
    "metrics/fashion-mnist-classifier.safetensors). resize defaults to the training run's when the model\n"
    "file's run is found, and a different one is warned about: FD_cls depends on it. KID_cls is the\n"
    "unbiased MMD^2 of the classifier features (cubic kernel) itself; papers often print it x1e3.\n"
    "Progress goes to stderr as log lines, the results to stdout."};

const Command kConsistency = {
    "consistency", "MODEL_A MODEL_B",
    "How alike two models' samples from the same noise are (relative MSD, cosine).",
    {{"--seeds", "A-B[,C...]", "the seeds (default 0-63)"}, {"--steps", "N", "sampler steps (default 32)"}, kDevice},
    {"diffuse consistency runs/a/phema/phema-0.075-0000065.safetensors runs/b/phema/phema-0.075-0000065.safetensors"},
    ""};

const Command kInfo = {"info", "FILE", "Prints a model file's ModelConfig and parameter count.", {kModelConfig},
                       {"diffuse info runs/demo-fashion-mnist/checkpoint-0000065.safetensors"}, ""};

const Command kValidateConfig = {"validate-config", "CONFIG", "Checks a TrainConfig and prints it resolved.", {},
                                 {"diffuse validate-config samples/configs/fashion-mnist-demo.textproto"}, ""};

const std::vector<const Command*> kCommands = {&kTrain, &kSample, &kPhema, &kEval, &kConsistency, &kInfo,
                                               &kValidateConfig};

// Parses the command line of `command` into *args; returns -1 to go on, else the exit status.
int parse(const Command& command, int argc, char** argv, size_t min_positional, size_t max_positional,
          Arguments* args) {
  switch (diffuse_cli::parse_arguments(command, argc, argv, 2, min_positional, max_positional, args)) {
    case Parse::kOk: return -1;
    case Parse::kHelp: return kExitOk;
    default: return kExitUsage;
  }
}

int train(int argc, char** argv) {
  Arguments args;
  if (const int done = parse(kTrain, argc, argv, 0, 1, &args); done >= 0) return done;
  if (args.has("--resume") == !args.positional.empty()) {
    return diffuse_cli::usage_error(kTrain, "give either CONFIG or --resume RUN");
  }
  diffuse_trainer* trainer = nullptr;
  diffuse_status status;
  if (args.has("--resume")) {
    status = diffuse_trainer_resume(&trainer, args.get("--resume").c_str());
    if (status != DIFFUSE_OK) return report("resume", status);
  } else {
    const std::string& path = args.positional[0];
    std::string config;
    if (!read_file(path, &config)) return kExitFailed;
    status = diffuse_trainer_create(&trainer, config.data(), config.size(), format_of(path));
    if (status != DIFFUSE_OK) return report(path.c_str(), status);
  }
  active_trainer = trainer;
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);

  // A progress bar on a terminal (log lines print above it), plain lines otherwise (logs, CI); in a
  // data-parallel run only rank 0 reports progress (the others log to log-rankN.txt in the run directory).
  long rank = 0;
  const bool quiet = launched_rank(&rank) && rank != 0;
  const bool tty = !quiet && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
  diffuse_cli::Terminal terminal(tty);
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
    char line[256];
    if (tty) {
      const int width = 30, filled = static_cast<int>(fraction * width);
      std::snprintf(line, sizeof line, "[%.*s%*s] %5.1f%%  %.1f/%.1f kimg  loss %.4f  %.0f img/s  ETA %s", filled,
                    "##############################", width - filled, "", 100 * fraction, s.images_seen / 1000.0,
                    s.images_total / 1000.0, s.loss, s.images_per_second, duration(s.eta_seconds).c_str());
      terminal.progress(line);
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
  terminal.finish();
  active_trainer = nullptr;
  diffuse_trainer_free(trainer);
  if (status != DIFFUSE_OK) return report("train", status);
  if (!quiet) {
    std::printf(s.done ? "done: %.1f kimg\n" : "stopped at %.1f kimg; a checkpoint was written (diffuse train --resume)\n",
                s.images_seen / 1000.0);
  }
  return stopped ? kExitStopped : kExitOk;
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
  Arguments args;
  if (const int done = parse(kSample, argc, argv, 1, 1, &args); done >= 0) return done;
  const std::string& model_path = args.positional[0];
  if (!args.has("--out")) return diffuse_cli::usage_error(kSample, "--out FILE.png or FILE.npy is required");
  const std::string out = args.get("--out"), device = args.get("--device", "cpu");
  std::vector<uint64_t> seeds;
  if (!seeds_argument("sample", args.get("--seeds", "0-63").c_str(), &seeds)) return kExitUsage;
  long long klass = -1, columns = 0, steps = -1, cpu_workers = 0;
  double guidance = 1, eta = 1;
  if (!diffuse_cli::integer_option(kSample, args, "--class", 0, INT64_MAX, &klass) ||
      !diffuse_cli::integer_option(kSample, args, "--cpu-workers", 1, 4096, &cpu_workers) ||
      !diffuse_cli::integer_option(kSample, args, "--columns", 0, 1 << 20, &columns) ||
      !diffuse_cli::integer_option(kSample, args, "--steps", 1, 10000, &steps) ||
      !diffuse_cli::number_option(kSample, args, "--guidance", 0, 1e6, &guidance) ||
      !diffuse_cli::number_option(kSample, args, "--eta", 0, 1, &eta)) {
    return kExitUsage;
  }
  const std::string solver = args.has("--solver") ? solver_enum(args.get("--solver")) : "";
  if (args.has("--solver") && solver.empty()) {
    return diffuse_cli::usage_error(kSample, "--solver: '" + args.get("--solver") +
                                                 "' is not heun, euler, dpmpp-2m, dpmpp-2m-sde or euler-ancestral");
  }
  const std::string schedule_name = args.get("--schedule");
  const std::string schedule = schedule_name == "log-linear" ? "LOG_LINEAR" : schedule_name == "edm" ? "EDM_RHO" : "";
  if (args.has("--schedule") && schedule.empty()) {
    return diffuse_cli::usage_error(kSample, "--schedule: '" + schedule_name + "' is not edm or log-linear");
  }
  if (args.has("--guidance") != args.has("--guide") && guidance != 1) {
    return diffuse_cli::usage_error(kSample, "--guidance needs --guide MODEL");
  }
  const bool class_rows = args.has("--class-rows");
  bool quiet = false;
  if (!join_world(&quiet)) return kExitFailed;

  diffuse_model* model = nullptr;
  diffuse_model* guide = nullptr;
  diffuse_status status = open_model(model_path, device, args, &model);
  if (status != DIFFUSE_OK) return report(model_path.c_str(), status);
  if (args.has("--guide") && (status = open_model(args.get("--guide"), device, args, &guide)) != DIFFUSE_OK) {
    diffuse_model_free(model);
    return report(args.get("--guide").c_str(), status);
  }
  std::string sampler;
  diffuse_format sampler_format = DIFFUSE_FORMAT_TEXT;
  if (args.has("--sampler")) {
    if (!config_argument(args.get("--sampler"), &sampler, &sampler_format)) return kExitFailed;
  } else {
    if (steps > 0) sampler += "num_steps: " + std::to_string(steps) + " ";
    if (guidance != 1) sampler += "guidance: " + std::to_string(guidance) + " ";
    if (!solver.empty()) sampler += "solver: " + solver + " ";
    if (!schedule.empty()) sampler += "schedule: " + schedule + " ";
    if (args.has("--eta")) sampler += "eta: " + args.get("--eta") + " ";
  }
  if (args.has("--cpu-workers")) {
    if (args.has("--sampler") && sampler_format != DIFFUSE_FORMAT_TEXT) {
      return diffuse_cli::usage_error(kSample, "--cpu-workers with a JSON --sampler: set cpu_workers in it");
    }
    sampler += " cpu_workers: " + std::to_string(cpu_workers);
  }
  int label_dim = 0;
  diffuse_model_shape(model, nullptr, nullptr, &label_dim);
  if (class_rows && columns == 0) columns = label_dim > 0 ? label_dim : 0;
  std::vector<int64_t> labels(seeds.size(), klass);
  if (class_rows && label_dim > 0 && columns > 0) {
    for (size_t i = 0; i < seeds.size(); ++i) labels[i] = static_cast<int64_t>(i / columns) % label_dim;
  }
  int channels = 0, resolution = 0;
  diffuse_model_shape(model, &channels, &resolution, nullptr);
  if (!quiet && channels != 1 && channels != 3 && !ends_with(out, ".npy")) {
    std::fprintf(stderr,
                 "diffuse: note: %s makes %d-channel samples, not gray or RGB images (latents?): the PNG shows "
                 "them as %s; --out FILE.npy writes their values\n",
                 model_path.c_str(), channels, channels == 2 ? "gray+alpha" : "RGBA");
  }
  diffuse_sampler* handle = nullptr;
  diffuse_buffer values{nullptr, 0};
  status = diffuse_sampler_create(&handle, model, guide, sampler.data(), sampler.size(), sampler_format);
  if (status == DIFFUSE_OK && ends_with(out, ".npy")) {
    status = diffuse_sampler_run_to_buffer(handle, seeds.data(), labels.data(), seeds.size(), DIFFUSE_PIXELS_FLOAT32,
                                           &values);
  } else if (status == DIFFUSE_OK) {
    status = diffuse_sampler_write_png_grid(handle, seeds.data(), labels.data(), seeds.size(), static_cast<int>(columns),
                                            out.c_str());
  }
  diffuse_sampler_free(handle);
  diffuse_model_free(guide);
  diffuse_model_free(model);
  if (status != DIFFUSE_OK) return report("sample", status);
  if (values.data != nullptr) {
    // Every rank holds every sample; the first writes them.
    std::string error;
    const bool written = quiet || diffuse_cli::write_npy_float32(
                                      out, static_cast<const float*>(values.data),
                                      {static_cast<int64_t>(seeds.size()), channels, resolution, resolution}, &error);
    diffuse_buffer_free(&values);
    if (!written) {
      std::fprintf(stderr, "diffuse: %s\n", error.c_str());
      return kExitFailed;
    }
  }
  if (!quiet) std::printf("wrote %zu samples to %s\n", seeds.size(), out.c_str());
  return kExitOk;
}

int phema(int argc, char** argv) {
  Arguments args;
  if (const int done = parse(kPhema, argc, argv, 1, 1, &args); done >= 0) return done;
  std::vector<double> sigma_rels;
  if (!args.has("--sigma-rel")) return diffuse_cli::usage_error(kPhema, "--sigma-rel S[,S...] is required");
  if (!parse_floats(args.get("--sigma-rel"), &sigma_rels)) {
    return diffuse_cli::usage_error(kPhema, "--sigma-rel: '" + args.get("--sigma-rel") +
                                                "' is not a list of numbers (0.05,0.1) or a sweep (0.01,0.02,...,0.25)");
  }
  if (!args.has("--out")) return diffuse_cli::usage_error(kPhema, "--out DIR is required");
  long long nimg = -1;
  if (!diffuse_cli::integer_option(kPhema, args, "--nimg", 0, INT64_MAX, &nimg)) return kExitUsage;
  const std::string out = args.get("--out");
  std::vector<double> residuals(sigma_rels.size());
  const diffuse_status status =
      diffuse_phema_reconstruct(args.positional[0].c_str(), sigma_rels.data(), sigma_rels.size(), nimg, 0,
                                args.has("--force"), out.c_str(), !args.has("--fp32"), residuals.data());
  if (status != DIFFUSE_OK) return report("phema", status);
  for (size_t i = 0; i < sigma_rels.size(); ++i) {
    std::printf("sigma_rel %.3f  profile residual %.3g\n", sigma_rels[i], residuals[i]);
  }
  std::printf("written to %s\n", out.c_str());
  return kExitOk;
}

int info(int argc, char** argv) {
  Arguments args;
  if (const int done = parse(kInfo, argc, argv, 1, 1, &args); done >= 0) return done;
  const std::string& path = args.positional[0];
  diffuse_model* model = nullptr;
  diffuse_status status = open_model(path, "cpu", args, &model);
  if (status != DIFFUSE_OK) return report(path.c_str(), status);
  diffuse_buffer config = {nullptr, 0};
  int64_t parameters = 0;
  status = diffuse_model_info(model, DIFFUSE_FORMAT_TEXT, &config, &parameters);
  if (status == DIFFUSE_OK) {
    std::printf("%s\nparameters: %lld\n", static_cast<const char*>(config.data), static_cast<long long>(parameters));
  }
  diffuse_buffer_free(&config);
  diffuse_model_free(model);
  return status == DIFFUSE_OK ? kExitOk : report("info", status);
}

int validate_config(int argc, char** argv) {
  Arguments args;
  if (const int done = parse(kValidateConfig, argc, argv, 1, 1, &args); done >= 0) return done;
  const std::string& path = args.positional[0];
  std::string config;
  if (!read_file(path, &config)) return kExitFailed;
  diffuse_buffer resolved = {nullptr, 0};
  const diffuse_status status =
      diffuse_train_config_resolve(config.data(), config.size(), format_of(path), DIFFUSE_FORMAT_TEXT, &resolved);
  if (status != DIFFUSE_OK) return report(path.c_str(), status);
  std::printf("%s: valid\n%s", path.c_str(), static_cast<const char*>(resolved.data));
  diffuse_buffer_free(&resolved);
  return kExitOk;
}

int eval(int argc, char** argv) {
  Arguments args;
  if (const int done = parse(kEval, argc, argv, 2, 2, &args); done >= 0) return done;
  const std::string &model_path = args.positional[0], &config_path = args.positional[1];
  std::string config;
  if (!read_file(config_path, &config)) return kExitFailed;
  bool quiet = false;
  if (!join_world(&quiet)) return kExitFailed;
  diffuse_model* model = nullptr;
  diffuse_status status = open_model(model_path, args.get("--device", "cpu"), args, &model);
  if (status != DIFFUSE_OK) return report(model_path.c_str(), status);
  diffuse_eval_result r;
  std::memset(&r, 0, sizeof r);
  r.size = sizeof r;
  config = with_base_dir(config, format_of(config_path), config_path);
  status = diffuse_evaluate(model, config.data(), config.size(), format_of(config_path), &r);
  diffuse_model_free(model);
  if (status != DIFFUSE_OK) return report(config_path.c_str(), status);
  if (quiet) return kExitOk;
  std::printf("images           %lld\nFD_cls           %.4f\nKID_cls          %.6f\nprecision        %.4f\n"
              "recall           %.4f\nSWD (x1e3)       %.3f\nvalidation loss  %.5f\n"
              "# KID_cls is the unbiased MMD^2 itself (papers often print it x1e3); SWD is x1e3\n",
              static_cast<long long>(r.num_images), r.fd_cls, r.kid_cls, r.precision, r.recall, r.swd,
              r.validation_loss);
  return kExitOk;
}

// The same seeds (and classes, cycling for conditional models) sampled by two models.
int consistency(int argc, char** argv) {
  Arguments args;
  if (const int done = parse(kConsistency, argc, argv, 2, 2, &args); done >= 0) return done;
  std::vector<uint64_t> seeds;
  if (!seeds_argument("consistency", args.get("--seeds", "0-63").c_str(), &seeds)) return kExitUsage;
  long long steps = 32;
  if (!diffuse_cli::integer_option(kConsistency, args, "--steps", 1, 10000, &steps)) return kExitUsage;
  const std::string device = args.get("--device", "cpu");
  diffuse_model *a = nullptr, *b = nullptr;
  diffuse_status status = open_model(args.positional[0], device, args, &a);
  if (status != DIFFUSE_OK) return report(args.positional[0].c_str(), status);
  status = open_model(args.positional[1], device, args, &b);
  if (status != DIFFUSE_OK) {
    diffuse_model_free(a);
    return report(args.positional[1].c_str(), status);
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
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "--help" || command == "-h" || command == "help") {
    diffuse_cli::print_overview(kCommands, diffuse_version());
    return kExitOk;
  }
  if (command == "--version") {
    std::printf("diffuse %s\n", diffuse_version());
    return kExitOk;
  }
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
  std::fprintf(stderr, "diffuse: %s\nusage: diffuse COMMAND [arguments] [options]; diffuse --help lists the commands\n",
               command.empty() ? "no command given" : ("unknown command '" + command + "'").c_str());
  return kExitUsage;
}
