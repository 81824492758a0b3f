#include "sample/distributed_sampling.h"

#include <algorithm>

#include <ATen/ATen.h>

namespace diffuse {

at::Tensor sample_images_over_ranks(Precond& net, Precond* guide, const std::vector<uint64_t>& seeds,
                                    const std::vector<int64_t>& labels, const SamplerOptions& options,
                                    Communicator* world) {
  if (world == nullptr || world->size() == 1) return sample_images(net, guide, seeds, labels, options);
  const auto n = static_cast<int64_t>(seeds.size());
  const int64_t share = (n + world->size() - 1) / world->size();
  const int64_t begin = std::min(n, world->rank() * share), end = std::min(n, begin + share);
  const ModelOptions& model = net->options();
  // Every rank hands in `share` rows; the last ranks pad theirs with zeros, cut off below.
  at::Tensor mine = at::zeros({share, model.img_channels, model.img_resolution, model.img_resolution}, at::kFloat);
  if (end > begin) {
    const std::vector<uint64_t> my_seeds(seeds.begin() + begin, seeds.begin() + end);
    std::vector<int64_t> my_labels;
    if (!labels.empty()) my_labels.assign(labels.begin() + begin, labels.begin() + end);
    mine.narrow(0, 0, end - begin).copy_(sample_images(net, guide, my_seeds, my_labels, options));
  }
  return world->allgather(mine).narrow(0, 0, n).contiguous();
}

}  // namespace diffuse
