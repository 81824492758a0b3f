// A folder of PNG or .npy files, or a zip archive holding one (EDM2's dataset tool writes either),
// labelled by dataset.json or by class sub-folders. Files are read and decoded lazily, on the loader's
// threads.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "io/atomic_file.h"
#include "io/npy.h"
#include "io/png.h"
#include "io/zip_archive.h"
#include "util/error.h"

namespace diffuse {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kLabelFile[] = "dataset.json";
// Larger labels are certainly a broken file, and would make absurd one-hot widths.
constexpr int64_t kMaxLabel = int64_t{1} << 31;
// The most bytes one file of an archive may unpack to (a PNG of 16k × 16k RGBA is about 1 GiB
// decoded, far less compressed): more is a broken or hostile archive.
constexpr uint64_t kMaxArchiveFileBytes = uint64_t{1} << 30;

// What a dataset's files hold: images (PNG) or arrays (.npy, e.g. VAE latents).
enum class FileKind { kPng, kNpy };

const char* kind_name(FileKind kind) { return kind == FileKind::kPng ? "PNG" : ".npy"; }

bool is_kind(const fs::path& path, FileKind kind) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == (kind == FileKind::kPng ? ".png" : ".npy");
}

// Relative paths ('/'-separated) of every file of `kind` below `root`, sorted.
std::vector<std::string> find_files(const fs::path& root, FileKind kind) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    const std::string reason = ec ? ec.message() : fs::exists(root) ? "not a directory" : "no such directory";
    fail(ErrorCode::kIo, "{}: cannot read directory: {}", root.string(), reason);
  }
  std::vector<std::string> files;
  fs::recursive_directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (is_kind(it->path(), kind) && it->is_regular_file(type_ec))
      files.push_back(it->path().lexically_relative(root).generic_string());
  }
  if (ec) fail(ErrorCode::kIo, "{}: cannot read directory: {}", root.string(), ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

// dataset.json's text (`json_path` names it in errors): {"labels": [["relative/path", label], ...]}
// or {"labels": null}. Returns one label per file of `files` (sorted), or nothing when the labels are null.
std::vector<int64_t> labels_from_json(const std::string& text, const std::string& json_path,
                                      const std::vector<std::string>& files) {
  Json json;
  try {
    json = Json::parse(text);
  } catch (const Json::exception& e) {
    fail(ErrorCode::kCorruptFile, "{}: malformed JSON: {}", json_path, e.what());
  }
  if (!json.is_object() || !json.contains("labels"))
    fail(ErrorCode::kCorruptFile, "{}: expected an object with a \"labels\" key", json_path);
  const Json& entries = json["labels"];
  if (entries.is_null()) return {};
  if (!entries.is_array()) fail(ErrorCode::kCorruptFile, "{}: \"labels\" must be a list or null", json_path);

  std::map<std::string, int64_t> by_file;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Json& entry = entries[i];
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number_integer())
      fail(ErrorCode::kCorruptFile, "{}: labels[{}] must be [\"relative/path\", integer], got {}", json_path, i,
           entry.dump());
    const std::string file = fs::path(entry[0].get<std::string>()).lexically_normal().generic_string();
    const int64_t label = entry[1].get<int64_t>();
    if (label < 0 || label >= kMaxLabel)
      fail(ErrorCode::kCorruptFile, "{}: label {} for '{}' is out of range", json_path, label, file);
    if (!std::binary_search(files.begin(), files.end(), file))
      fail(ErrorCode::kCorruptFile, "{}: label for '{}' but no such file", json_path, file);
    if (!by_file.emplace(file, label).second)
      fail(ErrorCode::kCorruptFile, "{}: '{}' is labelled twice", json_path, file);
  }
  std::vector<int64_t> labels;
  labels.reserve(files.size());
  for (const std::string& file : files) {
    const auto found = by_file.find(file);
    if (found == by_file.end()) fail(ErrorCode::kCorruptFile, "{}: no label for '{}'", json_path, file);
    labels.push_back(found->second);
  }
  return labels;
}

// One class per top-level sub-folder (sorted names → 0, 1, ...) when every file lies in one;
// otherwise no labels.
std::vector<int64_t> labels_from_folders(const std::vector<std::string>& files) {
  std::vector<std::string> classes;
  for (const std::string& file : files) {
    const size_t slash = file.find('/');
    if (slash == std::string::npos) return {};
    classes.push_back(file.substr(0, slash));
  }
  std::vector<std::string> names = classes;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<int64_t> labels;
  labels.reserve(files.size());
  for (const std::string& name : classes)
    labels.push_back(std::lower_bound(names.begin(), names.end(), name) - names.begin());
  return labels;
}

// Where a dataset's files are: a folder (root_) or a zip archive (archive_).
class FileDataset final : public Dataset {
 public:
  FileDataset(FileKind kind, std::string root, std::shared_ptr<const ZipArchive> archive,
              std::vector<std::string> files, std::vector<size_t> members, std::vector<int64_t> labels)
      : kind_(kind),
        root_(std::move(root)),
        archive_(std::move(archive)),
        files_(std::move(files)),
        members_(std::move(members)),
        labels_(std::move(labels)) {
    for (int64_t label : labels_) num_classes_ = std::max(num_classes_, label + 1);
    // Arrays carry no shape of their own to check against: every one must have the first one's.
    if (kind_ == FileKind::kNpy) array_shape_ = get(0).image.sizes().vec();
  }

  int64_t size() const override { return static_cast<int64_t>(files_.size()); }

  Example get(int64_t index) const override {
    if (index < 0 || index >= size())
      fail(ErrorCode::kInvalidArgument, "{}: index {} out of range [0, {})", describe(), index, size());
    const size_t i = static_cast<size_t>(index);
    const std::string name = archive_ ? root_ + ": " + files_[i] : (fs::path(root_) / files_[i]).string();
    const std::string bytes = archive_ ? archive_->read(members_[i], kMaxArchiveFileBytes) : read_file(name);
    Example example;
    example.image = kind_ == FileKind::kPng ? decode_png(bytes.data(), bytes.size(), name) : decode_array(bytes, name);
    if (!labels_.empty()) example.label = labels_[i];
    return example;
  }

  int64_t num_classes() const override { return num_classes_; }
  std::string describe() const override {
    return std::string(kind_ == FileKind::kPng ? "png" : "npy") + (archive_ ? "-zip:" : ":") + root_;
  }

 private:
  // An .npy file as the reference's dataset reads one: float32 [K, H, W], the leading axes merged.
  at::Tensor decode_array(const std::string& bytes, const std::string& name) const {
    at::Tensor array = decode_npy(bytes.data(), bytes.size(), name);
    if (array.dim() < 2)
      fail(ErrorCode::kCorruptFile, "{}: an array of {} dimensions; an image needs at least 2 (height, width)", name,
           array.dim());
    array = array.reshape({-1, array.size(-2), array.size(-1)}).to(at::kFloat);
    if (!array_shape_.empty() && array.sizes() != at::IntArrayRef(array_shape_)) {
      fail(ErrorCode::kCorruptFile, "{}: shape [{}] but the dataset's first file, {}, has [{}]", name,
           fmt::join(array.sizes(), ", "), files_[0], fmt::join(array_shape_, ", "));
    }
    return array;
  }

  FileKind kind_;
  std::string root_;                             // the folder, or the archive's path
  std::shared_ptr<const ZipArchive> archive_;    // null for a folder
  std::vector<std::string> files_;               // relative to the root, sorted
  std::vector<size_t> members_;                  // files_[i] is archive_->files()[members_[i]]
  std::vector<int64_t> labels_;                  // empty when unlabeled
  int64_t num_classes_ = 0;
  std::vector<int64_t> array_shape_;             // .npy: every file's [K, H, W]
};

std::shared_ptr<Dataset> open_zip(const std::string& path, FileKind kind) {
  auto archive = std::make_shared<const ZipArchive>(path);
  // The archive's files of this kind by normalised name, sorted like a folder's; dataset.json at its root.
  std::vector<std::pair<std::string, size_t>> found;
  std::optional<size_t> json_member;
  for (size_t i = 0; i < archive->files().size(); ++i) {
    const std::string name = fs::path(archive->files()[i]).lexically_normal().generic_string();
    if (name == kLabelFile) json_member = i;
    if (is_kind(name, kind)) found.emplace_back(name, i);
  }
  if (found.empty()) fail(ErrorCode::kNotFound, "{}: no {} files found in the zip archive", path, kind_name(kind));
  std::sort(found.begin(), found.end());
  std::vector<std::string> files;
  std::vector<size_t> members;
  for (size_t i = 0; i < found.size(); ++i) {
    if (i > 0 && found[i].first == found[i - 1].first)
      fail(ErrorCode::kCorruptFile, "{}: '{}' is in the zip archive twice", path, found[i].first);
    files.push_back(found[i].first);
    members.push_back(found[i].second);
  }
  std::vector<int64_t> labels =
      json_member ? labels_from_json(archive->read(*json_member, kMaxArchiveFileBytes), path + ": " + kLabelFile, files)
                  : labels_from_folders(files);
  return std::make_shared<FileDataset>(kind, path, std::move(archive), std::move(files), std::move(members),
                                       std::move(labels));
}

std::shared_ptr<Dataset> open_file_dataset(const std::string& path, FileKind kind) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return open_zip(path, kind);
  const fs::path root(path);
  std::vector<std::string> files = find_files(root, kind);
  if (files.empty()) fail(ErrorCode::kNotFound, "{}: no {} files found", path, kind_name(kind));

  const fs::path json_path = root / kLabelFile;
  std::vector<int64_t> labels = fs::exists(json_path, ec)
                                    ? labels_from_json(read_file(json_path.string()), json_path.string(), files)
                                    : labels_from_folders(files);
  return std::make_shared<FileDataset>(kind, path, nullptr, std::move(files), std::vector<size_t>{}, std::move(labels));
}

}  // namespace

std::shared_ptr<Dataset> open_png_dataset(const std::string& path) { return open_file_dataset(path, FileKind::kPng); }

std::shared_ptr<Dataset> open_npy_dataset(const std::string& path) { return open_file_dataset(path, FileKind::kNpy); }

}  // namespace diffuse
