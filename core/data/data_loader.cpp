#include "data/data_loader.h"

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>
#include <utility>

#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>

#include "util/error.h"
#include "util/seed.h"

namespace diffuse {
namespace {

// Separate streams for the random choices, so that none depends on another.
constexpr uint64_t kPermutationStream = 1;
constexpr uint64_t kFlipStream = 2;
constexpr uint64_t kLatentStream = 3;
// Workers build batches in nearly increasing order; a few epochs cover every batch in flight.
constexpr size_t kCachedEpochs = 4;

uint64_t hash2(uint64_t a, uint64_t b) { return splitmix64_finalize(mix_seed(a) ^ b); }

// splitmix64 generator.
uint64_t next_random(uint64_t& state) { return splitmix64_finalize(state += kGoldenGamma); }

void check_size(int64_t dataset_size) {
  if (dataset_size < 1) fail(ErrorCode::kInvalidArgument, "sampler: dataset size {} must be positive", dataset_size);
}

}  // namespace

std::vector<int64_t> epoch_permutation(uint64_t seed, int64_t dataset_size, int64_t epoch) {
  check_size(dataset_size);
  if (epoch < 0) fail(ErrorCode::kInvalidArgument, "sampler: epoch {} is negative", epoch);
  std::vector<int64_t> order(static_cast<size_t>(dataset_size));
  std::iota(order.begin(), order.end(), int64_t{0});
  uint64_t state = hash2(hash2(seed, kPermutationStream), static_cast<uint64_t>(epoch));
  for (size_t i = order.size() - 1; i > 0; --i) {
    // Lemire's multiply-shift maps 64 random bits onto 0..i; its bias (< i / 2^64) is negligible.
    const auto j = static_cast<size_t>((static_cast<unsigned __int128>(next_random(state)) * (i + 1)) >> 64);
    std::swap(order[i], order[j]);
  }
  return order;
}

int64_t sampler_index(uint64_t seed, int64_t dataset_size, int64_t position) {
  check_size(dataset_size);
  if (position < 0) fail(ErrorCode::kInvalidArgument, "sampler: position {} is negative", position);
  return epoch_permutation(seed, dataset_size, position / dataset_size)[static_cast<size_t>(position % dataset_size)];
}

bool sampler_xflip(uint64_t seed, int64_t position) {
  return (hash2(hash2(seed, kFlipStream), static_cast<uint64_t>(position)) >> 63) != 0;
}

uint64_t sampler_latent_seed(uint64_t seed, int64_t position) {
  return hash2(hash2(seed, kLatentStream), static_cast<uint64_t>(position));
}

struct DataLoader::Impl {
  std::shared_ptr<const Dataset> dataset;
  LoaderOptions options;
  int64_t dataset_size = 0;
  int64_t start_position = 0;

  mutable std::mutex mutex;
  std::condition_variable batch_ready;  // next() waits for its batch (or its error)
  std::condition_variable room;         // workers wait for room in the queue (or stop)
  int64_t next_batch = 0;               // batch number next() returns (0 = the one at start_position)
  int64_t next_claim = 0;               // batch number the next free worker builds
  std::map<int64_t, Batch> ready;
  std::exception_ptr error;  // the earliest failed batch's exception
  int64_t error_batch = -1;
  bool stop = false;
  std::vector<std::thread> workers;

  std::mutex cache_mutex;
  std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> permutations;  // by epoch

  std::shared_ptr<const std::vector<int64_t>> permutation(int64_t epoch) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto found = permutations.find(epoch);
    if (found != permutations.end()) return found->second;
    auto order = std::make_shared<const std::vector<int64_t>>(epoch_permutation(options.seed, dataset_size, epoch));
    permutations.emplace(epoch, order);
    if (permutations.size() > kCachedEpochs) permutations.erase(permutations.begin());
    return order;
  }

  int64_t batches_per_group() const {
    return options.group_images > 0 ? options.group_take / options.batch_size : 1;
  }

  int64_t batch_position(int64_t batch_number) const {
    if (options.group_images == 0) return start_position + batch_number * options.batch_size;
    const int64_t group = batch_number / batches_per_group(), within = batch_number % batches_per_group();
    return start_position + group * options.group_images + options.group_offset + within * options.batch_size;
  }

  Batch build(int64_t batch_number) {
    const int64_t batch_size = options.batch_size, label_dim = options.label_dim;
    const LatentTransform* latent = options.latent ? &*options.latent : nullptr;
    const int64_t resolution = latent ? latent->resolution : options.transform.resolution;
    const int64_t channels = latent ? latent->channels : options.transform.channels;
    Batch batch;
    batch.position = batch_position(batch_number);
    const at::TensorOptions host = at::TensorOptions(at::kFloat).pinned_memory(options.pin_memory);
    batch.images = at::empty({batch_size, channels, resolution, resolution}, host);
    if (label_dim > 0) batch.labels = at::zeros({batch_size, label_dim}, host);

    std::shared_ptr<const std::vector<int64_t>> order;
    int64_t order_epoch = -1;
    for (int64_t i = 0; i < batch_size; ++i) {
      const int64_t position = batch.position + i;
      if (position / dataset_size != order_epoch) {
        order_epoch = position / dataset_size;
        order = permutation(order_epoch);
      }
      const int64_t index = (*order)[static_cast<size_t>(position % dataset_size)];
      const Example example = dataset->get(index);
      const bool flip = options.xflip && sampler_xflip(options.seed, position);
      try {
        batch.images[i].copy_(latent ? transform_latent(example.image, *latent, flip,
                                                        sampler_latent_seed(options.seed, position))
                                     : transform_image(example.image, options.transform, flip));
      } catch (const Error& e) {
        fail(e.code(), "{}: example {}: {}", dataset->describe(), index, e.what());
      }
      if (label_dim == 0) continue;
      if (example.label < 0 || example.label >= label_dim)
        fail(ErrorCode::kInvalidArgument, "{}: example {} has label {}, outside the one-hot width label_dim = {}",
             dataset->describe(), index, example.label, label_dim);
      batch.labels.data_ptr<float>()[i * label_dim + example.label] = 1.0f;
    }
    if (options.noise) {
      batch.noise = at::empty(batch.images.sizes(), host);
      options.noise(batch.position, batch.noise);
    }
    return batch;
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    room.notify_all();
    for (std::thread& worker : workers) worker.join();
  }

  void work() {
    for (;;) {
      int64_t batch_number;
      {
        std::unique_lock<std::mutex> lock(mutex);
        room.wait(lock, [&] { return stop || error || next_claim < next_batch + options.prefetch_batches; });
        if (stop || error) return;
        batch_number = next_claim++;
      }
      try {
        Batch batch = build(batch_number);
        std::lock_guard<std::mutex> lock(mutex);
        ready.emplace(batch_number, std::move(batch));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error || batch_number < error_batch) {
          error = std::current_exception();
          error_batch = batch_number;
        }
      }
      batch_ready.notify_all();
    }
  }
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options, int64_t start_position)
    : impl_(std::make_unique<Impl>()) {
  if (!dataset) fail(ErrorCode::kInvalidArgument, "data loader: dataset is null");
  if (dataset->size() < 1) fail(ErrorCode::kInvalidArgument, "data loader: {} is empty", dataset->describe());
  if (options.batch_size < 1 || options.num_workers < 0 || options.prefetch_batches < 1 || options.label_dim < 0 ||
      start_position < 0)
    fail(ErrorCode::kInvalidArgument,
         "data loader: need batch_size >= 1, num_workers >= 0, prefetch_batches >= 1, label_dim >= 0 and "
         "start_position >= 0; got {}, {}, {}, {}, {}",
         options.batch_size, options.num_workers, options.prefetch_batches, options.label_dim, start_position);
  if (options.group_images != 0 &&
      (options.group_images < 0 || options.group_offset < 0 || options.group_take < options.batch_size ||
       options.group_take % options.batch_size != 0 || options.group_offset + options.group_take > options.group_images))
    fail(ErrorCode::kInvalidArgument,
         "data loader: group of {} images, offset {}, take {}: need 0 <= offset, offset + take <= group and take a "
         "multiple of batch_size {}",
         options.group_images, options.group_offset, options.group_take, options.batch_size);
  if (options.label_dim > 0 && dataset->num_classes() == 0)
    fail(ErrorCode::kInvalidArgument, "data loader: label_dim is {} but {} has no labels", options.label_dim,
         dataset->describe());
  if (options.label_dim > 0 && dataset->num_classes() > options.label_dim)
    fail(ErrorCode::kInvalidArgument, "data loader: {} has labels up to {}, outside the one-hot width label_dim = {}",
         dataset->describe(), dataset->num_classes() - 1, options.label_dim);

  impl_->dataset_size = dataset->size();
  impl_->dataset = std::move(dataset);
  impl_->options = std::move(options);
  impl_->start_position = start_position;
  try {
    for (int i = 0; i < impl_->options.num_workers; ++i)
      impl_->workers.emplace_back([impl = impl_.get()] { impl->work(); });
  } catch (...) {
    impl_->stop_workers();  // a thread that could not start must not leave the others running
    throw;
  }
}

DataLoader::~DataLoader() { impl_->stop_workers(); }

Batch DataLoader::next() {
  Impl& impl = *impl_;
  if (impl.workers.empty()) {
    Batch batch = impl.build(impl.next_batch);
    std::lock_guard<std::mutex> lock(impl.mutex);
    ++impl.next_batch;
    return batch;
  }
  std::unique_lock<std::mutex> lock(impl.mutex);
  impl.batch_ready.wait(lock,
                        [&] { return impl.ready.count(impl.next_batch) != 0 || impl.error_batch == impl.next_batch; });
  const auto found = impl.ready.find(impl.next_batch);
  if (found == impl.ready.end()) std::rethrow_exception(impl.error);
  Batch batch = std::move(found->second);
  impl.ready.erase(found);
  ++impl.next_batch;
  lock.unlock();
  impl.room.notify_all();
  return batch;
}

int64_t DataLoader::position() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const LoaderOptions& o = impl_->options;
  if (o.group_images == 0) return impl_->start_position + impl_->next_batch * o.batch_size;
  return impl_->start_position + impl_->next_batch / impl_->batches_per_group() * o.group_images;
}

}  // namespace diffuse
