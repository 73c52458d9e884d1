// The nodes a Karpenter scheduling simulation may place pods on (existingnode.go's
// StateNodes, as the provisioner and the disruption controller list them): the nodes by
// name, each node's entry, and a pass's list patched from the last pass's through the node
// log (ListNodes, PatchNodes); and the check of the packed copies the walks read.
#include <algorithm>
#include <iterator>

#include "karpenter/karpenter.h"

namespace gputwin::karpenter {

void Karpenter::UpdateNodesByName() const {
  // Initialized nodes first, then by name. Names never change: new nodes are inserted in
  // place and deleted ones dropped, so a month of node churn never sorts the whole history.
  auto by_name = [&](NodeId a, NodeId b) {
    const auto& na = store_.node(a).name();
    const auto& nb = store_.node(b).name();
    return na != nb ? na < nb : a < b;
  };
  if (name_rank_.size() < store_.node_count()) name_rank_.resize(store_.node_count(), -1);
  if (node_cordoned_.size() < store_.node_count()) node_cordoned_.resize(store_.node_count(), -1);
  size_t first_moved = nodes_by_name_.size();  // ranks from here on are rewritten
  if (!deleted_unpruned_.empty()) {
    // Their positions (a node made and deleted between two passes was never listed), then
    // one compaction from the first.
    auto& at = deleted_unpruned_;
    size_t gone = 0;
    for (NodeId n : at) {
      if (name_rank_[n] < 0) continue;
      at[gone++] = static_cast<NodeId>(name_rank_[n]);
      name_rank_[n] = -1;
    }
    at.resize(gone);
    std::sort(at.begin(), at.end());
    if (!at.empty()) {
      first_moved = at.front();
      size_t write = at.front(), next = 0;
      for (size_t read = at.front(); read < nodes_by_name_.size(); ++read) {
        if (next < at.size() && at[next] == read) {
          ++next;
          continue;
        }
        nodes_by_name_[write++] = nodes_by_name_[read];
      }
      nodes_by_name_.resize(write);
    }
    at.clear();
  }
  for (; nodes_seen_ < store_.node_count(); ++nodes_seen_) {
    if (store_.node(nodes_seen_).deleted) continue;
    auto at = std::lower_bound(nodes_by_name_.begin(), nodes_by_name_.end(), nodes_seen_, by_name);
    first_moved = std::min(first_moved, static_cast<size_t>(at - nodes_by_name_.begin()));
    nodes_by_name_.insert(at, nodes_seen_);
  }
  for (size_t p = first_moved; p < nodes_by_name_.size(); ++p) {
    name_rank_[nodes_by_name_[p]] = static_cast<int32_t>(p);
  }
}

Karpenter::Listing Karpenter::ListNode(NodeId n, const std::set<uint32_t>& exclude,
                                       SimNode* s) const {
  // (The claim's flags packed by NodeId: no read of its state unless it starts.)
  static const NodeClaimFlags kNoClaim{};
  const NodeClaimFlags& nc = n < claim_of_node_.size() ? claim_of_node_[n] : kNoClaim;
  if (nc.claim >= 0 &&
      (nc.deleting || (!exclude.empty() && exclude.count(static_cast<uint32_t>(nc.claim))))) {
    return Listing::kNot;
  }
  const auto& node = store_.node(n);
  s->node = n;
  s->claim = nc.claim;
  s->name = &node.name();
  s->labels = &node.obj.metadata.labels;
  s->taints = &node.obj.taints;
  s->ignored_taints = nullptr;
  int8_t& cordoned = node_cordoned_[n];
  if (cordoned < 0) cordoned = node.obj.unschedulable ? 1 : 0;
  s->unschedulable = cordoned == 1;
  s->initialized = nc.claim < 0 || nc.initialized;
  s->allocatable = &node.allocatable;
  s->used = &node.requested;
  // Until it initializes, a node is taken at the capacity its instance type promises
  // (its GPUs are not advertised yet), and its startup taints are ignored.
  if (!s->initialized) {
    const auto& c = claims_[static_cast<uint32_t>(nc.claim)];
    s->allocatable = &TypeAllocatable(c.nodepool, c.type);
    s->ignored_taints = &pools_[c.nodepool].spec->startup_taints;
  }
  s->usage = store_.UsageVersion(n);
  s->version = EntryVersion(n, s->initialized);
  return s->initialized ? Listing::kInitialized : Listing::kStarting;
}

void Karpenter::AppendInFlight(const std::set<uint32_t>& exclude,
                               std::vector<SimNode>* starting) const {
  for (uint32_t i : starting_claims_) {
    const auto& state = claim_state_[i];
    if (state.phase == ClaimPhase::kDeleted || state.deleting || state.node != cluster::kNone ||
        exclude.count(i) || !claims_[i].instance) {
      continue;
    }
    const auto& c = claims_[i];
    SimNode s;
    s.claim = static_cast<int32_t>(i);
    s.name = &c.name;
    s.initialized = false;
    s.labels = &c.labels;
    s.taints = &pools_[c.nodepool].spec->taints;
    s.allocatable = &TypeAllocatable(c.nodepool, c.type);
    s.used = &pools_[c.nodepool].daemon_overhead;
    starting->push_back(std::move(s));
  }
  std::stable_sort(starting->begin(), starting->end(),
                   [](const SimNode& a, const SimNode& b) { return *a.name < *b.name; });
}

std::vector<Karpenter::SimNode> Karpenter::ExistingNodes(const std::set<uint32_t>& exclude,
                                                         bool initialized_only) const {
  UpdateNodesByName();
  // The memory of a list a finished pass handed back (ReturnNodes): at 10k nodes a fresh
  // list each pass cost the faults of its new pages.
  std::vector<SimNode> out = std::move(spare_nodes_), starting;
  out.clear();
  out.reserve(nodes_by_name_.size());
  // Pruned above of every deletion the watch reported: all live (the walk reads no
  // deleted flag, a cache miss per node at 10k nodes).
  for (NodeId n : nodes_by_name_) {
    // Written in place (a node not listed or not initialized is taken back after): a
    // copy of every entry was a third of the walk.
    SimNode& s = out.emplace_back();
    const Listing listing = ListNode(n, exclude, &s);
    if (listing == Listing::kInitialized) continue;
    if (listing == Listing::kStarting && !initialized_only) starting.push_back(s);
    out.pop_back();
  }
  if (initialized_only) return out;
  AppendInFlight(exclude, &starting);
  for (auto& s : starting) out.push_back(std::move(s));
  return out;
}

void Karpenter::ListStarting(const std::set<uint32_t>& exclude, std::vector<SimNode>* out) const {
  // The nodes whose claims have not initialized, found through the live claims (few of
  // them are), in name order; then the claims without a Node; all by name (stable), as
  // ExistingNodes lists them.
  auto& nodes = starting_scratch_;
  nodes.clear();
  for (uint32_t i : starting_claims_) {
    const auto& state = claim_state_[i];
    if (state.node != cluster::kNone && state.phase != ClaimPhase::kInitialized &&
        name_rank_[state.node] >= 0) {
      nodes.push_back(state.node);
    }
  }
  std::sort(nodes.begin(), nodes.end(),
            [&](NodeId a, NodeId b) { return name_rank_[a] < name_rank_[b]; });
  std::vector<SimNode> starting;
  for (NodeId n : nodes) {
    SimNode s;
    if (ListNode(n, exclude, &s) == Listing::kStarting) starting.push_back(s);
  }
  AppendInFlight(exclude, &starting);
  for (auto& s : starting) out->push_back(std::move(s));
}

void Karpenter::ListNodes(SimNodes* d, FitsCarry* carry, const std::set<uint32_t>& exclude,
                          bool initialized_only) {
  UpdateNodesByName();
  if (!store_.TakeUsageChanges(&node_log_)) DropNodeLog();
  FitsCarry& last = *carry;
  // (For the check below: the last list as it was, before the patch takes it over.)
  std::vector<SimNode> was;
  if (verify_carried_fits) was = last.nodes;
  if (!PatchNodes(d, carry, exclude, initialized_only)) {
    d->nodes = ExistingNodes(exclude, initialized_only);
    CarryFits(d, carry);
    if (last.position.size() < store_.node_count()) last.position.resize(store_.node_count());
    std::fill(last.position.begin(), last.position.end(), -1);
    last.section = 0;
    while (last.section < d->nodes.size() && d->nodes[last.section].initialized) {
      last.position[d->nodes[last.section].node] = static_cast<int32_t>(last.section);
      ++last.section;
    }
  }
  last.exclude = exclude;
  last.initialized_only = initialized_only;
  last.cursor = node_log_base_ + node_log_.size();
  last.records = store_.node_count() > 0 ? &store_.node(0) : nullptr;
  last.listed = true;  // until KeepFits keeps the list (or the log is dropped)
  TrimNodeLog();
  if (verify_carried_fits) VerifyListed(*d, was, exclude, initialized_only);
}

bool Karpenter::PatchNodes(SimNodes* d, FitsCarry* carry, const std::set<uint32_t>& exclude,
                           bool initialized_only) {
  FitsCarry& last = *carry;
  const size_t w = std::max<size_t>(store_.resources().size(), cluster::kPods + 1);
  if (!patch_node_lists || !carry_fits_between_passes || !last.patchable ||
      last.initialized_only != initialized_only || last.width != w) {
    return false;
  }
  last.patchable = false;  // its list is taken over below
  d->runs_valid = false;
  d->carry_runs.clear();
  // The nodes whose entries may differ from the last list's: those the log names since,
  // and those whose claims came into the exclusion or left it.
  auto& dirty = patch_dirty_;
  dirty.clear();
  if (dirty_mark_.size() < store_.node_count()) dirty_mark_.resize(store_.node_count(), 0);
  auto mark = [&](NodeId n) {
    if (!dirty_mark_[n]) {
      dirty_mark_[n] = 1;
      dirty.push_back(n);
    }
  };
  for (size_t i = last.cursor - node_log_base_; i < node_log_.size(); ++i) mark(node_log_[i]);
  std::vector<uint32_t> moved;
  std::set_symmetric_difference(last.exclude.begin(), last.exclude.end(), exclude.begin(),
                                exclude.end(), std::back_inserter(moved));
  for (uint32_t c : moved) {
    if (c < claim_state_.size() && claim_state_[c].node != cluster::kNone) {
      mark(claim_state_[c].node);
    }
  }
  for (NodeId n : dirty) dirty_mark_[n] = 0;
  const size_t old_n = last.nodes.size(), old_s = last.section;
  if (last.position.size() < store_.node_count()) last.position.resize(store_.node_count(), -1);
  // The Store's node records moved (a node added past the vector's capacity): the
  // entries' pointers into them are set again.
  if (store_.node_count() > 0 && &store_.node(0) != last.records) {
    for (size_t k = 0; k < old_s; ++k) {
      SimNode& s = last.nodes[k];
      const auto& node = store_.node(s.node);
      s.name = &node.name();
      s.labels = &node.obj.metadata.labels;
      s.taints = &node.obj.taints;
      s.allocatable = &node.allocatable;
      s.used = &node.requested;
    }
  }
  // Each dirty node: rewritten where it is, or leaving the initialized section, or
  // coming into it.
  auto& changed = patch_changed_;  // old indices whose verdicts must be found again
  auto& removed = patch_removed_;  // old indices leaving
  auto& added = patch_added_;      // entries coming, placed by name below
  changed.clear();
  removed.clear();
  added.clear();
  for (NodeId n : dirty) {
    const int32_t at = last.position[n];
    SimNode s;
    const bool listed = name_rank_[n] >= 0 && ListNode(n, exclude, &s) == Listing::kInitialized;
    if (at >= 0 && listed) {
      SimNode& before = last.nodes[static_cast<size_t>(at)];
      const bool same = before.version == s.version && before.usage == s.usage;
      before = s;
      if (!same) changed.push_back(static_cast<uint32_t>(at));
    } else if (at >= 0) {
      removed.push_back(static_cast<uint32_t>(at));
    } else if (listed) {
      added.push_back(s);
    }
  }
  std::sort(changed.begin(), changed.end());
  std::sort(removed.begin(), removed.end());
  std::sort(added.begin(), added.end(), [&](const SimNode& a, const SimNode& b) {
    return name_rank_[a.node] < name_rank_[b.node];
  });
  carry_one_sided_ += removed.size() + added.size();
  // The old entries after the section (nodes not initialized, claims without a Node),
  // set aside with their free rows: that part is listed afresh (it is short).
  std::vector<SimNode> old_tail(last.nodes.begin() + static_cast<ptrdiff_t>(old_s),
                                last.nodes.end());
  std::vector<int64_t> old_tail_free(last.free.begin() + static_cast<ptrdiff_t>(old_s * w),
                                     last.free.end());
  d->width = w;
  d->recheck.clear();
  d->carried_to.assign(old_n, -1);
  std::vector<SimNode> out;
  std::vector<int64_t> free;
  const size_t new_s = old_s - removed.size() + added.size();
  if (removed.empty() && added.empty()) {
    // Nobody came or went: the list stays where it is, the changed entries rewritten.
    out = std::move(last.nodes);
    free = std::move(last.free);
    out.resize(old_s);
    free.resize(old_s * w);
    for (uint32_t k = 0; k < old_s; ++k) d->carried_to[k] = static_cast<int32_t>(k);
    d->carry_runs.push_back({0, static_cast<uint32_t>(old_s), 0});
    for (uint32_t k : changed) {
      d->carried_to[k] = -1;
      FreeRow(out[k], w, &free[static_cast<size_t>(k) * w]);
      d->recheck.push_back(k);
    }
  } else {
    // The old section copied in runs between the edits: the removed left out, the added
    // put in by name before the first old entry that follows them in name order (found
    // by walking the nodes by name from each: the old entries' ranks are not read).
    auto& insert_at = patch_insert_at_;
    insert_at.clear();
    for (const SimNode& s : added) {
      size_t at = old_s;
      for (size_t p = static_cast<size_t>(name_rank_[s.node]) + 1; p < nodes_by_name_.size(); ++p) {
        if (const int32_t o = last.position[nodes_by_name_[p]]; o >= 0) {
          at = static_cast<size_t>(o);
          break;
        }
      }
      insert_at.push_back(at);
    }
    out = std::move(spare_nodes_);
    free = std::move(spare_free_);
    out.clear();
    out.reserve(new_s);
    free.resize(new_s * w);
    size_t first_moved = new_s, i = 0, a = 0, r = 0;
    auto copy_run = [&](size_t to) {  // old [i, to), unchanged in place
      if (i >= to) return;
      const size_t k = out.size();
      out.insert(out.end(), last.nodes.begin() + static_cast<ptrdiff_t>(i),
                 last.nodes.begin() + static_cast<ptrdiff_t>(to));
      std::copy(last.free.begin() + static_cast<ptrdiff_t>(i * w),
                last.free.begin() + static_cast<ptrdiff_t>(to * w),
                free.begin() + static_cast<ptrdiff_t>(k * w));
      for (size_t j = i; j < to; ++j) d->carried_to[j] = static_cast<int32_t>(k + (j - i));
      d->carry_runs.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(to),
                               static_cast<int64_t>(k) - static_cast<int64_t>(i)});
      i = to;
    };
    while (a < added.size() || r < removed.size()) {
      const size_t remove = r < removed.size() ? removed[r] : old_s;
      if (a < added.size() && insert_at[a] <= remove) {
        copy_run(insert_at[a]);
        const size_t k = out.size();
        first_moved = std::min(first_moved, k);
        out.push_back(added[a++]);
        FreeRow(out[k], w, &free[k * w]);
        d->recheck.push_back(static_cast<uint32_t>(k));
      } else {
        copy_run(remove);
        first_moved = std::min(first_moved, out.size());
        last.position[last.nodes[remove].node] = -1;
        i = remove + 1;
        ++r;
      }
    }
    copy_run(old_s);
    for (uint32_t c : changed) {
      const size_t k = static_cast<size_t>(d->carried_to[c]);
      d->carried_to[c] = -1;
      FreeRow(out[k], w, &free[k * w]);
      d->recheck.push_back(static_cast<uint32_t>(k));
    }
    std::sort(d->recheck.begin(), d->recheck.end());
    for (size_t k = first_moved; k < new_s; ++k) {
      last.position[out[k].node] = static_cast<int32_t>(k);
    }
  }
  last.section = new_s;
  d->runs_valid = true;
  bool ordered = true;
  if (!initialized_only) {
    // The rest afresh, paired with the old rest by entry as CarryFits pairs it.
    ListStarting(exclude, &out);
    free.resize(out.size() * w);
    IndexEntries(out, new_s, true);
    auto& from = carried_from_;  // by index past the section
    from.assign(out.size() - new_s, -1);
    int32_t previous = -1;
    for (size_t j = 0; j < old_tail.size(); ++j) {
      const int32_t t = IndexedEntry(EntryKey(old_tail[j]));
      if (t < 0 || out[t].version != old_tail[j].version || out[t].usage != old_tail[j].usage) {
        continue;
      }
      ordered &= t > previous;
      previous = t;
      d->carried_to[old_s + j] = t;
      from[static_cast<size_t>(t) - new_s] = static_cast<int32_t>(j);
    }
    IndexEntries(out, new_s, false);
    for (size_t t = new_s; t < out.size(); ++t) {
      if (const int32_t j = from[t - new_s]; j >= 0) {
        std::copy_n(&old_tail_free[static_cast<size_t>(j) * w], w, &free[t * w]);
      } else {
        FreeRow(out[t], w, &free[t * w]);
        d->recheck.push_back(static_cast<uint32_t>(t));
      }
    }
  }
  d->nodes = std::move(out);
  d->free = std::move(free);
  d->carried = std::move(last.lists);
  last.lists.clear();
  if (!ordered) {
    // As CarryFits: the lists would not merge in order.
    d->carried_to.clear();
    d->carried.clear();
    d->recheck.clear();
    d->runs_valid = false;
  }
  ++lists_patched_;
  return true;
}

void Karpenter::DropNodeLog() {
  node_log_base_ += node_log_.size();
  node_log_.clear();
  for (FitsCarry* c : {&fits_carry_, &provision_carry_}) c->patchable = c->listed = false;
}

void Karpenter::TrimNodeLog() {
  // What neither carry will read again goes.
  uint64_t keep = node_log_base_ + node_log_.size();
  for (const FitsCarry* c : {&fits_carry_, &provision_carry_}) {
    if (c->patchable || c->listed) keep = std::min(keep, c->cursor);
  }
  const size_t drop = keep - node_log_base_;
  if (drop == 0 || drop * 2 < node_log_.size()) return;
  node_log_.erase(node_log_.begin(), node_log_.begin() + static_cast<ptrdiff_t>(drop));
  node_log_base_ = keep;
}

void Karpenter::VerifyListed(const SimNodes& d, const std::vector<SimNode>& was,
                             const std::set<uint32_t>& exclude, bool initialized_only) const {
  // The list as ExistingNodes makes it, entry for entry; the free rows; and every entry
  // of the last list carried to the same node unchanged, or not at all.
  auto fresh = ExistingNodes(exclude, initialized_only);
  auto same = [](const SimNode& a, const SimNode& b) {
    return a.node == b.node && a.claim == b.claim && a.name == b.name && a.labels == b.labels &&
           a.taints == b.taints && a.ignored_taints == b.ignored_taints &&
           a.unschedulable == b.unschedulable && a.initialized == b.initialized &&
           a.allocatable == b.allocatable && a.used == b.used && a.usage == b.usage &&
           a.version == b.version;
  };
  bool ok = fresh.size() == d.nodes.size() &&
            std::equal(fresh.begin(), fresh.end(), d.nodes.begin(), same);
  std::vector<int64_t> row(d.width);
  for (size_t k = 0; ok && k < d.nodes.size(); ++k) {
    FreeRow(d.nodes[k], d.width, row.data());
    ok = std::equal(row.begin(), row.end(), d.free.begin() + static_cast<ptrdiff_t>(k * d.width));
  }
  for (size_t i = 0; ok && i < d.carried_to.size() && i < was.size(); ++i) {
    const int32_t k = d.carried_to[i];
    if (k < 0) continue;
    const SimNode& n = d.nodes[static_cast<size_t>(k)];
    ok = EntryKey(n) == EntryKey(was[i]) && n.version == was[i].version && n.usage == was[i].usage;
  }
  if (!ok) ++fits_mismatches_;
}

std::string Karpenter::PackedStateMismatch() const {
  for (uint32_t i = 0; i < claims_.size(); ++i) {
    const auto& c = claims_[i];
    const auto& s = claim_state_[i];
    if (s.node != c.node || s.nodepool != c.nodepool || s.phase != c.phase ||
        s.deleting != c.deleting || s.initialized_at != c.initialized_at ||
        s.created_at != c.created_at) {
      return "NodeClaim " + c.name;
    }
  }
  for (NodeId n = 0; n < claim_of_node_.size(); ++n) {
    const NodeClaimFlags& nc = claim_of_node_[n];
    if (nc.claim < 0) continue;
    const auto& c = claims_[static_cast<uint32_t>(nc.claim)];
    if (c.node != n || nc.deleting != c.deleting ||
        nc.initialized != (c.phase == ClaimPhase::kInitialized)) {
      return "Node " + store_.node(n).name() + " (its NodeClaim)";
    }
  }
  // The claims not initialized: exactly the live ones whose phase is not Initialized.
  size_t starting = 0;
  for (uint32_t i : live_claims_) {
    const bool listed = starting_claims_.count(i) > 0;
    if (listed != (claim_state_[i].phase != ClaimPhase::kInitialized)) {
      return "NodeClaim " + claims_[i].name + " (starting)";
    }
    starting += listed;
  }
  if (starting != starting_claims_.size()) return "a retired NodeClaim (starting)";
  // The live claims' heads: one each, with their ClaimState.
  if (live_heads_.size() != live_claims_.size()) return "the live claims' heads";
  for (size_t k = 0; k < live_claims_.size(); ++k) {
    if (!HeadHoldsState(live_heads_[k], claim_state_[live_claims_[k]])) {
      return "NodeClaim " + claims_[live_claims_[k]].name + " (live head)";
    }
  }
  // The nodes by name: every one live or deleted since the last pruning, at its rank.
  for (size_t p = 0; p < nodes_by_name_.size(); ++p) {
    const NodeId n = nodes_by_name_[p];
    const bool pending =
        std::find(deleted_unpruned_.begin(), deleted_unpruned_.end(), n) != deleted_unpruned_.end();
    if ((store_.node(n).deleted && !pending) || name_rank_[n] != static_cast<int32_t>(p)) {
      return "Node " + store_.node(n).name() + " (listed by name)";
    }
  }
  for (NodeId n = 0; n < node_cordoned_.size() && n < store_.node_count(); ++n) {
    if (node_cordoned_[n] >= 0 && (node_cordoned_[n] == 1) != store_.node(n).obj.unschedulable) {
      return "Node " + store_.node(n).name();
    }
  }
  return "";
}

}  // namespace gputwin::karpenter
