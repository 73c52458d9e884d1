#include "scheduler/scheduler.h"

#include <algorithm>
#include <cmath>

#include "cluster/scheduling_helpers.h"
#include "scheduler/preemption.h"

namespace gputwin::scheduler {

using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

namespace {
constexpr int64_t kMaxNodeScore = 100;
constexpr uint32_t kResourceFailure = 0xFFFF'FFFF;
constexpr uint64_t kTimerArg = 1;
constexpr Duration kUnschedulableFlushPeriod = Duration::Seconds(30);

const char* const kReasonUnschedulable = "node(s) were unschedulable";
const char* const kReasonNodeName = "node(s) didn't match the requested node name";
const char* const kReasonAffinity = "node(s) didn't match Pod's node affinity/selector";

bool IsScalarResource(const std::string& name) {
  return name != "cpu" && name != "memory" && name != "ephemeral-storage" && name != "pods";
}
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

SchedulerConfig SchedulerConfig::From(const api::KubeSchedulerConfiguration& c) {
  SchedulerConfig out;
  out.percentage_of_nodes_to_score = c.percentage_of_nodes_to_score;
  out.initial_backoff = Duration::Seconds(c.pod_initial_backoff_seconds);
  out.max_backoff = Duration::Seconds(c.pod_max_backoff_seconds);
  if (c.scoring_strategy == "MostAllocated") out.strategy = ScoringStrategy::kMostAllocated;
  if (c.scoring_strategy == "RequestedToCapacityRatio") {
    out.strategy = ScoringStrategy::kRequestedToCapacityRatio;
  }
  out.scoring_resources = c.scoring_resources;
  out.shape = c.shape;
  auto weight = [&](const char* plugin, int64_t* w) {
    if (auto it = c.score_weights.find(plugin); it != c.score_weights.end()) *w = it->second;
    for (const auto& d : c.disabled_plugins) {
      if (d == plugin || d == "*") *w = 0;
    }
    // A plugin named in enabled after "*" was disabled comes back with its weight.
    if (auto it = c.score_weights.find(plugin); it != c.score_weights.end()) *w = it->second;
  };
  weight("TaintToleration", &out.weight_taint_toleration);
  weight("NodeAffinity", &out.weight_node_affinity);
  weight("NodeResourcesFit", &out.weight_fit);
  weight("NodeResourcesBalancedAllocation", &out.weight_balanced);
  // The FGD paper's simulator names its GPU-sharing score plugins like this.
  const std::pair<const char*, gpushare::Policy> kSharePlugins[] = {
      {"FGDScore", gpushare::Policy::kFGD},
      {"DotProductScore", gpushare::Policy::kDotProduct},
      {"GpuClusteringScore", gpushare::Policy::kGpuClustering},
      {"GpuPackingScore", gpushare::Policy::kGpuPacking},
      {"BestFitScore", gpushare::Policy::kBestFit},
      {"RandomScore", gpushare::Policy::kRandom}};
  for (const auto& [name, policy] : kSharePlugins) {
    if (auto it = c.score_weights.find(name); it != c.score_weights.end() && it->second > 0) {
      out.gpu_share_policy = policy;
      out.gpu_share_weight = it->second;
    }
  }
  return out;
}

Scheduler::Scheduler(cluster::Store* store, EventQueue* queue, SchedulerConfig config,
                     uint64_t seed)
    : Controller("default-scheduler", store, queue),
      config_(std::move(config)),
      random_(seed, "default-scheduler"),
      queue_(config_.initial_backoff, config_.max_backoff) {
  for (const auto& r : config_.scoring_resources) {
    scoring_ids_.push_back(store->resources().Id(r.name));
    scalar_.push_back(IsScalarResource(r.name));
  }
}

uint16_t Scheduler::ReasonId(const std::string& reason) {
  auto [it, inserted] = reason_ids_.emplace(reason, static_cast<uint16_t>(reasons_.size()));
  if (inserted) reasons_.push_back(reason);
  return it->second;
}

void Scheduler::OnWatch(WatchKind kind, WatchOp op, uint32_t id) {
  if (kind == WatchKind::kNode) {
    ++cluster_generation_;
    if (op == WatchOp::kDeleted) {
      groups_.Remove(id);
    } else {
      groups_.Assign(store_, id);
    }
    info_.Sync(store_, id);
    if (id < node_zone_known_.size()) node_zone_known_[id] = false;  // its labels may have changed
    if (op != WatchOp::kModified) node_order_dirty_ = true;
    move_all_ = true;  // NodeAdd / NodeUpdate: any plugin may now pass
    RequestReconcile();
    return;
  }
  if (kind != WatchKind::kPod) return;
  const auto& p = store_.pod(id);
  // Priorities of the pods running on nodes: preemption needs a lower one to exist.
  bool running = p.Bound() && !p.Terminal() && op != WatchOp::kDeleted;
  if (id >= counted_.size()) counted_.resize(id + 1, false);
  if (running != counted_[id]) {
    counted_[id] = running;
    auto& c = bound_priorities_[p.tmpl->priority];
    c += running ? 1 : -1;
    if (c == 0) bound_priorities_.erase(p.tmpl->priority);
  }
  if (op == WatchOp::kAdded) {
    share_pods_created_ += p.tmpl->uses_gpu_share;
    // Only pods for this scheduler, and not those given a node by spec.nodeName.
    if (p.tmpl->spec.scheduler_name != "default-scheduler" || p.Bound() ||
        !p.tmpl->spec.node_name.empty()) {
      return;
    }
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
  if (freed) ShareRelease(id);
  if (p.Bound()) info_.Sync(store_, p.node);
  if (freed) {
    // AssignedPodDelete: resources were freed (NodeResourcesFit's queueing hint).
    ++cluster_generation_;
    move_for_resources_ = true;
    RequestReconcile();
  }
}

void Scheduler::Nominate(PodId pod, NodeId node) {
  ClearNomination(pod);
  store_.pod(pod).nominated_node = node;
  if (nominated_.size() <= node) nominated_.resize(node + 1);
  nominated_[node].push_back(pod);
  ++nominated_total_;
}

void Scheduler::ClearNomination(PodId pod) {
  NodeId n = store_.pod(pod).nominated_node;
  if (n == cluster::kNone) return;
  auto& v = nominated_[n];
  v.erase(std::remove(v.begin(), v.end(), pod), v.end());
  --nominated_total_;
  store_.pod(pod).nominated_node = cluster::kNone;
}

void Scheduler::RebuildNodeOrder() {
  // NodeTree: zones in order of first appearance, nodes taken round-robin across zones.
  // Few zones: a linear search over them beats a map of strings for every node, and each
  // node's zone is looked up once (again only when the node changes).
  std::vector<std::pair<const std::string*, std::vector<NodeId>>> zones;
  if (node_zone_.size() < store_.node_count()) {
    node_zone_.resize(store_.node_count());
    node_zone_known_.resize(store_.node_count(), false);
  }
  for (NodeId n = 0; n < store_.node_count(); ++n) {
    const auto& node = store_.node(n);
    if (node.deleted) continue;
    if (!node_zone_known_[n]) {
      auto it = node.obj.metadata.labels.find("topology.kubernetes.io/zone");
      node_zone_[n] = it == node.obj.metadata.labels.end() ? "" : it->second;
      node_zone_known_[n] = true;
    }
    const std::string& zone = node_zone_[n];
    auto z =
        std::find_if(zones.begin(), zones.end(), [&](const auto& e) { return *e.first == zone; });
    if (z == zones.end()) z = zones.insert(zones.end(), {&zone, {}});
    z->second.push_back(n);
  }
  node_order_.clear();
  for (size_t i = 0;; ++i) {
    bool any = false;
    for (const auto& [zone, list] : zones) {
      if (i < list.size()) {
        node_order_.push_back(list[i]);
        any = true;
      }
    }
    if (!any) break;
  }
  next_start_node_index_ = 0;
  node_order_dirty_ = false;
}

Scheduler::TemplateCache& Scheduler::CacheFor(const cluster::PodRecord& pod) {
  const auto& t = *pod.tmpl;
  if (template_cache_.size() <= t.id) template_cache_.resize(t.id + 1);
  TemplateCache& tc = template_cache_[t.id];
  if (!tc.built) {
    tc.built = true;
    tc.gpu_share = t.uses_gpu_share;
    for (size_t r = 0; r < t.requests.size(); ++r) {
      if (t.requests[r] > 0 && r != cluster::kPods) {
        tc.requests.emplace_back(static_cast<ResourceId>(r), t.requests[r]);
      }
    }
    auto uses_names = [](const api::NodeSelectorTerm& term) {
      if (!term.match_fields.empty()) return true;
      for (const auto& e : term.match_expressions) {
        if (e.key == "kubernetes.io/hostname") return true;
      }
      return false;
    };
    tc.per_node = !t.spec.node_name.empty() ||
                  t.spec.node_selector.count("kubernetes.io/hostname") ||
                  pod.daemon_node != cluster::kNone;
    if (t.spec.node_affinity) {
      if (t.spec.node_affinity->required) {
        for (const auto& term : *t.spec.node_affinity->required) tc.per_node |= uses_names(term);
      }
      for (const auto& pref : t.spec.node_affinity->preferred) {
        tc.per_node |= uses_names(pref.preference);
        tc.has_preferred = true;
      }
    }
  }
  return tc;
}

Scheduler::StaticEval Scheduler::EvaluateStatic(const cluster::PodRecord& pod,
                                                const api::Labels& labels,
                                                const std::vector<api::Taint>& taints,
                                                bool unschedulable, const std::string& node_name) {
  StaticEval e;
  e.evaluated = true;
  const auto& spec = pod.tmpl->spec;
  // Filters in the default profile's order; the first failure decides the reason.
  if (unschedulable &&
      !cluster::TaintToleratedBy({"node.kubernetes.io/unschedulable", "", "NoSchedule"},
                                 spec.tolerations)) {
    e.reason = ReasonId(kReasonUnschedulable) + 1;
  } else if (!spec.node_name.empty() && spec.node_name != node_name) {
    e.reason = ReasonId(kReasonNodeName) + 1;
  } else if (const api::Taint* t =
                 cluster::FindUntoleratedTaint(taints, spec.tolerations, true, true)) {
    e.reason = ReasonId("node(s) had untolerated taint {" + t->key + ": " + t->value + "}") + 1;
  } else if (!cluster::MatchesRequiredAffinity(spec, labels, node_name) ||
             (pod.daemon_node != cluster::kNone &&
              node_name != store_.node(pod.daemon_node).name())) {
    e.reason = ReasonId(kReasonAffinity) + 1;
  }
  // Static scores. TaintToleration: PreferNoSchedule taints not tolerated by tolerations
  // with an empty or PreferNoSchedule effect.
  for (const auto& t : taints) {
    if (t.effect != "PreferNoSchedule") continue;
    bool tolerated = false;
    for (const auto& tol : spec.tolerations) {
      if ((tol.effect.empty() || tol.effect == "PreferNoSchedule") &&
          cluster::ToleratesTaint(tol, t)) {
        tolerated = true;
        break;
      }
    }
    if (!tolerated) ++e.taint_raw;
  }
  // NodeAffinity: Σ weights of matching preferred terms.
  if (spec.node_affinity) {
    for (const auto& pref : spec.node_affinity->preferred) {
      if (pref.weight > 0 && cluster::MatchesTerm(pref.preference, labels, node_name)) {
        e.affinity_raw += pref.weight;
      }
    }
  }
  return e;
}

bool Scheduler::FitsResources(const cluster::PodRecord& pod, const TemplateCache& tc, NodeId n,
                              const cluster::ResourceVec* extra_free) const {
  const int64_t* alloc = info_.alloc(n);
  const int64_t* used = info_.used(n);
  if (extra_free == nullptr) {
    if (alloc[cluster::kPods] - used[cluster::kPods] < 1) return false;
    for (const auto& [r, amount] : tc.requests) {
      if (r >= info_.stride() || amount > alloc[r] - used[r]) return false;
    }
    return !tc.gpu_share || ShareFits(pod, n);
  }
  if (alloc[cluster::kPods] - used[cluster::kPods] + cluster::At(*extra_free, cluster::kPods) < 1) {
    return false;
  }
  for (const auto& [r, amount] : tc.requests) {
    if (amount > info_.Alloc(n, r) - info_.Used(n, r) + cluster::At(*extra_free, r)) return false;
  }
  return !tc.gpu_share || ShareFits(pod, n);
}

void Scheduler::ResourceReasons(const cluster::PodRecord& pod, const TemplateCache& tc, NodeId n,
                                const cluster::ResourceVec* extra_free,
                                std::vector<uint16_t>* out) {
  (void)pod;
  auto free = [&](ResourceId r) {
    return info_.Alloc(n, r) - info_.Used(n, r) + (extra_free ? cluster::At(*extra_free, r) : 0);
  };
  if (free(cluster::kPods) < 1) out->push_back(ReasonId("Too many pods"));
  for (const auto& [r, amount] : tc.requests) {
    if (amount <= free(r)) continue;
    if (insufficient_ids_.size() <= r) insufficient_ids_.resize(r + 1, 0xFFFF);
    if (insufficient_ids_[r] == 0xFFFF) {
      insufficient_ids_[r] = ReasonId("Insufficient " + store_.resources().Name(r));
    }
    out->push_back(insufficient_ids_[r]);
  }
  if (out->empty() && !ShareFits(pod, n)) {
    out->push_back(ReasonId("node(s) didn't have GPUs with enough free share"));
  }
}

const cluster::ResourceVec* Scheduler::NominatedFree(const cluster::PodRecord& pod, NodeId n,
                                                     cluster::ResourceVec* buf) const {
  if (nominated_total_ == 0 || n >= nominated_.size() || nominated_[n].empty()) return nullptr;
  // Pods nominated to this node with equal or higher priority keep their place
  // (addGENominatedPods): their requests count as used.
  buf->clear();
  for (PodId other : nominated_[n]) {
    const auto& o = store_.pod(other);
    if (&o == &pod || o.tmpl->priority < pod.tmpl->priority) continue;
    cluster::AddTo(buf, o.tmpl->requests, -1);
    if (buf->size() <= cluster::kPods) buf->resize(cluster::kPods + 1, 0);
    (*buf)[cluster::kPods] -= 1;
  }
  return buf;
}

const Scheduler::StaticEval& Scheduler::EvaluateGroup(const cluster::PodRecord& pod,
                                                      TemplateCache& tc, uint32_t g) {
  if (tc.groups.size() <= g) tc.groups.resize(groups_.group_count());
  StaticEval& e = tc.groups[g];
  if (!e.evaluated) {
    const auto& group = groups_.group(g);
    e = EvaluateStatic(pod, group.labels, group.taints, group.unschedulable, "");
  }
  return e;
}

int64_t Scheduler::ResourceScore(const cluster::PodRecord& pod, TemplateCache& tc, NodeId n) {
  if (!tc.score.empty()) {
    if (n < tc.score.size() && tc.score_version[n] == info_.version(n)) return tc.score[n];
  }
  int64_t s = 0;
  if (config_.weight_fit) s += config_.weight_fit * ScoreFit(pod, n);
  if (config_.weight_balanced) s += config_.weight_balanced * ScoreBalanced(pod, n);
  if (!tc.score.empty()) {
    if (tc.score.size() <= n) {
      tc.score.resize(store_.node_count(), 0);
      tc.score_version.resize(store_.node_count(), 0);
    }
    tc.score[n] = s;
    tc.score_version[n] = info_.version(n);
  }
  return s;
}

uint32_t Scheduler::Filter(const cluster::PodRecord& pod, TemplateCache& tc, NodeId n,
                           StaticEval* eval) {
  if (tc.per_node) {
    const auto& node = store_.node(n);
    *eval = EvaluateStatic(pod, node.obj.metadata.labels, node.obj.taints, node.obj.unschedulable,
                           node.name());
  } else {
    *eval = GroupEval(pod, tc, groups_.GroupOf(n));
  }
  if (eval->reason) return eval->reason;
  cluster::ResourceVec buf;
  return FitsResources(pod, tc, n, NominatedFree(pod, n, &buf)) ? 0 : kResourceFailure;
}

int64_t Scheduler::ScoreFit(const cluster::PodRecord& pod, NodeId n) const {
  const auto& t = *pod.tmpl;
  int64_t score = 0, weight_sum = 0;
  for (size_t i = 0; i < scoring_ids_.size(); ++i) {
    ResourceId r = scoring_ids_[i];
    int64_t weight = config_.scoring_resources[i].weight;
    int64_t alloc = info_.Alloc(n, r), req;
    if (r == cluster::kCpu) {
      req = info_.nonzero_cpu(n) + t.nonzero_cpu;
    } else if (r == cluster::kMemory) {
      req = info_.nonzero_memory(n) + t.nonzero_memory;
    } else {
      int64_t pod_req = cluster::At(t.requests, r);
      if (pod_req == 0 && scalar_[i]) continue;
      req = info_.Used(n, r) + pod_req;
    }
    if (alloc == 0) continue;
    int64_t s = 0;
    switch (config_.strategy) {
      case ScoringStrategy::kLeastAllocated:
        s = req > alloc ? 0 : (alloc - req) * kMaxNodeScore / alloc;
        break;
      case ScoringStrategy::kMostAllocated:
        s = std::min(req, alloc) * kMaxNodeScore / alloc;
        break;
      case ScoringStrategy::kRequestedToCapacityRatio: {
        int64_t util =
            req > alloc ? 100 : static_cast<int64_t>(static_cast<__int128>(req) * 100 / alloc);
        const auto& shape = config_.shape;
        int64_t raw = shape.back().score;
        for (size_t k = 0; k < shape.size(); ++k) {
          if (util <= shape[k].utilization) {
            raw = k == 0
                      ? shape[0].score
                      : shape[k - 1].score + (shape[k].score - shape[k - 1].score) *
                                                 (util - shape[k - 1].utilization) /
                                                 (shape[k].utilization - shape[k - 1].utilization);
            break;
          }
        }
        s = raw * 10;          // MaxNodeScore / MaxCustomPriorityScore
        if (s <= 0) continue;  // zero scores leave the weights too
        break;
      }
    }
    score += s * weight;
    weight_sum += weight;
  }
  if (weight_sum == 0) return 0;
  if (config_.strategy == ScoringStrategy::kRequestedToCapacityRatio) {
    return static_cast<int64_t>(
        std::llround(static_cast<double>(score) / static_cast<double>(weight_sum)));
  }
  return score / weight_sum;
}

int64_t Scheduler::ScoreBalanced(const cluster::PodRecord& pod, NodeId n) const {
  double f[2];
  int k = 0;
  const int64_t* alloc_row = info_.alloc(n);
  const int64_t* used_row = info_.used(n);
  for (ResourceId r : {cluster::kCpu, cluster::kMemory}) {
    int64_t alloc = alloc_row[r];
    if (alloc == 0) continue;
    int64_t req = used_row[r] + cluster::At(pod.tmpl->requests, r);
    f[k++] = std::min(static_cast<double>(req) / static_cast<double>(alloc), 1.0);
  }
  double stddev = k == 2 ? std::abs((f[0] - f[1]) / 2) : 0.0;
  return static_cast<int64_t>((1 - stddev) * static_cast<double>(kMaxNodeScore));
}

void Scheduler::Reconcile(Time now) {
  if (node_order_dirty_) RebuildNodeOrder();
  if (move_all_ || move_for_resources_) queue_.MoveAllUnschedulable(now);
  move_all_ = move_for_resources_ = false;
  Time next_backoff = queue_.FlushBackoff(now);
  if (next_flush_ != cluster::kNever && now >= next_flush_) {
    queue_.FlushUnschedulableLeftover(now);
    next_flush_ = cluster::kNever;
  }
  PodId pod;
  while (queue_.PopActive(&pod)) {
    ScheduleOne(pod, now);
    if (move_all_ || move_for_resources_) {
      // Events during this cycle (preemption deleted victims) move pods at once.
      queue_.MoveAllUnschedulable(now);
      move_all_ = move_for_resources_ = false;
    }
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
  TemplateCache& tc = CacheFor(pod);
  const int64_t n = static_cast<int64_t>(node_order_.size());
  if (n == 0) {
    RecordFailure(id, "no nodes available to schedule pods", now);
    return;
  }
  const uint32_t tid = pod.tmpl->id;
  if (failure_memo_.size() <= tid) failure_memo_.resize(tid + 1, {~uint64_t{0}, ""});
  if (failure_memo_[tid].first == cluster_generation_ && pod.daemon_node == cluster::kNone &&
      pod.nominated_node == cluster::kNone) {
    std::string msg = failure_memo_[tid].second;
    RecordFailure(id, msg, now);
    return;
  }

  // Templates scheduled again and again get a score memo (bounded in number).
  if (++tc.attempts == 2 && score_caches_ < kMaxScoreCaches) {
    ++score_caches_;
    tc.score.assign(store_.node_count(), 0);
    tc.score_version.assign(store_.node_count(), 0);
  }
  StaticEval eval;
  // A pod nominated by an earlier preemption tries its node first.
  if (pod.nominated_node != cluster::kNone && !store_.node(pod.nominated_node).deleted &&
      Filter(pod, tc, pod.nominated_node, &eval) == 0) {
    Bind(id, pod.nominated_node, now);
    return;
  }

  const int64_t to_find = NumFeasibleNodesToFind(config_.percentage_of_nodes_to_score, n);
  std::vector<Feasible> feasible;
  feasible.reserve(static_cast<size_t>(std::min<int64_t>(to_find, n)));
  int64_t processed = 0;
  // The hot loop: group verdicts are cached per template; the resource check reads the
  // flat NodeInfo arrays. Pods with per-node affinity or nominated pods take the full path.
  const bool fast = !tc.per_node && nominated_total_ == 0;
  size_t index = next_start_node_index_;
  for (int64_t i = 0; i < n && static_cast<int64_t>(feasible.size()) < to_find; ++i) {
    NodeId node = node_order_[index];
    if (++index == static_cast<size_t>(n)) index = 0;
    ++processed;
    if (fast) {
      const StaticEval& e = GroupEval(pod, tc, groups_.GroupOf(node));
      if (e.reason == 0 && FitsResources(pod, tc, node, nullptr)) {
        feasible.push_back(Feasible{node, e.taint_raw, e.affinity_raw});
      }
    } else if (Filter(pod, tc, node, &eval) == 0) {
      feasible.push_back(Feasible{node, eval.taint_raw, eval.affinity_raw});
    }
  }
  next_start_node_index_ =
      (next_start_node_index_ + static_cast<size_t>(processed)) % static_cast<size_t>(n);

  if (feasible.empty()) {
    std::vector<bool> resolvable;
    std::string msg = FitErrorMessage(pod, tc, &resolvable);
    Preemption preemption(this);
    auto result = preemption.Run(id, resolvable, now);
    if (result.nominated != cluster::kNone) {
      RecordFailure(id, msg, now);
      return;
    }
    std::string full = msg + " " + result.message;
    if (pod.daemon_node == cluster::kNone) failure_memo_[tid] = {cluster_generation_, full};
    RecordFailure(id, full, now);
    return;
  }
  if (feasible.size() == 1) {
    Bind(id, feasible[0].node, now);
    return;
  }

  // Score: Σ plugin weight × normalised score; the best total wins, ties at random.
  int64_t max_taint = 0, max_affinity = 0;
  for (const auto& f : feasible) {
    max_taint = std::max(max_taint, f.taint_raw);
    max_affinity = std::max(max_affinity, f.affinity_raw);
  }
  std::vector<int64_t> share;
  if (config_.gpu_share_policy && pod.tmpl->uses_gpu_share) {
    std::vector<NodeId> nodes;
    for (const auto& f : feasible) nodes.push_back(f.node);
    share = ShareScores(pod, nodes);
  }
  int64_t best = -1;
  NodeId chosen = cluster::kNone;
  uint64_t ties = 0;
  for (size_t fi = 0; fi < feasible.size(); ++fi) {
    const auto& f = feasible[fi];
    int64_t taint =
        max_taint == 0 ? kMaxNodeScore : kMaxNodeScore - kMaxNodeScore * f.taint_raw / max_taint;
    int64_t affinity = max_affinity == 0 ? 0 : kMaxNodeScore * f.affinity_raw / max_affinity;
    int64_t total = config_.weight_taint_toleration * taint +
                    config_.weight_node_affinity * affinity + ResourceScore(pod, tc, f.node);
    if (!share.empty()) total += config_.gpu_share_weight * share[fi];
    if (total > best) {
      best = total;
      chosen = f.node;
      ties = 1;
    } else if (total == best) {
      // Reservoir sampling over equal scores (selectHost).
      ++ties;
      if (random_.Below(ties) == 0) chosen = f.node;
    }
  }
  Bind(id, chosen, now);
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

std::string Scheduler::HistogramMessage(size_t num_nodes,
                                        const std::vector<int64_t>& counts) const {
  std::vector<std::pair<std::string, int64_t>> named;
  for (size_t id = 0; id < counts.size(); ++id) named.emplace_back(reasons_[id], counts[id]);
  return NodesAvailableMessage(num_nodes, named);
}

std::string Scheduler::FitErrorMessage(const cluster::PodRecord& pod, TemplateCache& tc,
                                       std::vector<bool>* resolvable) {
  resolvable->assign(store_.node_count(), false);
  std::vector<int64_t> counts(reasons_.size(), 0);
  std::vector<uint16_t> ids;
  // Templates failing again and again keep their per-node verdicts.
  if (tc.attempts >= 2 && !tc.per_node && !tc.gpu_share && nominated_total_ == 0 &&
      pod.daemon_node == cluster::kNone) {
    const size_t n_nodes = store_.node_count();
    if (tc.diag_version.empty()) {
      diagnosis_owners_.push_back(pod.tmpl->id);
      if (diagnosis_owners_.size() > kMaxDiagnosisMemos) {
        TemplateCache& oldest = template_cache_[diagnosis_owners_.front()];
        diagnosis_owners_.pop_front();
        oldest.diag_version = {};
        oldest.diag_group = {};
        oldest.diag_code = {};
        oldest.diag_lists = {};
      }
    }
    if (tc.diag_version.size() < n_nodes) {
      tc.diag_version.resize(n_nodes, 0);
      tc.diag_group.resize(n_nodes, ~uint32_t{0});
      tc.diag_code.resize(n_nodes, 0);
    }
    for (NodeId node : node_order_) {
      const uint32_t g = groups_.GroupOf(node);
      if (tc.diag_group[node] != g || tc.diag_version[node] != info_.version(node)) {
        const StaticEval& e = GroupEval(pod, tc, g);
        int64_t code = e.reason;
        if (code == 0 && !FitsResources(pod, tc, node, nullptr)) {
          ids.clear();
          ResourceReasons(pod, tc, node, nullptr, &ids);
          auto it = std::find(tc.diag_lists.begin(), tc.diag_lists.end(), ids);
          if (it == tc.diag_lists.end()) it = tc.diag_lists.insert(tc.diag_lists.end(), ids);
          code = -1 - (it - tc.diag_lists.begin());
        }
        tc.diag_group[node] = g;
        tc.diag_version[node] = info_.version(node);
        tc.diag_code[node] = code;
      }
      const int64_t code = tc.diag_code[node];
      if (code < 0) {
        for (uint16_t id : tc.diag_lists[static_cast<size_t>(-1 - code)]) {
          if (counts.size() <= id) counts.resize(reasons_.size(), 0);
          counts[id]++;
        }
        (*resolvable)[node] = true;  // Unschedulable: preemption may help
      } else if (code > 0) {
        if (counts.size() <= static_cast<size_t>(code - 1)) counts.resize(reasons_.size(), 0);
        counts[static_cast<size_t>(code - 1)]++;
      }
    }
    return HistogramMessage(node_order_.size(), counts);
  }
  for (NodeId node : node_order_) {
    StaticEval eval;
    uint32_t r = Filter(pod, tc, node, &eval);
    if (r == kResourceFailure) {
      ids.clear();
      cluster::ResourceVec buf;
      ResourceReasons(pod, tc, node, NominatedFree(pod, node, &buf), &ids);
      for (uint16_t id : ids) {
        if (counts.size() <= id) counts.resize(reasons_.size(), 0);
        counts[id]++;
      }
      (*resolvable)[node] = true;  // Unschedulable: preemption may help
    } else if (r != 0) {
      if (counts.size() <= r - 1) counts.resize(reasons_.size(), 0);
      counts[r - 1]++;
    }
  }
  return HistogramMessage(node_order_.size(), counts);
}

void Scheduler::RecordFailure(PodId id, const std::string& message, Time now) {
  auto& pod = store_.pod(id);
  bool changed = !pod.unschedulable || pod.message != message;
  pod.unschedulable = true;
  pod.message = message;
  pod.reason = "Unschedulable";
  store_.RecordEvent("Warning", "FailedScheduling", "Pod", pod.namespace_, pod.name, message,
                     name_);
  queue_.AddUnschedulable(id, pod.tmpl->id, pod.tmpl->priority, now);
  if (changed) store_.UpdatePod(id);
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
  ShareReserve(id, node);
  store_.BindPod(id, node);
  info_.Sync(store_, node);
  queue_.MoveNextOfTemplate(template_id, now);
}

}  // namespace gputwin::scheduler
