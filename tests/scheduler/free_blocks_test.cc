// FreeCapacityBlocks (scheduler/free_blocks.h): each block of 64 positions of the node
// order holds the most free capacity of its rows, resource by resource, so the filter walk
// may pass over a block where no node has room. After the order changes from a position
// on (RebuildNodeOrder keeps the unchanged head), the blocks from there on must be
// computed again, and those before left as they were.
#include "scheduler/free_blocks.h"

#include <gtest/gtest.h>

#include <vector>

namespace gputwin::scheduler {
namespace {

constexpr size_t kStride = 4;  // cpu, memory, ephemeral storage, pods

std::vector<int64_t> Rows(size_t count, int64_t cpu) {
  std::vector<int64_t> rows(count * kStride);
  for (size_t i = 0; i < count; ++i) {
    rows[i * kStride + cluster::kCpu] = cpu;
    rows[i * kStride + cluster::kMemory] = int64_t{16} << 30;
    rows[i * kStride + cluster::kEphemeralStorage] = 0;
    rows[i * kStride + cluster::kPods] = 110;
  }
  return rows;
}

TEST(FreeCapacityBlocks, ChangedFromRecomputesTheBlockOfThePositionAndAfter) {
  FreeCapacityBlocks blocks;
  std::vector<int64_t> rows = Rows(200, 1000);
  blocks.Refresh(rows.data(), kStride, 200);
  ASSERT_TRUE(blocks.Matches(rows.data(), kStride, 200));
  // A node with 8 CPUs free enters at position 100 (block 1); the rest shift by one.
  rows.insert(rows.begin() + 100 * kStride, {8000, int64_t{16} << 30, 0, 110});
  blocks.ChangedFrom(100, 201);
  blocks.Refresh(rows.data(), kStride, 201);
  EXPECT_TRUE(blocks.Matches(rows.data(), kStride, 201));
  const std::vector<std::pair<cluster::ResourceId, int64_t>> eight_cpus{{cluster::kCpu, 8000}};
  EXPECT_TRUE(blocks.CannotFit(0, eight_cpus));
  EXPECT_FALSE(blocks.CannotFit(1, eight_cpus));
  // It leaves again, and the order shrinks to 150 nodes: three blocks, none with room.
  rows.resize(150 * kStride);
  rows[100 * kStride + cluster::kCpu] = 1000;
  blocks.ChangedFrom(100, 150);
  blocks.Refresh(rows.data(), kStride, 150);
  EXPECT_TRUE(blocks.Matches(rows.data(), kStride, 150));
  EXPECT_TRUE(blocks.CannotFit(1, eight_cpus));
  // A change at position 63 (the last of block 0) recomputes block 0 as well.
  rows[63 * kStride + cluster::kCpu] = 8000;
  blocks.ChangedFrom(63, 150);
  blocks.Refresh(rows.data(), kStride, 150);
  EXPECT_FALSE(blocks.CannotFit(0, eight_cpus));
}

}  // namespace
}  // namespace gputwin::scheduler
