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

using Domain = TopologyTree::Domain;
using Tree = TopologyTree;

}  // namespace

TopologyTree TopologyTree::Build(const std::vector<std::string>& levels,
                                 const std::vector<TopologyNode>& nodes) {
  Tree t;
  t.depth = levels.size();
  t.hostname_leaves = !levels.empty() && levels.back() == kHostnameLabel;
  t.domains.resize(t.depth);
  t.leaf_of_node.assign(nodes.size(), -1);
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

  for (size_t i = 0; i < nodes.size(); ++i) {
    if (group_of[i] >= 0) t.leaf_of_node[i] = leaf_of_group[static_cast<size_t>(group_of[i])];
  }
  return t;
}

namespace {

std::string Quote(const std::string& s) {  // Go's %q for plain label-like strings
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// tasExclusionStats: why leaves could not take a single pod. Counted per limiting resource
// index and per filter verdict; the labels are only spelled out for a message.
struct ExclusionStats {
  size_t total_nodes = 0;
  std::map<std::string, int> verdicts;  // filter verdict → count, e.g. `nodeSelector`
  std::vector<int> by_resource;         // limiting resource index → count

  bool empty() const {
    return verdicts.empty() &&
           std::all_of(by_resource.begin(), by_resource.end(), [](int n) { return n == 0; });
  }
  // formatReasons: "label: N" entries sorted as strings, joined with ", ".
  std::string Format(const std::vector<std::string>& resource_names) const {
    std::vector<std::string> parts;
    for (const auto& [label, n] : verdicts) parts.push_back(label + ": " + std::to_string(n));
    for (size_t r = 0; r < by_resource.size(); ++r) {
      if (by_resource[r] == 0) continue;
      parts.push_back("resource " + Quote(resource_names[r]) + ": " +
                      std::to_string(by_resource[r]));
    }
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
         const std::vector<Count>& leaf_free, size_t resources,
         const std::vector<std::string>& resource_names, const std::vector<int32_t>& name_rank,
         const std::vector<Count>& assumed)
      : topology_name_(topology_name),
        levels_(levels),
        nodes_(nodes),
        tree_(tree),
        leaf_free_(leaf_free),
        resources_(resources),
        resource_names_(resource_names),
        name_rank_(name_rank),
        assumed_(assumed) {}

  PlacementResult Find(const TopologyRequest& req);
  // The leaves of the last assignment with their pod counts (for addAssumedUsage).
  const std::vector<std::pair<int32_t, Count>>& placed() const { return placed_; }

 private:
  struct Level {
    std::vector<Count> pod, slice;  // domainState.podCount / sliceCount
  };

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
  const std::vector<Count>& leaf_free_;  // per leaf × resource: summed free capacity
  size_t resources_;
  const std::vector<std::string>& resource_names_;  // one per resource index
  const std::vector<int32_t>& name_rank_;           // resource index → rank of its name
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
  const size_t depth = tree_.depth, leaf_level = depth - 1, res = resources_;
  state_.assign(depth, Level{});
  for (size_t l = 0; l < depth; ++l) {
    state_[l].pod.assign(tree_.domains[l].size(), 0);
    state_[l].slice.assign(tree_.domains[l].size(), 0);
  }
  stats_ = ExclusionStats{};
  stats_.total_nodes = tree_.leaf_count();
  stats_.by_resource.assign(res, 0);

  // Leaves: CountInWithLimitingResource over the requested resources.
  Level& leaves = state_[leaf_level];
  const bool no_requests = req.per_pod.empty();
  for (size_t k = 0; k < tree_.leaf_count(); ++k) {
    if (tree_.hostname_leaves) {  // FindFeasibleNodes
      const auto node = static_cast<size_t>(tree_.leaf_node[k]);
      const std::string& excluded =
          node < req.excluded.size() ? req.excluded[node] : nodes_[node].excluded;
      if (!excluded.empty()) {
        ++stats_.verdicts[excluded];
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
        cap = leaf_free_[k * res + r];
        if (!assumed_.empty()) cap -= assumed_[k * res + r];
      }
      const Count n = std::max<Count>(0, std::min<Count>(cap / want, kMaxCount));
      if (!limiting || n < pods || (n == pods && name_rank_[r] < name_rank_[*limiting])) {
        pods = n;
        limiting = r;
      }
    }
    leaves.pod[k] = pods;
    if (pods == 0 && limiting) ++stats_.by_resource[*limiting];
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
  if (!stats_.empty()) {
    msg += ". Total nodes: " + std::to_string(stats_.total_nodes) +
           "; excluded: " + stats_.Format(resource_names_);
  }
  return msg;
}

std::string Placer::FindLevelWithFitDomains(size_t level, size_t* fit_level,
                                            std::vector<int32_t>* fit) {
  const size_t n = tree_.domains[level].size();
  if (n == 0) return "no topology domains at level: " + levels_[level];
  const Level& s = state_[level];
  const std::vector<Count>& slices = s.slice;
  auto slices_of = [&](int32_t d) { return slices[static_cast<size_t>(d)]; };
  const Count needed = count_ / slice_size_;
  // The order of sortedDomains, as a strict "a before b".
  auto before = [&](size_t a, size_t b) {
    if (s.slice[a] != s.slice[b])
      return best_fit_ ? s.slice[a] > s.slice[b] : s.slice[a] < s.slice[b];
    if (s.pod[a] != s.pod[b]) return s.pod[a] < s.pod[b];
    return a < b;
  };
  // When one domain fits, the answer is the first in sort order among the fitting domains
  // with the fewest slices (BestFit's "optimize the potentially last domain"), or the first
  // fitting one in ascending order (LeastFreeCapacity): both are one pass, no sort.
  {
    int32_t best = -1;
    for (size_t i = 0; i < n; ++i) {
      if (slices[i] < needed) continue;
      const auto b = static_cast<size_t>(best);
      if (best < 0 || slices[i] < slices[b] || (slices[i] == slices[b] && before(i, b))) {
        best = static_cast<int32_t>(i);
      }
    }
    if (best >= 0) {
      *fit_level = level;
      *fit = {best};
      return "";
    }
  }
  std::vector<int32_t> sorted(n);
  for (size_t i = 0; i < n; ++i) sorted[i] = static_cast<int32_t>(i);
  SortDomains(level, &sorted);
  // No single domain fits: the largest one (BestFit's first) says by how much.
  if (required_) return NotFitMessage(slices_of(sorted[0]), needed);
  if (level > 0 && !unconstrained_) return FindLevelWithFitDomains(level - 1, fit_level, fit);
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
  return FindTopologyAssignments(topology_name, levels, TopologyTree::Build(levels, nodes), nodes,
                                 requests, resource_names);
}

std::vector<PlacementResult> FindTopologyAssignments(
    const std::string& topology_name, const std::vector<std::string>& levels,
    const TopologyTree& tree, const std::vector<TopologyNode>& nodes,
    const std::vector<TopologyRequest>& requests, const std::vector<std::string>& resource_names) {
  std::vector<PlacementResult> results(requests.size());
  size_t resources = 0;
  for (const auto& n : nodes) resources = std::max(resources, n.free.size());
  for (const auto& r : requests) resources = std::max(resources, r.per_pod.size());
  // Leaf capacity: the sum over its nodes (addCapacity), before clamping.
  std::vector<Count> leaf_free(tree.leaf_count() * resources, 0);
  for (size_t i = 0; i < nodes.size() && i < tree.leaf_of_node.size(); ++i) {
    const int32_t leaf = tree.leaf_of_node[i];
    if (leaf < 0) continue;
    const auto& free = nodes[i].free;
    Count* sum = &leaf_free[static_cast<size_t>(leaf) * resources];
    for (size_t r = 0; r < free.size(); ++r) sum[r] += free[r];
  }
  std::vector<std::string> names(resources);
  for (size_t r = 0; r < resources; ++r) {
    names[r] = r < resource_names.size() ? resource_names[r] : "resource-" + std::to_string(r);
  }

  // Ties between limiting resources go to the smaller name.
  std::vector<int32_t> order(resources), name_rank(resources);
  for (size_t r = 0; r < resources; ++r) order[r] = static_cast<int32_t>(r);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return names[static_cast<size_t>(a)] < names[static_cast<size_t>(b)];
  });
  for (size_t i = 0; i < resources; ++i)
    name_rank[static_cast<size_t>(order[i])] = static_cast<int32_t>(i);

  std::vector<Count> assumed;  // addAssumedUsage, per leaf × resource
  for (size_t i = 0; i < requests.size(); ++i) {
    Placer placer(topology_name, levels, nodes, tree, leaf_free, resources, names, name_rank,
                  assumed);
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
