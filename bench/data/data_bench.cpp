// The loader's images/s from the three layouts of one PNG dataset: a folder, a zip archive with its
// members stored (as EDM2's dataset tool writes it) and one with them deflated; the folder is the
// baseline of each row. Also the time to open each. The images are 64×64 RGB noise, ~12 KB each as PNG,
// about the size of ImageNet-64's.
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

// Images/s of the loader over `images` images (whole batches of 64) with `workers` decoding threads.
double loader_rate(const std::shared_ptr<const diffuse::Dataset>& dataset, int workers, int64_t images) {
  diffuse::LoaderOptions options;
  options.batch_size = 64;
  options.num_workers = workers;
  options.transform.resolution = 64;
  options.transform.channels = 3;
  diffuse::DataLoader loader(dataset, options);
  loader.next();  // the workers are running and the queue is filling
  const auto start = Clock::now();
  const int64_t batches = images / options.batch_size;
  for (int64_t b = 0; b < batches; ++b) loader.next();
  return static_cast<double>(batches * options.batch_size) / seconds_since(start);
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

  struct Source {
    const char* name;
    std::string path;
  };
  const std::vector<Source> sources{{"folder", folder.string()}, {"zip, stored", stored}, {"zip, deflated", deflated}};
  std::printf("%lld images of 64x64 RGB, %.1f MB as PNG files; loader batches of 64, 64x64 RGB\n\n",
              static_cast<long long>(count), static_cast<double>(fs::file_size(stored)) / 1e6);
  std::printf("| source | open (s) | workers | images/s | vs folder |\n|---|---|---|---|---|\n");
  std::vector<double> baseline(workers.size());
  for (const Source& source : sources) {
    const auto start = Clock::now();
    const std::shared_ptr<const diffuse::Dataset> dataset = diffuse::open_png_dataset(source.path);
    const double open = seconds_since(start);
    for (size_t w = 0; w < workers.size(); ++w) {
      const double rate = loader_rate(dataset, workers[w], count);
      if (&source == &sources.front()) baseline[w] = rate;
      std::printf("| %s | %.3f | %d | %.0f | %.2fx |\n", source.name, open, workers[w], rate, rate / baseline[w]);
    }
  }
  fs::remove_all(dir);
  return 0;
}
