// The most free capacity (allocatable − requested) of each resource over each block of
// kSize consecutive nodes of kube-scheduler's node order (the NodeTree's): the filter loop
// passes over a block where no node has room for the pod's requests, and still counts its
// nodes as processed, so the feasible list and the next start index are those of a
// node-by-node walk. Not an upstream structure: a cache of what NodeResourcesFit would find.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "cluster/resources.h"

namespace gputwin::scheduler {

class FreeCapacityBlocks {
 public:
  static constexpr size_t kSize = 64;

  // A new node order: every block is computed again at the next Refresh.
  void Invalidate() { valid_ = false; }
  // The order holds `count` nodes now, the same as before up to `position`: the blocks
  // from position's on are computed again at the next Refresh.
  void ChangedFrom(size_t position, size_t count);
  // The NodeInfo row of the node at `position` of the node order changed.
  void MarkChanged(size_t position) {
    if (!valid_) return;
    const size_t b = position / kSize;
    if (!dirty_[b]) {
      dirty_[b] = 1;
      dirty_list_.push_back(static_cast<uint32_t>(b));
    }
  }
  // Brings the blocks marked changed (all of them after Invalidate) up to date from the
  // free rows of the order's `count` nodes, by position (`stride` wide).
  void Refresh(const int64_t* rows, size_t stride, size_t count);
  // After Refresh (tests): every block holds the most free capacity of its rows.
  bool Matches(const int64_t* rows, size_t stride, size_t count) const;
  // No node of `block` has room for the requests (NodeResourcesFit::Fits fails on all).
  bool CannotFit(size_t block,
                 const std::vector<std::pair<cluster::ResourceId, int64_t>>& requests) const {
    const int64_t* most = &free_[block * stride_];
    if (most[cluster::kPods] < 1) return true;
    for (const auto& [r, amount] : requests) {
      if (r >= stride_ || amount > most[r]) return true;
    }
    return false;
  }

 private:
  std::vector<int64_t> free_;  // block × stride_
  std::vector<uint8_t> dirty_;
  std::vector<uint32_t> dirty_list_;
  size_t stride_ = 0;
  bool valid_ = false;
};

}  // namespace gputwin::scheduler
