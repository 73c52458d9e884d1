#include "scheduler/free_blocks.h"

#include <algorithm>
#include <limits>

namespace gputwin::scheduler {

void FreeCapacityBlocks::Refresh(const int64_t* rows, size_t stride, size_t count) {
  auto compute = [&](size_t b) {
    int64_t* most = &free_[b * stride];
    std::fill(most, most + stride, std::numeric_limits<int64_t>::min());
    const size_t end = std::min(count, (b + 1) * kSize);
    for (size_t i = b * kSize; i < end; ++i) {
      const int64_t* free = &rows[i * stride];
      for (size_t r = 0; r < stride; ++r) most[r] = std::max(most[r], free[r]);
    }
    dirty_[b] = 0;
  };
  if (!valid_ || stride_ != stride) {
    const size_t blocks = (count + kSize - 1) / kSize;
    stride_ = stride;
    free_.assign(blocks * stride, 0);
    dirty_.assign(blocks, 0);
    dirty_list_.clear();
    for (size_t b = 0; b < blocks; ++b) compute(b);
    valid_ = true;
    return;
  }
  for (uint32_t b : dirty_list_) compute(b);
  dirty_list_.clear();
}

bool FreeCapacityBlocks::Matches(const int64_t* rows, size_t stride, size_t count) const {
  const size_t blocks = (count + kSize - 1) / kSize;
  if (!valid_ || stride_ != stride || free_.size() != blocks * stride) return false;
  for (size_t b = 0; b < blocks; ++b) {
    for (size_t r = 0; r < stride; ++r) {
      int64_t most = std::numeric_limits<int64_t>::min();
      for (size_t i = b * kSize; i < std::min(count, (b + 1) * kSize); ++i) {
        most = std::max(most, rows[i * stride + r]);
      }
      if (free_[b * stride + r] != most) return false;
    }
  }
  return true;
}

void FreeCapacityBlocks::ChangedFrom(size_t position, size_t count) {
  if (!valid_) return;
  const size_t blocks = (count + kSize - 1) / kSize;
  free_.resize(blocks * stride_, 0);
  dirty_.resize(blocks, 0);
  std::erase_if(dirty_list_, [&](uint32_t b) { return b >= blocks; });
  for (size_t b = position / kSize; b < blocks; ++b) {
    if (!dirty_[b]) {
      dirty_[b] = 1;
      dirty_list_.push_back(static_cast<uint32_t>(b));
    }
  }
}

}  // namespace gputwin::scheduler
