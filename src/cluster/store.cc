#include "cluster/store.h"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <tuple>

#include "cluster/ray_objects.h"
#include "cluster/scheduling_helpers.h"
#include "core/errors.h"
#include "core/index_list.h"

namespace gputwin::cluster {

const char* PodWaitName(PodWait w) {
  switch (w) {
    case PodWait::kQueued:
      return "Queued";
    case PodWait::kSchedulingGated:
      return "SchedulingGated";
    case PodWait::kUnschedulable:
      return "Unschedulable";
    case PodWait::kNominated:
      return "Nominated";
  }
  return "";
}

const char* PhaseName(PodPhase p) {
  switch (p) {
    case PodPhase::kPending:
      return "Pending";
    case PodPhase::kRunning:
      return "Running";
    case PodPhase::kSucceeded:
      return "Succeeded";
    case PodPhase::kFailed:
      return "Failed";
  }
  return "Unknown";
}

Store::Store() : ray_(std::make_shared<RayStore>()) {
  // The built-in classes every cluster has (scheduling.k8s.io, SystemPriorityClasses).
  api::PriorityClass cluster_critical, node_critical;
  cluster_critical.metadata.name = "system-cluster-critical";
  cluster_critical.value = 2000000000;
  node_critical.metadata.name = "system-node-critical";
  node_critical.value = 2000001000;
  AddPriorityClass(cluster_critical);
  AddPriorityClass(node_critical);
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    AddNamespace(ns);
  }
}

void Store::AddPriorityClass(const api::PriorityClass& pc) {
  priority_classes_[pc.metadata.name] = pc;
}
void Store::AddNamespace(const std::string& name, const api::Labels& labels) {
  api::Labels& l = namespaces_[name];
  l = labels;
  l["kubernetes.io/metadata.name"] = name;
}

const api::Labels& Store::NamespaceLabels(const std::string& name) const {
  static const api::Labels kNoLabels;
  auto it = namespaces_.find(name);
  return it == namespaces_.end() ? kNoLabels : it->second;
}

int64_t Store::ImageSize(const std::string& image) const {
  auto it = image_sizes_.find(image);
  return it == image_sizes_.end() ? 0 : it->second;
}
void Store::AddResourceQuota(const api::ResourceQuota& q) {
  quotas_.push_back(QuotaState{q});
  for (const auto& [name, qty] : q.hard) {
    (void)qty;
    std::string base = name;
    for (const char* prefix : {"requests.", "limits."}) {
      if (base.starts_with(prefix)) base = base.substr(std::string(prefix).size());
    }
    if (base != "pods" && !base.starts_with("count/")) resources_.Id(base);
  }
}
void Store::AddLimitRange(const api::LimitRange& lr) {
  limit_ranges_.push_back(lr);
}

std::string Store::NewUid() {
  char buf[40];
  uint64_t n = ++next_uid_;
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(n));
  return buf;
}

PodId Store::CreatePod(PodRecord rec, std::string* error) {
  if (static_cast<int64_t>(pods_.size()) >= max_pods_) {
    throw InputError("spec.maxPods: the run has created " + std::to_string(pods_.size()) +
                     " pods, its limit; raise spec.maxPods if the run needs more (pod " +
                     rec.namespace_ + "/" + rec.name + " would be next)");
  }
  if (!namespaces_.count(rec.namespace_)) {
    *error = "namespaces \"" + rec.namespace_ + "\" not found";
    return kNone;
  }
  // One lookup for the name check and the index entry (a million-pod run pays per lookup).
  auto [slot, added] = pod_by_key_.try_emplace(rec.Key(), kNone);
  if (!added) {
    *error = "pods \"" + rec.name + "\" already exists";
    return kNone;
  }
  if (!AdmitQuota(rec, error)) {
    pod_by_key_.erase(slot);
    return kNone;
  }
  PodId& indexed = slot->second;  // (references into the map outlive its rehashing)
  rec.created_at = now_;
  if (rec.uid.empty()) rec.uid = NewUid();
  rec.scheduling_gates = rec.tmpl->spec->scheduling_gates;
  for (const auto& hook : pod_admission_hooks_) hook(rec);
  // The API server marks a pod created with scheduling gates (applySchedulingGatedCondition).
  if (!rec.scheduling_gates.empty() && !rec.Bound()) {
    rec.reason = "SchedulingGated";
    rec.message = "Scheduling is blocked due to non-empty scheduling gates";
    rec.NoteWait(now_, PodWait::kSchedulingGated);
  }
  PodId id = static_cast<PodId>(pods_.size());
  ChargeNamespace(rec, +1);
  pods_.push_back(std::move(rec));
  indexed = id;
  ++phase_counts_[static_cast<int>(pods_[id].phase)];
  Notify(WatchKind::kPod, WatchOp::kAdded, id);
  return id;
}

bool Store::RemoveSchedulingGates(PodId id, const std::string& gate) {
  PodRecord& p = pods_[id];
  auto& gates = p.scheduling_gates;
  const size_t before = gates.size();
  if (gate.empty()) {
    gates.clear();
  } else {
    gates.erase(std::remove(gates.begin(), gates.end(), gate), gates.end());
  }
  if (gates.size() == before) return false;
  if (gates.empty() && p.reason == "SchedulingGated") {
    p.reason.clear();
    p.message.clear();
  }
  if (gates.empty() && !p.Bound()) p.NoteWait(now_, PodWait::kQueued);
  Notify(WatchKind::kPod, WatchOp::kModified, id);
  return true;
}

void Store::BindPod(PodId id, NodeId n) {
  PodRecord& p = pods_[id];
  NodeRecord& node = nodes_[n];
  p.node = n;
  p.nominated_node = kNone;
  p.scheduled_at = now_;
  p.unschedulable = false;
  p.message.clear();
  AddTo(&node.requested, p.tmpl->requests);
  if (node.requested.size() <= kPods) node.requested.resize(kPods + 1, 0);
  node.requested[kPods] += 1;
  BumpUsage(n);
  node.nonzero_cpu += p.tmpl->nonzero_cpu;
  node.nonzero_memory += p.tmpl->nonzero_memory;
  node.pods.push_back(id);
  ChargePriority(n, *p.tmpl, +1);
  Notify(WatchKind::kPod, WatchOp::kModified, id);
}

void Store::Release(PodRecord& p, PodId id) {
  if (p.node == kNone) return;
  NodeRecord& node = nodes_[p.node];
  auto it = std::find(node.pods.begin(), node.pods.end(), id);
  if (it == node.pods.end()) return;  // already released
  *it = node.pods.back();
  node.pods.pop_back();
  AddTo(&node.requested, p.tmpl->requests, -1);
  node.requested[kPods] -= 1;
  BumpUsage(p.node);
  node.nonzero_cpu -= p.tmpl->nonzero_cpu;
  node.nonzero_memory -= p.tmpl->nonzero_memory;
  ChargePriority(p.node, *p.tmpl, -1);
}

void Store::ChargePriority(NodeId n, const PodTemplateInfo& t, int64_t sign) {
  auto& buckets = nodes_[n].by_priority;
  auto it = std::lower_bound(buckets.begin(), buckets.end(), t.priority,
                             [](const auto& b, int32_t prio) { return b.priority < prio; });
  if (it == buckets.end() || it->priority != t.priority) {
    it = buckets.insert(it, NodeRecord::PriorityRequests{t.priority, 0, {}});
  }
  AddTo(&it->requests, t.requests, sign);
  if (it->requests.size() <= kPods) it->requests.resize(kPods + 1, 0);
  it->requests[kPods] += sign;
  it->pods += sign;
  if (it->pods == 0) buckets.erase(it);
  lowest_pod_priority_[n] =
      buckets.empty() ? std::numeric_limits<int32_t>::max() : buckets.front().priority;
}

void Store::SetPodPhase(PodId id, PodPhase phase) {
  PodRecord& p = pods_[id];
  if (p.phase == phase) return;
  if (!p.deleted) {
    --phase_counts_[static_cast<int>(p.phase)];
    ++phase_counts_[static_cast<int>(phase)];
  }
  bool was_terminal = p.Terminal();
  p.phase = phase;
  if (p.Terminal() && !was_terminal) {
    // Terminal pods free their node's resources and stop counting against quota.
    Release(p, id);
    ChargeNamespace(p, -1);
    if (p.finished_at == kNever) p.finished_at = now_;
  }
  Notify(WatchKind::kPod, WatchOp::kModified, id);
}

void Store::DeletePod(PodId id) {
  PodRecord& p = pods_[id];
  if (p.deleted) return;
  // A running container is stopped with SIGTERM and ends with 128+15, unless its node is
  // gone (no kubelet left to report it).
  if (!p.Terminal() && p.phase == PodPhase::kRunning && p.disruption_target != "DeletionByPodGC") {
    p.exit_code = 143;
    p.exit_all_containers = true;
  }
  if (!p.Terminal()) {
    Release(p, id);
    ChargeNamespace(p, -1);
  }
  p.deleted = true;
  p.deleted_at = now_;
  --phase_counts_[static_cast<int>(p.phase)];  // the counts are of live pods
  pod_by_key_.erase(p.Key());
  Notify(WatchKind::kPod, WatchOp::kDeleted, id);
}

std::pair<std::string, std::string> Store::ControllerOf(const PodRecord& p) const {
  switch (p.owner.kind) {
    case OwnerKind::kReplicaSet:
      return {"ReplicaSet", replica_sets_[p.owner.index].obj.metadata.name};
    case OwnerKind::kJob:
      return {"Job", jobs_[p.owner.index].obj.metadata.name};
    case OwnerKind::kDaemonSet:
      return {"DaemonSet", daemon_sets_[p.owner.index].obj.metadata.name};
    case OwnerKind::kStatefulSet:
      return {"StatefulSet", stateful_sets_[p.owner.index].obj.metadata.name};
    case OwnerKind::kPyTorchJob:
      return {"PyTorchJob", pytorch_jobs_[p.owner.index].obj.metadata.name};
    case OwnerKind::kLeaderWorkerSet: {
      const std::string& lws = leader_worker_sets_[p.owner.index].obj.metadata.name;
      const auto& l = p.tmpl->metadata.labels;
      auto w = l.find("leaderworkerset.sigs.k8s.io/worker-index");
      auto g = l.find("leaderworkerset.sigs.k8s.io/group-index");
      if (w == l.end() || w->second == "0" || g == l.end()) return {"StatefulSet", lws};
      return {"StatefulSet", lws + "-" + g->second};
    }
    case OwnerKind::kRayCluster:
      return {"RayCluster", ray_->clusters[p.owner.index].obj.metadata.name};
    case OwnerKind::kGenerator:
      return {"Workload", ""};
    case OwnerKind::kNoOwner:
      break;
  }
  return {"", ""};
}

PodId Store::FindPod(const std::string& ns, const std::string& name) const {
  auto it = pod_by_key_.find(ns + "/" + name);
  return it == pod_by_key_.end() ? kNone : it->second;
}

NodeId Store::AddNode(const api::Node& node) {
  NodeId id = static_cast<NodeId>(nodes_.size());
  NodeRecord rec;
  rec.obj = node;
  rec.obj.metadata.labels.emplace("kubernetes.io/hostname", node.metadata.name);
  if (rec.obj.metadata.uid.empty()) {
    // The API server's uid, deterministic; nodes draw from their own sequence so pods'
    // uids do not depend on how many nodes registered before them.
    char buf[40];
    std::snprintf(buf, sizeof buf, "00000000-0000-4000-9000-%012llx",
                  static_cast<unsigned long long>(id + 1));
    rec.obj.metadata.uid = buf;
  }
  // Images the node reports (status.images) are present from the start.
  for (const auto& img : node.images) {
    for (const auto& name : img.names) {
      rec.images.emplace(name, now_);
      if (img.size_bytes > 0) image_sizes_.emplace(name, img.size_bytes);
    }
  }
  rec.allocatable = ToVec(rec.obj.allocatable, &resources_);
  // GPU sharing inventory (Open-Gpu-Share's node annotations or labels).
  for (const auto* m : {&node.metadata.annotations, &node.metadata.labels}) {
    if (auto it = m->find("alibabacloud.com/gpu-count"); it != m->end()) {
      int32_t n = 0;
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
      rec.gpu_share_left.assign(static_cast<size_t>(std::clamp(n, 0, 8)), 1000);
    }
    if (auto it = m->find("alibabacloud.com/gpu-card-model"); it != m->end()) {
      rec.gpu_share_model = it->second;
    }
  }
  rec.requested.assign(rec.allocatable.size(), 0);
  rec.created_at = now_;
  rec.ready_at = now_;
  nodes_.push_back(std::move(rec));
  live_nodes_.push_back(id);
  lowest_pod_priority_.push_back(std::numeric_limits<int32_t>::max());
  usage_versions_.push_back(0);
  node_by_name_[node.metadata.name] = id;
  for (const auto& [k, v] : nodes_[id].obj.metadata.labels) NodesByLabel(k, v).push_back(id);
  ++label_index_version_;
  Notify(WatchKind::kNode, WatchOp::kAdded, id);
  return id;
}

std::vector<NodeId>& Store::NodesByLabel(std::string_view key, std::string_view value) {
  auto it = nodes_by_label_.find(LabelPair{key, value});
  if (it == nodes_by_label_.end()) {
    it = nodes_by_label_
             .emplace(std::pair{std::string(key), std::string(value)}, std::vector<NodeId>{})
             .first;
  }
  return it->second;
}

void Store::LeaveLabelIndex(NodeId id, std::string_view key, std::string_view value) {
  auto it = nodes_by_label_.find(LabelPair{key, value});
  if (it == nodes_by_label_.end()) return;
  auto& ids = it->second;
  auto at = std::lower_bound(ids.begin(), ids.end(), id);
  if (at != ids.end() && *at == id) ids.erase(at);
  if (ids.empty()) nodes_by_label_.erase(it);
}

void Store::SetNodeLabel(NodeId id, const std::string& key, const std::string& value) {
  auto& labels = nodes_[id].obj.metadata.labels;
  const bool indexed = !nodes_[id].deleted;
  auto it = labels.find(key);
  if (it != labels.end() && indexed) LeaveLabelIndex(id, key, it->second);
  labels[key] = value;
  if (indexed) {
    auto& ids = NodesByLabel(key, value);
    ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id);
    ++label_index_version_;
  }
  Notify(WatchKind::kNode, WatchOp::kModified, id);
}

void Store::SetNodeDevices(NodeId id, const std::map<std::string, int64_t>& resources,
                           const api::Labels& labels, std::vector<DeviceUnit> devices) {
  NodeRecord& n = nodes_[id];
  auto& alloc = n.obj.allocatable;
  for (auto it = alloc.begin(); it != alloc.end();) {
    it = it->first.starts_with("nvidia.com/") ? alloc.erase(it) : std::next(it);
  }
  for (const auto& [name, count] : resources) alloc[name] = Quantity{count * 1000};
  n.allocatable = ToVec(alloc, &resources_);
  BumpUsage(id);
  if (n.requested.size() < n.allocatable.size()) n.requested.resize(n.allocatable.size(), 0);
  for (const auto& [k, v] : labels) {
    auto old = n.obj.metadata.labels.find(k);
    if (old != n.obj.metadata.labels.end() && !n.deleted) LeaveLabelIndex(id, k, old->second);
    n.obj.metadata.labels[k] = v;
    if (n.deleted) continue;
    auto& ids = NodesByLabel(k, v);
    ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id);
  }
  ++label_index_version_;
  n.devices = std::move(devices);
  n.device_plugin_registered = true;
  Notify(WatchKind::kNode, WatchOp::kModified, id);
}

std::vector<NodeId> Store::NodesWithLabel(const std::string& key, const std::string& value) const {
  auto it = nodes_by_label_.find(LabelPair{key, value});
  return it == nodes_by_label_.end() ? std::vector<NodeId>{} : it->second;
}

const std::vector<NodeId>& Store::LabelIndex(const std::string& key,
                                             const std::string& value) const {
  static const std::vector<NodeId> kNoNodes;
  auto it = nodes_by_label_.find(LabelPair{key, value});
  return it == nodes_by_label_.end() ? kNoNodes : it->second;
}

void Store::DeleteNode(NodeId id) {
  NodeRecord& n = nodes_[id];
  if (n.deleted) return;
  n.deleted = true;
  n.deleted_at = now_;
  live_nodes_.erase(std::lower_bound(live_nodes_.begin(), live_nodes_.end(), id));
  node_by_name_.erase(n.name());
  for (const auto& [k, v] : n.obj.metadata.labels) LeaveLabelIndex(id, k, v);
  ++label_index_version_;
  Notify(WatchKind::kNode, WatchOp::kDeleted, id);
}

uint32_t Store::FindDeployment(const std::string& namespace_, const std::string& name) const {
  for (uint32_t d = 0; d < deployments_.size(); ++d) {
    const auto& m = deployments_[d].obj.metadata;
    if (!deployments_[d].deleted && m.name == name && m.namespace_ == namespace_) return d;
  }
  return kNone;
}

NodeId Store::FindNode(const std::string& name) const {
  auto it = node_by_name_.find(name);
  return it == node_by_name_.end() ? kNone : it->second;
}

uint32_t Store::AddDeployment(api::Deployment d) {
  auto id = static_cast<uint32_t>(deployments_.size());
  deployments_.push_back(DeploymentRecord{std::move(d)});
  Notify(WatchKind::kDeployment, WatchOp::kAdded, id);
  return id;
}

uint32_t Store::AddReplicaSet(api::ReplicaSet rs, uint32_t deployment) {
  auto id = static_cast<uint32_t>(replica_sets_.size());
  ReplicaSetRecord rec;
  rec.tmpl = MakeTemplate(rs.template_.metadata, rs.template_.spec, rs.metadata.namespace_);
  rec.obj = std::move(rs);
  rec.deployment = deployment;
  replica_sets_.push_back(std::move(rec));
  Notify(WatchKind::kReplicaSet, WatchOp::kAdded, id);
  return id;
}

std::shared_ptr<const PodTemplateInfo> Store::MakeJobTemplate(const api::Job& j) {
  // The Job controller labels its pods with the job's name (batch.kubernetes.io/job-name).
  api::ObjectMeta meta = j.template_->metadata;
  meta.labels["batch.kubernetes.io/job-name"] = j.metadata.name;
  meta.labels["job-name"] = j.metadata.name;
  return MakeTemplate(meta, j.template_->spec, j.metadata.namespace_);
}

uint32_t Store::AddJob(api::Job j) {
  auto id = static_cast<uint32_t>(jobs_.size());
  JobRecord rec;
  rec.tmpl = MakeJobTemplate(j);
  rec.obj = std::move(j);
  jobs_.push_back(std::move(rec));
  Notify(WatchKind::kJob, WatchOp::kAdded, id);
  return id;
}

void Store::DeleteJob(uint32_t id) {
  if (jobs_[id].deleted) return;
  for (PodId p : jobs_[id].all_pods) DeletePod(p);
  jobs_[id].deleted = true;
  jobs_[id].pods.clear();
  Notify(WatchKind::kJob, WatchOp::kModified, id);
}

void Store::DeleteDeployment(uint32_t id) {
  auto& d = deployments_[id];
  if (d.deleted) return;
  d.deleted = true;
  if (d.replica_set != kNone) {
    auto& rs = replica_sets_[d.replica_set];
    rs.deleted = true;
    std::vector<PodId> pods = rs.pods;
    for (PodId p : pods) DeletePod(p);
    replica_sets_[d.replica_set].pods.clear();
    Notify(WatchKind::kReplicaSet, WatchOp::kModified, d.replica_set);
  }
  Notify(WatchKind::kDeployment, WatchOp::kModified, id);
}

void Store::DeleteStatefulSet(uint32_t id) {
  auto& ss = stateful_sets_[id];
  if (ss.deleted) return;
  ss.deleted = true;
  std::vector<PodId> pods = ss.pods;
  for (PodId p : pods) {
    if (p != kNone) DeletePod(p);
  }
  Notify(WatchKind::kStatefulSet, WatchOp::kModified, id);
}

uint32_t Store::FindJob(const std::string& namespace_, const std::string& name) const {
  for (uint32_t j = 0; j < jobs_.size(); ++j) {
    const auto& m = jobs_[j].obj.metadata;
    if (!jobs_[j].deleted && m.name == name && m.namespace_ == namespace_) return j;
  }
  return kNone;
}

uint32_t Store::FindStatefulSet(const std::string& namespace_, const std::string& name) const {
  for (uint32_t i = 0; i < stateful_sets_.size(); ++i) {
    const auto& m = stateful_sets_[i].obj.metadata;
    if (!stateful_sets_[i].deleted && m.name == name && m.namespace_ == namespace_) return i;
  }
  return kNone;
}

uint32_t Store::AddStatefulSet(api::StatefulSet ss) {
  auto id = static_cast<uint32_t>(stateful_sets_.size());
  StatefulSetRecord rec;
  rec.obj = std::move(ss);
  stateful_sets_.push_back(std::move(rec));
  Notify(WatchKind::kStatefulSet, WatchOp::kAdded, id);
  return id;
}

uint32_t Store::AddDaemonSet(api::DaemonSet ds) {
  auto id = static_cast<uint32_t>(daemon_sets_.size());
  DaemonSetRecord rec;
  // AddOrUpdateDaemonPodTolerations: daemon pods stay through node conditions and cordons.
  api::PodSpec spec = ds.template_.spec;
  for (const auto& [key, effect] : std::vector<std::pair<const char*, const char*>>{
           {"node.kubernetes.io/not-ready", "NoExecute"},
           {"node.kubernetes.io/unreachable", "NoExecute"},
           {"node.kubernetes.io/disk-pressure", "NoSchedule"},
           {"node.kubernetes.io/memory-pressure", "NoSchedule"},
           {"node.kubernetes.io/pid-pressure", "NoSchedule"},
           {"node.kubernetes.io/unschedulable", "NoSchedule"}}) {
    api::Taint taint{key, "", effect};
    if (!TaintToleratedBy(taint, spec.tolerations)) {
      spec.tolerations.push_back(api::Toleration{key, "Exists", "", effect, std::nullopt});
    }
  }
  rec.tmpl = MakeTemplate(ds.template_.metadata, spec, ds.metadata.namespace_);
  rec.obj = std::move(ds);
  daemon_sets_.push_back(std::move(rec));
  Notify(WatchKind::kDaemonSet, WatchOp::kAdded, id);
  return id;
}

void Store::RecordEvent(const std::string& type, const std::string& reason, const std::string& kind,
                        const std::string& ns, const std::string& name, const std::string& message,
                        const std::string& source) {
  if (!record_events_) return;
  uint64_t key = 0;
  for (const std::string* part : {&kind, &ns, &name, &reason, &message}) {
    const uint64_t h = std::hash<std::string_view>{}(*part);
    key ^= h + 0x9e3779b97f4a7c15ULL + (key << 6) + (key >> 2);
  }
  const auto head = event_first_.find(key);
  const uint32_t first = head != event_first_.end() ? head->second : kNoEvent;
  for (uint32_t i = first; i != kNoEvent; i = event_next_[i]) {
    auto& e = events_[i];
    if (e.kind == kind && e.namespace_ == ns && e.name == name && e.reason == reason &&
        e.message == message) {
      e.count++;
      e.last_timestamp = now_;
      return;
    }
  }
  if (events_.size() >= max_events_ || events_.size() >= kNoEvent) {
    ++dropped_events_;
    return;
  }
  // A new event heads its hash's chain (at most one event of a chain matches, so the
  // order within it does not matter).
  event_next_.push_back(first);
  event_first_.insert_or_assign(key, static_cast<uint32_t>(events_.size()));
  events_.push_back(KubeEvent{now_, now_, type, reason, kind, ns, name, message, source, 1});
}

void Store::Notify(WatchKind kind, WatchOp op, uint32_t id) {
  const WatchKinds bit = WatchKinds{1} << static_cast<int>(kind);
  for (const auto& [w, kinds] : watchers_) {
    if (kinds & bit) w->OnWatch(kind, op, id);
  }
}

}  // namespace gputwin::cluster
