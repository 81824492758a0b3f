// The training loop on real Fashion-MNIST: learning, bitwise resume across processes, atomic
// checkpoints, divergence guard, run-directory contents.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/proto_format.h"
#include "config/train_config.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "store/checkpoint.h"
#include "store/ema_snapshot.h"
#include "store/event_file.h"
#include "store/run_directory.h"
#include "train/step_noise.h"
#include "train/trainer.h"
#include "train/training_stats.h"
#include "fixtures.h"
#include "stat_tests.h"
#include "tensor_compare.h"
#include "test_util.h"
#include "util/error.h"

namespace diffuse::trainer_test {
namespace {

namespace fs = std::filesystem;

// The shared tiny Fashion-MNIST model with snapshots every 2048 images and frequent statistics.
// `methods` selects training-acceleration methods (noise/loss/optimizer blocks) on top.
v1::TrainConfig tiny_config(const std::string& dir, int64_t steps, const std::string& methods = "") {
  return test::fashion_mnist_tiny_config(dir, steps, R"(
    ema { sigma_rels: [0.05, 0.1] snapshot_images: 2048 snapshot_dtype: FP32 }
    run { status_images: 256 checkpoint_images: 0 validation_interval_images: 1024 threads: 2 })" + methods);
}

// The bit-for-bit levers of TrainerTuning; the others keep their defaults.
TrainerTuning tuning_of(int64_t loss_readback_steps, bool multi_tensor, bool pinned_transfers, bool loader_noise) {
  TrainerTuning tuning;
  tuning.loss_readback_steps = loss_readback_steps;
  tuning.multi_tensor = multi_tensor;
  tuning.pinned_transfers = pinned_transfers;
  tuning.loader_noise = loader_noise;
  return tuning;
}

// The levers that change the arithmetic (or, for the graphs, may on CUDA): those named on, the other
// four off; the remaining levers keep their defaults.
enum RoundingLever : unsigned {
  kNone = 0,
  kFusedKernels = 1,
  kFusedNormalize = 2,
  kChannelsLast = 4,
  kFusedAttention = 8,
  kCudaGraphs = 16,
};
TrainerTuning rounding_levers(unsigned on) {
  TrainerTuning tuning;
  tuning.fused_elementwise = (on & kFusedKernels) != 0;
  tuning.fused_normalize = (on & kFusedNormalize) != 0;
  tuning.channels_last = (on & kChannelsLast) != 0;
  tuning.fused_attention = (on & kFusedAttention) != 0;
  tuning.cuda_graphs = (on & kCudaGraphs) != 0;
  tuning.cpu_workers = 1;
  return tuning;
}

std::map<std::string, at::Tensor> read_tensors(const std::string& path) { return SafetensorsFile::open(path).read_all(); }

// stats.jsonl without the fields that measure time.
std::vector<nlohmann::json> deterministic_stats(const std::string& dir) {
  std::ifstream in(dir + "/stats.jsonl");
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(in, line)) {
    auto json = nlohmann::json::parse(line);
    for (const char* key : {"images_per_second", "seconds_per_step", "elapsed_seconds", "peak_memory_bytes"}) json.erase(key);
    lines.push_back(json);
  }
  return lines;
}

int run_child(const std::string& args) {
  const int status = std::system((std::string(DIFFUSE_TRAIN_CHILD) + " " + args).c_str());
  return status;
}

// A step's noise belongs to its images: filled in passes of any size (or by any thread) it is the same
// as in one piece, another step's differs, and it is standard normal (Kolmogorov–Smirnov).
TEST(StepNoise, BelongsToItsImagesAndIsStandardNormal) {
  const int64_t batch = 12, nimg = 36;
  const at::Tensor whole = at::empty({batch, 2, 4, 4}, at::kFloat);
  fill_step_noise(5, batch, nimg, whole);
  for (const int64_t pass : {3, 4, 6}) {
    at::Tensor pieces = at::empty_like(whole);
    for (int64_t first = 0; first < batch; first += pass) fill_step_noise(5, batch, nimg + first, pieces.narrow(0, first, pass));
    EXPECT_TRUE(at::equal(pieces, whole)) << "passes of " << pass;
  }
  at::Tensor other = at::empty_like(whole);
  fill_step_noise(5, batch, nimg + batch, other);
  EXPECT_FALSE(at::equal(other, whole)) << "the next step";
  fill_step_noise(6, batch, nimg, other);
  EXPECT_FALSE(at::equal(other, whole)) << "another run seed";
  for (int64_t i = 1; i < batch; ++i) EXPECT_FALSE(at::equal(whole[i], whole[0])) << "image " << i;

  at::Tensor many = at::empty({batch, 4, 16, 16}, at::kFloat);
  fill_step_noise(5, batch, 0, many);
  const at::Tensor flat = many.flatten().to(at::kDouble);
  const std::vector<double> values(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
  const test::KsResult ks = test::ks_test(values, [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); });
  EXPECT_GT(ks.p, 1e-3) << "KS distance " << ks.d << " over " << values.size() << " values";

  EXPECT_TRUE(test::throws_error([&] { fill_step_noise(5, batch, nimg + 8, whole); }, ErrorCode::kInternal, {"one step of 12"}));
}

// A checkpoint's interval statistics come back exactly; counts that no run could have written (a
// corrupt file: negative, fractional, beyond 2^53, NaN) are refused, naming the tensor.
TEST(TrainingStats, StateRoundTripsAndRefusesCountsThatAreNotCounts) {
  TrainingStats stats;
  stats.add(at::tensor({0.01, 0.5, 3.0, 70.0}, at::kFloat), at::tensor({1.0, 2.0, 0.25, 4.0}, at::kFloat));
  TrainingStats loaded;
  loaded.load_state(stats.state(), "ckpt (tensor state.interval_stats)");
  EXPECT_TRUE(at::equal(loaded.state(), stats.state()));
  EXPECT_EQ(loaded.count_per_bin(), stats.count_per_bin());
  EXPECT_DOUBLE_EQ(loaded.mean_loss(), stats.mean_loss());
  for (const double bad : {-1.0, 0.5, 1.7e100, std::nan("")}) {
    for (const int64_t index : {int64_t{1}, int64_t{2 + TrainingStats::kBins + 3}}) {
      at::Tensor state = stats.state().clone();
      state[index] = bad;
      EXPECT_TRUE(test::throws_error([&] { loaded.load_state(state, "ckpt (tensor state.interval_stats)"); },
                                     ErrorCode::kCorruptFile, {"ckpt (tensor state.interval_stats)", "not a count"}))
          << "value " << bad << " at " << index;
    }
  }
  EXPECT_TRUE(test::throws_error([&] { loaded.load_state(at::zeros({3}, at::kDouble), "ckpt"); },
                                 ErrorCode::kCorruptFile, {"ckpt: 3 values"}));
}

TEST(Trainer, ValidationLossFallsOnFashionMnist) {
  const std::string dir = test::make_temp_dir("learn");
  v1::TrainConfig config = tiny_config(dir, 160);
  config.mutable_run()->set_validation_interval_images(2560);
  auto trainer = Trainer::create(config);
  trainer->run(1 << 30);
  ASSERT_TRUE(trainer->done());
  const auto stats = deterministic_stats(dir);
  std::vector<double> validation;
  for (const auto& line : stats) {
    if (line.contains("validation_loss")) validation.push_back(line["validation_loss"].get<double>());
  }
  ASSERT_EQ(validation.size(), 3u);  // at 0, 2560 and 5120 images
  EXPECT_LT(validation[1], validation[0]);
  EXPECT_LT(validation[2], 0.7 * validation[0]) << "untrained " << validation[0] << ", trained " << validation[2];
  EXPECT_TRUE(std::isfinite(trainer->status().loss()));
}

struct ResumeCase {
  const char* name;
  const char* methods;
};

class TrainerResume : public ::testing::TestWithParam<ResumeCase> {};

TEST_P(TrainerResume, InAnotherProcessIsBitwiseIdentical) {
  const std::string methods = GetParam().methods;
  const std::string straight = test::make_temp_dir("straight"), split = test::make_temp_dir("split");
  const int64_t steps = 64;  // 2048 images: a snapshot (every 1024) before the split and one after it
  const auto config_of = [&](const std::string& dir) {
    v1::TrainConfig config = tiny_config(dir, steps, methods);
    config.mutable_ema()->set_snapshot_images(1024);
    return config;
  };
  Trainer::create(config_of(straight))->run(steps);

  {
    // The split run also samples grids (the straight one is too short for the default cadence): they
    // must change nothing of the training, before the split or after it.
    v1::TrainConfig config = config_of(split);
    config.mutable_run()->set_sample_grid_images(1024);
    config.mutable_run()->set_sample_grid_count(4);
    auto first = Trainer::create(config);
    first->run(37);  // 1184 images: mid status interval, mid validation and snapshot intervals
    first->save_checkpoint();
  }
  ASSERT_EQ(run_child(split + " " + std::to_string(steps)), 0);

  const std::string final_name = RunDirectory::checkpoint_name(steps * 32);
  const auto a = read_tensors(straight + "/" + final_name);
  const auto b = read_tensors(split + "/" + final_name);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) {
    if (name == "state.elapsed_seconds") continue;
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(at::equal(tensor, b.at(name))) << name;
  }
  for (const char* snapshot : {"ema-0.050-0000001.safetensors", "ema-0.100-0000001.safetensors",
                               "ema-0.050-0000002.safetensors", "ema-0.100-0000002.safetensors"}) {
    const auto sa = read_tensors(straight + "/" + snapshot), sb = read_tensors(split + "/" + snapshot);
    ASSERT_EQ(sa.size(), sb.size()) << snapshot;
    for (const auto& [name, tensor] : sa) EXPECT_TRUE(at::equal(tensor, sb.at(name))) << snapshot << " " << name;
  }
  EXPECT_EQ(deterministic_stats(straight), deterministic_stats(split));
  EXPECT_FALSE(fs::exists(straight + "/samples"));

  // A TensorBoard event file per session: the second starts where TensorBoard must drop what the first
  // holds after the checkpoint (at 1184 images: nothing, as the split was at a checkpoint).
  const std::vector<std::string> files = list_event_files(split);
  ASSERT_EQ(files.size(), 2u);
  std::vector<std::vector<int64_t>> image_steps(2), loss_steps(2);
  for (size_t f = 0; f < 2; ++f) {
    const auto events = read_event_file(files[f]);
    ASSERT_GE(events.size(), 2u);
    EXPECT_EQ(events[0].file_version(), "brain.Event:2");
    EXPECT_EQ(events[1].session_log().status(), tensorboard::SessionLog::START);
    EXPECT_EQ(events[1].step(), f == 0 ? 0 : 37 * 32 + 1);
    for (const auto& e : events) {
      for (const auto& v : e.summary().value()) {
        if (v.tag() == "samples") {
          image_steps[f].push_back(e.step());
          EXPECT_EQ(v.image().encoded_image_string(), read_file(split + "/" + fmt::format("samples/grid-{:07d}.png", e.step() / 1000)));
          EXPECT_EQ(v.image().width(), 2 * 16);  // 4 images: 2 x 2 of 16 x 16
          EXPECT_EQ(v.image().colorspace(), 1);
        }
        if (v.tag() == "loss") loss_steps[f].push_back(e.step());
      }
    }
  }
  EXPECT_EQ(image_steps[0], std::vector<int64_t>{1024});
  EXPECT_EQ(image_steps[1], std::vector<int64_t>{2048});
  EXPECT_EQ(loss_steps[0], (std::vector<int64_t>{256, 512, 768, 1024}));
  EXPECT_EQ(loss_steps[1].front(), 1280);
  EXPECT_EQ(loss_steps[1].back(), 2048);
}

// The EDM2 recipe, the same with dropout (each pass in 2 parts, each part drawing its images' masks),
// and the stateful methods of spec methods.md mid-way at the split (step 37): a plateau-paced cluster
// stage and a decaying β1 with its running product. (CLTS is a function of p
// alone; its table rebuild from p is tested in test_curricula.cpp.)
INSTANTIATE_TEST_SUITE_P(
    Recipes, TrainerResume,
    ::testing::Values(
        ResumeCase{"Edm2", ""},
        ResumeCase{"Dropout", "model { dropout: 0.1 }"},
        ResumeCase{"ClustersMinSnrMdlrc", R"(
          noise { curriculum: CLUSTERS clusters { num_clusters: 6 patience: 4 smoothing: 0.5 } }
          loss { weighting: MIN_SNR }
          optimizer { momentum_schedule: MDLRC })"}),
    [](const auto& info) { return std::string(info.param.name); });

// Each option of each axis trains a few steps to a finite loss and reports itself in stats.jsonl.
class TrainerMethods : public ::testing::TestWithParam<ResumeCase> {};

TEST_P(TrainerMethods, TrainAFewStepsWithFiniteLoss) {
  const std::string dir = test::make_temp_dir("methods");
  v1::TrainConfig config = tiny_config(dir, 6, GetParam().methods);
  config.mutable_run()->set_status_images(64);
  config.mutable_run()->set_validation_interval_images(0);
  auto trainer = Trainer::create(config);
  trainer->run(6);
  ASSERT_TRUE(trainer->done());
  EXPECT_TRUE(std::isfinite(trainer->status().loss()));
  const auto stats = deterministic_stats(dir);
  ASSERT_FALSE(stats.empty());
  const auto& last = stats.back();
  for (const char* key : {"beta1", "lr", "lr_compensation", "samples_per_sigma_bin"}) EXPECT_TRUE(last.contains(key)) << key;
  const v1::TrainConfig& resolved = trainer->config();
  if (resolved.noise().curriculum() == v1::NoiseConfig::CLTS) {
    EXPECT_TRUE(last.contains("clts_strength"));
  }
  if (resolved.noise().curriculum() == v1::NoiseConfig::CLUSTERS) {
    EXPECT_TRUE(last.contains("curriculum_stage"));
  }
  if (resolved.optimizer().momentum_schedule() == v1::OptimizerConfig::MDLRC) {
    EXPECT_LT(last["beta1"].get<double>(), 0.9);
    EXPECT_NE(last["lr_compensation"].get<double>(), 1.0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Axes, TrainerMethods,
    ::testing::Values(
        ResumeCase{"CosineShifted", "noise { distribution: COSINE_SHIFTED mu: 1 }"},
        ResumeCase{"CauchyDataNormalized", "noise { distribution: CAUCHY snr_reference: DATA_NORMALIZED }"},
        ResumeCase{"FmOt", "noise { distribution: FM_OT }"},
        ResumeCase{"LaplaceDiscreteCosineTable", "noise { distribution: LAPLACE discrete: true ddpm { schedule: COSINE } }"},
        ResumeCase{"CltsMixture", "noise { distribution: DDPM_UNIFORM curriculum: CLTS clts { variant: MIXTURE sigma_frac: 0.2 ramp: 0 } }"},
        ResumeCase{"CltsRejection", "noise { curriculum: CLTS clts { method: REJECTION ramp: 0 } }"},
        ResumeCase{"ClustersFixed", "noise { distribution: COSINE_SCALED curriculum: CLUSTERS clusters { pacing: FIXED fixed_fraction: 0.5 } }"},
        ResumeCase{"ConstantWeighting", "loss { weighting: CONSTANT uncertainty: false }"},
        ResumeCase{"MinSnrDataNormalized", "loss { weighting: MIN_SNR snr_gamma: 5 snr_reference: DATA_NORMALIZED }"},
        ResumeCase{"MdlrcSgdEquivalent", "optimizer { ref_lr: 0.002 momentum_schedule: MDLRC mdlrc { compensation: SGD_EQUIVALENT shape: COSINE } }"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Trainer, RunDirectoryHoldsConfigStatsLogCheckpointAndSnapshots) {
  const std::string dir = test::make_temp_dir("files");
  auto trainer = Trainer::create(tiny_config(dir, 64));
  trainer->run(1000);
  for (const char* name : {"config.textproto", "stats.jsonl", "log.txt", "checkpoint-0000002.safetensors",
                           "ema-0.050-0000002.safetensors", "ema-0.100-0000002.safetensors"}) {
    EXPECT_TRUE(fs::exists(dir + "/" + name)) << name;
  }
  // The snapshot loads as an EDM2 state dict, in fp32 as configured.
  const auto snapshot = read_tensors(dir + "/ema-0.050-0000002.safetensors");
  EXPECT_EQ(snapshot.at("unet.out_conv.weight").scalar_type(), at::kFloat);
  EXPECT_EQ(SafetensorsFile::open(dir + "/ema-0.050-0000002.safetensors").metadata().at("nimg"), "2048");
  // The config written is the resolved one and parses back.
  const std::string text = read_file(dir + "/config.textproto");
  v1::TrainConfig parsed;
  parse_config(text.data(), text.size(), ConfigFormat::kText, &parsed);
  EXPECT_EQ(parsed.run().keep_checkpoints(), 2);
  EXPECT_EQ(parsed.model().precision(), v1::PRECISION_FP16);
}

TEST(Trainer, CreateRefusesADirectoryThatHoldsARun) {
  const std::string dir = test::make_temp_dir("twice");
  Trainer::create(tiny_config(dir, 4))->run(100);  // to the end: its final checkpoint
  try {
    Trainer::create(tiny_config(dir, 4));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already holds a run"), std::string::npos) << e.what();
  }
}

TEST(Trainer, ALiveTrainerLocksItsDirectory) {
  const std::string dir = test::make_temp_dir("locked");
  const auto first = Trainer::create(tiny_config(dir, 4));
  EXPECT_TRUE(test::throws_error([&] { Trainer::create(tiny_config(dir, 4)); }, ErrorCode::kBusy,
                                 {"in use by another trainer (pid " + std::to_string(::getpid()) + ")"}));
  first->run(100);
  EXPECT_TRUE(test::throws_error([&] { Trainer::resume(dir); }, ErrorCode::kBusy, {"in use by another trainer"}));
}

// A run that ended before its first checkpoint (here: its files, as a kill would leave them) can be
// neither resumed nor left in the way: resume says what to do, and a new run starts over in its place.
TEST(Trainer, ARunThatEndedBeforeItsFirstCheckpointStartsOver) {
  const std::string dir = test::make_temp_dir("unfinished");
  Trainer::create(tiny_config(dir, 4));  // config.textproto, stats.jsonl, log.txt; no step, no checkpoint
  test::write_bytes(dir + "/ema-0.050-0000001.safetensors", "left by a killed run");
  ASSERT_TRUE(fs::exists(dir + "/config.textproto"));
  EXPECT_TRUE(test::throws_error([&] { Trainer::resume(dir); }, ErrorCode::kNotFound,
                                 {"no checkpoint to resume from", "start it again from its config"}));
  const auto again = Trainer::create(tiny_config(dir, 4));
  EXPECT_FALSE(fs::exists(dir + "/ema-0.050-0000001.safetensors"));
  EXPECT_EQ(list_event_files(dir).size(), 1u);  // the new run's, not the first's too
  EXPECT_TRUE(fs::exists(dir + "/log.txt"));
  again->run(100);
  EXPECT_TRUE(again->done());
  EXPECT_FALSE(fs::is_empty(dir + "/stats.jsonl"));
}

// Counters at their limits (a corrupt or forged file) would overflow at the next step: refused.
TEST(Trainer, ResumeRefusesACheckpointWhoseCountersDoNotFitTheRun) {
  const std::string dir = test::make_temp_dir("counters");
  Trainer::create(tiny_config(dir, 4))->run(100);
  const std::vector<std::string> checkpoints = RunDirectory(dir).checkpoints();
  ASSERT_EQ(checkpoints.size(), 1u);
  const v1::TrainConfig config = resolve_train_config(RunDirectory::load_config(dir));
  const CheckpointState good = read_checkpoint(checkpoints[0]);
  for (const auto& [what, change] : std::vector<std::pair<std::string, std::function<void(CheckpointState&)>>>{
           {"images seen", [](CheckpointState& s) { s.nimg = int64_t{1} << 62; }},
           {"step", [](CheckpointState& s) { s.step += 1; }},
           {"loader position", [](CheckpointState& s) { s.loader_position = int64_t{1} << 62; }},
           {"Adam steps", [](CheckpointState& s) { s.adam_steps = 0; }},
           {"non-finite steps", [](CheckpointState& s) { s.nonfinite_steps = 1000; }}}) {
    CheckpointState bad = good;
    change(bad);
    write_checkpoint(checkpoints[0], bad, config);
    EXPECT_TRUE(test::throws_error([&] { Trainer::resume(dir); }, ErrorCode::kCorruptFile,
                                   {"counters do not fit the run, " + what + " first"}));
  }
  write_checkpoint(checkpoints[0], good, config);
  EXPECT_NO_THROW(Trainer::resume(dir));
}

TEST(Trainer, KeepsOnlyTheNewestCheckpoints) {
  const std::string dir = test::make_temp_dir("keep");
  v1::TrainConfig config = tiny_config(dir, 96);
  config.mutable_run()->set_checkpoint_images(1024);
  config.mutable_run()->set_keep_checkpoints(2);
  config.mutable_run()->set_validation_interval_images(0);
  Trainer::create(config)->run(1000);  // checkpoints at 1024, 2048, 3072 images
  const auto checkpoints = RunDirectory(dir).checkpoints();
  ASSERT_EQ(checkpoints.size(), 2u);
  EXPECT_EQ(fs::path(checkpoints[0]).filename(), "checkpoint-0000002.safetensors");
  EXPECT_EQ(fs::path(checkpoints[1]).filename(), "checkpoint-0000003.safetensors");
}

std::string file_bytes(const std::string& path) { return read_file(path); }

TEST(Trainer, FailedRenameLeavesPreviousCheckpointIntact) {
  const std::string dir = test::make_temp_dir("rename");
  auto trainer = Trainer::create(tiny_config(dir, 64));
  trainer->run(10);
  trainer->save_checkpoint();
  const std::string previous = dir + "/" + RunDirectory::checkpoint_name(320);
  const std::string before = file_bytes(previous);
  trainer->run(40);  // 1600 images: the next checkpoint is checkpoint-0001
  // A non-empty directory under the final name makes rename() fail.
  const std::string blocked = dir + "/" + RunDirectory::checkpoint_name(1600);
  fs::create_directories(blocked + "/occupied");
  try {
    trainer->save_checkpoint();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
  }
  EXPECT_EQ(file_bytes(previous), before);
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  }
  trainer.reset();
  fs::remove_all(blocked);
  EXPECT_EQ(Trainer::resume(dir)->status().images_seen(), 320);
}

TEST(Trainer, ProcessKilledMidCheckpointLeavesPreviousCheckpointLoadable) {
  const std::string dir = test::make_temp_dir("killed");
  {
    auto trainer = Trainer::create(tiny_config(dir, 64));
    trainer->run(10);
    trainer->save_checkpoint();
  }
  const std::string previous = dir + "/" + RunDirectory::checkpoint_name(320);
  const std::string before = file_bytes(previous);
  // The child trains 30 more steps, then dies (SIGXFSZ) part-way through writing its checkpoint.
  const int status = run_child(dir + " 30 --checkpoint --file-size-limit " + std::to_string(before.size() / 2));
  ASSERT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) << status;
  EXPECT_EQ(file_bytes(previous), before);
  auto resumed = Trainer::resume(dir);
  EXPECT_EQ(resumed->status().images_seen(), 320);
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << "stale " << entry.path();
  }
}

// Trains 2 steps, turns the output layer's weights into NaN and trains on (3 non-finite steps
// allowed): the run stops as diverged naming the step where the guard tripped (the 5th, at 160
// images), with `images_seen` images seen, and no checkpoint can be written.
void expect_divergence_stop(const TrainerTuning& tuning, int64_t images_seen) {
  const std::string dir = test::make_temp_dir("nan");
  v1::TrainConfig config = tiny_config(dir, 64);
  config.mutable_run()->set_max_nonfinite_steps(3);
  auto trainer = Trainer::create(config, {}, tuning);
  trainer->run(2);
  {
    at::NoGradGuard no_grad;
    trainer->network()->named_parameters()["unet.out_conv.weight"].fill_(NAN);
  }
  try {
    trainer->run(10);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDiverged);
    EXPECT_NE(std::string(e.what()).find("3 consecutive steps (at 160 images)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(trainer->status().images_seen(), images_seen);
  EXPECT_THROW(trainer->save_checkpoint(), Error);
  EXPECT_TRUE(RunDirectory(dir).checkpoints().empty());
}

TEST(Trainer, NonFiniteLossStopsTheRunAndNeverReachesACheckpoint) { expect_divergence_stop(TrainerTuning{}, 5 * 32); }

// The speed levers change nothing: losses read back every 5 steps instead of every step, the
// per-parameter Adam and EMA loops instead of the multi-tensor calls, the noise drawn by the loader's
// threads instead of the step's, and (on CUDA) pageable host inputs copied in step with the device
// instead of pinned ones copied ahead, train the same run,
// checkpoint, snapshots and stats lines bit for bit (on CUDA too: the core_trainer_cuda stage of
// bench/gpu/device-check.sh runs these with DIFFUSE_TEST_DEVICE=cuda; the loops there are the
// reference the multi-tensor kernels match to 1e-6, AdamMultiTensor.*, so CUDA compares the
// read-back and the transfers).
TEST(TrainerTuning, LossReadbackMultiTensorLoaderNoiseAndPinnedTransfersTrainTheSameRun) {
  const int64_t steps = 24;  // 768 images: 3 stats lines, validations at 0 and at the end, snapshots
  const bool cuda = test::test_device() == "cuda";
  std::vector<std::string> dirs;
  for (const TrainerTuning tuning : {tuning_of(1, true, false, false), tuning_of(5, cuda, true, true)}) {
    dirs.push_back(test::make_temp_dir("tuning"));
    auto trainer = Trainer::create(tiny_config(dirs.back(), steps), {}, tuning);
    trainer->run(11);  // ends between two reads
    EXPECT_TRUE(std::isfinite(trainer->status().loss())) << "the status's loss is read at the end of run()";
    trainer->run(steps);
    ASSERT_TRUE(trainer->done());
  }
  const std::string final_name = RunDirectory::checkpoint_name(steps * 32);
  const auto a = read_tensors(dirs[0] + "/" + final_name), b = read_tensors(dirs[1] + "/" + final_name);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) {
    if (name == "state.elapsed_seconds") continue;
    EXPECT_TRUE(at::equal(tensor, b.at(name))) << name;
  }
  for (const double sigma_rel : {0.05, 0.1}) {
    const std::string snapshot = ema_snapshot_name(sigma_rel, steps * 32);
    const auto sa = read_tensors(dirs[0] + "/" + snapshot), sb = read_tensors(dirs[1] + "/" + snapshot);
    ASSERT_FALSE(sa.empty()) << snapshot;
    for (const auto& [name, tensor] : sa) EXPECT_TRUE(at::equal(tensor, sb.at(name))) << snapshot << " " << name;
  }
  EXPECT_EQ(deterministic_stats(dirs[0]), deterministic_stats(dirs[1]));
}

// The fused kernels, the channels-last layout and the fused attention each train the same run up to
// rounding (one rounding where the unfused graph rounds after every op; other convolution and
// attention algorithms; fp32 on the CPU, the configured precision on CUDA): every parameter and EMA of
// the final checkpoint, and the loss of every stats line, within the stated tolerance of the run
// without them. Measured on the CPU (fp32) after 24 steps, at worst, of a tensor's largest value:
// fused kernels 1.5e-6 (LibTorch 2.11) and 2.8e-6 (1.13); channels-last 2.6e-6 and 1.9e-6; fused
// attention 2.0e-6 (2.11; 1.13 falls back to the einsums: equal). CUDA's fp16 body rounds 2^13
// times coarser (its bound is a guess until measured there).
void expect_same_run_up_to_rounding(const std::string& lever, TrainerTuning with, bool bitwise_on_cpu = false,
                                    const std::string& methods = "", TrainerTuning without = rounding_levers(kNone)) {
  const int64_t steps = 24;
  const double tolerance = test::test_device() == "cuda" ? 1e-2 : 3e-5;
  std::vector<std::string> dirs;
  for (const TrainerTuning& tuning : {without, with}) {
    dirs.push_back(test::make_temp_dir("rounding"));
    Trainer::create(tiny_config(dirs.back(), steps, methods), {}, tuning)->run(steps);
  }
  const std::string final_name = RunDirectory::checkpoint_name(steps * 32);
  const auto a = read_tensors(dirs[0] + "/" + final_name), b = read_tensors(dirs[1] + "/" + final_name);
  ASSERT_EQ(a.size(), b.size());
  double worst = 0;
  int compared = 0;
  for (const auto& [name, tensor] : a) {
    if (!at::isFloatingType(tensor.scalar_type()) || name == "state.elapsed_seconds") continue;
    const double error = test::max_relative_error(b.at(name), tensor);
    worst = std::max(worst, error);
    ++compared;
    EXPECT_LE(error, tolerance) << name;
  }
  EXPECT_GT(compared, 100);
  std::printf("%s vs without after %lld steps: worst relative error %.3g over %d tensors\n", lever.c_str(),
              static_cast<long long>(steps), worst, compared);
  if (bitwise_on_cpu && test::test_device() == "cpu") {
    EXPECT_EQ(worst, 0.0) << lever << ": not bit for bit on the CPU";
  }
  const auto sa = deterministic_stats(dirs[0]), sb = deterministic_stats(dirs[1]);
  ASSERT_EQ(sa.size(), sb.size());
  ASSERT_FALSE(sa.empty());
  int losses = 0;
  for (size_t i = 0; i < sa.size(); ++i) {
    // at(), not operator[]: on a const object, operator[] of a missing key is undefined behaviour.
    ASSERT_EQ(sa[i].contains("loss"), sb[i].contains("loss")) << "stats line " << i;
    if (!sa[i].contains("loss")) continue;  // the validation line before the first step
    const double la = sa[i].at("loss").get<double>(), lb = sb[i].at("loss").get<double>();
    EXPECT_NEAR(lb, la, tolerance * std::abs(la)) << "stats line " << i;
    ++losses;
  }
  EXPECT_GE(losses, 3);
}

TEST(TrainerTuning, FusedKernelsTrainTheSameRunUpToRounding) {
  expect_same_run_up_to_rounding("fused kernels", rounding_levers(kFusedKernels));
}

TEST(TrainerTuning, FusedNormalizeTrainsTheSameRunUpToRounding) {
  expect_same_run_up_to_rounding("fused normalize", rounding_levers(kFusedNormalize));
}

TEST(TrainerTuning, ChannelsLastTrainsTheSameRunUpToRounding) {
  expect_same_run_up_to_rounding("channels-last", rounding_levers(kChannelsLast));
}

// On LibTorch 1.13, which has no scaled_dot_product_attention, the setting falls back to the einsums
// and the runs are equal.
TEST(TrainerTuning, FusedAttentionTrainsTheSameRunUpToRounding) {
  expect_same_run_up_to_rounding("fused attention", rounding_levers(kFusedAttention));
}

// Each pass (16 images) in parts at once on the CPU: in 2 parts and in 3 (6, 5, 5 images), with the
// uncertainty head and without it (whose unused weight no part may normalise), and with dropout, whose
// masks each part draws for its own images (unfused in 2 parts; fused, from the images' keys, in 3).
// The same run up to the rounding of the gradient sums; nothing changes on CUDA. Measured on the CPU
// (LibTorch 1.13) after 24 steps, at worst, of a tensor's largest value: 1.5e-6 in 2 parts, 2.4e-6 in
// 3, 9.6e-6 without the head, 2.0e-6 and 1.9e-6 with dropout. Bit for bit on resume: TrainerResume, whose runs take 2
// parts (2 threads).
TEST(TrainerTuning, CpuWorkersTrainTheSameRunUpToRounding) {
  for (const int workers : {2, 3}) {
    TrainerTuning tuning = rounding_levers(kNone);
    tuning.cpu_workers = workers;
    expect_same_run_up_to_rounding(fmt::format("{} CPU workers", workers), tuning);
  }
  TrainerTuning tuning = rounding_levers(kNone);
  tuning.cpu_workers = 2;
  expect_same_run_up_to_rounding("2 CPU workers, no uncertainty", tuning, false, "loss { uncertainty: false }");
  expect_same_run_up_to_rounding("2 CPU workers, dropout", tuning, false, "model { dropout: 0.1 }");
  TrainerTuning fused = rounding_levers(kNone);
  fused.fused_dropout = true;
  TrainerTuning fused_in_parts = fused;
  fused_in_parts.cpu_workers = 3;
  expect_same_run_up_to_rounding("3 CPU workers, fused dropout", fused_in_parts, false, "model { dropout: 0.1 }", fused);
}

// Each pass's forward and backward replayed as a CUDA graph trains the same run: bit for bit on the CPU,
// where the passes run through the graph's static buffers (the plumbing: inputs copied in, gradients
// accumulated over the two passes of every step, each pass's losses its own); on CUDA the replayed
// kernels are the eager ones, but cuDNN may choose other algorithms in the other run.
TEST(TrainerTuning, CudaGraphedPassesTrainTheSameRun) {
  expect_same_run_up_to_rounding("CUDA graphs", rounding_levers(kCudaGraphs), /*bitwise_on_cpu=*/true);
}

// The fused dropout (kernels::fused_dropout; its masks are tested in test_fused_ops.cpp): a run with it,
// stopped after 11 steps and resumed with Trainer::resume, is the straight run, through the graphs'
// static buffers (on the CPU bit for bit: the pass reads its image keys from its inputs, not from the
// step that queued it); and it is another run than the unfused dropout's, whose masks are other draws.
TEST(TrainerTuning, FusedDropoutResumesAndReplaysTheSameRun) {
  const int64_t steps = 24;
  const auto run = [&](TrainerTuning tuning, int64_t split) {
    const std::string dir = test::make_temp_dir("dropout");
    v1::TrainConfig config = tiny_config(dir, steps);
    config.mutable_model()->set_dropout(0.1);
    if (split < steps) {
      auto first = Trainer::create(config, {}, tuning);
      first->run(split);
      first->save_checkpoint();
    }
    auto trainer = split < steps ? Trainer::resume(dir, {}, tuning) : Trainer::create(config, {}, tuning);
    trainer->run(steps);
    EXPECT_TRUE(trainer->done());
    return read_tensors(dir + "/" + RunDirectory::checkpoint_name(steps * 32));
  };
  TrainerTuning fused, graphed, unfused;
  fused.cpu_workers = graphed.cpu_workers = unfused.cpu_workers = 1;  // one call, as a graphed pass
  fused.fused_dropout = graphed.fused_dropout = true;
  fused.cuda_graphs = false;
  graphed.cuda_graphs = true;
  unfused.fused_dropout = false;
  unfused.cuda_graphs = false;
  const auto straight = run(fused, steps), resumed = run(graphed, 11), other = run(unfused, steps);
  const double tolerance = test::test_device() == "cuda" ? 1e-2 : 0;  // cuDNN may choose other algorithms
  double worst = 0, worst_other = 0;
  for (const auto& [name, tensor] : straight) {
    if (!at::isFloatingType(tensor.scalar_type()) || name == "state.elapsed_seconds") continue;
    ASSERT_TRUE(resumed.count(name)) << name;
    const double error = test::max_relative_error(resumed.at(name), tensor);
    EXPECT_LE(error, tolerance) << name;
    worst = std::max(worst, error);
    worst_other = std::max(worst_other, test::max_relative_error(other.at(name), tensor));
  }
  std::printf("fused dropout: resumed through the graph buffers %.3g, the unfused dropout's run %.3g\n", worst,
              worst_other);
  EXPECT_GT(worst_other, 1e-3) << "the fused and unfused dropout drew the same masks: is the fused one used?";
}

// With losses read every 4 steps, a run that diverges stops at the first read after the guard trips,
// names the step where it tripped, and writes no checkpoint.
TEST(TrainerTuning, DeferredReadbackStopsADivergedRunNamingTheStep) {
  expect_divergence_stop(tuning_of(4, true, true, true), 6 * 32);  // steps 3-6 were read together after step 6
}

TEST(Trainer, RequestStopWritesACheckpointAndReturns) {
  const std::string dir = test::make_temp_dir("stop");
  auto trainer = Trainer::create(tiny_config(dir, 64));
  trainer->run(3);
  trainer->request_stop();
  EXPECT_EQ(trainer->run(100), 0);
  EXPECT_TRUE(fs::exists(dir + "/" + RunDirectory::checkpoint_name(96)));
}

}  // namespace
}  // namespace diffuse::trainer_test
