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

// One run of findTopologyAssignment for a PodSet (the workers) and, for a podset group, its
// leader, over a built tree.
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

  struct Found {
    PlacementResult workers, leader;
  };
  Found Find(const TopologyRequest& req, const TopologyRequest* leader);
  // The leaves of the last assignments with their pod counts (for addAssumedUsage).
  const std::vector<std::pair<int32_t, Count>>& placed_workers() const { return placed_workers_; }
  const std::vector<std::pair<int32_t, Count>>& placed_leader() const { return placed_leader_; }

 private:
  // domainState per domain of a level: podCount, sliceCount, podCountWithLeader,
  // sliceCountWithLeader, leaderCount.
  struct Level {
    std::vector<Count> pod, slice, pod_wl, slice_wl, leader;
  };

  std::optional<size_t> LevelIndex(const std::string& key) const {
    for (size_t i = 0; i < levels_.size(); ++i) {
      if (levels_[i] == key) return i;
    }
    return std::nullopt;
  }

  void FillInCounts(const TopologyRequest& req, const TopologyRequest* leader);
  // sortedDomains: BestFit sorts by sliceCount desc, LeastFreeCapacity by sliceCount asc;
  // then podCount asc, then level values. sortedDomainsWithLeader (with_leader): leaderCount
  // desc first, then the same over the with-leader counts.
  void SortDomains(size_t level, std::vector<int32_t>* ds, bool with_leader) const;
  // findBestFitDomain(ForSlices) (findBestFitDomainBy): among domains holding `leaders`, the
  // first with the smallest count ≥ needed (with-leader counts when leaders > 0), else the
  // first domain.
  int32_t BestFit(size_t level, bool slices, const std::vector<int32_t>& ds, size_t from,
                  Count needed, Count leaders) const;
  // findLevelWithFitDomains: on success sets *fit_level and *fit.
  std::string FindLevelWithFitDomains(size_t level, size_t* fit_level, std::vector<int32_t>* fit);
  // prioritizeLeaderDomain: the first domain that can hold the leaders while the whole set
  // still holds the workers moves to the front.
  std::vector<int32_t> PrioritizeLeaderDomain(size_t level, std::vector<int32_t> ds, Count count,
                                              Count leaders, Count slice_size, bool slices) const;
  // updateCountsToMinimumGeneric (with consumeWithLeadersGeneric): clips the domains to what
  // is used.
  std::vector<int32_t> UpdateCountsToMinimum(size_t level, std::vector<int32_t> ds, Count count,
                                             Count leaders, Count slice_size, bool slices);
  std::string NotFitMessage(Count fit, Count total) const;
  TopologyAssignment BuildAssignment(std::vector<int32_t> leaves, const std::vector<Count>& counts,
                                     std::vector<std::pair<int32_t, Count>>* placed) const;

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
  std::vector<std::pair<int32_t, Count>> placed_workers_, placed_leader_;
  ExclusionStats stats_;
  Count count_ = 0, slice_size_ = 1, leader_count_ = 0;
  size_t slice_level_ = 0;
  bool required_ = false, unconstrained_ = false;
  bool best_fit_ = true;  // useBestFitAlgorithm; otherwise LeastFreeCapacity
};

// fillInCounts / fillLeafCounts / fillInCountsHelper.
void Placer::FillInCounts(const TopologyRequest& req, const TopologyRequest* leader) {
  const size_t depth = tree_.depth, leaf_level = depth - 1, res = resources_;
  state_.assign(depth, Level{});
  for (size_t l = 0; l < depth; ++l) {
    const size_t n = tree_.domains[l].size();
    for (auto* v : {&state_[l].pod, &state_[l].slice, &state_[l].pod_wl, &state_[l].slice_wl,
                    &state_[l].leader}) {
      v->assign(n, 0);
    }
  }
  stats_ = ExclusionStats{};
  stats_.total_nodes = tree_.leaf_count();
  stats_.by_resource.assign(res, 0);

  // Leaves: CountInWithLimitingResource over the requested resources; with a leader, whether
  // it fits and how many workers fit beside it.
  Level& leaves = state_[leaf_level];
  std::vector<Count> cap(res);
  auto count_in = [&](const cluster::ResourceVec& per_pod) {
    Count pods = per_pod.empty() ? 0 : kMaxCount;
    for (size_t r = 0; r < per_pod.size(); ++r) {
      if (per_pod[r] <= 0) continue;
      const Count have = r < res ? cap[r] : 0;
      pods = std::min(pods, std::max<Count>(0, std::min<Count>(have / per_pod[r], kMaxCount)));
    }
    return pods;
  };
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
    for (size_t r = 0; r < res; ++r) {
      cap[r] = leaf_free_[k * res + r] - (assumed_.empty() ? 0 : assumed_[k * res + r]);
    }
    Count pods = req.per_pod.empty() ? 0 : kMaxCount;
    std::optional<size_t> limiting;
    for (size_t r = 0; r < req.per_pod.size(); ++r) {
      const int64_t want = req.per_pod[r];
      if (want <= 0) continue;
      const Count have = r < res ? cap[r] : 0;
      const Count n = std::max<Count>(0, std::min<Count>(have / want, kMaxCount));
      if (!limiting || n < pods || (n == pods && name_rank_[r] < name_rank_[*limiting])) {
        pods = n;
        limiting = r;
      }
    }
    leaves.pod[k] = pods;
    if (pods == 0 && limiting) ++stats_.by_resource[*limiting];
    leaves.pod_wl[k] = pods;
    if (leader && count_in(leader->per_pod) > 0) {
      leaves.leader[k] = 1;
      for (size_t r = 0; r < leader->per_pod.size() && r < res; ++r) {
        cap[r] -= std::max<int64_t>(0, leader->per_pod[r]);
      }
      leaves.pod_wl[k] = count_in(req.per_pod);
    }
  }
  if (leaf_level == slice_level_) {
    for (size_t k = 0; k < leaves.pod.size(); ++k) {
      leaves.slice[k] = leaves.pod[k] / slice_size_;
      leaves.slice_wl[k] = leaves.pod_wl[k] / slice_size_;
    }
  }
  // Parents, bottom-up. The with-leader capacity loses the smallest leader penalty among the
  // children that can hold a leader.
  const bool leader_required = leader_count_ > 0;
  for (size_t l = leaf_level; l-- > 0;) {
    const Level& below = state_[l + 1];
    Level& here = state_[l];
    for (size_t i = 0; i < tree_.domains[l].size(); ++i) {
      const Domain& d = tree_.domains[l][i];
      Count pods = 0, slices = 0, leaders = 0;
      Count min_pod_diff = kMaxCount, min_slice_diff = kMaxCount;
      bool contributor = false;
      for (int32_t c = d.child_begin; c < d.child_end; ++c) {
        const auto ci = static_cast<size_t>(c);
        pods += below.pod[ci];
        slices += below.slice[ci];
        if (!leader_required || below.leader[ci] > 0) {
          contributor = true;
          min_pod_diff = std::min(min_pod_diff, below.pod[ci] - below.pod_wl[ci]);
          min_slice_diff = std::min(min_slice_diff, below.slice[ci] - below.slice_wl[ci]);
        }
        leaders = std::max(leaders, below.leader[ci]);
      }
      here.pod[i] = pods;
      here.pod_wl[i] = contributor ? pods - min_pod_diff : 0;
      Count slices_wl = contributor ? slices - min_slice_diff : 0;
      here.leader[i] = leaders;
      if (l == slice_level_) {
        slices = pods / slice_size_;
        slices_wl = here.pod_wl[i] / slice_size_;
      }
      here.slice[i] = slices;
      here.slice_wl[i] = slices_wl;
    }
  }
}

void Placer::SortDomains(size_t level, std::vector<int32_t>* ds, bool with_leader) const {
  const Level& s = state_[level];
  const bool desc = best_fit_;
  const std::vector<Count>& slice = with_leader ? s.slice_wl : s.slice;
  const std::vector<Count>& pod = with_leader ? s.pod_wl : s.pod;
  std::sort(ds->begin(), ds->end(), [&](int32_t a, int32_t b) {
    const auto ia = static_cast<size_t>(a), ib = static_cast<size_t>(b);
    if (with_leader && s.leader[ia] != s.leader[ib]) return s.leader[ia] > s.leader[ib];
    if (slice[ia] != slice[ib]) return desc ? slice[ia] > slice[ib] : slice[ia] < slice[ib];
    if (pod[ia] != pod[ib]) return pod[ia] < pod[ib];
    return a < b;
  });
}

int32_t Placer::BestFit(size_t level, bool slices, const std::vector<int32_t>& ds, size_t from,
                        Count needed, Count leaders) const {
  const Level& s = state_[level];
  const std::vector<Count>& counts =
      slices ? (leaders > 0 ? s.slice_wl : s.slice) : (leaders > 0 ? s.pod_wl : s.pod);
  int32_t best = ds[from];
  Count best_count = std::numeric_limits<Count>::max();
  for (size_t i = from; i < ds.size(); ++i) {
    const auto d = static_cast<size_t>(ds[i]);
    if (s.leader[d] < leaders) continue;
    const Count c = counts[d];
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
  const Count needed = count_ / slice_size_;
  if (leader_count_ == 0) {
    // Without a leader: when one domain fits, the answer is the first in sort order among
    // the fitting domains with the fewest slices (BestFit's "optimize the potentially last
    // domain"), or the first fitting one in ascending order (LeastFreeCapacity): one pass.
    auto before = [&](size_t a, size_t b) {
      if (s.slice[a] != s.slice[b]) {
        return best_fit_ ? s.slice[a] > s.slice[b] : s.slice[a] < s.slice[b];
      }
      if (s.pod[a] != s.pod[b]) return s.pod[a] < s.pod[b];
      return a < b;
    };
    int32_t best = -1;
    for (size_t i = 0; i < n; ++i) {
      if (s.slice[i] < needed) continue;
      const auto b = static_cast<size_t>(best);
      if (best < 0 || s.slice[i] < s.slice[b] || (s.slice[i] == s.slice[b] && before(i, b))) {
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
  SortDomains(level, &sorted, true);
  auto at = [](const std::vector<Count>& v, int32_t d) { return v[static_cast<size_t>(d)]; };
  int32_t top = sorted[0];
  if (best_fit_ && at(s.slice_wl, top) >= needed && at(s.leader, top) >= leader_count_) {
    top = BestFit(level, true, sorted, 0, needed, leader_count_);  // optimize the last domain
  }
  if (!best_fit_) {
    // LeastFreeCapacity: the first domain, in ascending order, that fits on its own.
    for (int32_t d : sorted) {
      if (leader_count_ > 0 && at(s.leader, d) < leader_count_) continue;
      const Count capacity = leader_count_ > 0 ? at(s.slice_wl, d) : at(s.slice, d);
      if (capacity >= needed) {
        *fit_level = level;
        *fit = {d};
        return "";
      }
    }
  }
  if (at(s.slice_wl, top) >= needed && at(s.leader, top) >= leader_count_) {
    *fit_level = level;
    *fit = {top};
    return "";
  }
  if (required_) return NotFitMessage(at(s.slice, top), needed);
  if (level > 0 && !unconstrained_) return FindLevelWithFitDomains(level - 1, fit_level, fit);
  // Spread over several domains of this level: the leaders first, from domains that keep
  // the workers' capacity, then the workers in sort order.
  std::vector<int32_t> result;
  Count remaining = needed, remaining_leaders = leader_count_;
  sorted =
      PrioritizeLeaderDomain(level, std::move(sorted), count_, leader_count_, slice_size_, true);
  size_t idx = 0;
  for (; remaining_leaders > 0 && idx < sorted.size() && at(s.leader, sorted[idx]) > 0; ++idx) {
    int32_t d = sorted[idx];
    if (best_fit_ && at(s.slice_wl, d) >= remaining) {
      d = BestFit(level, true, sorted, idx, remaining, remaining_leaders);
    }
    result.push_back(d);
    remaining_leaders -= at(s.leader, d);
    remaining -= at(s.slice_wl, d);
  }
  if (remaining_leaders > 0) return NotFitMessage(leader_count_ - remaining_leaders, needed);
  std::vector<int32_t> rest(sorted.begin() + static_cast<std::ptrdiff_t>(idx), sorted.end());
  SortDomains(level, &rest, false);
  for (size_t i = 0; remaining > 0 && i < rest.size(); ++i) {
    int32_t d = rest[i];
    if (best_fit_ && at(s.slice, d) >= remaining) {
      d = BestFit(level, true, rest, i, remaining, 0);  // optimize the last domain
    }
    result.push_back(d);
    remaining -= at(s.slice, d);
  }
  if (remaining > 0) return NotFitMessage(needed - remaining, needed);
  *fit_level = level;
  *fit = std::move(result);
  return "";
}

std::vector<int32_t> Placer::PrioritizeLeaderDomain(size_t level, std::vector<int32_t> ds,
                                                    Count count, Count leaders, Count slice_size,
                                                    bool slices) const {
  if (leaders == 0 || ds.size() < 2) return ds;
  const Level& s = state_[level];
  const Count required = slices ? count / slice_size : count;
  Count available = 0;
  for (int32_t d : ds)
    available += slices ? s.slice[static_cast<size_t>(d)] : s.pod[static_cast<size_t>(d)];
  for (size_t i = 0; i < ds.size(); ++i) {
    const auto d = static_cast<size_t>(ds[i]);
    if (s.leader[d] < leaders) continue;
    const Count penalty = slices ? s.slice[d] - s.slice_wl[d] : s.pod[d] - s.pod_wl[d];
    if (available - penalty < required) continue;
    std::rotate(ds.begin(), ds.begin() + static_cast<std::ptrdiff_t>(i),
                ds.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    return ds;
  }
  return ds;
}

std::vector<int32_t> Placer::UpdateCountsToMinimum(size_t level, std::vector<int32_t> ds,
                                                   Count count, Count leaders, Count slice_size,
                                                   bool slices) {
  ds = PrioritizeLeaderDomain(level, std::move(ds), count, leaders, slice_size, slices);
  Level& s = state_[level];
  std::vector<int32_t> result;
  Count remaining = slices ? count / slice_size : count;
  Count remaining_leaders = leaders;
  const Count unit = slices ? slice_size : 1;
  for (size_t i = 0; i < ds.size(); ++i) {
    int32_t d = ds[i];
    if (remaining_leaders > 0) {
      // consumeWithLeadersGeneric
      std::vector<Count>& with_leader = slices ? s.slice_wl : s.pod_wl;
      std::vector<Count>& primary = slices ? s.slice : s.pod;
      auto di = static_cast<size_t>(d);
      if (best_fit_ && with_leader[di] >= remaining && s.leader[di] >= remaining_leaders) {
        d = BestFit(level, slices, ds, i, remaining, remaining_leaders);  // the last domain
        di = static_cast<size_t>(d);
      }
      result.push_back(d);
      if (with_leader[di] >= remaining && s.leader[di] >= remaining_leaders) {
        primary[di] = remaining;
        s.leader[di] = remaining_leaders;
        s.pod[di] = remaining * unit;
        return result;
      }
      with_leader[di] = std::min(with_leader[di], remaining);
      s.leader[di] = std::min(s.leader[di], remaining_leaders);
      primary[di] = with_leader[di];
      s.pod[di] = with_leader[di] * unit;
      remaining_leaders -= s.leader[di];
      remaining -= with_leader[di];
      continue;
    }
    if (slices) {
      if (best_fit_ && s.slice[static_cast<size_t>(d)] >= remaining) {
        d = BestFit(level, true, ds, i, remaining, 0);  // optimize the last domain
      }
      const auto di = static_cast<size_t>(d);
      s.leader[di] = 0;
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
      d = BestFit(level, false, ds, i, remaining, 0);  // optimize the last domain
    }
    const auto di = static_cast<size_t>(d);
    s.leader[di] = 0;
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
TopologyAssignment Placer::BuildAssignment(std::vector<int32_t> leaves,
                                           const std::vector<Count>& counts,
                                           std::vector<std::pair<int32_t, Count>>* placed) const {
  std::sort(leaves.begin(), leaves.end());
  TopologyAssignment a;
  placed->clear();
  if (tree_.hostname_leaves) {
    a.levels = {levels_.back()};
  } else {
    a.levels = levels_;
  }
  for (int32_t k : leaves) {
    const Count pods = counts[static_cast<size_t>(k)];
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
    placed->emplace_back(k, pods);
  }
  return a;
}

// findTopologyAssignment for one PodSet, or a podset group's workers and leader.
Placer::Found Placer::Find(const TopologyRequest& req, const TopologyRequest* leader) {
  Found found;
  PlacementResult& out = found.workers;
  auto fail = [&](std::string reason) {
    found.workers.reason = reason;
    found.leader.reason = std::move(reason);
    return found;
  };
  // getSliceSizeWithSinglePodAsDefault
  const bool slices_requested = !req.slice_level.empty();
  slice_size_ = 1;
  if (slices_requested) {
    if (req.slice_size <= 0) return fail("slice topology requested, but slice size not provided");
    slice_size_ = req.slice_size;
  }
  required_ = req.mode == RequestMode::kRequired;
  // isUnconstrained: the unconstrained annotation, an implied request, or a slice-only request
  unconstrained_ = req.mode == RequestMode::kUnconstrained;
  best_fit_ = !unconstrained_;  // useLeastFreeCapacityAlgorithm with TASProfileMixed
  count_ = req.count;
  leader_count_ = leader ? 1 : 0;  // grouping requires a leader PodSet of one pod

  if (levels_.empty()) return fail("topology level not specified");
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
  if (!requested) return fail("no requested topology level: " + key);
  const std::string slice_key = slices_requested ? req.slice_level : levels_.back();
  const auto slice_level = LevelIndex(slice_key);
  if (!slice_level) return fail("no requested topology level for slices: " + slice_key);
  if (*requested > *slice_level) {
    return fail("podset slice topology " + slice_key + " is above the podset topology " + key);
  }
  slice_level_ = *slice_level;

  // phase 1
  FillInCounts(req, leader);

  // phase 2a
  size_t fit_level = 0;
  std::vector<int32_t> fit;
  if (std::string reason = FindLevelWithFitDomains(*requested, &fit_level, &fit); !reason.empty()) {
    return fail(std::move(reason));
  }

  // phase 2b: descend level by level
  fit = UpdateCountsToMinimum(fit_level, std::move(fit), count_, leader_count_, slice_size_, true);
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
    SortDomains(level + 1, &lower, false);
    fit = UpdateCountsToMinimum(level + 1, std::move(lower), count_, leader_count_, slice_size_,
                                true);
  }
  // At or below the slice level: each domain hands its own pods (and leader) to its children.
  for (; level < leaf_level; ++level) {
    std::vector<int32_t> next;
    for (int32_t d : fit) {
      const Domain& dom = tree_.domains[level][static_cast<size_t>(d)];
      std::vector<int32_t> children;
      children.reserve(static_cast<size_t>(dom.child_end - dom.child_begin));
      for (int32_t c = dom.child_begin; c < dom.child_end; ++c) children.push_back(c);
      SortDomains(level + 1, &children, false);
      const auto di = static_cast<size_t>(d);
      auto part = UpdateCountsToMinimum(level + 1, std::move(children), state_[level].pod[di],
                                        state_[level].leader[di], 1, false);
      next.insert(next.end(), part.begin(), part.end());
    }
    fit = std::move(next);
  }
  const Level& leaves = state_[leaf_level];
  if (leader) {
    std::vector<int32_t> leader_leaves;
    for (int32_t k : fit) {
      if (leaves.leader[static_cast<size_t>(k)] > 0) leader_leaves.push_back(k);
    }
    found.leader.assignment = BuildAssignment(leader_leaves, leaves.leader, &placed_leader_);
  }
  out.assignment = BuildAssignment(std::move(fit), leaves.pod, &placed_workers_);
  return found;
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

  // Podset groups (FindTopologyAssignmentsForFlavor): requests grouped by group name in order
  // of first appearance, the others alone; a group of two is placed as workers and leader,
  // the leader being the second unless it has more pods (findLeaderAndWorkers).
  std::vector<std::vector<size_t>> groups;
  std::map<std::string, size_t> group_of;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (!requests[i].group.empty()) {
      auto [it, added] = group_of.try_emplace(requests[i].group, groups.size());
      if (!added) {
        groups[it->second].push_back(i);
        continue;
      }
    }
    groups.push_back({i});
  }
  std::vector<Count> assumed;  // addAssumedUsage, per leaf × resource
  auto assume = [&](const std::vector<std::pair<int32_t, Count>>& placed,
                    const cluster::ResourceVec& per_pod) {
    if (assumed.empty()) assumed.assign(tree.leaf_count() * resources, 0);
    for (auto [leaf, pods] : placed) {
      for (size_t r = 0; r < per_pod.size(); ++r) {
        assumed[static_cast<size_t>(leaf) * resources + r] += per_pod[r] * pods;
      }
    }
  };
  for (size_t g = 0; g < groups.size(); ++g) {
    size_t workers = groups[g][0];
    std::optional<size_t> leader;
    if (groups[g].size() >= 2) {
      leader = groups[g][1];
      if (requests[*leader].count > requests[workers].count) std::swap(*leader, workers);
    }
    Placer placer(topology_name, levels, nodes, tree, leaf_free, resources, names, name_rank,
                  assumed);
    auto found = placer.Find(requests[workers], leader ? &requests[*leader] : nullptr);
    const bool ok = found.workers.assignment.has_value();
    results[workers] = std::move(found.workers);
    if (leader) results[*leader] = std::move(found.leader);
    // A third PodSet of one group is not placed (Kueue's validation allows two).
    for (size_t k = 2; k < groups[g].size(); ++k) {
      results[groups[g][k]].reason =
          "podset group " + requests[groups[g][k]].group + " has more than two PodSets";
    }
    if (!ok) break;  // upstream returns at the first failure
    if (g + 1 == groups.size()) break;
    assume(placer.placed_workers(), requests[workers].per_pod);
    if (leader) assume(placer.placed_leader(), requests[*leader].per_pod);
  }
  return results;
}

}  // namespace gputwin::kueue::tas
