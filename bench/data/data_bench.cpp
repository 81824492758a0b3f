// The loader's images/s from the three layouts of one PNG dataset: a folder, a zip archive with its
// members stored (as EDM2's dataset tool writes it) and one with them deflated; the folder is the
// baseline of each row. Also the time to open each. The images are 64×64 RGB noise, ~12 KB each as PNG,
// about the size of ImageNet-64's. Then the same for VAE latents as EDM2's `dataset_tool.py encode`
// writes them for ImageNet-512 (.npy of float32 [8, 64, 64], 131 KB each; a folder and a stored zip),
// through the latent transform (a posterior sample per load, the SD-VAE normalisation).
//   data_bench [--images N] [--workers 1,2,4] [--dir DIR]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <zip.h>

#include "data/data_loader.h"
#include "data/dataset.h"
#include "io/atomic_file.h"
#include "io/npy.h"
#include "io/png.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The folder's PNGs as one zip archive, every member compressed by `method`.
void write_zip(const fs::path& folder, const std::vector<std::string>& names, const std::string& path, int32_t method) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  if (archive == nullptr) throw std::runtime_error("cannot create " + path);
  std::vector<std::string> bytes;
  bytes.reserve(names.size());
  for (const std::string& name : names) {
    bytes.push_back(diffuse::read_file((folder / name).string()));
    zip_source_t* source = zip_source_buffer(archive, bytes.back().data(), bytes.back().size(), 0);
    const zip_int64_t index = zip_file_add(archive, name.c_str(), source, 0);
    if (index < 0 || zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), method, 0) != 0)
      throw std::runtime_error(name + ": " + zip_strerror(archive));
  }
  if (zip_close(archive) != 0) throw std::runtime_error(path + ": " + zip_strerror(archive));
}

// Images/s of the loader over `images` images (whole batches of 64) with `workers` decoding threads;
// 64×64 RGB images, or SD-VAE latents when `latent`.
double loader_rate(const std::shared_ptr<const diffuse::Dataset>& dataset, int workers, int64_t images, bool latent) {
  diffuse::LoaderOptions options;
  options.batch_size = 64;
  options.num_workers = workers;
  options.transform.resolution = 64;
  options.transform.channels = 3;
  if (latent)
    options.latent = diffuse::make_latent_transform(64, {5.81, 3.25, 0.12, -2.15}, {4.17, 4.62, 3.71, 3.28}, 0.5);
  diffuse::DataLoader loader(dataset, options);
  loader.next();  // the workers are running and the queue is filling
  const auto start = Clock::now();
  const int64_t batches = images / options.batch_size;
  for (int64_t b = 0; b < batches; ++b) loader.next();
  return static_cast<double>(batches * options.batch_size) / seconds_since(start);
}

struct Source {
  const char* name;
  std::string path;
};

// One row per source and worker count; the first source is the baseline.
void print_table(const std::vector<Source>& sources, const std::vector<int>& workers, int64_t count, bool latent) {
  std::printf("| source | open (s) | workers | images/s | vs folder |\n|---|---|---|---|---|\n");
  std::vector<double> baseline(workers.size());
  for (const Source& source : sources) {
    const auto start = Clock::now();
    const std::shared_ptr<const diffuse::Dataset> dataset =
        latent ? diffuse::open_npy_dataset(source.path) : diffuse::open_png_dataset(source.path);
    const double open = seconds_since(start);
    for (size_t w = 0; w < workers.size(); ++w) {
      const double rate = loader_rate(dataset, workers[w], count, latent);
      if (&source == &sources.front()) baseline[w] = rate;
      std::printf("| %s | %.3f | %d | %.0f | %.2fx |\n", source.name, open, workers[w], rate, rate / baseline[w]);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int64_t count = 4096;
  std::vector<int> workers{1, 2};
  fs::path dir = fs::temp_directory_path() / "diffuse-data-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--images") {
      count = std::atoll(value.c_str());
    } else if (flag == "--workers") {
      workers.clear();
      std::stringstream list(value);
      for (std::string w; std::getline(list, w, ',');) workers.push_back(std::atoi(w.c_str()));
    } else if (flag == "--dir") {
      dir = value;
    } else {
      std::fprintf(stderr, "usage: data_bench [--images N] [--workers 1,2,4] [--dir DIR]\n");
      return 2;
    }
  }
  at::set_num_threads(1);
  fs::remove_all(dir);
  const fs::path folder = dir / "folder";
  std::vector<std::string> names;
  at::manual_seed(0);
  for (int64_t i = 0; i < count; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "%05lld/img%08lld.png", static_cast<long long>(i / 1000), static_cast<long long>(i));
    names.push_back(name);
    fs::create_directories((folder / name).parent_path());
    diffuse::write_png((folder / name).string(), at::randint(0, 256, {3, 64, 64}, at::kByte));
  }
  const std::string stored = (dir / "stored.zip").string(), deflated = (dir / "deflated.zip").string();
  write_zip(folder, names, stored, ZIP_CM_STORE);
  write_zip(folder, names, deflated, ZIP_CM_DEFLATE);

  std::printf("%lld images of 64x64 RGB, %.1f MB as PNG files; loader batches of 64, 64x64 RGB\n\n",
              static_cast<long long>(count), static_cast<double>(fs::file_size(stored)) / 1e6);
  print_table({{"folder", folder.string()}, {"zip, stored", stored}, {"zip, deflated", deflated}}, workers, count,
              /*latent=*/false);

  // The same count of latents, written as np.save writes them.
  const fs::path latent_folder = dir / "latents";
  std::vector<std::string> latent_names;
  for (int64_t i = 0; i < count; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "%05lld/img-mean-std-%08lld.npy", static_cast<long long>(i / 1000),
                  static_cast<long long>(i));
    latent_names.push_back(name);
    fs::create_directories((latent_folder / name).parent_path());
    const at::Tensor mean = at::randn({4, 64, 64}) * 4 + 1, stddev = at::rand({4, 64, 64}) * 0.5;
    const std::string npy = diffuse::encode_npy(at::cat({mean, stddev}));
    diffuse::write_file_atomic((latent_folder / name).string(), npy.data(), npy.size());
  }
  const std::string latents_zip = (dir / "latents.zip").string();
  write_zip(latent_folder, latent_names, latents_zip, ZIP_CM_STORE);
  std::printf("\n%lld SD-VAE latents of 8x64x64 float32 (posterior mean and std), %.1f MB as .npy files; "
              "loader batches of 64, 4x64x64\n\n",
              static_cast<long long>(count), static_cast<double>(fs::file_size(latents_zip)) / 1e6);
  print_table({{"folder", latent_folder.string()}, {"zip, stored", latents_zip}}, workers, count, /*latent=*/true);
  fs::remove_all(dir);
  return 0;
}
