#include "kueue/tas_placement.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace gputwin::kueue::tas {
namespace {

using Count = int64_t;  // upstream keeps int32; int64 avoids overflow in the sums
inline constexpr Count kMaxCount = std::numeric_limits<int32_t>::max();

// A topology domain (upstream `domain`). Domains of one level are stored in lexicographic
// order of their level values, so comparing two indices of a level is
// compareDomainLevelValues. The children of a domain are a contiguous range of the next level.
struct Domain {
  int32_t child_begin = -1, child_end = -1;
};

// The static tree over the flavor's nodes (newTopologyTree / addNode / initialize).
struct Tree {
  size_t depth = 0;                          // number of levels
  bool hostname_leaves = false;              // isLowestLevelNode
  std::vector<std::vector<Domain>> domains;  // per level, lexicographic order
  std::vector<int32_t> leaf_node;            // per leaf: the node giving values and filters
  std::vector<Count> leaf_free;              // per leaf × resource: summed free capacity
  size_t resources = 0;

  size_t leaf_count() const { return leaf_node.size(); }
};

Tree BuildTree(const std::vector<std::string>& levels, const std::vector<TopologyNode>& nodes,
               size_t resources) {
  Tree t;
  t.depth = levels.size();
  t.hostname_leaves = !levels.empty() && levels.back() == kHostnameLabel;
  t.resources = resources;
  t.domains.resize(t.depth);
  if (t.depth == 0) return t;

  // Leaf groups: one per hostname (the leaf keeps the first node), or one per full path.
  std::vector<int32_t> reps;  // representative node of each group
  std::vector<int32_t> group_of(nodes.size(), -1);
  reps.reserve(nodes.size());
  if (t.hostname_leaves) {
    std::unordered_map<std::string_view, int32_t> by_host;
    by_host.reserve(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].level_values.size() != t.depth) continue;
      auto [it, inserted] =
          by_host.try_emplace(nodes[i].level_values.back(), static_cast<int32_t>(reps.size()));
      if (inserted) reps.push_back(static_cast<int32_t>(i));
      group_of[i] = it->second;
    }
  } else {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].level_values.size() != t.depth) continue;
      group_of[i] = static_cast<int32_t>(reps.size());
      reps.push_back(static_cast<int32_t>(i));
    }
  }

  // Sort the groups once by their level values; equal full paths (non-hostname leaves) are
  // adjacent and merge into one leaf.
  std::vector<int32_t> order(reps.size());
  for (size_t g = 0; g < reps.size(); ++g) order[g] = static_cast<int32_t>(g);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    const auto& va = nodes[static_cast<size_t>(reps[static_cast<size_t>(a)])].level_values;
    const auto& vb = nodes[static_cast<size_t>(reps[static_cast<size_t>(b)])].level_values;
    if (va != vb) return va < vb;
    return a < b;
  });

  std::vector<int32_t> leaf_of_group(reps.size(), -1);
  const std::vector<std::string>* prev = nullptr;
  for (int32_t g : order) {
    const int32_t rep = reps[static_cast<size_t>(g)];
    const auto& values = nodes[static_cast<size_t>(rep)].level_values;
    size_t first_new = 0;  // the highest level at which this path starts a new domain
    if (prev != nullptr) {
      while (first_new < t.depth && values[first_new] == (*prev)[first_new]) ++first_new;
    }
    if (first_new == t.depth) {  // same path as the previous leaf: aggregate
      leaf_of_group[static_cast<size_t>(g)] = static_cast<int32_t>(t.leaf_node.size() - 1);
      continue;
    }
    for (size_t l = first_new; l < t.depth; ++l) {
      Domain d;
      const auto idx = static_cast<int32_t>(t.domains[l].size());
      if (l > 0) {  // the parent is the last domain created one level up
        Domain& p = t.domains[l - 1].back();
        if (p.child_begin < 0) p.child_begin = idx;
        p.child_end = idx + 1;
      }
      t.domains[l].push_back(d);
    }
    leaf_of_group[static_cast<size_t>(g)] = static_cast<int32_t>(t.leaf_node.size());
    t.leaf_node.push_back(rep);
    prev = &values;
  }

  // Leaf capacity: the sum over its nodes (addCapacity), before clamping.
  t.leaf_free.assign(t.leaf_count() * resources, 0);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (group_of[i] < 0) continue;
    const auto leaf = static_cast<size_t>(leaf_of_group[static_cast<size_t>(group_of[i])]);
    const auto& free = nodes[i].free;
    for (size_t r = 0; r < free.size() && r < resources; ++r) {
      t.leaf_free[leaf * resources + r] += free[r];
    }
  }
  return t;
}

std::string Quote(const std::string& s) {  // Go's %q for plain label-like strings
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// tasExclusionStats: why leaves could not take a single pod.
struct ExclusionStats {
  size_t total_nodes = 0;
  std::map<std::string, int> reasons;  // label → count, e.g. `resource "cpu"`

  // formatReasons: "label: N" entries sorted as strings, joined with ", ".
  std::string Format() const {
    std::vector<std::string> parts;
    parts.reserve(reasons.size());
    for (const auto& [label, n] : reasons) parts.push_back(label + ": " + std::to_string(n));
    std::sort(parts.begin(), parts.end());
    std::string out;
    for (const auto& p : parts) {
      if (!out.empty()) out += ", ";
      out += p;
    }
    return out;
  }
};

// One run of findTopologyAssignment for a PodSet over a built tree.
class Placer {
 public:
  Placer(const std::string& topology_name, const std::vector<std::string>& levels,
         const std::vector<TopologyNode>& nodes, const Tree& tree,
         const std::vector<std::string>& resource_names, const std::vector<Count>& assumed)
      : topology_name_(topology_name),
        levels_(levels),
        nodes_(nodes),
        tree_(tree),
        resource_names_(resource_names),
        assumed_(assumed) {}

  PlacementResult Find(const TopologyRequest& req);
  // The leaves of the last assignment with their pod counts (for addAssumedUsage).
  const std::vector<std::pair<int32_t, Count>>& placed() const { return placed_; }

 private:
  struct Level {
    std::vector<Count> pod, slice;  // domainState.podCount / sliceCount
  };

  const std::string& ResourceName(size_t r) const { return resource_names_[r]; }
  std::optional<size_t> LevelIndex(const std::string& key) const {
    for (size_t i = 0; i < levels_.size(); ++i) {
      if (levels_[i] == key) return i;
    }
    return std::nullopt;
  }

  void FillInCounts(const TopologyRequest& req);
  // sortedDomains: BestFit sorts by sliceCount desc, LeastFreeCapacity by sliceCount asc;
  // then podCount asc, then level values.
  void SortDomains(size_t level, std::vector<int32_t>* ds) const;
  // findBestFitDomainForSlices / findBestFitDomain (findBestFitDomainBy): the first domain
  // with the smallest count ≥ needed, else the first domain.
  int32_t BestFit(const std::vector<Count>& counts, const std::vector<int32_t>& ds, size_t from,
                  Count needed) const;
  // findLevelWithFitDomains: on success sets *fit_level and *fit.
  std::string FindLevelWithFitDomains(size_t level, size_t* fit_level, std::vector<int32_t>* fit);
  // updateCountsToMinimumGeneric without leaders: clips the domains to what is used.
  std::vector<int32_t> UpdateCountsToMinimum(size_t level, const std::vector<int32_t>& ds,
                                             Count count, Count slice_size, bool slices);
  std::string NotFitMessage(Count fit, Count total) const;
  TopologyAssignment BuildAssignment(std::vector<int32_t> leaves);

  const std::string& topology_name_;
  const std::vector<std::string>& levels_;
  const std::vector<TopologyNode>& nodes_;
  const Tree& tree_;
  const std::vector<std::string>& resource_names_;  // one per resource index
  const std::vector<Count>& assumed_;               // per leaf × resource, earlier PodSets' usage

  std::vector<Level> state_;
  std::vector<std::pair<int32_t, Count>> placed_;
  ExclusionStats stats_;
  Count count_ = 0, slice_size_ = 1;
  size_t slice_level_ = 0;
  bool required_ = false, unconstrained_ = false;
  bool best_fit_ = true;  // useBestFitAlgorithm; otherwise LeastFreeCapacity
};

// fillInCounts / fillLeafCounts / fillInCountsHelper (no leaders).
void Placer::FillInCounts(const TopologyRequest& req) {
  const size_t depth = tree_.depth, leaf_level = depth - 1, res = tree_.resources;
  state_.assign(depth, Level{});
  for (size_t l = 0; l < depth; ++l) {
    state_[l].pod.assign(tree_.domains[l].size(), 0);
    state_[l].slice.assign(tree_.domains[l].size(), 0);
  }
  stats_ = ExclusionStats{};
  stats_.total_nodes = tree_.leaf_count();

  // Leaves: CountInWithLimitingResource over the requested resources.
  Level& leaves = state_[leaf_level];
  const bool no_requests = req.per_pod.empty();
  for (size_t k = 0; k < tree_.leaf_count(); ++k) {
    if (tree_.hostname_leaves) {  // FindFeasibleNodes
      const auto node = static_cast<size_t>(tree_.leaf_node[k]);
      const std::string& excluded =
          node < req.excluded.size() ? req.excluded[node] : nodes_[node].excluded;
      if (!excluded.empty()) {
        ++stats_.reasons[excluded];
        continue;
      }
    }
    Count pods = no_requests ? 0 : kMaxCount;
    std::optional<size_t> limiting;
    for (size_t r = 0; r < req.per_pod.size(); ++r) {
      const int64_t want = req.per_pod[r];
      if (want <= 0) continue;
      Count cap = 0;
      if (r < res) {
        cap = tree_.leaf_free[k * res + r];
        if (!assumed_.empty()) cap -= assumed_[k * res + r];
      }
      const Count n = std::max<Count>(0, std::min<Count>(cap / want, kMaxCount));
      if (!limiting || n < pods || (n == pods && ResourceName(r) < ResourceName(*limiting))) {
        pods = n;
        limiting = r;
      }
    }
    leaves.pod[k] = pods;
    if (pods == 0 && limiting) ++stats_.reasons["resource " + Quote(ResourceName(*limiting))];
  }
  if (leaf_level == slice_level_) {
    for (size_t k = 0; k < leaves.pod.size(); ++k) leaves.slice[k] = leaves.pod[k] / slice_size_;
  }
  // Parents, bottom-up.
  for (size_t l = leaf_level; l-- > 0;) {
    const Level& below = state_[l + 1];
    Level& here = state_[l];
    for (size_t i = 0; i < tree_.domains[l].size(); ++i) {
      const Domain& d = tree_.domains[l][i];
      Count pods = 0, slices = 0;
      for (int32_t c = d.child_begin; c < d.child_end; ++c) {
        pods += below.pod[static_cast<size_t>(c)];
        slices += below.slice[static_cast<size_t>(c)];
      }
      here.pod[i] = pods;
      here.slice[i] = l == slice_level_ ? pods / slice_size_ : slices;
    }
  }
}

void Placer::SortDomains(size_t level, std::vector<int32_t>* ds) const {
  const Level& s = state_[level];
  const bool desc = best_fit_;
  std::sort(ds->begin(), ds->end(), [&](int32_t a, int32_t b) {
    const auto ia = static_cast<size_t>(a), ib = static_cast<size_t>(b);
    if (s.slice[ia] != s.slice[ib]) {
      return desc ? s.slice[ia] > s.slice[ib] : s.slice[ia] < s.slice[ib];
    }
    if (s.pod[ia] != s.pod[ib]) return s.pod[ia] < s.pod[ib];
    return a < b;
  });
}

int32_t Placer::BestFit(const std::vector<Count>& counts, const std::vector<int32_t>& ds,
                        size_t from, Count needed) const {
  int32_t best = ds[from];
  Count best_count = std::numeric_limits<Count>::max();
  for (size_t i = from; i < ds.size(); ++i) {
    const Count c = counts[static_cast<size_t>(ds[i])];
    if (c >= needed && c < best_count) {
      best = ds[i];
      best_count = c;
    }
  }
  return best;
}

std::string Placer::NotFitMessage(Count fit, Count total) const {
  const char* unit = slice_size_ == 1 ? "pod" : "slice";
  std::string msg = "topology " + Quote(topology_name_);
  if (fit == 0) {
    msg += " doesn't allow to fit any of " + std::to_string(total) + " " + unit + "(s)";
  } else {
    msg += " allows to fit only " + std::to_string(fit) + " out of " + std::to_string(total) + " " +
           unit + "(s)";
  }
  if (!stats_.reasons.empty()) {
    msg +=
        ". Total nodes: " + std::to_string(stats_.total_nodes) + "; excluded: " + stats_.Format();
  }
  return msg;
}

std::string Placer::FindLevelWithFitDomains(size_t level, size_t* fit_level,
                                            std::vector<int32_t>* fit) {
  const size_t n = tree_.domains[level].size();
  if (n == 0) return "no topology domains at level: " + levels_[level];
  std::vector<int32_t> sorted(n);
  for (size_t i = 0; i < n; ++i) sorted[i] = static_cast<int32_t>(i);
  SortDomains(level, &sorted);
  const std::vector<Count>& slices = state_[level].slice;
  auto slices_of = [&](int32_t d) { return slices[static_cast<size_t>(d)]; };

  const Count needed = count_ / slice_size_;
  int32_t top = sorted[0];
  if (best_fit_ && slices_of(top) >= needed) {
    top = BestFit(slices, sorted, 0, needed);  // optimize the potentially last domain
  }
  if (!best_fit_) {
    // LeastFreeCapacity: the first domain, in ascending order, that fits on its own.
    for (int32_t d : sorted) {
      if (slices_of(d) >= needed) {
        *fit_level = level;
        *fit = {d};
        return "";
      }
    }
    // (upstream's required branch here is unreachable: LeastFreeCapacity is only used for
    // unconstrained requests)
  }
  if (slices_of(top) < needed) {
    if (required_) return NotFitMessage(slices_of(top), needed);
    if (level > 0 && !unconstrained_) {
      return FindLevelWithFitDomains(level - 1, fit_level, fit);
    }
    // Spread over several domains of this level, in sort order.
    std::vector<int32_t> result;
    Count remaining = needed;
    for (size_t i = 0; remaining > 0 && i < sorted.size(); ++i) {
      int32_t d = sorted[i];
      if (best_fit_ && slices_of(d) >= remaining) {
        d = BestFit(slices, sorted, i, remaining);  // optimize the last domain
      }
      result.push_back(d);
      remaining -= slices_of(d);
    }
    if (remaining > 0) return NotFitMessage(needed - remaining, needed);
    *fit_level = level;
    *fit = std::move(result);
    return "";
  }
  *fit_level = level;
  *fit = {top};
  return "";
}

std::vector<int32_t> Placer::UpdateCountsToMinimum(size_t level, const std::vector<int32_t>& ds,
                                                   Count count, Count slice_size, bool slices) {
  Level& s = state_[level];
  std::vector<int32_t> result;
  Count remaining = slices ? count / slice_size : count;
  for (size_t i = 0; i < ds.size(); ++i) {
    int32_t d = ds[i];
    if (slices) {
      if (best_fit_ && s.slice[static_cast<size_t>(d)] >= remaining) {
        d = BestFit(s.slice, ds, i, remaining);  // optimize the last domain
      }
      const auto di = static_cast<size_t>(d);
      result.push_back(d);
      if (s.slice[di] >= remaining) {
        s.pod[di] = remaining * slice_size;
        s.slice[di] = remaining;
        return result;
      }
      s.pod[di] = s.slice[di] * slice_size;
      remaining -= s.slice[di];
      continue;
    }
    if (best_fit_ && s.pod[static_cast<size_t>(d)] >= remaining) {
      d = BestFit(s.pod, ds, i, remaining);  // optimize the last domain
    }
    const auto di = static_cast<size_t>(d);
    result.push_back(d);
    if (s.pod[di] >= remaining) {
      s.pod[di] = remaining;
      return result;
    }
    remaining -= s.pod[di];
  }
  // upstream logs errCodeAssumptionsViolated and returns nil
  return {};
}

// buildAssignment: leaves in lexicographic order of their level values, empty ones dropped.
TopologyAssignment Placer::BuildAssignment(std::vector<int32_t> leaves) {
  std::sort(leaves.begin(), leaves.end());
  const Level& s = state_[tree_.depth - 1];
  TopologyAssignment a;
  placed_.clear();
  if (tree_.hostname_leaves) {
    a.levels = {levels_.back()};
  } else {
    a.levels = levels_;
  }
  for (int32_t k : leaves) {
    const Count pods = s.pod[static_cast<size_t>(k)];
    if (pods == 0) continue;
    const auto& values =
        nodes_[static_cast<size_t>(tree_.leaf_node[static_cast<size_t>(k)])].level_values;
    TopologyDomainAssignment d;
    if (tree_.hostname_leaves) {
      d.values = {values.back()};
    } else {
      d.values = values;
    }
    d.count = static_cast<int32_t>(pods);
    a.domains.push_back(std::move(d));
    placed_.emplace_back(k, pods);
  }
  return a;
}

// findTopologyAssignment for one PodSet without a leader.
PlacementResult Placer::Find(const TopologyRequest& req) {
  PlacementResult out;
  // getSliceSizeWithSinglePodAsDefault
  const bool slices_requested = !req.slice_level.empty();
  slice_size_ = 1;
  if (slices_requested) {
    if (req.slice_size <= 0) {
      out.reason = "slice topology requested, but slice size not provided";
      return out;
    }
    slice_size_ = req.slice_size;
  }
  required_ = req.mode == RequestMode::kRequired;
  // isUnconstrained: the unconstrained annotation, an implied request, or a slice-only request
  unconstrained_ = req.mode == RequestMode::kUnconstrained;
  best_fit_ = !unconstrained_;  // useLeastFreeCapacityAlgorithm with TASProfileMixed
  count_ = req.count;

  if (levels_.empty()) {  // no Topology levels: levelKey has nothing to point at
    out.reason = "topology level not specified";
    return out;
  }
  // levelKey: required > preferred > slice-only (highest level) > unconstrained (lowest)
  std::string key;
  if (req.mode != RequestMode::kUnconstrained) {
    key = req.level;
  } else if (slices_requested) {
    key = levels_.front();
  } else {
    key = levels_.back();
  }
  const auto requested = LevelIndex(key);
  if (!requested) {
    out.reason = "no requested topology level: " + key;
    return out;
  }
  const std::string slice_key = slices_requested ? req.slice_level : levels_.back();
  const auto slice_level = LevelIndex(slice_key);
  if (!slice_level) {
    out.reason = "no requested topology level for slices: " + slice_key;
    return out;
  }
  if (*requested > *slice_level) {
    out.reason = "podset slice topology " + slice_key + " is above the podset topology " + key;
    return out;
  }
  slice_level_ = *slice_level;

  // phase 1
  FillInCounts(req);

  // phase 2a
  size_t fit_level = 0;
  std::vector<int32_t> fit;
  out.reason = FindLevelWithFitDomains(*requested, &fit_level, &fit);
  if (!out.reason.empty()) return out;

  // phase 2b: descend level by level
  fit = UpdateCountsToMinimum(fit_level, fit, count_, slice_size_, true);
  const size_t leaf_level = tree_.depth - 1;
  size_t level = fit_level;
  // Above the slice level: all the chosen domains' children compete together for the
  // whole count (lowerLevelDomains + sortedDomains).
  for (; level < std::min(leaf_level, slice_level_); ++level) {
    std::vector<int32_t> lower;
    for (int32_t d : fit) {
      const Domain& dom = tree_.domains[level][static_cast<size_t>(d)];
      for (int32_t c = dom.child_begin; c < dom.child_end; ++c) lower.push_back(c);
    }
    SortDomains(level + 1, &lower);
    fit = UpdateCountsToMinimum(level + 1, lower, count_, slice_size_, true);
  }
  // At or below the slice level: each domain hands its own pods to its children.
  for (; level < leaf_level; ++level) {
    std::vector<int32_t> next;
    for (int32_t d : fit) {
      const Domain& dom = tree_.domains[level][static_cast<size_t>(d)];
      std::vector<int32_t> children;
      children.reserve(static_cast<size_t>(dom.child_end - dom.child_begin));
      for (int32_t c = dom.child_begin; c < dom.child_end; ++c) children.push_back(c);
      SortDomains(level + 1, &children);
      const Count pods = state_[level].pod[static_cast<size_t>(d)];
      auto part = UpdateCountsToMinimum(level + 1, children, pods, 1, false);
      next.insert(next.end(), part.begin(), part.end());
    }
    fit = std::move(next);
  }
  out.assignment = BuildAssignment(std::move(fit));
  return out;
}

}  // namespace

std::vector<PlacementResult> FindTopologyAssignments(
    const std::string& topology_name, const std::vector<std::string>& levels,
    const std::vector<TopologyNode>& nodes, const std::vector<TopologyRequest>& requests,
    const std::vector<std::string>& resource_names) {
  std::vector<PlacementResult> results(requests.size());
  size_t resources = 0;
  for (const auto& n : nodes) resources = std::max(resources, n.free.size());
  for (const auto& r : requests) resources = std::max(resources, r.per_pod.size());
  const Tree tree = BuildTree(levels, nodes, resources);
  std::vector<std::string> names(resources);
  for (size_t r = 0; r < resources; ++r) {
    names[r] = r < resource_names.size() ? resource_names[r] : "resource-" + std::to_string(r);
  }

  std::vector<Count> assumed;  // addAssumedUsage, per leaf × resource
  for (size_t i = 0; i < requests.size(); ++i) {
    Placer placer(topology_name, levels, nodes, tree, names, assumed);
    results[i] = placer.Find(requests[i]);
    if (!results[i].assignment) break;  // upstream returns at the first failure
    if (i + 1 == requests.size()) break;
    if (assumed.empty()) assumed.assign(tree.leaf_count() * resources, 0);
    const auto& per_pod = requests[i].per_pod;
    for (auto [leaf, pods] : placer.placed()) {
      for (size_t r = 0; r < per_pod.size(); ++r) {
        assumed[static_cast<size_t>(leaf) * resources + r] += per_pod[r] * pods;
      }
    }
  }
  return results;
}

}  // namespace gputwin::kueue::tas
