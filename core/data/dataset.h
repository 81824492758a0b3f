// Datasets of uint8 images, or of float arrays such as VAE latents, with optional integer class
// labels. A Dataset is a random-access, thread-safe list; decoding happens in get(), on the loader's
// worker threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>

namespace diffuse {

struct Example {
  // uint8 [C, H, W], C in {1, 2, 3, 4} (gray, gray+alpha, RGB, RGBA); from an .npy dataset float32
  // [K, H, W], the same shape for every example (latents: K = 2C, the posterior's means then its
  // standard deviations).
  at::Tensor image;
  int64_t label = -1;  // class index, or -1 when the dataset has no labels
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Thread-safe. Throws Error(kCorruptFile) naming the file and the reason, Error(kIo) if unreadable.
  virtual Example get(int64_t index) const = 0;
  // max label + 1, or 0 when unlabeled.
  virtual int64_t num_classes() const = 0;
  // Where the data comes from, for logs and messages ("idx:/path/train-images-idx3-ubyte.gz").
  virtual std::string describe() const = 0;
};

// IDX files as in MNIST / Fashion-MNIST, gzip-compressed or plain (detected by magic): images
// N×H×W or N×H×W×C uint8, labels N uint8. `labels_path` may be empty (unlabeled). The whole file is
// decoded into memory at open. Throws Error(kCorruptFile) for a wrong magic, a non-uint8 type,
// truncated data, or image/label counts that differ; Error(kIo) if a file cannot be read.
std::shared_ptr<Dataset> open_idx_dataset(const std::string& images_path, const std::string& labels_path);

// PNG images in a folder (searched recursively) or in a zip archive (`path` names a file: EDM2's
// dataset tool writes either), sorted by relative path. Labels come from `dataset.json` at the root
// ({"labels": [["relative/path.png", label], ...]} as EDM2 writes it, or null) if present, otherwise
// from one sub-folder per class (sorted sub-folder names → 0, 1, ...), otherwise none. Every PNG
// colour type and bit depth is accepted (16-bit is reduced to 8-bit, palette expanded to RGB or RGBA).
// Files are read and decoded lazily in get(). Throws Error(kIo)/Error(kCorruptFile) naming the file
// for an unreadable folder or archive, a malformed dataset.json, a label for a missing file, or a
// name stored twice in an archive; Error(kNotFound) when there is no PNG file.
std::shared_ptr<Dataset> open_png_dataset(const std::string& path);

// .npy arrays in a folder or a zip archive, found, sorted and labelled as by open_png_dataset: EDM2's
// `dataset_tool.py encode` writes VAE latents this way (00000/img-mean-std-00000000.npy, float32
// [8, 64, 64]). An array of more than 3 dimensions has its leading ones merged (as the reference
// reads it); each becomes float32 [K, H, W]. The first file is read at open: every other file must
// have its shape, or get() throws Error(kCorruptFile) naming both. Throws as open_png_dataset, with
// Error(kNotFound) when there is no .npy file.
std::shared_ptr<Dataset> open_npy_dataset(const std::string& path);

// Images handed in by a host: `count` images of height×width×channels uint8 (HWC, row-major), and
// optional labels (nullptr = unlabeled). The data is copied.
std::shared_ptr<Dataset> make_memory_dataset(const uint8_t* images, int64_t count, int64_t height, int64_t width,
                                             int64_t channels, const int64_t* labels);

// Examples [begin, end) of `base` (e.g. a held-out split).
std::shared_ptr<Dataset> make_subset(std::shared_ptr<const Dataset> base, int64_t begin, int64_t end);

}  // namespace diffuse
