// Kueue's quota arithmetic over the cohort tree (pkg/cache/scheduler/resource_node.go,
// clusterqueue_snapshot.go, fair_sharing.go): ClusterQueues are leaves, Cohorts inner
// nodes; each keeps per flavor-resource its nominal quota, borrowing and lending limits,
// the subtree quota it offers its parent and the usage it stores there.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace gputwin::kueue {

using FrId = int32_t;  // a (ResourceFlavor, resource) pair, dense
inline constexpr int64_t kNoLimit = -1;

struct QuotaNode {
  std::string name;
  bool is_cluster_queue = false;
  int32_t parent = -1;
  std::vector<int32_t> child_cohorts, child_cqs;
  // Per FrId, milli-units (pods: whole pods ×1000, like every other quantity).
  std::vector<int64_t> nominal, borrowing_limit, lending_limit, subtree, usage;
  std::vector<bool> has_quota;  // the fr is listed in this node's resourceGroups
  double weight = 1.0;          // fairSharing.weight
};

// The resources one workload asks for, per flavor-resource.
using FrUsage = std::vector<std::pair<FrId, int64_t>>;

class QuotaTree {
 public:
  // Builds an empty tree over `fr_count` flavor-resources.
  explicit QuotaTree(int32_t fr_count = 0) : fr_count_(fr_count) {}
  int32_t AddNode(std::string name, bool is_cluster_queue);
  void SetParent(int32_t child, int32_t parent);
  void SetQuota(int32_t node, FrId fr, int64_t nominal, int64_t borrowing_limit,
                int64_t lending_limit);
  // Recomputes every subtree quota and cohort usage from the leaves (after set-up).
  void Rebuild();

  QuotaNode& node(int32_t id) { return nodes_[static_cast<size_t>(id)]; }
  const QuotaNode& node(int32_t id) const { return nodes_[static_cast<size_t>(id)]; }
  int32_t size() const { return static_cast<int32_t>(nodes_.size()); }
  int32_t fr_count() const { return fr_count_; }
  bool HasParent(int32_t n) const { return node(n).parent >= 0; }
  int32_t Root(int32_t n) const;

  // Usage bubbles up past each node's local (non-lent) quota, as addUsage/removeUsage.
  void AddUsage(int32_t cq, FrId fr, int64_t v);
  void RemoveUsage(int32_t cq, FrId fr, int64_t v);
  void AddUsage(int32_t cq, const FrUsage& u) {
    for (auto [fr, v] : u) AddUsage(cq, fr, v);
  }
  void RemoveUsage(int32_t cq, const FrUsage& u) {
    for (auto [fr, v] : u) RemoveUsage(cq, fr, v);
  }

  int64_t LocalQuota(int32_t n, FrId fr) const;
  int64_t LocalAvailable(int32_t n, FrId fr) const;
  // What fits now without preemption (never negative).
  int64_t Available(int32_t cq, FrId fr) const;
  // The largest request that could ever fit, on an empty cluster.
  int64_t PotentialAvailable(int32_t n, FrId fr) const;
  // CQ: usage + v > nominal. Cohort: usage + v > subtree quota.
  bool BorrowingWith(int32_t n, FrId fr, int64_t v) const;
  bool WithinNominal(int32_t n, FrId fr) const { return node(n).usage[fr] <= node(n).subtree[fr]; }
  // FindHeightOfLowestSubtreeThatFits: 0 when no borrowing is needed, else the height of
  // the lowest cohort whose subtree can supply `v`; second: whether that subtree is
  // smaller than the whole tree.
  std::pair<int, bool> HeightOfLowestSubtreeThatFits(int32_t cq, FrId fr, int64_t v) const;
  int Height(int32_t cohort) const;

  // Dominant resource share (fair_sharing.go): max over resources of borrowed ×1000 /
  // lendable (potential available of the parent summed over the resource's flavors),
  // divided by the weight. Not borrowing: 0. Zero weight while borrowing: +Inf.
  // `fr_resource` maps each FrId to its resource index.
  double DominantResourceShare(int32_t n, const std::vector<int32_t>& fr_resource,
                               int32_t resource_count) const;

 private:
  int64_t AvailableRaw(int32_t n, FrId fr) const;
  int32_t fr_count_;
  std::vector<QuotaNode> nodes_;
};

}  // namespace gputwin::kueue
