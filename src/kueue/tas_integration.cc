// Kueue's Topology-Aware Scheduling in the controller (pkg/cache/scheduler/tas_*.go and
// pkg/controller/tas/topology_ungater.go): the TAS cache's view of a flavor's nodes (Ready,
// schedulable, with the flavor's node labels and every level's label; their allocatable
// less non-TAS pods and admitted TAS workloads), placement with tas_placement.h, and the
// TopologyUngater that gives each gated pod a domain of its PodSet's assignment and pins it
// there with a nodeSelector.
#include <algorithm>

#include "cluster/scheduling_helpers.h"
#include "kueue/kueue_controller.h"

namespace gputwin::kueue {

namespace {

bool Matches(const api::Labels& want, const api::Labels& labels) {
  for (const auto& [k, v] : want) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

cluster::ResourceVec KueueController::TasPodRequests(WorkloadId id, size_t pod_set) {
  cluster::ResourceVec v =
      cluster::ToVec(cache_.wl(id).spec.pod_sets[pod_set].requests, &store_.resources());
  if (v.size() <= cluster::kPods) v.resize(cluster::kPods + 1, 0);
  v[cluster::kPods] = 1;  // resources.OnePodRequest
  return v;
}

// nodesCache.find: Ready, schedulable, the flavor's labels and every level's label.
bool KueueController::TasNodeView(int32_t flavor, cluster::NodeId n, tas::TopologyNode* out) const {
  const auto& node = store_.node(n);
  if (node.deleted || !node.ready || node.obj.unschedulable) return false;
  const auto& labels = node.obj.metadata.labels;
  if (!Matches(cache_.Flavor(flavor)->node_labels, labels)) return false;
  out->name = node.name();
  out->level_values.clear();
  for (const auto& l : *cache_.TopologyLevels(flavor)) {
    auto v = labels.find(l);
    if (v == labels.end()) return false;
    out->level_values.push_back(v->second);
  }
  return true;
}

KueueController::TasFlavorCache& KueueController::TasFlavor(int32_t flavor) {
  // Changed nodes: a cache whose membership or levels they change is built again; the
  // filter verdicts (taints, labels) are worked out again.
  for (cluster::NodeId n : tas_dirty_nodes_.Drain()) {
    for (auto it = tas_flavors_.begin(); it != tas_flavors_.end();) {
      it->second.verdicts.clear();
      it->second.MarkStale(n);
      const TasFlavorCache& c = it->second;
      tas::TopologyNode t;
      const bool in = TasNodeView(it->first, n, &t);
      const int32_t at = n < c.index_of.size() ? c.index_of[n] : -1;
      const bool same =
          at < 0 ? !in : in && c.nodes[static_cast<size_t>(at)].level_values == t.level_values;
      it = same ? std::next(it) : tas_flavors_.erase(it);
    }
  }
  auto [it, added] = tas_flavors_.try_emplace(flavor);
  TasFlavorCache& c = it->second;
  if (!added) return c;
  const std::vector<std::string>& levels = *cache_.TopologyLevels(flavor);
  const bool hostname = levels.back() == tas::kHostnameLabel;
  c.index_of.assign(store_.node_count(), -1);
  for (cluster::NodeId n = 0; n < store_.node_count(); ++n) {
    tas::TopologyNode t;
    if (!TasNodeView(flavor, n, &t)) continue;
    c.leaf_of.try_emplace(hostname ? std::vector<std::string>{t.name} : t.level_values,
                          c.nodes.size());
    c.index_of[n] = static_cast<int32_t>(c.nodes.size());
    c.nodes.push_back(std::move(t));
    c.ids.push_back(n);
  }
  c.tree = tas::TopologyTree::Build(levels, c.nodes);
  c.tas_usage.assign(c.nodes.size(), {});
  c.free_version.assign(c.nodes.size(), TasFlavorCache::kStale);
  // The admitted TAS workloads' usage over the new node list.
  std::vector<WorkloadId> admitted = tas_admitted_;
  for (WorkloadId id : admitted) {
    auto& charges = tas_charges_[id];
    std::erase_if(charges, [&](const TasCharge& x) { return x.flavor == flavor; });
  }
  for (WorkloadId id : admitted) {
    const auto& w = cache_.wl(id);
    if (w.phase != WorkloadPhase::kAdmitted) continue;
    for (size_t k = 0; k < w.assignment.size(); ++k) {
      const auto& psa = w.assignment[k];
      if (!psa.topology || psa.topology_flavor != flavor) continue;
      const cluster::ResourceVec one = TasPodRequests(id, k);
      for (const auto& d : psa.topology->domains) {
        auto leaf = c.leaf_of.find(d.values);
        if (leaf == c.leaf_of.end()) continue;
        cluster::ResourceVec usage = one;
        for (auto& x : usage) x *= d.count;
        cluster::AddTo(&c.tas_usage[leaf->second], usage);
        tas_charges_[id].push_back({flavor, leaf->second, std::move(usage)});
      }
    }
  }
  return c;
}

void KueueController::ChargeTas(WorkloadId id) {
  const auto& w = cache_.wl(id);
  for (size_t k = 0; k < w.assignment.size(); ++k) {
    const auto& psa = w.assignment[k];
    if (!psa.topology) continue;
    auto it = tas_flavors_.find(psa.topology_flavor);
    if (it == tas_flavors_.end()) continue;  // counted when the cache is built
    auto& c = it->second;
    const cluster::ResourceVec one = TasPodRequests(id, k);
    for (const auto& d : psa.topology->domains) {
      auto leaf = c.leaf_of.find(d.values);
      if (leaf == c.leaf_of.end()) continue;
      cluster::ResourceVec usage = one;
      for (auto& x : usage) x *= d.count;
      cluster::AddTo(&c.tas_usage[leaf->second], usage);
      c.free_version[leaf->second] = TasFlavorCache::kStale;
      tas_charges_[id].push_back({psa.topology_flavor, leaf->second, std::move(usage)});
    }
  }
}

void KueueController::ChargeBoundTasPod(cluster::PodId pid, int sign) {
  const auto& p = store_.pod(pid);
  if (tas_bound_.size() <= pid) tas_bound_.resize(pid + 1, false);
  if ((sign > 0) == tas_bound_[pid] || p.node == cluster::kNone) return;
  tas_bound_[pid] = sign > 0;
  if (tas_bound_requests_.size() <= p.node) tas_bound_requests_.resize(p.node + 1);
  auto& sum = tas_bound_requests_[p.node];
  cluster::AddTo(&sum, p.tmpl->requests, sign);
  if (sum.size() <= cluster::kPods) sum.resize(cluster::kPods + 1, 0);
  sum[cluster::kPods] += sign;
  for (auto& [flavor, c] : tas_flavors_) c.MarkStale(p.node);
}

const std::vector<std::string>& KueueController::TasVerdicts(TasFlavorCache& c,
                                                             const api::ResourceFlavor& rf,
                                                             const api::PodSpec& spec) {
  std::vector<api::Toleration> tolerations = spec.tolerations;
  tolerations.insert(tolerations.end(), rf.tolerations.begin(), rf.tolerations.end());
  for (const auto& v : c.verdicts) {
    if (v.tolerations == tolerations && v.node_selector == spec.node_selector &&
        v.node_affinity == spec.node_affinity) {
      return v.excluded;
    }
  }
  // Bounded: workloads with ever new constraints recompute rather than grow the list.
  if (c.verdicts.size() >= 64) c.verdicts.erase(c.verdicts.begin());
  TasFlavorCache::Verdicts v{tolerations, spec.node_selector, spec.node_affinity, {}};
  api::PodSpec affinity_only;
  affinity_only.node_affinity = spec.node_affinity;
  v.excluded.reserve(c.nodes.size());
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    const auto& node = store_.node(c.ids[i]);
    const auto& labels = node.obj.metadata.labels;
    std::string why;
    if (const api::Taint* taint =
            cluster::FindUntoleratedTaint(node.obj.taints, tolerations, true, true)) {
      why = "taint \"" + cluster::TaintString(*taint) + "\"";
    } else if (!Matches(spec.node_selector, labels)) {
      why = "nodeSelector";
    } else if (spec.node_affinity &&
               !cluster::MatchesRequiredAffinity(affinity_only, labels, node.name())) {
      why = "affinity";
    }
    v.excluded.push_back(std::move(why));
  }
  c.verdicts.push_back(std::move(v));
  return c.verdicts.back().excluded;
}

std::vector<tas::PlacementResult> KueueController::PlaceTopology(
    WorkloadId id, int32_t flavor, const std::vector<size_t>& pod_sets,
    const std::vector<int32_t>& counts) {
  // Workloads no longer admitted give their usage back (TASFlavorCache.updateUsage).
  std::erase_if(tas_admitted_, [&](WorkloadId w) {
    if (cache_.wl(w).phase == WorkloadPhase::kAdmitted) return false;
    for (auto& ch : tas_charges_[w]) {
      auto it = tas_flavors_.find(ch.flavor);
      if (it == tas_flavors_.end()) continue;
      cluster::AddTo(&it->second.tas_usage[ch.node], ch.usage, -1);
      it->second.free_version[ch.node] = TasFlavorCache::kStale;
    }
    tas_charges_.erase(w);
    return true;
  });
  const api::ResourceFlavor* rf = cache_.Flavor(flavor);
  const std::vector<std::string>& levels = *cache_.TopologyLevels(flavor);
  TasFlavorCache& c = TasFlavor(flavor);
  std::vector<tas::TopologyNode>& nodes = c.nodes;  // `free` is this placement's
  for (size_t i = 0; i < nodes.size(); ++i) {
    const auto& node = store_.node(c.ids[i]);
    const uint64_t usage = store_.UsageVersion(c.ids[i]);
    if (c.free_version[i] == usage) continue;  // unchanged since last time
    c.free_version[i] = usage;
    // Free: allocatable less the pods bound here that are not TAS pods, less the admitted
    // TAS workloads' usage of this leaf.
    auto& free = nodes[i].free;
    free = node.allocatable;
    if (free.size() <= cluster::kPods) free.resize(cluster::kPods + 1, 0);
    cluster::AddTo(&free, node.requested, -1);
    if (c.ids[i] < tas_bound_requests_.size()) cluster::AddTo(&free, tas_bound_requests_[c.ids[i]]);
    cluster::AddTo(&free, c.tas_usage[i], -1);
  }
  // The workload's own usage (a re-admission) is not in the way of itself.
  if (auto it = tas_charges_.find(id); it != tas_charges_.end()) {
    for (const auto& ch : it->second) {
      if (ch.flavor != flavor) continue;
      cluster::AddTo(&nodes[ch.node].free, ch.usage);
      c.free_version[ch.node] = TasFlavorCache::kStale;  // worked out again next time
    }
  }
  std::vector<tas::TopologyRequest> requests;
  for (size_t k = 0; k < pod_sets.size(); ++k) {
    const auto& ps = cache_.wl(id).spec.pod_sets[pod_sets[k]];
    tas::TopologyRequest r;
    r.count = counts[k];
    r.per_pod = TasPodRequests(id, pod_sets[k]);
    // FindFeasibleNodes' filters (used only with a hostname level): taints, the
    // nodeSelector, the required node affinity.
    if (levels.back() == tas::kHostnameLabel) r.excluded = TasVerdicts(c, *rf, *ps.spec);
    if (ps.topology && !ps.topology->required.empty()) {
      r.mode = tas::RequestMode::kRequired;
      r.level = ps.topology->required;
    } else if (ps.topology && !ps.topology->preferred.empty()) {
      r.mode = tas::RequestMode::kPreferred;
      r.level = ps.topology->preferred;
    } else {
      r.mode = tas::RequestMode::kUnconstrained;  // explicit, or implied by a TAS-only CQ
    }
    if (ps.topology) r.group = ps.topology->group;
    if (ps.topology && !ps.topology->slice_level.empty()) {
      r.slice_level = ps.topology->slice_level;
      r.slice_size = ps.topology->slice_size;
    }
    requests.push_back(std::move(r));
  }
  std::vector<std::string> names;
  for (size_t r = 0; r < store_.resources().size(); ++r) {
    names.push_back(store_.resources().Name(static_cast<cluster::ResourceId>(r)));
  }
  return tas::FindTopologyAssignments(rf->topology_name, levels, c.tree, nodes, requests, names);
}

// The PodSet of a workload a pod belongs to, when that PodSet has a topology assignment.
std::optional<std::pair<WorkloadId, size_t>> KueueController::TasPodSetOf(
    cluster::PodId pid) const {
  const cluster::PodRecord& p = store_.pod(pid);
  WorkloadId id = kNoWorkload;
  size_t set = 0;
  const auto& labels = p.tmpl->metadata.labels;
  if (p.owner.kind == cluster::OwnerKind::kJob) {
    id = WorkloadOfJob(p.owner.index);
    if (id == kNoWorkload) {
      // A JobSet's Job: its JobSet's Workload, the PodSet of its replicatedJob.
      const auto& job = store_.jobs()[p.owner.index].obj.metadata.labels;
      auto js = job.find("jobset.sigs.k8s.io/jobset-name");
      auto rj = job.find("jobset.sigs.k8s.io/replicatedjob-name");
      if (js == job.end() || rj == job.end()) return std::nullopt;
      for (uint32_t j = 0; j < workload_of_job_set_.size() && id == kNoWorkload; ++j) {
        const auto& meta = store_.job_sets()[j].obj.metadata;
        if (meta.name == js->second && meta.namespace_ == p.namespace_) {
          id = workload_of_job_set_[j];
        }
      }
      if (id == kNoWorkload) return std::nullopt;
      const auto& sets = cache_.wl(id).spec.pod_sets;
      while (set < sets.size() && sets[set].name != rj->second) ++set;
    }
  } else if (p.owner.kind == cluster::OwnerKind::kPyTorchJob) {
    if (p.owner.index >= workload_of_pytorch_job_.size()) return std::nullopt;
    id = workload_of_pytorch_job_[p.owner.index];
    auto rt = labels.find("training.kubeflow.org/replica-type");
    const std::string name = rt == labels.end() ? "" : rt->second;
    const auto& sets = cache_.wl(id).spec.pod_sets;
    while (set < sets.size() && sets[set].name != name) ++set;
  } else if (pid < workload_of_pod_.size() && workload_of_pod_[pid] != kNoWorkload) {
    // The pod integrations (plain pods, pod groups, LeaderWorkerSet groups): the pod's own
    // PodSet of its Workload.
    id = workload_of_pod_[pid];
    const auto& w = cache_.wl(id);
    auto it = std::find(w.pods.begin(), w.pods.end(), pid);
    if (it == w.pods.end()) return std::nullopt;
    set = static_cast<size_t>(
        std::max(0, w.pod_set_of_pod[static_cast<size_t>(it - w.pods.begin())]));
  } else {
    return std::nullopt;
  }
  if (id == kNoWorkload) return std::nullopt;
  const auto& w = cache_.wl(id);
  if (set >= w.assignment.size() || !w.assignment[set].topology) return std::nullopt;
  return std::make_pair(id, set);
}

void KueueController::UngateTopology(cluster::PodId pid) {
  const auto& pod = store_.pod(pid);
  if (pod.deleted || pod.Terminal() || !pod.IsGatedBy(kTopologySchedulingGate)) return;
  if (pod.IsGatedBy(kAdmissionGate)) return;  // the admission comes first
  auto ps = TasPodSetOf(pid);
  if (!ps) return;
  auto [id, set] = *ps;
  const auto& w = cache_.wl(id);
  const auto& topo = *w.assignment[set].topology;
  auto& slots = tas_used_[{id, set}];
  if (slots.admission != w.admissions)
    slots = {w.admissions, std::vector<int32_t>(topo.domains.size(), 0)};
  // readRanksIfAvailable: the completion index is the rank; the assignment's domains, in
  // order, take `count` consecutive ranks each. A rank out of range or already served
  // falls back to the greedy walk (assignGatedPodsToDomainsGreedy).
  int32_t domain = -1;
  const auto& req = w.spec.pod_sets[set].topology;
  // The rank: a Job's completion index, else the PodSet's pod index label (less its offset).
  int32_t rank = -1;
  if (req && !req->pod_index_label.empty()) {
    if (pod.owner.kind == cluster::OwnerKind::kJob) {
      rank = pod.completion_index;
    } else if (auto l = pod.tmpl->metadata.labels.find(req->pod_index_label);
               l != pod.tmpl->metadata.labels.end()) {
      const std::string& v = l->second;
      if (!v.empty() && v.size() < 10 &&
          std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        rank = std::stoi(v) - req->pod_index_offset;
      }
    }
  }
  if (rank >= 0) {
    for (size_t d = 0; d < topo.domains.size(); ++d) {
      if (rank < topo.domains[d].count) {
        domain = static_cast<int32_t>(d);
        break;
      }
      rank -= topo.domains[d].count;
    }
    if (domain >= 0 && slots.used[static_cast<size_t>(domain)] >=
                           topo.domains[static_cast<size_t>(domain)].count) {
      domain = -1;
    }
  }
  if (domain < 0) {
    for (size_t d = 0; d < topo.domains.size() && domain < 0; ++d) {
      if (slots.used[d] < topo.domains[d].count) domain = static_cast<int32_t>(d);
    }
  }
  if (domain < 0) return;  // more pods than the assignment: they stay gated
  ++slots.used[static_cast<size_t>(domain)];
  if (tas_domain_of_pod_.size() <= pid) tas_domain_of_pod_.resize(pid + 1, -1);
  tas_domain_of_pod_[pid] = domain;
  if (tas_workload_of_pod_.size() <= pid) tas_workload_of_pod_.resize(pid + 1, {kNoWorkload, 0});
  tas_workload_of_pod_[pid] = {id, set};
  // The levels' labels (only the hostname for a hostname topology) into the nodeSelector.
  api::PodSpec spec = *pod.tmpl->spec;
  const auto& d = topo.domains[static_cast<size_t>(domain)];
  for (size_t l = 0; l < topo.levels.size() && l < d.values.size(); ++l) {
    spec.node_selector[topo.levels[l]] = d.values[l];
  }
  spec.scheduling_gates.erase(
      std::remove(spec.scheduling_gates.begin(), spec.scheduling_gates.end(),
                  std::string(kTopologySchedulingGate)),
      spec.scheduling_gates.end());
  store_.pod(pid).tmpl = store_.MakeTemplate(pod.tmpl->metadata, spec, pod.namespace_);
  store_.RemoveSchedulingGates(pid, kTopologySchedulingGate);
}

void KueueController::ReleaseTopologySlot(cluster::PodId pid) {
  if (pid >= tas_domain_of_pod_.size() || tas_domain_of_pod_[pid] < 0) return;
  ChargeBoundTasPod(pid, -1);
  const auto [id, set] = tas_workload_of_pod_[pid];
  auto it = tas_used_.find({id, set});
  if (it != tas_used_.end() && it->second.admission == cache_.wl(id).admissions) {
    --it->second.used[static_cast<size_t>(tas_domain_of_pod_[pid])];
  }
  tas_domain_of_pod_[pid] = -1;
}

}  // namespace gputwin::kueue
