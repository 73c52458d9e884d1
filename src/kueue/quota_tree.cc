#include "kueue/quota_tree.h"

#include <algorithm>
#include <cmath>

namespace gputwin::kueue {

int32_t QuotaTree::AddNode(std::string name, bool is_cluster_queue) {
  QuotaNode n;
  n.name = std::move(name);
  n.is_cluster_queue = is_cluster_queue;
  const auto frs = static_cast<size_t>(fr_count_);
  n.nominal.assign(frs, 0);
  n.borrowing_limit.assign(frs, kNoLimit);
  n.lending_limit.assign(frs, kNoLimit);
  n.subtree.assign(frs, 0);
  n.usage.assign(frs, 0);
  n.has_quota.assign(frs, false);
  nodes_.push_back(std::move(n));
  return static_cast<int32_t>(nodes_.size() - 1);
}

void QuotaTree::SetParent(int32_t child, int32_t parent) {
  node(child).parent = parent;
  auto& p = node(parent);
  (node(child).is_cluster_queue ? p.child_cqs : p.child_cohorts).push_back(child);
}

void QuotaTree::SetQuota(int32_t n, FrId fr, int64_t nominal, int64_t borrowing_limit,
                         int64_t lending_limit) {
  auto& q = node(n);
  q.nominal[fr] = nominal;
  q.borrowing_limit[fr] = borrowing_limit;
  q.lending_limit[fr] = lending_limit;
  q.has_quota[fr] = true;
}

int32_t QuotaTree::Root(int32_t n) const {
  while (node(n).parent >= 0) n = node(n).parent;
  return n;
}

void QuotaTree::Rebuild() {
  // updateCohortResourceNode from every root: subtree = own nominal + Σ children's
  // (subtree − localQuota); usage = Σ children's max(0, usage − localQuota).
  auto visit = [&](auto& self, int32_t id) -> void {
    auto& n = node(id);
    for (FrId fr = 0; fr < fr_count_; ++fr) n.subtree[fr] = n.nominal[fr];
    if (n.is_cluster_queue) return;
    std::fill(n.usage.begin(), n.usage.end(), 0);
    auto take = [&](int32_t c) {
      self(self, c);
      auto& child = node(c);
      auto& parent = node(id);
      for (FrId fr = 0; fr < fr_count_; ++fr) {
        const int64_t local = LocalQuota(c, fr);
        parent.subtree[fr] += child.subtree[fr] - local;
        parent.usage[fr] += std::max<int64_t>(0, child.usage[fr] - local);
        if (child.has_quota[fr]) parent.has_quota[fr] = true;
      }
    };
    for (int32_t c : std::vector<int32_t>(n.child_cohorts)) take(c);
    for (int32_t c : std::vector<int32_t>(node(id).child_cqs)) take(c);
  };
  for (int32_t id = 0; id < size(); ++id) {
    if (node(id).parent < 0) visit(visit, id);
  }
}

int64_t QuotaTree::LocalQuota(int32_t n, FrId fr) const {
  const auto& q = node(n);
  if (q.lending_limit[fr] == kNoLimit) return 0;
  return std::max<int64_t>(0, q.subtree[fr] - q.lending_limit[fr]);
}

int64_t QuotaTree::LocalAvailable(int32_t n, FrId fr) const {
  return std::max<int64_t>(0, LocalQuota(n, fr) - node(n).usage[fr]);
}

void QuotaTree::AddUsage(int32_t n, FrId fr, int64_t v) {
  while (true) {
    auto& q = node(n);
    const int64_t local_available = LocalAvailable(n, fr);
    q.usage[fr] += v;
    if (q.parent < 0 || v <= local_available) return;
    v -= local_available;
    n = q.parent;
  }
}

void QuotaTree::RemoveUsage(int32_t n, FrId fr, int64_t v) {
  while (true) {
    auto& q = node(n);
    const int64_t stored_in_parent = q.usage[fr] - LocalQuota(n, fr);
    q.usage[fr] -= v;
    if (stored_in_parent <= 0 || q.parent < 0) return;
    v = std::min(v, stored_in_parent);
    n = q.parent;
  }
}

int64_t QuotaTree::AvailableRaw(int32_t n, FrId fr) const {
  const auto& q = node(n);
  if (q.parent < 0) return q.subtree[fr] - q.usage[fr];
  int64_t parent_available = AvailableRaw(q.parent, fr);
  if (q.borrowing_limit[fr] != kNoLimit) {
    const int64_t local = LocalQuota(n, fr);
    const int64_t stored_in_parent = q.subtree[fr] - local;
    const int64_t used_in_parent = std::max<int64_t>(0, q.usage[fr] - local);
    parent_available =
        std::min(parent_available, stored_in_parent - used_in_parent + q.borrowing_limit[fr]);
  }
  return LocalAvailable(n, fr) + parent_available;
}

int64_t QuotaTree::Available(int32_t cq, FrId fr) const {
  return std::max<int64_t>(0, AvailableRaw(cq, fr));
}

int64_t QuotaTree::PotentialAvailable(int32_t n, FrId fr) const {
  const auto& q = node(n);
  if (q.parent < 0) return q.subtree[fr];
  int64_t available = LocalQuota(n, fr) + PotentialAvailable(q.parent, fr);
  if (q.borrowing_limit[fr] != kNoLimit) {
    available = std::min(available, q.subtree[fr] + q.borrowing_limit[fr]);
  }
  return available;
}

bool QuotaTree::BorrowingWith(int32_t n, FrId fr, int64_t v) const {
  const auto& q = node(n);
  return q.usage[fr] + v > (q.is_cluster_queue ? q.nominal[fr] : q.subtree[fr]);
}

int QuotaTree::Height(int32_t cohort) const {
  const auto& c = node(cohort);
  int h = std::min<int>(static_cast<int>(c.child_cqs.size() + c.child_cohorts.size()), 1);
  for (int32_t child : c.child_cohorts) h = std::max(h, Height(child) + 1);
  return h;
}

std::pair<int, bool> QuotaTree::HeightOfLowestSubtreeThatFits(int32_t cq, FrId fr,
                                                              int64_t v) const {
  if (!BorrowingWith(cq, fr, v) || !HasParent(cq)) return {0, HasParent(cq)};
  int64_t remaining = v - LocalAvailable(cq, fr);
  for (int32_t a = node(cq).parent; a >= 0; a = node(a).parent) {
    if (!BorrowingWith(a, fr, remaining)) return {Height(a), HasParent(a)};
    remaining -= LocalAvailable(a, fr);
  }
  return {Height(Root(cq)), false};
}

double QuotaTree::DominantResourceShare(int32_t n, const std::vector<int32_t>& fr_resource,
                                        int32_t resource_count) const {
  const auto& q = node(n);
  if (q.parent < 0) return 0;
  std::vector<int64_t> borrowed(static_cast<size_t>(resource_count), 0);
  bool borrowing = false;
  for (FrId fr = 0; fr < fr_count_; ++fr) {
    if (!q.has_quota[fr]) continue;
    const int64_t b = q.usage[fr] - q.subtree[fr];
    if (b > 0) {
      borrowed[static_cast<size_t>(fr_resource[fr])] += b;
      borrowing = true;
    }
  }
  if (!borrowing) return 0;
  if (q.weight == 0) return std::numeric_limits<double>::infinity();
  // Lendable per resource: the parent's potential available, over all flavors of it.
  std::vector<int64_t> lendable(static_cast<size_t>(resource_count), 0);
  for (FrId fr = 0; fr < fr_count_; ++fr) {
    lendable[static_cast<size_t>(fr_resource[fr])] += PotentialAvailable(q.parent, fr);
  }
  double ratio = 0;
  for (int32_t r = 0; r < resource_count; ++r) {
    const auto ri = static_cast<size_t>(r);
    if (borrowed[ri] > 0 && lendable[ri] > 0) {
      ratio = std::max(
          ratio, static_cast<double>(borrowed[ri]) * 1000.0 / static_cast<double>(lendable[ri]));
    }
  }
  return ratio / q.weight;
}

}  // namespace gputwin::kueue
