// The scheduler's own cache of what each node has and what is requested on it
// (upstream: the scheduler cache's NodeInfo), laid out as flat arrays so the filter and
// score loops over thousands of nodes touch a few cache lines per node.
#pragma once

#include <cstdint>
#include <vector>

#include "cluster/store.h"

namespace gputwin::scheduler {

class NodeInfoCache {
 public:
  // Copies the node's allocatable and requested amounts from the store.
  void Sync(const cluster::Store& store, cluster::NodeId n) {
    size_t k = store.resources().size();
    if (k != stride_) Resize(store, k);
    if (n >= nodes_) Grow(n + 1);
    const auto& node = store.node(n);
    SetRow(node, n);
    nonzero_cpu_[n] = node.nonzero_cpu;
    nonzero_memory_[n] = node.nonzero_memory;
    ++version_[n];
  }
  // Changes whenever the node's row changes; score caches compare it.
  uint32_t version(cluster::NodeId n) const { return version_[n]; }
  size_t stride() const { return stride_; }
  const int64_t* alloc(cluster::NodeId n) const { return &alloc_[n * stride_]; }
  const int64_t* used(cluster::NodeId n) const { return &used_[n * stride_]; }
  // alloc - used: the filter walk reads one row per node, not two (a cache miss each).
  const int64_t* free(cluster::NodeId n) const { return &free_[n * stride_]; }
  int64_t nonzero_cpu(cluster::NodeId n) const { return nonzero_cpu_[n]; }
  int64_t nonzero_memory(cluster::NodeId n) const { return nonzero_memory_[n]; }
  int64_t Alloc(cluster::NodeId n, size_t r) const {
    return r < stride_ ? alloc_[n * stride_ + r] : 0;
  }
  int64_t Used(cluster::NodeId n, size_t r) const {
    return r < stride_ ? used_[n * stride_ + r] : 0;
  }

 private:
  void Grow(size_t nodes) {
    nodes_ = nodes;
    alloc_.resize(nodes_ * stride_, 0);
    used_.resize(nodes_ * stride_, 0);
    free_.resize(nodes_ * stride_, 0);
    nonzero_cpu_.resize(nodes_, 0);
    nonzero_memory_.resize(nodes_, 0);
    version_.resize(nodes_, 1);
  }
  // A new resource name appeared: re-lay every row with the wider stride.
  void Resize(const cluster::Store& store, size_t k) {
    stride_ = k;
    alloc_.assign(nodes_ * stride_, 0);
    used_.assign(nodes_ * stride_, 0);
    free_.assign(nodes_ * stride_, 0);
    size_t known = nodes_;
    nodes_ = 0;
    Grow(known);
    for (auto& v : version_) ++v;
    for (cluster::NodeId n = 0; n < known && n < store.node_count(); ++n) {
      SetRow(store.node(n), n);
    }
  }
  void SetRow(const cluster::NodeRecord& node, cluster::NodeId n) {
    for (size_t r = 0; r < stride_; ++r) {
      const size_t at = n * stride_ + r;
      alloc_[at] = node.deleted ? 0 : cluster::At(node.allocatable, r);
      used_[at] = cluster::At(node.requested, r);
      free_[at] = alloc_[at] - used_[at];
    }
  }

  size_t stride_ = 0, nodes_ = 0;
  std::vector<int64_t> alloc_, used_, free_;
  std::vector<int64_t> nonzero_cpu_, nonzero_memory_;
  std::vector<uint32_t> version_;
};

}  // namespace gputwin::scheduler
