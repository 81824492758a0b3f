// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/), small valid inputs of
// every kind the targets read: make_fuzz_seeds SAMPLE_CONFIG_DIR OUT_DIR. The committed corpora are its
// output; rerun it when a format changes.
#include <png.h>
#include <zip.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "config/proto_format.h"
#include "data/dataset.h"
#include "diffuse.pb.h"
#include "fuzz_support.h"
#include "io/npy.h"
#include "io/png.h"
#include "log/log.h"
#include "io/safetensors.h"
#include "store/checkpoint.h"
#include "store/ema_snapshot.h"
#include "store/model_file.h"
#include "store/run_directory.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using diffuse::ConfigFormat;
namespace v1 = diffuse::v1;

namespace {

std::string out_dir;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(out_dir + "/" + target);
  std::ofstream(out_dir + "/" + target + "/" + name, std::ios::binary) << bytes;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? std::string(diffuse::fuzz::kPartSeparator) : "") + parts[i];
  return out;
}

// A zip archive of `members` (name, bytes), deflated or stored by turns; a name ending in '/' is a
// directory entry.
std::string zip_bytes(const std::vector<std::pair<std::string, std::string>>& members) {
  const std::string path = out_dir + "/.seed.zip";
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  if (archive == nullptr) throw std::runtime_error("zip_open failed: " + std::to_string(code));
  for (size_t i = 0; i < members.size(); ++i) {
    const auto& [name, bytes] = members[i];
    const zip_int64_t index =
        name.back() == '/' ? zip_dir_add(archive, name.c_str(), 0)
                           : zip_file_add(archive, name.c_str(), zip_source_buffer(archive, bytes.data(), bytes.size(), 0), 0);
    if (index < 0) throw std::runtime_error(name + ": " + zip_strerror(archive));
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), i % 2 ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0);
  }
  if (zip_close(archive) != 0) throw std::runtime_error(std::string("zip_close: ") + zip_strerror(archive));
  const std::string bytes = read(path);
  fs::remove(path);
  return bytes;
}

template <typename Message>
void config_seeds(int kind, const std::string& name, const std::string& text) {
  Message m;
  diffuse::parse_config(text.data(), text.size(), ConfigFormat::kText, &m);
  const char* suffix[] = {"bin", "txt", "json"};
  for (int f = 0; f < 3; ++f) {
    const std::string body = diffuse::print_config(m, static_cast<ConfigFormat>(f));
    seed("config", name + "." + suffix[f], std::string(1, static_cast<char>(kind + 4 * f)) + body);
  }
}

const char kTinyModel[] = R"(img_resolution: 8 img_channels: 1 label_dim: 2 model_channels: 4 channel_mult: [1, 1]
  num_blocks: 1 attn_resolutions: [4] channels_per_head: 4 logvar_channels: 2)";

// A tiny run on host images: checkpoints and 2 EMA profiles at two times.
std::string tiny_run() {
  const std::string dir = diffuse::fuzz::scratch_dir() + "/seed-run";
  fs::remove_all(dir);
  const std::string text = std::string("model { ") + kTinyModel + R"( }
    data { train { format: MEMORY } validation { format: MEMORY } num_workers: 1 }
    optimizer { rampup_images: 1000 }
    ema { sigma_rels: [0.05, 0.1] snapshot_images: 1000 snapshot_dtype: FP16 }
    run { batch_size: 100 duration_images: 2000 status_images: 1000 checkpoint_images: 1000
          validation_interval_images: 1000 validation_images: 4 threads: 1 output_dir: ")" + dir + "\" }";
  v1::TrainConfig config;
  diffuse::parse_config(text.data(), text.size(), ConfigFormat::kText, &config);
  diffuse::Trainer::create(config, diffuse::fuzz::tiny_host_images())->run(1000);
  return dir;
}

std::string png_simplified(int format, int width, int height) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.format = static_cast<png_uint_32>(format);
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  if (format & PNG_FORMAT_FLAG_COLORMAP) image.colormap_entries = 16;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(image));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37);
  std::vector<uint8_t> colormap(PNG_IMAGE_COLORMAP_SIZE(image), 0x80);
  png_alloc_size_t size = 0;
  png_image_write_to_memory(&image, nullptr, &size, 0, pixels.data(), 0, colormap.data());
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&image, out.data(), &size, 0, pixels.data(), 0, colormap.data())) {
    std::fprintf(stderr, "png seed: %s\n", image.message);
    std::exit(1);
  }
  out.resize(size);
  return out;
}

std::string idx_bytes(const std::vector<int>& dims, const std::vector<uint8_t>& values) {
  std::string out = {0, 0, 0x08, static_cast<char>(dims.size())};
  for (int d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((d >> shift) & 0xff));
  }
  out.append(values.begin(), values.end());
  return out;
}

std::string gzip(const std::string& bytes) {
  const std::string path = diffuse::fuzz::scratch_dir() + "/seed.gz";
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  return read(path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_fuzz_seeds SAMPLE_CONFIG_DIR OUT_DIR\n");
    return 2;
  }
  diffuse::set_log_level(diffuse::LogLevel::kWarn);
  at::manual_seed(0);
  out_dir = argv[2];
  fs::remove_all(out_dir);

  // Configs: every sample TrainConfig, a preset and the tiny model, a sampler per solver, an evaluation.
  for (const auto& entry : fs::directory_iterator(argv[1])) {
    if (entry.path().extension() == ".textproto") config_seeds<v1::TrainConfig>(0, "train-" + entry.path().stem().string(), read(entry.path()));
  }
  config_seeds<v1::ModelConfig>(1, "model-preset", R"(preset: "edm2-img64-xs" dropout: 0.1)");
  config_seeds<v1::ModelConfig>(1, "model-tiny", kTinyModel);
  config_seeds<v1::SamplerConfig>(2, "sampler-heun", "num_steps: 32 solver: HEUN guidance: 1.4");
  config_seeds<v1::SamplerConfig>(2, "sampler-dpm", "num_steps: 10 solver: DPMPP_2M_SDE eta: 1 schedule: LOG_LINEAR");
  config_seeds<v1::SamplerConfig>(2, "sampler-churn", "num_steps: 18 s_churn: 40 s_min: 0.05 s_max: 50 s_noise: 1.003");
  config_seeds<v1::EvalConfig>(3, "eval", R"(classifier: "metrics/classifier.safetensors" num_images: 1000 k: 3
    reference { format: IDX path: "t10k-images-idx3-ubyte.gz" } resize: RESIZE sampler { num_steps: 16 })");

  // Files of a tiny run: checkpoints, EMA snapshots, a model file; the run directory at resume.
  const std::string run = tiny_run();
  const std::string model_path = diffuse::fuzz::scratch_dir() + "/model.safetensors";
  {
    diffuse::ModelFile model = diffuse::load_model(run + "/ema-0.100-0000002.safetensors");
    diffuse::save_model(model.net, model.config, model_path, /*fp16=*/true);
  }
  std::vector<fs::path> checkpoints, snapshots;
  for (const auto& entry : fs::directory_iterator(run)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("checkpoint-", 0) == 0) checkpoints.push_back(entry.path());
    if (name.rfind("ema-", 0) == 0) snapshots.push_back(entry.path());
  }
  std::sort(checkpoints.begin(), checkpoints.end());
  std::sort(snapshots.begin(), snapshots.end());
  seed("model_file", "model", read(model_path));
  seed("model_file", "snapshot", read(snapshots.front()));
  seed("model_file", "checkpoint", read(checkpoints.back()));

  // safetensors headers: small files (the target's -max_len) of every dtype and of each format's metadata.
  const std::string st = diffuse::fuzz::scratch_dir() + "/seed.safetensors";
  {
    diffuse::NamedTensors tensors;
    for (at::ScalarType t : {at::kFloat, at::kHalf, at::kBFloat16, at::kDouble, at::kLong, at::kInt, at::kShort,
                             at::kChar, at::kByte, at::kBool}) {
      tensors.emplace_back(std::string("t.") + c10::toString(t), at::ones({2, 1}, at::TensorOptions().dtype(t)));
    }
    tensors.emplace_back("scalar", at::scalar_tensor(1.5, at::kFloat));
    tensors.emplace_back("empty", at::zeros({0, 3}, at::kFloat));
    diffuse::write_safetensors(st, tensors, {{"note", "every dtype"}});
    seed("safetensors", "dtypes", read(st));
    diffuse::CheckpointState state;
    state.nimg = state.step = state.loader_position = state.adam_steps = 0;
    state.interval_stats = at::zeros({3}, at::kDouble);
    diffuse::write_checkpoint(st, state, diffuse::RunDirectory::load_config(run));
    seed("safetensors", "checkpoint-counters", read(st));
    diffuse::write_ema_snapshot(st, {{"unet.out_gain", at::zeros({1}, at::kHalf)}}, 0.05, 1000,
                                diffuse::load_model(model_path).config);
    seed("safetensors", "snapshot-metadata", read(st));
  }
  seed("resume", "run", join({read(run + "/config.textproto"), read(run + "/stats.jsonl"), read(checkpoints.front())}));
  seed("resume", "no-checkpoint", join({read(run + "/config.textproto"), read(run + "/stats.jsonl")}));
  seed("posthoc", "two-profiles", join({read(snapshots[2]), read(snapshots[3])}));

  // PNG: every colour model the decoder keeps, 16-bit, a palette with transparency.
  for (int channels = 1; channels <= 4; ++channels) {
    const at::Tensor image = at::randint(0, 256, {channels, 5, 7}, at::TensorOptions().dtype(at::kByte));
    seed("png", "channels-" + std::to_string(channels), diffuse::encode_png(image));
  }
  seed("png", "gray16", png_simplified(PNG_FORMAT_LINEAR_Y, 4, 3));
  seed("png", "palette-alpha", png_simplified(PNG_FORMAT_RGBA_COLORMAP, 4, 3));

  // IDX: images with labels, plain and gzip'd; colour images without labels.
  const std::string images = idx_bytes({3, 4, 4}, std::vector<uint8_t>(48, 7));
  const std::string label_file = idx_bytes({3}, {0, 1, 2});
  seed("idx", "plain", join({images, label_file}));
  seed("idx", "gzip", join({gzip(images), gzip(label_file)}));
  seed("idx", "rgb-unlabeled", idx_bytes({2, 3, 3, 3}, std::vector<uint8_t>(54, 200)));

  // PNG folders: dataset.json with labels, with null labels, class sub-folders without one.
  const std::string png = diffuse::encode_png(at::full({1, 4, 4}, 9, at::TensorOptions().dtype(at::kByte)));
  seed("png_folder", "labels", join({R"({"labels": [["a.png", 0], ["b/c.png", 1], ["b/d.png", 1]]})", png, png, png}));
  seed("png_folder", "null-labels", join({R"({"labels": null})", png, png}));
  seed("png_folder", "class-folders", join({"", png, png, png, png}));
  // PNG zip archives: the same three kinds, as EDM2's dataset tool lays them out.
  const std::string rgb = diffuse::encode_png(at::full({3, 4, 4}, 200, at::TensorOptions().dtype(at::kByte)));
  seed("png_zip", "labels",
       zip_bytes({{"00000/", ""},
                  {"00000/img00000000.png", rgb},
                  {"00000/img00000001.png", png},
                  {"dataset.json", R"({"labels": [["00000/img00000000.png", 0], ["00000/img00000001.png", 1]]})"}}));
  seed("png_zip", "null-labels", zip_bytes({{"a.png", png}, {"dataset.json", R"({"labels": null})"}}));
  seed("png_zip", "class-folders", zip_bytes({{"cat/", ""}, {"cat/1.png", png}, {"dog/", ""}, {"dog/2.png", rgb}}));
  // .npy arrays: each float type as np.save writes it, a Fortran-ordered one, a scalar.
  const at::Tensor posterior = at::arange(2 * 2 * 3, at::kFloat).view({2, 2, 3});
  seed("npy", "f4", diffuse::encode_npy(posterior));
  seed("npy", "f2", diffuse::encode_npy(posterior.to(at::kHalf)));
  seed("npy", "f8", diffuse::encode_npy(posterior.to(at::kDouble)));
  seed("npy", "scalar", diffuse::encode_npy(at::scalar_tensor(1.5, at::kFloat)));
  std::string fortran = diffuse::encode_npy(posterior.view({3, 4}).t().contiguous());
  fortran.replace(fortran.find("False, 'shape': (4, 3)"), 22, "True, 'shape': (3, 4) ");
  seed("npy", "fortran", fortran);
  std::printf("seed corpora written to %s\n", out_dir.c_str());
  return 0;
}
