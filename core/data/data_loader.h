// Batches for training: a seeded, shuffled, infinite sampler over a Dataset whose only state is its
// position (so a checkpoint stores one integer), with decoding on background threads into a
// bounded queue. Batches come out in the same order and with the same content whatever the number
// of workers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "data/dataset.h"
#include "data/image_transform.h"
#include "data/latent_transform.h"

namespace diffuse {

struct LoaderOptions {
  int64_t batch_size = 32;
  uint64_t seed = 0;
  bool xflip = false;     // mirror each example with probability 1/2 (decided by seed and position)
  int64_t label_dim = 0;  // one-hot width; 0 = no labels in batches
  ImageTransform transform;
  // Set: the examples are VAE posteriors (mean ‖ std), each sampled and normalised by it (its noise
  // decided by seed and position) instead of going through `transform`.
  std::optional<LatentTransform> latent;
  int num_workers = 2;       // decoding threads; 0 = decode in next()
  int prefetch_batches = 4;  // at most this many batches are ready or being built
  // Batches in page-locked host memory, so that their copies to a CUDA device need not wait for it
  // (non_blocking); needs a CUDA device.
  bool pin_memory = false;
  // Data parallelism: of every group of `group_images` consecutive positions (one optimizer step's
  // global batch) this loader yields only positions [group_offset, group_offset + group_take), in
  // batches of batch_size; the other processes take the rest. 0 = every position.
  int64_t group_images = 0;
  int64_t group_offset = 0;
  int64_t group_take = 0;
  // Per-example noise drawn with the batch on the loader's threads, off the training step's path:
  // fills `out` (float32, the images' shape) for the examples at positions first_position .. + B - 1.
  // It must depend on the positions alone (not on the thread or the order of calls). Unset: none.
  std::function<void(int64_t first_position, const at::Tensor& out)> noise;
};

struct Batch {
  at::Tensor images;     // float32 [B, C, R, R]: pixels in [-1, 1], or normalised latents
  at::Tensor labels;     // float32 [B, label_dim] one-hot; undefined when label_dim == 0
  at::Tensor noise;      // float32 like images (LoaderOptions::noise); undefined without it
  int64_t position = 0;  // sampler position of the first example
};

// The order of epoch e: a permutation of 0..N-1 drawn (Fisher–Yates) from hash(seed, e) with a
// generator of our own, so that it is the same on every platform and standard library.
std::vector<int64_t> epoch_permutation(uint64_t seed, int64_t dataset_size, int64_t epoch);

// Example index at global sampler position p: epoch e = p / N is a permutation of 0..N-1 drawn
// from hash(seed, e). Costs O(N); the loader caches its permutations.
int64_t sampler_index(uint64_t seed, int64_t dataset_size, int64_t position);

// Whether the example at sampler position p is mirrored when LoaderOptions::xflip is set.
bool sampler_xflip(uint64_t seed, int64_t position);

// The seed of the posterior sample of the latent at sampler position p (LoaderOptions::latent).
uint64_t sampler_latent_seed(uint64_t seed, int64_t position);

class DataLoader {
 public:
  // Starts the workers; the first batch begins at `start_position`.
  DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options, int64_t start_position = 0);
  ~DataLoader();  // stops and joins the workers
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // The next batch; blocks until it is ready. Rethrows a worker's error (e.g. a corrupt file).
  Batch next();
  // Sampler position of the next batch to be returned by next() (what a checkpoint stores); with
  // groups, the start of the group it belongs to (a step boundary is a group boundary).
  int64_t position() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace diffuse
