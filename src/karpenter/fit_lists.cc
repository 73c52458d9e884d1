// Per pod spec, the nodes of a Karpenter scheduling simulation it fits on before anything
// is placed (node_lists.cc lists the nodes): the free-resource rows, the node-local
// filters, and the lists a pass carries to the next (CarryFits, KeepFits).
#include <algorithm>

#include "cluster/scheduling_helpers.h"
#include "karpenter/karpenter.h"

namespace gputwin::karpenter {

uint32_t Karpenter::ConstraintsOf(const cluster::PodTemplateInfo& t) const {
  if (constraints_of_template_.size() <= t.id) {
    constraints_of_template_.resize(t.id + 1, cluster::kNone);
  }
  uint32_t& known = constraints_of_template_[t.id];
  if (known != cluster::kNone) return known;
  // The constraints as a key: each field length-prefixed, so no two differ only in where
  // one string ends.
  const auto& spec = *t.spec;
  std::string key;
  auto add = [&key](const std::string& v) {
    key += std::to_string(v.size());
    key += ':';
    key += v;
  };
  for (const auto& [k, v] : spec.node_selector) add(k), add(v);
  key += '|';
  if (spec.node_affinity && spec.node_affinity->required) {
    for (const auto& term : *spec.node_affinity->required) {
      for (const auto* reqs : {&term.match_expressions, &term.match_fields}) {
        for (const auto& r : *reqs) {
          add(r.key), add(r.op);
          for (const auto& v : r.values) add(v);
          key += ';';
        }
        key += '/';
      }
      key += '&';
    }
  } else {
    key += '-';  // no required terms (an empty list selects no node: not the same)
  }
  key += '|';
  for (const auto& tol : spec.tolerations)
    add(tol.key), add(tol.op), add(tol.value), add(tol.effect);
  if (auto it = constraints_by_key_.find(key); it != constraints_by_key_.end()) {
    return known = it->second;
  }
  if (static_fits_.size() >= kMaxConstraints) return cluster::kNone;  // no memo for it
  known = static_cast<uint32_t>(static_fits_.size());
  static_fits_.emplace_back();
  constraints_by_key_.emplace(std::move(key), known);
  return known;
}

bool Karpenter::FitsNode(const SimNode& n, const ResourceVec& placed, PodId id) const {
  static const scheduler::CycleState kNoState;
  const auto& pod = store_.pod(id);
  size_t first = 0;
  // A node as it is (not one taken at its launch promise): the static verdict's memo.
  uint32_t c = n.node != cluster::kNone && !n.ignored_taints && pod.daemon_node == cluster::kNone
                   ? ConstraintsOf(*pod.tmpl)
                   : cluster::kNone;
  uint8_t* passes = nullptr;
  if (c != cluster::kNone) {
    auto& fits = static_fits_[c];
    if (fits.version.size() <= n.node) {
      fits.version.resize(store_.node_count(), 0);
      fits.passes.resize(store_.node_count(), 0);
    }
    const uint32_t version = (n.node < node_version_.size() ? node_version_[n.node] : 0) + 1;
    if (fits.version[n.node] == version) {
      if (!fits.passes[n.node]) return false;
      first = kStaticFilters;
    } else {
      fits.version[n.node] = version;
      passes = &fits.passes[n.node];
    }
  }
  scheduler::NodeView v;
  v.id = n.node;
  v.name = n.name;
  v.labels = n.labels;
  v.taints = n.taints;
  v.ignored_taints = n.ignored_taints;
  v.unschedulable = n.unschedulable;
  v.allocatable = *n.allocatable;
  v.requested = *n.used;
  v.delta = placed.empty() ? nullptr : &placed;
  for (size_t k = first; k < filters_.size(); ++k) {
    if (passes && k == kStaticFilters) *passes = 1;
    if (!filters_[k]->Passes(kNoState, pod, v)) {
      if (passes && k < kStaticFilters) *passes = 0;
      return false;
    }
  }
  return true;
}

void Karpenter::FreeRow(const SimNode& n, size_t w, int64_t* row) {
  for (size_t r = 0; r < w; ++r) row[r] = cluster::At(*n.allocatable, r) - cluster::At(*n.used, r);
}

void Karpenter::FillFree(SimNodes* nodes) const {
  const size_t w = std::max<size_t>(store_.resources().size(), cluster::kPods + 1);
  nodes->width = w;
  if (nodes->free.empty()) nodes->free = std::move(spare_free_);
  nodes->free.assign(nodes->nodes.size() * w, 0);
  for (size_t k = 0; k < nodes->nodes.size(); ++k) FreeRow(nodes->nodes[k], w, &nodes->free[k * w]);
}

bool Karpenter::FitsBeforePlacing(const SimNodes& nodes, uint32_t k, const ResourceVec& need,
                                  PodId pod) const {
  static const ResourceVec kNothing;
  const size_t w = nodes.width;
  const int64_t* row = &nodes.free[k * w];
  for (size_t r = 0; r < w; ++r) {
    if (need[r] > row[r]) return false;
  }
  return FitsNode(nodes.nodes[k], kNothing, pod);
}

namespace {
// A pod's requests as a free row must hold them: `w` wide, one pod included. Into `need`,
// whose memory is reused (one per merge of a carried list, thousands a pass).
const ResourceVec& NeedRow(const cluster::PodRecord& p, size_t w, ResourceVec* need) {
  need->assign(p.tmpl->requests.begin(), p.tmpl->requests.end());
  need->resize(w, 0);
  (*need)[cluster::kPods] = 1;
  return *need;
}
}  // namespace

void Karpenter::MergeCarried(const SimNodes& nodes, const std::vector<uint32_t>& carried, PodId pod,
                             const ResourceVec& need, std::vector<uint32_t>* out) const {
  // Both lists ascend, so they merge in order.
  const auto& recheck = nodes.recheck;
  size_t r = 0, c = 0;
  auto check = [&](uint32_t k) {
    if (FitsBeforePlacing(nodes, k, need, pod)) out->push_back(k);
  };
  if (nodes.runs_valid) {
    // Within a run, the entries up to the next rechecked index go over in one copy; an
    // entry at a rechecked index is a changed node's, whose verdict is found again.
    const auto first = carried.begin();
    for (const auto& run : nodes.carry_runs) {
      c = static_cast<size_t>(std::lower_bound(first + c, carried.end(), run.old_begin) - first);
      const auto end =
          static_cast<size_t>(std::lower_bound(first + c, carried.end(), run.old_end) - first);
      while (c < end) {
        const auto k = static_cast<uint32_t>(carried[c] + run.delta);
        if (r < recheck.size() && recheck[r] <= k) {
          check(recheck[r]);
          if (recheck[r++] == k) ++c;
          continue;
        }
        size_t stop = end;
        if (r < recheck.size()) {
          const auto below = static_cast<uint32_t>(recheck[r] - run.delta);  // old index
          stop = static_cast<size_t>(std::lower_bound(first + c, first + end, below) - first);
        }
        const size_t at = out->size();
        out->resize(at + (stop - c));
        const auto delta = static_cast<uint32_t>(run.delta);  // (wraps as a signed add)
        std::transform(first + c, first + stop, out->begin() + at,
                       [delta](uint32_t old) { return old + delta; });
        if (delta != 0) entries_shifted_ += stop - c;
        c = stop;
      }
    }
  }
  for (; c < carried.size(); ++c) {
    const int32_t k = nodes.carried_to[carried[c]];
    if (k < 0) continue;
    for (; r < recheck.size() && recheck[r] < static_cast<uint32_t>(k); ++r) check(recheck[r]);
    out->push_back(static_cast<uint32_t>(k));
  }
  for (; r < recheck.size(); ++r) check(recheck[r]);
}

void Karpenter::VerifyCarried(const SimNodes& nodes, const std::vector<uint32_t>& list,
                              PodId pod) const {
  const ResourceVec& need = NeedRow(store_.pod(pod), nodes.width, &need_row_);
  std::vector<uint32_t> fresh;
  for (uint32_t k = 0; k < nodes.nodes.size(); ++k) {
    if (FitsBeforePlacing(nodes, k, need, pod)) fresh.push_back(k);
  }
  if (fresh != list) ++fits_mismatches_;
}

const std::vector<uint32_t>& Karpenter::FitsOf(SimNodes* nodes, PodId id) const {
  const auto& p = store_.pod(id);
  // A daemon pod is pinned to its node apart from its spec: its list is its own.
  const bool daemon = p.daemon_node != cluster::kNone;
  const void* key =
      daemon ? static_cast<const void*>(&p) : static_cast<const void*>(p.tmpl->spec.get());
  auto [it, inserted] = nodes->fits.try_emplace(key);
  auto& out = it->second.nodes;
  if (!inserted) return out;
  const size_t w = std::max<size_t>(store_.resources().size(), cluster::kPods + 1);
  if (nodes->width != w) {
    FillFree(nodes);
    nodes->carried.clear();  // verdicts over other resources
  }
  if (!daemon) {
    it->second.spec = p.tmpl->spec;
    it->second.pod = id;
  }
  auto& need = it->second.need;
  if (auto c = nodes->carried.find(key); c != nodes->carried.end()) {
    // The last pass's verdicts stand for the nodes that did not change. (The new list
    // is written into the memory an earlier merge left; the old one's goes to the next.)
    need = std::move(c->second.need);  // the same spec's, as wide (else not carried)
    if (need.size() != w) NeedRow(p, w, &need);
    out.swap(merge_scratch_);
    out.clear();
    MergeCarried(*nodes, c->second.nodes, id, need, &out);
    if (verify_carried_fits) VerifyCarried(*nodes, out, id);
    merge_scratch_ = std::move(c->second.nodes);
    nodes->carried.erase(c);
    ++fits_carried_;
    return out;
  }
  NeedRow(p, w, &need);
  for (uint32_t k = 0; k < nodes->nodes.size(); ++k) {
    if (FitsBeforePlacing(*nodes, k, need, id)) out.push_back(k);
  }
  return out;
}

void Karpenter::IndexEntries(const std::vector<SimNode>& nodes, size_t from, bool set) {
  if (index_of_node_.size() < store_.node_count()) index_of_node_.resize(store_.node_count(), -1);
  if (index_of_claim_.size() < claims_.size()) index_of_claim_.resize(claims_.size(), -1);
  for (size_t t = from; t < nodes.size(); ++t) {
    const uint64_t key = EntryKey(nodes[t]);
    const auto x = static_cast<uint32_t>(key);
    (key & kClaimEntry ? index_of_claim_[x] : index_of_node_[x]) =
        set ? static_cast<int32_t>(t) : -1;
  }
}

int32_t Karpenter::IndexedEntry(uint64_t key) const {
  const auto x = static_cast<uint32_t>(key);
  const auto& index = key & kClaimEntry ? index_of_claim_ : index_of_node_;
  return x < index.size() ? index[x] : -1;
}

void Karpenter::CarryFits(SimNodes* d, FitsCarry* carry) {
  const size_t n = d->nodes.size();
  const size_t w = std::max<size_t>(store_.resources().size(), cluster::kPods + 1);
  FitsCarry& last = *carry;
  d->carried.clear();
  d->carried_to.clear();
  d->recheck.clear();
  d->runs_valid = false;
  if (last.width != w || last.lists.empty() || !carry_fits_between_passes) {
    last.lists.clear();
    FillFree(d);
    return;
  }
  auto& from = carried_from_;  // an unchanged node's index in the last pass
  from.assign(n, -1);
  d->carried_to.assign(last.nodes.size(), -1);
  int32_t previous = -1;
  bool ordered = true;
  // A node's allocatable and requested move together with its Store::UsageVersion; only
  // unchanged nodes carry their verdicts, and they must keep their order to merge.
  auto match = [&](size_t i, size_t k) {
    const SimNode& was = last.nodes[i];
    if (was.version != d->nodes[k].version || was.usage != d->nodes[k].usage) return;
    ordered &= static_cast<int32_t>(k) > previous;
    previous = static_cast<int32_t>(k);
    d->carried_to[i] = static_cast<int32_t>(k);
    from[k] = static_cast<int32_t>(i);
  };
  // The initialized nodes come first in both lists, by name: one walk over both pairs
  // them, the names' ranks telling which side a node missing from the other is on (a node
  // deleted since has none, and is gone).
  size_t li = 0, ci = 0;
  const size_t last_n = last.nodes.size();
  while (li < last_n && ci < n && last.nodes[li].initialized && d->nodes[ci].initialized) {
    const NodeId a = last.nodes[li].node, b = d->nodes[ci].node;
    if (a == b) {
      match(li++, ci++);
    } else if (name_rank_[a] < 0 || name_rank_[a] < name_rank_[b]) {
      ++li, ++carry_one_sided_;
    } else {
      ++ci, ++carry_one_sided_;
    }
  }
  while (li < last_n && last.nodes[li].initialized) ++li;
  while (ci < n && d->nodes[ci].initialized) ++ci;
  // The rest (nodes not initialized, NodeClaims without a Node: few), by entry.
  if (li < last_n && ci < n) {
    IndexEntries(d->nodes, ci, true);
    for (; li < last_n; ++li) {
      const int32_t t = IndexedEntry(EntryKey(last.nodes[li]));
      if (t >= 0) match(li, static_cast<size_t>(t));
    }
    IndexEntries(d->nodes, ci, false);
  }
  if (verify_carried_fits) {
    // Every entry of both passes with the same versions, found by key: as many as the
    // walk paired.
    std::unordered_map<uint64_t, const SimNode*> now;
    for (const auto& s : d->nodes) now.emplace(EntryKey(s), &s);
    size_t unchanged = 0, paired = 0;
    for (size_t i = 0; i < last_n; ++i) {
      auto it = now.find(EntryKey(last.nodes[i]));
      unchanged += it != now.end() && it->second->version == last.nodes[i].version &&
                   it->second->usage == last.nodes[i].usage;
      paired += d->carried_to[i] >= 0;
    }
    if (paired != unchanged) ++carry_unpaired_;
  }
  // The nodes keep their order (by name within each kind) from pass to pass; were they
  // not, the lists would not merge in order: start afresh.
  if (!ordered) {
    d->carried_to.clear();
    last.lists.clear();
    FillFree(d);
    return;
  }
  // Free rows: an unchanged node's from the last pass, the others worked out.
  d->width = w;
  d->free = std::move(spare_free_);  // every row is written below
  d->free.resize(n * w);
  for (uint32_t k = 0; k < n; ++k) {
    int64_t* row = &d->free[static_cast<size_t>(k) * w];
    if (from[k] >= 0) {
      std::copy_n(&last.free[static_cast<size_t>(from[k]) * w], w, row);
      continue;
    }
    FreeRow(d->nodes[k], w, row);
    d->recheck.push_back(k);
  }
  d->carried = std::move(last.lists);
  last.lists.clear();
}

void Karpenter::KeepFits(SimNodes* d, FitsCarry* carry) {
  FitsCarry& last = *carry;
  last.lists.clear();
  // The next pass patches this one's list (ListNodes) if this one's is kept.
  last.patchable = std::exchange(last.listed, false) && d->width != 0;
  if (d->width == 0) return;  // no list was made
  // The lists carried in that this pass did not ask for go on too, brought to its nodes
  // (before its free rows move): a spec asked for every few passes would otherwise be
  // listed afresh over every node each time.
  // (Entries move between the maps without allocating, and each merge writes into the
  // memory the list before it left.)
  for (auto it = d->carried.begin(); it != d->carried.end();) {
    auto entry = it++;
    auto& f = entry->second;
    if (!f.spec || f.idle >= kMaxIdleCarries) continue;
    auto& nodes = merge_scratch_;
    nodes.clear();
    MergeCarried(*d, f.nodes, f.pod, f.need, &nodes);
    if (verify_carried_fits) VerifyCarried(*d, nodes, f.pod);
    std::swap(f.nodes, nodes);
    ++f.idle;
    ++fits_carried_idle_;
    last.lists.insert(d->carried.extract(entry));
  }
  // The pass's nodes go on whole; the caller's pointers into them stay valid (the memory
  // moves with the vector), and the older list goes back to ExistingNodes through it.
  std::swap(last.nodes, d->nodes);
  // (A list patched in place left none behind.)
  if (last.free.capacity() > spare_free_.capacity()) spare_free_ = std::move(last.free);
  last.free = std::move(d->free);
  last.width = d->width;
  for (auto it = d->fits.begin(); it != d->fits.end();) {
    auto entry = it++;
    if (entry->second.spec) last.lists.insert(d->fits.extract(entry));
  }
}

}  // namespace gputwin::karpenter
