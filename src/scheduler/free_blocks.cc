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

}  // namespace gputwin::scheduler
