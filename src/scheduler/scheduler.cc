#include "scheduler/scheduler.h"

#include <algorithm>

#include "cluster/store.h"
#include "scheduler/plugins/gpu_share.h"
#include "scheduler/plugins/node_resources_fit.h"
#include "scheduler/pod_counts.h"
#include "scheduler/registry.h"
#include "scheduler/topology_values.h"

namespace gputwin::scheduler {

using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

namespace {
constexpr uint64_t kTimerArg = 1;
constexpr Duration kUnschedulableFlushPeriod = Duration::Seconds(30);
}  // namespace

int64_t NumFeasibleNodesToFind(int32_t percentage, int64_t n) {
  constexpr int64_t kMinFeasibleNodesToFind = 100;
  constexpr int64_t kMinFeasibleNodesPercentageToFind = 5;
  if (n < kMinFeasibleNodesToFind) return n;
  int64_t p = percentage;
  if (p == 0) {
    p = 50 - n / 125;
    if (p < kMinFeasibleNodesPercentageToFind) p = kMinFeasibleNodesPercentageToFind;
  }
  int64_t num = n * p / 100;
  return std::max(num, kMinFeasibleNodesToFind);
}

Scheduler::Scheduler(cluster::Store* store, EventQueue* queue, SchedulerConfig config,
                     uint64_t seed)
    : Controller("default-scheduler", store, queue,
                 cluster::Watches({WatchKind::kPod, WatchKind::kNode})),
      config_(std::move(config)),
      random_(seed, "default-scheduler"),
      queue_(config_.initial_backoff, config_.max_backoff),
      pod_counts_(std::make_unique<PodCounts>(store)),
      topology_(std::make_unique<TopologyValues>(store)) {
  BuildProfile();
}

Scheduler::~Scheduler() = default;

void Scheduler::BuildProfile() {
  PluginContext ctx;
  ctx.handle = Handle{&store_,      &info_,          &groups_,          &reasons_,
                      &node_order_, &node_position_, pod_counts_.get(), topology_.get()};
  ctx.store = &store_;
  ctx.random = &random_;
  ctx.profile = &config_.profile;
  ctx.scheduler = this;
  ctx.typical_share_pods = std::make_shared<TypicalSharePods>(&store_);
  auto instance = [&](const std::string& name) -> Plugin* {
    for (const auto& p : plugins_) {
      if (name == p->Name()) return p.get();
    }
    const RegisteredPlugin* r = FindPlugin(name);
    plugins_.push_back(r->factory(ctx));
    plugins_.back()->index = static_cast<uint32_t>(plugins_.size() - 1);
    return plugins_.back().get();
  };
  const Profile& prof = config_.profile;
  for (const auto& n : prof.pre_enqueue) {
    if (auto* p = dynamic_cast<PreEnqueuePlugin*>(instance(n))) pre_enqueue_.push_back(p);
  }
  for (const auto& n : prof.filter) {
    Plugin* plugin = instance(n);
    auto* f = dynamic_cast<FilterPlugin*>(plugin);
    if (!f) continue;
    if (auto* fit = dynamic_cast<NodeResourcesFit*>(plugin)) {
      fit_ = fit;
      fit_position_ = static_cast<uint16_t>(filters_.size());
    }
    if (std::string(plugin->Name()) == "NodeAffinity") {
      node_affinity_filter_ = true;
      node_affinity_position_ = static_cast<uint16_t>(filters_.size());
    }
    FilterEntry entry{f, plugin, plugin->index, 0, 0};
    for (const auto& e : plugin->EventsToRegister()) {
      (e.resource == EventResource::kNode ? entry.node_events : entry.pod_events) |= e.actions;
    }
    filters_.push_back(entry);
  }
  for (const auto& n : prof.post_filter) {
    if (auto* p = dynamic_cast<PostFilterPlugin*>(instance(n))) post_filters_.push_back(p);
  }
  for (const auto& s : prof.score) {
    Plugin* plugin = instance(s.name);
    if (auto* sp = dynamic_cast<ScorePlugin*>(plugin)) {
      scores_.push_back(ScoreEntry{sp, plugin->index, s.weight});
    }
  }
  for (const auto& n : prof.reserve) {
    if (auto* p = dynamic_cast<ReservePlugin*>(instance(n))) reserve_.push_back(p);
  }
}

void Scheduler::OnWatch(WatchKind kind, WatchOp op, uint32_t id) {
  if (kind == WatchKind::kNode) {
    ++cluster_generation_;
    const uint32_t old_group = groups_.Has(id) ? groups_.GroupOf(id) : cluster::kNone;
    if (op == WatchOp::kDeleted) {
      groups_.Remove(id);
      deleted_nodes_.push_back(id);  // its diagnosis slot goes at the next rebuild
    } else {
      groups_.Assign(store_, id);
    }
    SyncNode(id);
    if (op != WatchOp::kDeleted) RefreshOrderView(id);
    topology_->NodeChanged(id);
    if (id < node_zone_.size()) node_zone_[id] = ~uint32_t{0};  // its labels may have changed
    if (op != WatchOp::kModified) node_order_dirty_ = true;
    // The event, by what changed in the node's schedulable properties (its group).
    ClusterEvent event{EventResource::kNode, 0};
    EventObject obj{&store_.node(id), nullptr, nullptr};
    if (op == WatchOp::kAdded) {
      event.actions = kAdd;
    } else if (op == WatchOp::kDeleted) {
      event.actions = kDelete;
    } else if (old_group != cluster::kNone && old_group != groups_.GroupOf(id)) {
      const NodeGroup& before = groups_.group(old_group);
      const NodeGroup& after = groups_.group(groups_.GroupOf(id));
      if (before.labels != after.labels) event.actions |= kUpdateNodeLabel;
      if (before.taints != after.taints) event.actions |= kUpdateNodeTaint;
      if (before.unschedulable != after.unschedulable) event.actions |= kUpdateNodeSchedulable;
      if (before.allocatable != after.allocatable) event.actions |= kUpdateNodeAllocatable;
      obj.old_node = &before;
    }
    if (event.actions) OnClusterEvent(event, obj);
    RequestReconcile();
    return;
  }
  if (kind != WatchKind::kPod) return;
  const auto& p = store_.pod(id);
  NoteWaiting(p, id, op != WatchOp::kDeleted && !p.Bound() && !p.Terminal());
  // Priorities of the pods running on nodes: preemption needs a lower one to exist.
  bool running = p.Bound() && !p.Terminal() && op != WatchOp::kDeleted;
  if (id >= counted_.size()) counted_.resize(id + 1, false);
  if (running != counted_[id]) {
    counted_[id] = running;
    auto& c = bound_priorities_[p.tmpl->priority];
    c += running ? 1 : -1;
    if (c == 0) bound_priorities_.erase(p.tmpl->priority);
    // The scheduler cache's view of the node's pods, for the plugins that count them.
    pod_counts_->Update(p, p.node, running ? 1 : -1);
    // AssignedPodAdd: a pod bound somewhere may help pods that want to be near it.
    if (running) OnClusterEvent({EventResource::kPod, kAdd}, EventObject{nullptr, nullptr, &p});
  }
  if (op == WatchOp::kAdded) {
    // Only pods for this scheduler, and not those given a node by spec.nodeName.
    if (p.tmpl->spec->scheduler_name != "default-scheduler" || p.Bound() ||
        !p.tmpl->spec->node_name.empty()) {
      return;
    }
    if (Gated(p)) {
      if (gated_.size() <= id) gated_.resize(id + 1, false);
      gated_[id] = true;  // waits outside the queue, without events
      return;
    }
    queue_.AddActive(id, p.tmpl->priority, store_.now());
    RequestReconcile();
    return;
  }
  if (op == WatchOp::kModified && id < gated_.size() && gated_[id] && !p.Bound() && !p.Terminal() &&
      !Gated(p)) {
    // The last gate is gone (UpdatePodSchedulingGatesEliminated): to activeQ, no backoff.
    gated_[id] = false;
    queue_.AddActive(id, p.tmpl->priority, store_.now());
    RequestReconcile();
    return;
  }
  bool freed = op == WatchOp::kDeleted ? p.Bound() || p.nominated_node != cluster::kNone
                                       : p.Terminal() && p.Bound();
  if (op == WatchOp::kDeleted) {
    queue_.Remove(id);
    ClearNomination(id);
  }
  if (freed) {
    for (ReservePlugin* r : reserve_) r->Unreserve(&store_.pod(id));
  }
  if (p.Bound()) SyncNode(p.node);
  if (freed) {
    // AssignedPodDelete: its resources are free, its labels no longer count.
    ++cluster_generation_;
    OnClusterEvent({EventResource::kPod, kDelete}, EventObject{nullptr, nullptr, &p});
    RequestReconcile();
  }
}

void Scheduler::NoteWaiting(const cluster::PodRecord& p, PodId id, bool waiting) {
  if (waiting_template_.size() <= id) {
    waiting_template_.resize(std::max<size_t>(id + 1, waiting_template_.size() * 2),
                             cluster::kNone);
  }
  uint32_t& counted = waiting_template_[id];
  // (A waiting pod's template may be replaced, as Kueue's TAS ungating does.)
  const uint32_t want = waiting ? p.tmpl->id : cluster::kNone;
  if (counted == want) return;
  if (counted != cluster::kNone && --waiting_of_template_[counted] == 0) {
    release_.push_back(counted);
  }
  counted = want;
  if (want != cluster::kNone) {
    if (waiting_of_template_.size() <= want) waiting_of_template_.resize(want + 1, 0);
    ++waiting_of_template_[want];
  }
}

void Scheduler::ReleaseTemplate(uint32_t tid) {
  // The caches are memos: a template that comes back (a Job's retry) builds them again.
  if (tid < template_cache_.size() && template_cache_[tid]) {
    if (!template_cache_[tid]->own_score.score.empty()) --score_caches_;
    ReleaseDiagnosis(*template_cache_[tid]);
    if (const api::PodSpec* key = template_cache_[tid]->groups_spec) {
      auto it = shared_groups_.find(key);
      if (it != shared_groups_.end() && --it->second->users == 0) shared_groups_.erase(it);
    }
    template_cache_[tid].reset();
  }
}

bool Scheduler::MayHelp(const ClusterEvent& event, const EventObject& obj, PodId pod,
                        uint64_t rejectors) const {
  if (rejectors == 0) return true;  // no plugin named: any event may help
  const auto& p = store_.pod(pod);
  for (uint64_t m = rejectors; m != 0; m &= m - 1) {
    const auto pos = static_cast<size_t>(__builtin_ctzll(m));
    const FilterEntry& f = filters_[pos];
    const uint32_t registered =
        event.resource == EventResource::kNode ? f.node_events : f.pod_events;
    if ((registered & event.actions) == 0) continue;
    if (f.owner->Hint(event, obj, p) == QueueingHint::kQueue) return true;
  }
  return false;
}

void Scheduler::OnClusterEvent(const ClusterEvent& event, const EventObject& obj) {
  // The pod in its scheduling cycle sees the event when it is parked (the queue's
  // in-flight events: preemption's victims leave during their preemptor's cycle).
  if (in_flight_ != cluster::kNone) in_flight_events_.push_back({event, obj});
  if (!queue_.has_unschedulable()) return;
  // Each parked line whose head a rejecting plugin's queueing hint says the event may help.
  queue_.MarkLines(
      [&](PodId head, uint64_t rejectors) { return MayHelp(event, obj, head, rejectors); });
  if (queue_.any_marked()) RequestReconcile();
}

bool Scheduler::Gated(const cluster::PodRecord& pod) const {
  for (const PreEnqueuePlugin* p : pre_enqueue_) {
    if (!p->PreEnqueue(pod).empty()) return true;
  }
  return false;
}

void Scheduler::Nominate(PodId pod, NodeId node) {
  ClearNomination(pod);
  store_.pod(pod).nominated_node = node;
  if (nominated_.size() <= node) nominated_.resize(node + 1);
  nominated_[node].push_back(pod);
  ++nominated_total_;
  NominationsChanged(node);
}

void Scheduler::NominationsChanged(NodeId n) {
  if (nominations_version_.size() <= n) nominations_version_.resize(n + 1, 0);
  ++nominations_version_[n];
  LogNodeChange(n);
  RefreshOrderView(n);
}

void Scheduler::ClearNomination(PodId pod) {
  NodeId n = store_.pod(pod).nominated_node;
  if (n == cluster::kNone) return;
  auto& v = nominated_[n];
  v.erase(std::remove(v.begin(), v.end(), pod), v.end());
  --nominated_total_;
  store_.pod(pod).nominated_node = cluster::kNone;
  NominationsChanged(n);
}

void Scheduler::Reconcile(Time now) {
  for (uint32_t tid : release_) {
    if (waiting_of_template_[tid] == 0) ReleaseTemplate(tid);
  }
  release_.clear();
  if (node_order_dirty_) RebuildNodeOrder();
  queue_.MoveMarked(now);
  Time next_backoff = queue_.FlushBackoff(now);
  if (next_flush_ != cluster::kNever && now >= next_flush_) {
    queue_.FlushUnschedulableLeftover(now);
    next_flush_ = cluster::kNever;
  }
  PodId pod;
  while (queue_.PopActive(&pod)) {
    ScheduleOne(pod, now);
    // Events during this cycle (a bind, preemption's victims) move pods at once.
    queue_.MoveMarked(now);
    Time nb = queue_.FlushBackoff(now);
    if (nb != cluster::kNever) next_backoff = nb;
  }
  next_backoff = queue_.FlushBackoff(now);
  // Wake up for the next backoff expiry and the periodic unschedulable flush.
  if (next_backoff != cluster::kNever) At(next_backoff, kTimerArg);
  if (queue_.has_unschedulable() && next_flush_ == cluster::kNever) {
    next_flush_ = now + kUnschedulableFlushPeriod;
    At(next_flush_, kTimerArg);
  }
}

void Scheduler::OnTimer(Time, uint64_t) {
  RequestReconcile();
}

void Scheduler::ScheduleOne(PodId id, Time now) {
  auto& pod = store_.pod(id);
  if (pod.deleted || pod.Bound() || pod.Terminal()) return;
  ++attempts_;
  in_flight_ = id;
  in_flight_events_.clear();
  struct EndOfCycle {
    PodId* in_flight;
    ~EndOfCycle() { *in_flight = cluster::kNone; }
  } end_of_cycle{&in_flight_};
  TemplateCache& tc = CacheFor(pod);
  const int64_t n = static_cast<int64_t>(node_order_.size());
  if (n == 0) {
    RecordFailure(id, "no nodes available to schedule pods", now);
    return;
  }
  const FailureMemo& memo = tc.failure;
  if (memo.generation == cluster_generation_ && pod.daemon_node == cluster::kNone &&
      pod.nominated_node == cluster::kNone) {
    std::string msg = memo.message;
    RecordFailure(id, msg, now, memo.rejectors);
    return;
  }

  // Templates (or requests) scheduled again and again get a score memo (bounded in number:
  // own memos by kMaxScoreCaches, shared ones by kMaxSharedScoreMemos).
  ++tc.attempts;
  const bool own = !tc.shared_score;
  if (ScoreMemo& sm = tc.score(); ++sm.attempts == 2 && (!own || score_caches_ < kMaxScoreCaches)) {
    if (own) ++score_caches_;
    sm.score.assign(store_.node_count(), 0);
    sm.version.assign(store_.node_count(), 0);
  }
  // PreFilter: the plugins that read other pods build this cycle's state.
  CycleState state;  // slots appear as plugins set them
  PreFilter(pod, tc, &state);

  uint16_t failed_at;
  // A pod nominated by an earlier preemption tries its node first.
  if (pod.nominated_node != cluster::kNone && !store_.node(pod.nominated_node).deleted &&
      FilterWithNominated(pod, tc, state, pod.nominated_node, &failed_at).ok()) {
    Bind(id, pod.nominated_node, now);
    return;
  }

  if (pod.daemon_node != cluster::kNone && node_affinity_filter_) {
    ScheduleDaemonPod(id, tc, state, now);
    return;
  }

  const int64_t to_find = NumFeasibleNodesToFind(config_.percentage_of_nodes_to_score, n);
  std::vector<Feasible>& feasible = feasible_;
  feasible.clear();
  int64_t processed = 0;
  // The group memo is sized up front: its entries stay put while the loop reads them.
  if (tc.groups().size() < groups_.view_count()) tc.groups().resize(groups_.view_count());
  // The hot loop: group verdicts are cached per template; the resource check reads the
  // flat NodeInfo arrays. Other filters take the full path, and so does a node with
  // nominated pods (they take room there: FilterWithNominated); the rest stay on the fast
  // path, which is what the full one finds for a node without them.
  const bool fast = !tc.other_node_filters && active_cluster_.empty();
  if (order_views_version_ != groups_.views_version()) FillOrderViews();
  if (verify_order_rows) VerifyOrderRows();
  size_t index = next_start_node_index_;
  // A nodeSelector names the nodes a pod can fit (NodeAffinity filters them): the Store's
  // label index gives them (a GPU pool's label; a kubernetes.io/hostname pin, as Kueue's
  // TopologyUngater gives every TAS pod). Every other node fails NodeAffinity, so visiting
  // only the rarest pair's nodes, in the loop's order from its start, finds the same
  // feasible list, and the loop would have stopped just past the last one taken (or gone
  // round every node): the same next start. Taken when it names fewer nodes than are
  // sought, or at most half the nodes where the walk would not pass over blocks anyway
  // (both walks give the same result: this is only the cheaper one).
  const std::vector<std::pair<int32_t, NodeId>>* pinned = nullptr;
  if (node_affinity_filter_) {
    const std::vector<NodeId>* rarest = nullptr;
    for (const auto& [key, value] : pod.tmpl->spec->node_selector) {
      const auto& named = store_.LabelIndex(key, value);
      if (!rarest || named.size() < rarest->size()) rarest = &named;
    }
    const bool blocks = fast && tc.requests != nullptr && tc.sparse_fit;
    const auto named = rarest ? static_cast<int64_t>(rarest->size()) : n;
    if (rarest && (named < to_find || (!blocks && 2 * named <= n))) {
      pinned = &PinnedByPosition(*rarest);
    }
  }
  const bool only_pinned = pinned != nullptr;
  // One node of the walk, by its position in the order: the filters, and the node joins
  // the feasible list if it passes (inlined: as a call per node, the plain walk costs 15 %
  // more). Its free row is read by position (OrderFree): the walk reads them in sequence.
  // The group verdicts, read in place: sized above to every view, and evaluating one
  // adds no view, so the vector stays put through the walk.
  GroupEval* const evals = tc.groups().data();
  const bool no_group_plugins = tc.group_filters.empty() && tc.group_scores.empty();
  auto visit = [&](size_t position) __attribute__((always_inline)) {
    ++processed;
    const uint32_t key = order_views_[position];
    if (fast && !(key & kNominatedBit)) {
      if (no_group_plugins) {
        if (!tc.requests ||
            NodeResourcesFit::Fits(*tc.requests, OrderFree(position), order_stride_)) {
          feasible.push_back(Feasible{node_order_[position], 0});
        }
        return;
      }
      const uint32_t g = key;
      const GroupEval& e = evals[g].evaluated ? evals[g] : EvaluateGroup(pod, tc, g);
      if (e.failed_at == kPasses &&
          (!tc.requests ||
           NodeResourcesFit::Fits(*tc.requests, OrderFree(position), order_stride_))) {
        feasible.push_back(Feasible{node_order_[position], g});
      }
      return;
    }
    const NodeId node = node_order_[position];
    if (FilterWithNominated(pod, tc, state, node, &failed_at).ok()) {
      const uint32_t g = groups_.ViewOf(node);
      if (!tc.group_scores.empty()) GroupOf(pod, tc, g);
      feasible.push_back(Feasible{node, g});
    }
  };
  // Where only the group verdicts and NodeResourcesFit decide, whole blocks of nodes
  // without room for the requests are passed over (each counts as processed; nominated
  // pods only take room, so a block without room has none with them either), for
  // templates whose last walk visited every node and found fewer nodes than there are
  // blocks: elsewhere keeping the blocks current costs more than skipping saves.
  const bool skip_blocks = fast && !only_pinned && tc.requests != nullptr && tc.sparse_fit;
  if (skip_blocks) {
    free_blocks_.Refresh(order_free_.data(), order_stride_, node_order_.size());
    if (verify_order_rows) {
      ++free_block_checks_;
      order_row_mismatches_ +=
          !free_blocks_.Matches(order_free_.data(), order_stride_, node_order_.size());
    }
    const auto nodes = static_cast<size_t>(n);
    int64_t i = 0;
    while (i < n && static_cast<int64_t>(feasible.size()) < to_find) {
      // The rest of index's block (the walk may start inside one); the node-by-node walk
      // counts in `processed`, from which the next start index follows.
      const size_t end = std::min(nodes, (index / kFreeBlock + 1) * kFreeBlock);
      const int64_t span = std::min(static_cast<int64_t>(end - index), n - i);
      if (free_blocks_.CannotFit(index / kFreeBlock, *tc.requests)) {
        processed += span;
      } else {
        for (int64_t k = 0; k < span && static_cast<int64_t>(feasible.size()) < to_find; ++k) {
          visit(index + static_cast<size_t>(k));
        }
      }
      i += span;
      index += static_cast<size_t>(span);
      if (index == nodes) index = 0;
    }
  } else if (only_pinned) {
    const int32_t start = static_cast<int32_t>(next_start_node_index_);
    const size_t m = pinned->size();
    const size_t first = static_cast<size_t>(
        std::lower_bound(pinned->begin(), pinned->end(), std::pair<int32_t, NodeId>{start, 0}) -
        pinned->begin());
    // (No division per node: the index wraps, and the rank is taken of the last one.)
    size_t k = first == m ? 0 : first;
    int32_t last_position = start;
    for (size_t i = 0; i < m && static_cast<int64_t>(feasible.size()) < to_find; ++i) {
      const auto& [position, node] = (*pinned)[k];
      visit(static_cast<size_t>(position));
      last_position = position;
      if (++k == m) k = 0;
    }
    processed =
        static_cast<int64_t>(feasible.size()) < to_find ? n : (last_position - start + n) % n + 1;
  } else {
    for (int64_t i = 0; i < n && static_cast<int64_t>(feasible.size()) < to_find; ++i) {
      visit(index);
      if (++index == static_cast<size_t>(n)) index = 0;
    }
  }
  tc.sparse_fit = static_cast<int64_t>(feasible.size()) < to_find &&
                  feasible.size() * kFreeBlock < static_cast<size_t>(n);
  next_start_node_index_ =
      (next_start_node_index_ + static_cast<size_t>(processed)) % static_cast<size_t>(n);

  if (feasible.empty()) {
    std::vector<bool> scratch;
    Unschedulable unschedulable;
    uint64_t rejectors = 0;
    std::string msg = FitErrorMessage(pod, tc, state, &scratch, &unschedulable, &rejectors);
    FailScheduling(id, state, msg, unschedulable, rejectors, now);
    return;
  }
  if (feasible.size() == 1) {
    Bind(id, feasible[0].node, now);
    return;
  }

  // Score: Σ plugin weight × normalised score; the best total wins, ties at random.
  std::vector<int64_t>& totals = totals_;
  std::vector<int64_t>& column = column_;
  totals.assign(feasible.size(), 0);
  column.resize(feasible.size());
  for (size_t k = 0; k < tc.group_scores.size(); ++k) {
    const ScoreEntry& s = scores_[tc.group_scores[k]];
    for (size_t fi = 0; fi < feasible.size(); ++fi) {
      column[fi] = tc.groups()[feasible[fi].group].raw[k];
    }
    s.plugin->NormalizeScore(state, &column);
    for (size_t fi = 0; fi < feasible.size(); ++fi) totals[fi] += s.weight * column[fi];
  }
  if (!tc.cycle_scores.empty()) {
    std::vector<NodeId> nodes;
    nodes.reserve(feasible.size());
    for (const auto& f : feasible) nodes.push_back(f.node);
    for (uint16_t pos : tc.cycle_scores) {
      const ScoreEntry& s = scores_[pos];
      if (s.plugin->PreScore(state, pod, nodes) == Code::kSkip) continue;
      for (size_t fi = 0; fi < feasible.size(); ++fi) {
        column[fi] = s.plugin->Score(state, pod, ViewOf(feasible[fi].node, nullptr));
      }
      s.plugin->NormalizeScore(state, &column);
      for (size_t fi = 0; fi < feasible.size(); ++fi) totals[fi] += s.weight * column[fi];
    }
  }
  if (!tc.memo_scores.empty()) AddMemoScores(pod, tc, &totals);
  int64_t best = -1;
  NodeId chosen = cluster::kNone;
  uint64_t ties = 0;
  for (size_t fi = 0; fi < feasible.size(); ++fi) {
    int64_t total = totals[fi];
    if (total > best) {
      best = total;
      chosen = feasible[fi].node;
      ties = 1;
    } else if (total == best) {
      // Reservoir sampling over equal scores (selectHost).
      ++ties;
      if (random_.Below(ties) == 0) chosen = feasible[fi].node;
    }
  }
  Bind(id, chosen, now);
}

void Scheduler::ScheduleDaemonPod(PodId id, TemplateCache& tc, CycleState& state, Time now) {
  // findNodesThatFitPod with a PreFilterResult: the named node is filtered if it exists;
  // every other node is "absent" with the status "node(s) didn't satisfy plugin(s)
  // [NodeAffinity]"; nextStartNodeIndex advances by the nodes processed (0 or 1).
  const auto& pod = store_.pod(id);
  const size_t n = node_order_.size();
  const NodeId node = pod.daemon_node;
  const bool present =
      node < node_position_.size() && node_position_[node] >= 0 && !store_.node(node).deleted;
  uint16_t failed_at = kPasses;
  if (present) {
    next_start_node_index_ = (next_start_node_index_ + 1) % n;
    if (FilterWithNominated(pod, tc, state, node, &failed_at).ok()) {
      Bind(id, node, now);
      return;
    }
  }
  std::vector<int64_t> counts(reasons_.size(), 0);
  std::vector<bool> unschedulable(store_.node_count(), false);
  uint64_t rejectors = 0;
  auto count = [&](uint16_t reason, int64_t k) {
    if (counts.size() <= reason) counts.resize(reasons_.size(), 0);
    counts[reason] += k;
  };
  if (present) {
    std::vector<uint16_t> ids;
    Status s = Diagnosis(pod, tc, state, node, false, &failed_at, &ids);
    if (failed_at < 64) rejectors |= uint64_t{1} << failed_at;
    for (uint16_t r : ids) count(r, 1);
    if (s.code == Code::kUnschedulable) unschedulable[node] = true;
  }
  const int64_t absent = static_cast<int64_t>(n) - (present ? 1 : 0);
  if (absent > 0) {
    count(reasons_.Id("node(s) didn't satisfy plugin(s) [NodeAffinity]"), absent);
    if (node_affinity_position_ < 64) rejectors |= uint64_t{1} << node_affinity_position_;
  }
  FailScheduling(id, state, HistogramMessage(n, counts),
                 Unschedulable{&unschedulable, present && unschedulable[node] ? 1 : 0}, rejectors,
                 now);
}

std::string NodesAvailableMessage(size_t num_nodes,
                                  const std::vector<std::pair<std::string, int64_t>>& counts) {
  std::vector<std::string> parts;
  for (const auto& [reason, count] : counts) {
    if (count > 0) parts.push_back(std::to_string(count) + " " + reason);
  }
  std::sort(parts.begin(), parts.end());
  std::string joined;
  for (const auto& p : parts) joined += (joined.empty() ? "" : ", ") + p;
  return "0/" + std::to_string(num_nodes) + " nodes are available: " + joined + ".";
}

void Scheduler::Bind(PodId id, NodeId node, Time now) {
  ClearNomination(id);
  ++binds_;
  ++cluster_generation_;
  auto& pod = store_.pod(id);
  pod.reason.clear();
  store_.RecordEvent("Normal", "Scheduled", "Pod", pod.namespace_, pod.name,
                     "Successfully assigned " + pod.namespace_ + "/" + pod.name + " to " +
                         store_.node(node).name(),
                     name_);
  uint32_t template_id = pod.tmpl->id;
  for (ReservePlugin* r : reserve_) r->Reserve(&pod, node);
  store_.BindPod(id, node);
  SyncNode(node);
  queue_.MoveNextOfTemplate(template_id, now);
}

}  // namespace gputwin::scheduler
