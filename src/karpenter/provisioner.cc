// The provisioner (kubernetes-sigs/karpenter pkg/controllers/provisioning): batching,
// the scheduling simulation (scheduling/scheduler.go, nodeclaim.go) and NodeClaim creation.
#include <algorithm>
#include <cmath>

#include "cluster/scheduling_helpers.h"
#include "karpenter/cron.h"
#include "karpenter/karpenter.h"

namespace gputwin::karpenter {

using cluster::OwnerKind;
using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

namespace {

bool Fits(const ResourceVec& requests, const ResourceVec& available) {
  for (size_t r = 0; r < requests.size(); ++r) {
    if (requests[r] > cluster::At(available, r)) return false;
  }
  return true;
}

std::string FormatResources(const ResourceVec& v, const cluster::ResourceRegistry& reg) {
  std::string out = "{";
  for (size_t r = 0; r < v.size(); ++r) {
    if (v[r] == 0) continue;
    const std::string& name = reg.Name(static_cast<cluster::ResourceId>(r));
    Quantity q{name == "cpu" ? v[r] : v[r] * 1000};
    out += (out.size() > 1 ? "," : "") + std::string("\"") + name + "\":\"" +
           FormatQuantity(q, name == "memory" || name == "ephemeral-storage") + "\"";
  }
  return out + "}";
}

}  // namespace

Karpenter::Karpenter(cluster::Store* store, EventQueue* queue, const api::Manifests& m,
                     cloud::Ec2* ec2, Diagnostics* diag, Duration metrics_interval, bool gpu_stack)
    : Controller("karpenter", store, queue),
      manifests_(m),
      ec2_(*ec2),
      diag_(diag),
      metrics_interval_(metrics_interval),
      gpu_stack_(gpu_stack),
      names_(1, "karpenter/nodeclaim-names") {
  pod_startup_.name = "karpenter_pods_startup_duration_seconds";
  pod_startup_.bounds = {0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 360, 420,
                         480, 540, 600, 900, 1200, 1800, 3600};
  ec2_.SetInterruptionQueue([this](const cloud::InterruptionMessage& msg) {
    interruptions_.push_back(msg);
    RequestReconcile();
  });
  // Instance-type labels, once: the scheduling simulation reads them for every pod.
  for (const auto& t : ec2_.catalog().types) type_labels_.push_back(t.Labels());
  // Validate the NodePools now (errors and warnings before the run starts).
  ComputePools();
}

void Karpenter::Start() {
  At(store_.now(), Arg(kSample, 0));
}

void Karpenter::ComputePools() {
  pools_.clear();
  pool_order_.clear();
  auto& reg = store_.resources();
  const auto& catalog = ec2_.catalog();
  for (const auto& np : manifests_.node_pools) {
    NodePoolState st;
    st.spec = &np;
    for (const auto& nc : manifests_.ec2_node_classes) {
      if (nc.metadata.name == np.node_class_name) st.node_class = &nc;
    }
    if (np.node_class_kind != "EC2NodeClass" || np.node_class_group != "karpenter.k8s.aws") {
      throw InputError(np.metadata.source, "spec.template.spec.nodeClassRef",
                       "Unsupported value: the twin models the AWS provider's EC2NodeClass "
                       "(group karpenter.k8s.aws)");
    }
    if (!st.node_class) {
      st.not_ready = "NodeClassReady=False: EC2NodeClass \"" + np.node_class_name +
                     "\" not found";
      diag_->Warn(np.metadata.source, "spec.template.spec.nodeClassRef.name",
                  "NodePool " + np.metadata.name + " refers to EC2NodeClass \"" +
                      np.node_class_name + "\", which does not exist: the NodePool is not " +
                      "Ready and launches nothing");
    } else {
      st.overhead.max_pods = st.node_class->max_pods;
      st.overhead.kube_reserved = st.node_class->kube_reserved;
      st.overhead.system_reserved = st.node_class->system_reserved;
      st.overhead.root_volume_bytes = st.node_class->root_volume_bytes;
    }
    for (size_t b = 0; b < np.budgets.size(); ++b) {
      if (np.budgets[b].schedule.empty()) continue;
      if (std::string e = CronError(np.budgets[b].schedule); !e.empty()) {
        diag_->Warn(np.metadata.source,
                    "spec.disruption.budgets[" + std::to_string(b) + "].schedule",
                    "invalid cron \"" + np.budgets[b].schedule + "\" (" + e +
                        "): Karpenter treats the budget as 0 nodes");
      }
    }
    st.requirements = Requirements::FromNodePool(np.requirements);
    for (const auto& [k, v] : np.template_labels) st.requirements.Add(k, Requirement::In({v}));
    st.requirements.Add("karpenter.sh/nodepool", Requirement::In({np.metadata.name}));
    for (uint32_t t = 0; t < catalog.types.size(); ++t) {
      const auto& offers = ec2_.OfferingsOf(t);
      if (offers.empty()) continue;
      const auto& type = catalog.types[t];
      bool ok = true;
      for (const auto& [key, value] : type_labels_[t]) {
        const Requirement* r = st.requirements.Get(key);
        if (r && !r->Has(value)) ok = false;
      }
      bool offering_ok = std::any_of(offers.begin(), offers.end(), [&](const cloud::Offering& o) {
        const Requirement* z = st.requirements.Get("topology.kubernetes.io/zone");
        const Requirement* c = st.requirements.Get("karpenter.sh/capacity-type");
        return (!z || z->Has(o.zone)) && (!c || c->Has(cloud::CapacityTypeName(o.capacity_type)));
      });
      if (!ok || !offering_ok) continue;
      st.instance_types.push_back(t);
      st.capacity[t] = cluster::ToVec(type.Capacity(st.overhead), &reg);
      st.allocatable[t] = cluster::ToVec(type.Allocatable(st.overhead), &reg);
    }
    if (st.instance_types.empty()) {
      diag_->Warn(np.metadata.source, "spec.template.spec.requirements",
                  "NodePool " + np.metadata.name + ": no instance type in the catalog (" +
                      ec2_.region() + ") meets its requirements " +
                      st.requirements.ToString() + ": it can launch nothing");
    }
    pools_.push_back(std::move(st));
  }
  for (uint32_t i = 0; i < pools_.size(); ++i) pool_order_.push_back(i);
  std::sort(pool_order_.begin(), pool_order_.end(), [&](uint32_t a, uint32_t b) {
    int32_t wa = pools_[a].spec->weight.value_or(0), wb = pools_[b].spec->weight.value_or(0);
    if (wa != wb) return wa > wb;
    return pools_[a].spec->metadata.name > pools_[b].spec->metadata.name;
  });
}

// DaemonSet overhead: the DaemonSets known when provisioning first runs.
void ComputeDaemonOverhead(NodePoolState* st, cluster::Store& store) {
  st->daemon_overhead.assign(store.resources().size(), 0);
  for (const auto& ds : store.daemon_sets()) {
    if (ds.deleted || !ds.tmpl) continue;
    const auto& spec = ds.tmpl->spec;
    if (cluster::FindUntoleratedTaint(st->spec->taints, spec.tolerations, true, true)) continue;
    if (!st->requirements.Compatible(Requirements::FromPod(spec, 0)).empty()) continue;
    cluster::AddTo(&st->daemon_overhead, ds.tmpl->requests);
    if (st->daemon_overhead.size() <= cluster::kPods) {
      st->daemon_overhead.resize(cluster::kPods + 1, 0);
    }
    st->daemon_overhead[cluster::kPods] += 1;
  }
}

bool Karpenter::Provisionable(PodId id) const {
  const auto& p = store_.pod(id);
  return !p.deleted && !p.Bound() && p.phase == PodPhase::kPending && p.unschedulable &&
         p.nominated_node == cluster::kNone && p.owner.kind != OwnerKind::kDaemonSet &&
         p.tmpl->spec.scheduler_name == "default-scheduler";
}

void Karpenter::OnWatch(WatchKind kind, WatchOp op, uint32_t id) {
  const Time now = store_.now();
  if (kind == WatchKind::kPod) {
    const auto& p = store_.pod(id);
    if (Provisionable(id)) {
      if (pending_.insert(id).second) Trigger(now);
    } else {
      pending_.erase(id);
    }
    if (p.node != cluster::kNone && (op == WatchOp::kDeleted || p.scheduled_at == now ||
                                     p.Terminal())) {
      last_pod_event_[p.node] = now;
    }
    if (op != WatchOp::kDeleted && p.phase == PodPhase::kRunning && p.started_at == now &&
        p.restart_count == 0 && p.owner.kind != OwnerKind::kDaemonSet) {
      pod_startup_.Observe((p.started_at - p.created_at).seconds());
    }
    return;
  }
  if (kind == WatchKind::kNode) {
    auto it = claim_of_node_.find(id);
    if (it == claim_of_node_.end()) return;
    if (op == WatchOp::kDeleted) {
      auto& c = claims_[it->second];
      if (c.phase != ClaimPhase::kDeleted) DeleteClaim(it->second, "node deleted", now);
      return;
    }
    CheckInitialized(it->second, now);
  }
}

void Karpenter::Trigger(Time now) {
  last_trigger_ = now;
  if (batch_open_) return;
  batch_open_ = true;
  batch_start_ = now;
  At(now + kBatchIdle, Arg(kBatchCheck, 0));
}

void Karpenter::Reconcile(Time now) {
  std::vector<cloud::InterruptionMessage> messages;
  messages.swap(interruptions_);
  for (const auto& m : messages) OnInterruption(m, now);
}

void Karpenter::OnTimer(Time now, uint64_t arg) {
  auto timer = static_cast<Timer>(arg >> 56);
  uint64_t payload = arg & ((uint64_t{1} << 56) - 1);
  switch (timer) {
    case kBatchCheck: {
      if (!batch_open_) break;
      if (now - last_trigger_ >= kBatchIdle || now - batch_start_ >= kBatchMax) {
        batch_open_ = false;
        Provision(now);
      } else {
        At(std::min(last_trigger_ + kBatchIdle, batch_start_ + kBatchMax), Arg(kBatchCheck, 0));
      }
      break;
    }
    case kPodRequeueTimer:
      requeue_pending_ = false;
      if (!pending_.empty()) Trigger(now);
      break;
    case kLaunched: {
      auto& c = claims_[payload];
      if (c.phase == ClaimPhase::kLaunching) {
        c.phase = ClaimPhase::kLaunched;
        c.launched_at = now;
      }
      break;
    }
    case kRegister:
      Register(static_cast<uint32_t>(payload), now);
      break;
    case kStartupTaints: {
      auto& c = claims_[payload];
      if (c.phase == ClaimPhase::kDeleted || c.node == cluster::kNone) break;
      auto& node = store_.node(c.node);
      const auto& startup = pools_[c.nodepool].spec->startup_taints;
      auto& taints = node.obj.taints;
      taints.erase(std::remove_if(taints.begin(), taints.end(),
                                  [&](const api::Taint& t) {
                                    return std::find(startup.begin(), startup.end(), t) !=
                                           startup.end();
                                  }),
                   taints.end());
      store_.UpdateNode(c.node);
      break;
    }
    case kExpire: {
      auto& c = claims_[payload];
      if (c.phase != ClaimPhase::kDeleted && !c.deleting) {
        DeleteClaim(static_cast<uint32_t>(payload), "Expired", now);
      }
      break;
    }
    case kDisruption:
      disruption_scheduled_ = false;
      Disrupt(now);
      break;
    case kValidate:
      Validate(now);
      break;
    case kSample:
      Sample(now);
      After(metrics_interval_, Arg(kSample, 0));
      break;
  }
}

bool Karpenter::OfferingAvailable(const cloud::Offering& o, Time now) const {
  auto it = unavailable_.find({static_cast<int>(o.capacity_type), o.type, o.zone});
  return it == unavailable_.end() || it->second.until <= now;
}

bool Karpenter::TypeHasOffering(uint32_t type, const Requirements& reqs, Time now) const {
  const Requirement* z = reqs.Get("topology.kubernetes.io/zone");
  const Requirement* c = reqs.Get("karpenter.sh/capacity-type");
  for (const auto& o : ec2_.OfferingsOf(type)) {
    if ((!z || z->Has(o.zone)) && (!c || c->Has(cloud::CapacityTypeName(o.capacity_type))) &&
        OfferingAvailable(o, now)) {
      return true;
    }
  }
  return false;
}

double Karpenter::TypePrice(uint32_t type, const Requirements& reqs, Time now) const {
  const Requirement* z = reqs.Get("topology.kubernetes.io/zone");
  const Requirement* c = reqs.Get("karpenter.sh/capacity-type");
  double best = INFINITY;
  for (const auto& o : ec2_.OfferingsOf(type)) {
    if ((!z || z->Has(o.zone)) && (!c || c->Has(cloud::CapacityTypeName(o.capacity_type))) &&
        OfferingAvailable(o, now)) {
      best = std::min(best, o.price);
    }
  }
  return best;
}

ResourceVec Karpenter::TypeAllocatable(uint32_t pool, uint32_t type) const {
  auto it = pools_[pool].allocatable.find(type);
  return it == pools_[pool].allocatable.end() ? ResourceVec{} : it->second;
}

ResourceVec Karpenter::TypeCapacity(uint32_t pool, uint32_t type) const {
  auto it = pools_[pool].capacity.find(type);
  return it == pools_[pool].capacity.end() ? ResourceVec{} : it->second;
}

ResourceVec Karpenter::PoolUsage(uint32_t pool) const {
  ResourceVec usage;
  for (const auto& c : claims_) {
    if (c.nodepool != pool || c.phase == ClaimPhase::kDeleted || !c.instance) continue;
    cluster::AddTo(&usage, TypeCapacity(pool, c.type));
  }
  return usage;
}

std::vector<Karpenter::SimNode> Karpenter::ExistingNodes(const std::set<uint32_t>& exclude) const {
  std::vector<SimNode> out;
  for (NodeId n = 0; n < store_.node_count(); ++n) {
    const auto& node = store_.node(n);
    if (node.deleted) continue;
    SimNode s;
    s.node = n;
    s.name = node.name();
    s.labels = node.obj.metadata.labels;
    s.taints = node.obj.taints;
    if (node.obj.unschedulable) {
      s.taints.push_back({"node.kubernetes.io/unschedulable", "", "NoSchedule"});
    }
    s.available = node.allocatable;
    if (auto it = claim_of_node_.find(n); it != claim_of_node_.end()) {
      const auto& c = claims_[it->second];
      if (c.deleting || exclude.count(it->second)) continue;
      s.claim = static_cast<int32_t>(it->second);
      s.initialized = c.phase == ClaimPhase::kInitialized;
      // Until it initializes, a node is taken at the capacity its instance type promises
      // (its GPUs are not advertised yet), and its startup taints are ignored.
      if (!s.initialized) {
        s.available = TypeAllocatable(c.nodepool, c.type);
        const auto& startup = pools_[c.nodepool].spec->startup_taints;
        std::erase_if(s.taints, [&](const api::Taint& t) {
          return std::find(startup.begin(), startup.end(), t) != startup.end();
        });
      }
    }
    cluster::AddTo(&s.available, node.requested, -1);
    out.push_back(std::move(s));
  }
  for (uint32_t i = 0; i < claims_.size(); ++i) {
    const auto& c = claims_[i];
    if (c.phase == ClaimPhase::kDeleted || c.deleting || c.node != cluster::kNone ||
        exclude.count(i) || !c.instance) {
      continue;
    }
    SimNode s;
    s.claim = static_cast<int32_t>(i);
    s.name = c.name;
    s.initialized = false;
    s.labels = c.requirements.SingleValued();
    for (const auto& [k, v] : type_labels_[c.type]) s.labels[k] = v;
    s.labels["topology.kubernetes.io/zone"] = c.zone;
    s.labels["karpenter.sh/capacity-type"] = cloud::CapacityTypeName(c.capacity_type);
    s.taints = pools_[c.nodepool].spec->taints;
    s.available = TypeAllocatable(c.nodepool, c.type);
    cluster::AddTo(&s.available, pools_[c.nodepool].daemon_overhead, -1);
    out.push_back(std::move(s));
  }
  std::stable_sort(out.begin(), out.end(), [](const SimNode& a, const SimNode& b) {
    if (a.initialized != b.initialized) return a.initialized;
    return a.name < b.name;
  });
  return out;
}

bool Karpenter::FitsNode(const SimNode& n, PodId id) const {
  const auto& p = store_.pod(id);
  if (!Fits(p.tmpl->requests, n.available)) return false;
  if (cluster::At(n.available, cluster::kPods) < 1) return false;
  if (cluster::FindUntoleratedTaint(n.taints, p.tmpl->spec.tolerations, true, true)) return false;
  return cluster::MatchesRequiredAffinity(p.tmpl->spec, n.labels, n.name);
}

std::string Karpenter::CanAdd(NewClaim* c, PodId id, const Requirements& pod_reqs,
                              Time now) const {
  const auto& p = store_.pod(id);
  ResourceVec requests = c->requests;
  cluster::AddTo(&requests, p.tmpl->requests);
  if (requests.size() <= cluster::kPods) requests.resize(cluster::kPods + 1, 0);
  requests[cluster::kPods] += 1;
  if (!c->max_allocatable.empty() && !Fits(requests, c->max_allocatable)) {
    return "no instance type satisfied resources " + FormatResources(requests, store_.resources());
  }
  if (std::string why = c->requirements.Compatible(pod_reqs); !why.empty()) {
    return "incompatible requirements, " + why;
  }
  Requirements reqs = c->requirements.Intersect(pod_reqs);
  const auto& catalog = ec2_.catalog();
  std::vector<uint32_t> kept;
  bool any_reqs = false, any_fit = false;
  ResourceVec max_alloc;
  for (uint32_t t : c->types) {
    bool ok = true;
    for (const auto& [key, value] : type_labels_[t]) {
      const Requirement* r = reqs.Get(key);
      if (r && !r->Has(value)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    any_reqs = true;
    const ResourceVec& alloc = pools_[c->pool].allocatable.at(t);
    if (!Fits(requests, alloc)) continue;
    any_fit = true;
    if (!TypeHasOffering(t, reqs, now)) continue;
    kept.push_back(t);
    if (max_alloc.size() < alloc.size()) max_alloc.resize(alloc.size(), 0);
    for (size_t r = 0; r < alloc.size(); ++r) max_alloc[r] = std::max(max_alloc[r], alloc[r]);
  }
  // minValues: enough distinct values of the key must remain among the candidates.
  for (const auto& [key, r] : reqs.all()) {
    if (!r.min_values || kept.empty()) continue;
    std::set<std::string> distinct;
    for (uint32_t t : kept) {
      const auto& labels = type_labels_[t];
      if (auto it = labels.find(key); it != labels.end()) distinct.insert(it->second);
    }
    if (static_cast<int32_t>(distinct.size()) < *r.min_values) {
      return "minValues requirement is not met for label " + key + " (" +
             std::to_string(distinct.size()) + " < " + std::to_string(*r.min_values) + ")";
    }
  }
  if (kept.empty()) {
    std::string res = FormatResources(requests, store_.resources());
    if (!any_reqs || !any_fit) {
      return "no instance type satisfied resources " + res + " and requirements " +
             reqs.ToString();
    }
    // Which launch errors keep the fitting types unavailable: quota errors do not go away.
    std::set<std::string> codes;
    std::string quota_detail;
    const Requirement* z = reqs.Get("topology.kubernetes.io/zone");
    const Requirement* ct = reqs.Get("karpenter.sh/capacity-type");
    for (uint32_t t : c->types) {
      if (!Fits(requests, pools_[c->pool].allocatable.at(t))) continue;
      for (const auto& o : ec2_.OfferingsOf(t)) {
        if ((z && !z->Has(o.zone)) || (ct && !ct->Has(cloud::CapacityTypeName(o.capacity_type)))) {
          continue;
        }
        auto it = unavailable_.find({static_cast<int>(o.capacity_type), o.type, o.zone});
        if (it == unavailable_.end() || it->second.until <= now) continue;
        codes.insert(it->second.code);
        if (quota_detail.empty() && (it->second.code == "VcpuLimitExceeded" ||
                                     it->second.code == "MaxSpotInstanceCountExceeded")) {
          std::string bucket = cloud::QuotaBucket(catalog.types[t], o.capacity_type);
          quota_detail = catalog.types[t].name + " " + it->second.code + " (\"" + bucket +
                         "\" is " + std::to_string(ec2_.Quota(bucket).value_or(0)) + " vCPUs)";
        }
      }
    }
    bool quota_only = !codes.empty() && std::all_of(codes.begin(), codes.end(), [](const auto& k) {
      return k == "VcpuLimitExceeded" || k == "MaxSpotInstanceCountExceeded";
    });
    if (quota_only) {
      return "the account's vCPU quota in " + ec2_.region() +
             " refuses every instance type that fits " + res + ": " + quota_detail;
    }
    std::string list;
    for (const auto& k : codes) list += (list.empty() ? "" : ", ") + k;
    return "all instance types that fit " + res + " are unavailable (" +
           (list.empty() ? "no offering" : list) + "): requirements " + reqs.ToString();
  }
  c->requirements = std::move(reqs);
  c->types = std::move(kept);
  c->requests = std::move(requests);
  c->max_allocatable = std::move(max_alloc);
  c->pods.push_back(id);
  return "";
}

Karpenter::Solution Karpenter::Solve(const std::vector<PodId>& pods, std::vector<SimNode> existing,
                                     Time now, const std::set<uint32_t>& exclude) {
  Solution sol;
  auto& reg = store_.resources();
  // Remaining limits per NodePool (limits − Σ capacity of its nodes and claims).
  std::vector<ResourceVec> remaining(pools_.size());
  std::vector<std::vector<bool>> limited(pools_.size());
  std::vector<int64_t> nodes_left(pools_.size(), INT64_MAX);
  for (uint32_t p = 0; p < pools_.size(); ++p) {
    ResourceVec usage = PoolUsage(p);
    for (const auto& [name, q] : pools_[p].spec->limits) {
      if (name == "nodes") {
        int64_t count = 0;
        for (uint32_t i = 0; i < claims_.size(); ++i) {
          count += claims_[i].nodepool == p && claims_[i].phase != ClaimPhase::kDeleted &&
                   claims_[i].instance && !exclude.count(i);
        }
        nodes_left[p] = q.Value() - count;
        continue;
      }
      auto r = reg.Id(name);
      if (remaining[p].size() <= r) remaining[p].resize(r + 1, 0);
      if (limited[p].size() <= r) limited[p].resize(r + 1, false);
      remaining[p][r] = cluster::ResourceRegistry::Units(name, q) - cluster::At(usage, r);
      limited[p][r] = true;
    }
  }
  std::vector<PodId> queue = pods;
  std::stable_sort(queue.begin(), queue.end(), [&](PodId a, PodId b) {
    const auto& pa = store_.pod(a);
    const auto& pb = store_.pod(b);
    int64_t ca = cluster::At(pa.tmpl->requests, cluster::kCpu);
    int64_t cb = cluster::At(pb.tmpl->requests, cluster::kCpu);
    if (ca != cb) return ca > cb;
    int64_t ma = cluster::At(pa.tmpl->requests, cluster::kMemory);
    int64_t mb = cluster::At(pb.tmpl->requests, cluster::kMemory);
    if (ma != mb) return ma > mb;
    if (pa.created_at != pb.created_at) return pa.created_at < pb.created_at;
    return pa.uid < pb.uid;
  });
  for (;;) {
    std::vector<PodId> failed;
    for (PodId id : queue) {
      ++decisions_;
      const auto& p = store_.pod(id);
      bool placed = false;
      for (auto& n : existing) {
        if (!FitsNode(n, id)) continue;
        cluster::AddTo(&n.available, p.tmpl->requests, -1);
        if (n.available.size() > cluster::kPods) n.available[cluster::kPods] -= 1;
        sol.existing[id] = n.name;
        placed = true;
        break;
      }
      if (placed) continue;
      size_t terms = 1;
      if (p.tmpl->spec.node_affinity && p.tmpl->spec.node_affinity->required) {
        terms = std::max<size_t>(1, p.tmpl->spec.node_affinity->required->size());
      }
      std::string errors;
      bool forever = true;
      for (size_t term = 0; term < terms && !placed; ++term) {
        Requirements pod_reqs = Requirements::FromPod(p.tmpl->spec, term);
        // Claims of this batch, fewest pods first.
        std::vector<size_t> order(sol.claims.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
          return sol.claims[a].pods.size() < sol.claims[b].pods.size();
        });
        for (size_t i : order) {
          auto& c = sol.claims[i];
          if (cluster::FindUntoleratedTaint(pools_[c.pool].spec->taints, p.tmpl->spec.tolerations,
                                            true, true)) {
            continue;
          }
          if (CanAdd(&c, id, pod_reqs, now).empty()) {
            placed = true;
            break;
          }
        }
        if (placed) break;
        errors.clear();
        for (uint32_t pi : pool_order_) {
          const auto& pool = pools_[pi];
          const std::string prefix = "incompatible with nodepool \"" + pool.spec->metadata.name +
                                     "\", daemonset overhead=" +
                                     FormatResources(pool.daemon_overhead, reg) + ", ";
          auto add_error = [&](const std::string& e) {
            errors += (errors.empty() ? "" : "; ") + prefix + e;
          };
          if (!pool.not_ready.empty()) {
            add_error("nodepool not ready: " + pool.not_ready);
            continue;
          }
          if (const api::Taint* t = cluster::FindUntoleratedTaint(
                  pool.spec->taints, p.tmpl->spec.tolerations, true, true)) {
            add_error("did not tolerate " + t->key + "=" + t->value + ":" + t->effect);
            continue;
          }
          if (std::string why = pool.requirements.Compatible(pod_reqs); !why.empty()) {
            add_error("incompatible requirements, " + why);
            continue;
          }
          if (nodes_left[pi] <= 0) {
            add_error("all available instance types exceed limits for nodepool: \"" +
                      pool.spec->metadata.name + "\"");
            forever = false;
            continue;
          }
          NewClaim nc;
          nc.pool = pi;
          nc.requirements = pool.requirements;
          nc.requests = pool.daemon_overhead;
          for (uint32_t t : pool.instance_types) {
            const ResourceVec& cap = pool.capacity.at(t);
            bool within = true;
            for (size_t r = 0; r < limited[pi].size(); ++r) {
              if (limited[pi][r] && cluster::At(cap, r) > remaining[pi][r]) within = false;
            }
            if (within) nc.types.push_back(t);
          }
          if (nc.types.empty() && !pool.instance_types.empty()) {
            add_error("all available instance types exceed limits for nodepool: \"" +
                      pool.spec->metadata.name + "\"");
            forever = false;
            continue;
          }
          std::string why = CanAdd(&nc, id, pod_reqs, now);
          if (!why.empty()) {
            if (why.starts_with("all instance types that fit")) forever = false;
            add_error(why);
            continue;
          }
          // The limit bookkeeping assumes the largest candidate will launch (subtractMax).
          ResourceVec max_cap;
          for (uint32_t t : nc.types) {
            const ResourceVec& cap = pool.capacity.at(t);
            if (max_cap.size() < cap.size()) max_cap.resize(cap.size(), 0);
            for (size_t r = 0; r < cap.size(); ++r) max_cap[r] = std::max(max_cap[r], cap[r]);
          }
          for (size_t r = 0; r < limited[pi].size(); ++r) {
            if (limited[pi][r]) remaining[pi][r] -= cluster::At(max_cap, r);
          }
          nodes_left[pi] -= 1;
          sol.claims.push_back(std::move(nc));
          placed = true;
          break;
        }
      }
      if (!placed) {
        failed.push_back(id);
        if (errors.empty()) errors = "no nodepool";
        sol.errors[id] = errors;
        sol.forever[id] = forever;
      } else {
        sol.errors.erase(id);
        sol.forever.erase(id);
      }
    }
    if (failed.empty() || failed.size() == queue.size()) break;
    queue = std::move(failed);
  }
  return sol;
}

void Karpenter::Provision(Time now) {
  ++passes_;
  for (auto& pool : pools_) {
    if (pool.daemon_overhead.empty()) ComputeDaemonOverhead(&pool, store_);
  }
  std::vector<PodId> pods;
  for (PodId id : pending_) {
    if (Provisionable(id)) pods.push_back(id);
  }
  if (pods.empty()) return;
  Solution sol = Solve(pods, ExistingNodes({}), now, {});
  for (auto& nc : sol.claims) {
    // Create(): a NodePool whose nodes already exceed its limits launches nothing more.
    const auto& pool = pools_[nc.pool];
    ResourceVec usage = PoolUsage(nc.pool);
    std::string exceeded;
    for (const auto& [name, q] : pool.spec->limits) {
      if (name == "nodes") continue;
      auto r = store_.resources().Id(name);
      if (cluster::At(usage, r) > cluster::ResourceRegistry::Units(name, q)) exceeded = name;
    }
    if (!exceeded.empty()) {
      for (PodId id : nc.pods) {
        SetVerdict(id, "creating nodeclaim, nodepool \"" + pool.spec->metadata.name +
                           "\" has exceeded its limit of " + exceeded, false);
      }
      continue;
    }
    // TruncateInstanceTypes: the 600 cheapest.
    std::stable_sort(nc.types.begin(), nc.types.end(), [&](uint32_t a, uint32_t b) {
      return TypePrice(a, nc.requirements, now) < TypePrice(b, nc.requirements, now);
    });
    if (nc.types.size() > kMaxInstanceTypes) nc.types.resize(kMaxInstanceTypes);
    CreateClaim(std::move(nc), "provisioned", now);
  }
  for (const auto& [id, node] : sol.existing) {
    // Fits where capacity is coming (or is, for kube-scheduler): a node that never
    // advertises its GPUs holds the pod forever.
    bool forever = false;
    std::string msg = "nominated to " + node + ", which is not ready for the pod yet";
    NodeId n = store_.FindNode(node);
    if (n != cluster::kNone) {
      auto it = claim_of_node_.find(n);
      if (it != claim_of_node_.end() && claims_[it->second].phase == ClaimPhase::kRegistered) {
        const auto& c = claims_[it->second];
        const auto& type = ec2_.catalog().types[c.type];
        if (type.gpu_count > 0 && !gpu_stack_) {
          forever = true;
          msg = "nominated to node " + node + " (" + type.name +
                "), which never initializes: nvidia.com/gpu is never registered because no "
                "NVIDIA device plugin DaemonSet or GPU Operator is in the manifests";
        } else {
          msg = "nominated to node " + node + " (" + type.name +
                "), which has not initialized yet";
        }
      } else if (it == claim_of_node_.end()) {
        msg = "fits on node " + node + " as Karpenter sees it; kube-scheduler has not bound it";
      }
    } else {
      msg = "nominated to nodeclaim " + node + ", which is launching";
    }
    SetVerdict(id, msg, forever, node);
  }
  unschedulable_pods_ = sol.errors.size();
  for (const auto& [id, err] : sol.errors) {
    store_.RecordEvent("Warning", "FailedScheduling", "Pod", store_.pod(id).namespace_,
                       store_.pod(id).name, "Failed to schedule pod, " + err, "karpenter");
    SetVerdict(id, "Failed to schedule pod, " + err, sol.forever.at(id));
  }
  // The pod controller requeues provisionable pods every 10 s.
  if (!requeue_pending_) {
    requeue_pending_ = true;
    At(now + kPodRequeue, Arg(kPodRequeueTimer, 0));
  }
}

uint32_t Karpenter::CreateClaim(NewClaim nc, const std::string& reason, Time now) {
  NodeClaim c;
  const auto& pool = pools_[nc.pool];
  static const char kChars[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string suffix;
  for (int i = 0; i < 5; ++i) suffix += kChars[names_.Below(sizeof kChars - 1)];
  c.name = pool.spec->metadata.name + "-" + suffix;
  c.nodepool = nc.pool;
  c.reason = reason;
  c.requirements = std::move(nc.requirements);
  c.instance_types = std::move(nc.types);
  c.requests = std::move(nc.requests);
  c.pods = std::move(nc.pods);
  c.created_at = now;
  auto index = static_cast<uint32_t>(claims_.size());
  claims_.push_back(std::move(c));
  Count("karpenter_nodeclaims_created_total",
        {{"reason", reason}, {"nodepool", pool.spec->metadata.name}});
  for (PodId id : claims_[index].pods) {
    const auto& p = store_.pod(id);
    store_.RecordEvent("Normal", "Nominated", "Pod", p.namespace_, p.name,
                       "Pod should schedule on: nodeclaim/" + claims_[index].name, "karpenter");
    SetVerdict(id, "nominated to nodeclaim " + claims_[index].name + ", which is launching", false,
               claims_[index].name);
  }
  Launch(index, now);
  return index;
}

void Karpenter::SetVerdict(PodId pod, std::string message, bool forever, std::string nominated) {
  if (verdicts_.size() <= pod) {
    verdicts_.resize(pod + 1);
    has_verdict_.resize(pod + 1, false);
  }
  verdicts_[pod] = {std::move(message), forever, std::move(nominated)};
  has_verdict_[pod] = true;
}

const PodVerdict* Karpenter::Verdict(PodId pod) const {
  return pod < has_verdict_.size() && has_verdict_[pod] ? &verdicts_[pod] : nullptr;
}

void Karpenter::Count(const std::string& name, telemetry::Labels labels, double v) {
  counters_[{name, std::move(labels)}] += v;
}

void Karpenter::Sample(Time now) {
  // Gauges first: NodePool usage and limits.
  std::map<std::pair<std::string, telemetry::Labels>, double> values = counters_;
  for (uint32_t p = 0; p < pools_.size(); ++p) {
    const std::string& name = pools_[p].spec->metadata.name;
    ResourceVec usage = PoolUsage(p);
    for (const char* res : {"cpu", "memory", "nvidia.com/gpu"}) {
      auto r = store_.resources().Find(res);
      double v = static_cast<double>(cluster::At(usage, r));
      if (std::string(res) == "cpu") v /= 1000;
      values[{"karpenter_nodepools_usage", {{"nodepool", name}, {"resource_type", res}}}] = v;
    }
    for (const auto& [res, q] : pools_[p].spec->limits) {
      values[{"karpenter_nodepools_limit", {{"nodepool", name}, {"resource_type", res}}}] =
          static_cast<double>(q.milli) / 1000;
    }
  }
  int64_t nodes = 0;
  for (const auto& c : claims_) nodes += c.node != cluster::kNone && c.phase != ClaimPhase::kDeleted;
  values[{"karpenter_cluster_state_node_count", {}}] = static_cast<double>(nodes);
  values[{"karpenter_scheduler_unschedulable_pods_count", {}}] =
      static_cast<double>(unschedulable_pods_);
  for (const auto& [key, v] : values) {
    auto it = std::find_if(series_.begin(), series_.end(), [&](const telemetry::Series& s) {
      return s.name == key.first && s.labels == key.second;
    });
    if (it == series_.end()) {
      series_.push_back({key.first, key.second, {}});
      it = series_.end() - 1;
    }
    it->samples.emplace_back(now, v);
  }
}

}  // namespace gputwin::karpenter
