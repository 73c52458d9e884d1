#include <algorithm>
#include <cctype>
#include <set>

#include "controllers/names.h"
#include "controllers/ray.h"

namespace gputwin::controllers {

using cluster::OwnerKind;
using cluster::PodId;
using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

namespace {

constexpr uint64_t kReadyTimer = uint64_t{1} << 63;

// utils.PodName: the prefix before -head-/-worker- is cut to 50 characters, lowercased.
std::string PodPrefix(const std::string& prefix) {
  std::string p = prefix.substr(0, std::min<size_t>(prefix.size(), 50));
  std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return std::tolower(c); });
  return p;
}

// The readiness probe KubeRay injects into the ray container (initLivenessAndReadinessProbe),
// unless the template has one.
api::Probe InjectedProbe(bool head) {
  api::Probe p;
  p.initial_delay_seconds = 10;      // DefaultReadinessProbeInitialDelaySeconds
  p.period_seconds = 5;              // DefaultReadinessProbePeriodSeconds
  p.timeout_seconds = head ? 5 : 2;  // Default(Head)ReadinessProbeTimeoutSeconds
  p.success_threshold = 1;
  p.failure_threshold = 10;
  return p;
}

// The prober's first success after a container start, as the twin's kubelet counts it: the
// first period tick at or after initialDelaySeconds.
Duration ReadyAfter(const api::Probe& p) {
  const int64_t period = std::max(p.period_seconds, 1);
  const int64_t ticks = std::max<int64_t>(1, (p.initial_delay_seconds + period - 1) / period);
  return Duration::Seconds(ticks * period);
}

// utils.CalculatePodResource: Σ over the containers of requests, limits for keys without one.
api::ResourceList PodResources(const api::PodSpec& spec) {
  api::ResourceList out;
  for (const auto& c : spec.containers) {
    api::ResourceList merged = c.resources.requests;
    for (const auto& [k, v] : c.resources.limits) merged.emplace(k, v);
    for (const auto& [k, v] : merged) out[k].milli += v.milli;
  }
  return out;
}

}  // namespace

uint32_t AddRayCluster(cluster::Store* store, api::RayCluster c, const std::string& origin_kind,
                       uint32_t origin) {
  auto& ray = store->ray();
  cluster::RayClusterRecord rec;
  rec.obj = std::move(c);
  rec.origin_kind = origin_kind;
  rec.origin = origin;
  rec.created_at = store->now();
  rec.workers.resize(rec.obj.spec.worker_groups.size());
  const auto id = static_cast<uint32_t>(ray.clusters.size());
  ray.cluster_by_key[rec.obj.metadata.namespace_ + "/" + rec.obj.metadata.name] = id;
  ray.clusters.push_back(std::move(rec));
  store->UpdateWorkload(WatchKind::kRayCluster, id);
  return id;
}

void DeleteRayCluster(cluster::Store* store, uint32_t id) {
  auto& r = store->ray().clusters[id];
  if (r.deleted) return;
  r.deleted = true;
  store->ray().cluster_by_key.erase(r.obj.metadata.namespace_ + "/" + r.obj.metadata.name);
  std::vector<PodId> pods;
  if (r.head != cluster::kNone) pods.push_back(r.head);
  for (const auto& g : r.workers) {
    for (const auto& w : g) pods.push_back(w.pod);
  }
  for (PodId p : pods) store->DeletePod(p);
  auto& rec = store->ray().clusters[id];
  rec.head = cluster::kNone;
  for (auto& g : rec.workers) g.clear();
  store->UpdateWorkload(WatchKind::kRayCluster, id);
}

int32_t RayClusterController::DesiredWorkerPods(const api::RayWorkerGroupSpec& g) {
  if (g.suspend) return 0;
  int64_t replicas = g.replicas;
  if (replicas < g.min_replicas) {
    replicas = g.min_replicas;
  } else if (replicas > g.max_replicas) {
    replicas = g.max_replicas;
  }
  return static_cast<int32_t>(std::min<int64_t>(replicas * g.num_of_hosts, INT32_MAX));
}

RayClusterController::RayClusterController(cluster::Store* store, EventQueue* queue)
    : Controller("raycluster-controller", store, queue,
                 cluster::Watches({WatchKind::kRayCluster, WatchKind::kPod})) {}

void RayClusterController::OnWatch(WatchKind kind, WatchOp, uint32_t id) {
  if (kind == WatchKind::kPod) {
    const auto& p = store_.pod(id);
    if (p.owner.kind != OwnerKind::kRayCluster) return;
    id = p.owner.index;
  }
  dirty_.Add(id);
  RequestReconcile();
}

void RayClusterController::OnTimer(Time now, uint64_t arg) {
  if (arg & kReadyTimer) {
    const auto pod = static_cast<PodId>(arg & 0xFFFFFFFF);
    auto& p = store_.pod(pod);
    if (p.deleted || p.owner.kind != OwnerKind::kRayCluster) return;
    auto& r = store_.ray().clusters[p.owner.index];
    auto it = r.ray_started.find(pod);
    if (it == r.ray_started.end() || p.ready_at != cluster::kNever ||
        p.phase != PodPhase::kRunning) {
      return;
    }
    const auto& c = p.tmpl->spec->containers.front();
    if (it->second + ReadyAfter(c.readiness_probe ? *c.readiness_probe : InjectedProbe(false)) >
        now) {
      return;  // an earlier start's timer
    }
    p.ready_at = now;
    store_.UpdatePod(pod);
    return;
  }
  dirty_.Add(static_cast<uint32_t>(arg));
  RequestReconcile();
}

void RayClusterController::Reconcile(Time now) {
  for (uint32_t id : dirty_.Drain()) Sync(id, now);
}

std::string RayClusterController::Suffix(Record& r) {
  const auto& m = r.obj.metadata;
  return NameSuffix(HashString(m.namespace_ + "/" + m.name), r.next_suffix++);
}

void RayClusterController::SetCondition(Record& r, Time now, const std::string& type,
                                        const std::string& status, const std::string& reason,
                                        const std::string& message) {
  cluster::SetStatusCondition(&r.conditions, now, type, status, reason, message);
}

std::shared_ptr<const cluster::PodTemplateInfo> RayClusterController::Template(
    uint32_t id, int32_t group, int32_t replica_index, const std::string& replica,
    int32_t host_index) {
  const std::string key = std::to_string(store_.ray().clusters[id].template_generation) + "/" +
                          (group < 0 ? std::string("head")
                                     : std::to_string(group) + "/" + std::to_string(replica_index) +
                                           "/" + replica + "/" + std::to_string(host_index));
  auto& slot = templates_[{id, key}];
  if (slot) return slot;
  const auto& r = store_.ray().clusters[id];
  const auto& spec = r.obj.spec;
  const std::string& name = r.obj.metadata.name;
  const bool head = group < 0;
  const api::PodTemplateSpec& t =
      head ? spec.head.template_ : spec.worker_groups[static_cast<size_t>(group)].template_;
  api::ObjectMeta meta = t.metadata;
  api::PodSpec ps = t.spec;
  // labelPod: KubeRay's labels over the template's.
  auto& l = meta.labels;
  l["ray.io/is-ray-node"] = "yes";
  l["ray.io/cluster"] = name;
  l["ray.io/node-type"] = head ? "head" : "worker";
  l["ray.io/group"] =
      head ? "headgroup" : spec.worker_groups[static_cast<size_t>(group)].group_name;
  l["ray.io/identifier"] = name + (head ? "-head" : "-worker");
  l.emplace("app.kubernetes.io/name", "kuberay");
  l.emplace("app.kubernetes.io/created-by", "kuberay-operator");
  if (r.origin_kind == "RayService") l["ray.io/serve"] = head ? "false" : "true";
  if (!head) {
    // RayMultiHostIndexing (on by default).
    l["ray.io/worker-group-replica-index"] = std::to_string(replica_index);
    if (!replica.empty()) {
      l["ray.io/worker-group-replica-name"] = replica;
      l["ray.io/replica-host-index"] = std::to_string(host_index);
    }
  }
  auto& ray = ps.containers.front();
  if (!ray.readiness_probe) ray.readiness_probe = InjectedProbe(head);
  if (head && spec.enable_in_tree_autoscaling) {
    // BuildAutoscalerContainer: 500m / 512Mi requests and limits unless autoscalerOptions sets
    // resources.
    api::Container a = api::Container::Named("autoscaler", ray.image);
    if (spec.autoscaler_resources) {
      a.resources = *spec.autoscaler_resources;
    } else {
      std::string err;
      for (auto* list : {&a.resources.requests, &a.resources.limits}) {
        (*list)["cpu"] = *ParseQuantity("500m", &err);
        (*list)["memory"] = *ParseQuantity("512Mi", &err);
      }
    }
    ps.containers.push_back(std::move(a));
  }
  if (spec.enable_in_tree_autoscaling && spec.autoscaler_version == "v2")
    ps.restart_policy = "Never";
  if (!head) {
    // wait-gcs-ready: the ray image, 200m / 256Mi requests and limits.
    api::Container init = api::Container::Named("wait-gcs-ready", ps.containers.front().image);
    std::string err;
    for (auto* list : {&init.resources.requests, &init.resources.limits}) {
      (*list)["cpu"] = *ParseQuantity("200m", &err);
      (*list)["memory"] = *ParseQuantity("256Mi", &err);
    }
    ps.init_containers.push_back(std::move(init));
  }
  slot = store_.MakeTemplate(meta, ps, r.obj.metadata.namespace_);
  return slot;
}

void RayClusterController::CreateHead(uint32_t id, Time) {
  auto tmpl = Template(id, -1, 0, "", 0);
  auto& r = store_.ray().clusters[id];
  cluster::PodRecord rec;
  rec.namespace_ = r.obj.metadata.namespace_;
  rec.name = PodPrefix(r.obj.metadata.name) + "-head-" + Suffix(r);
  rec.tmpl = std::move(tmpl);
  rec.owner = {OwnerKind::kRayCluster, id};
  rec.gang = r.gang;
  std::string error;
  const PodId pid = store_.CreatePod(std::move(rec), &error);
  auto& rr = store_.ray().clusters[id];
  if (pid == cluster::kNone) {
    SetCondition(rr, store_.now(), "ReplicaFailure", "True", "FailedCreateHeadPod", error);
    return;
  }
  rr.head = pid;
  store_.RecordEvent(
      "Normal", "CreatedHeadPod", "RayCluster", rr.obj.metadata.namespace_, rr.obj.metadata.name,
      "Created head Pod " + rr.obj.metadata.namespace_ + "/" + store_.pod(pid).name, name_);
}

void RayClusterController::CreateWorker(uint32_t id, size_t group, int32_t replica_index,
                                        const std::string& replica, int32_t host_index, Time) {
  auto tmpl = Template(id, static_cast<int32_t>(group), replica_index, replica, host_index);
  auto& r = store_.ray().clusters[id];
  const auto& g = r.obj.spec.worker_groups[group];
  cluster::PodRecord rec;
  rec.namespace_ = r.obj.metadata.namespace_;
  rec.name = PodPrefix(r.obj.metadata.name + "-" + g.group_name) + "-worker-" + Suffix(r);
  rec.tmpl = std::move(tmpl);
  rec.owner = {OwnerKind::kRayCluster, id};
  rec.gang = r.gang;
  // The ray container's readiness is this controller's: it starts only once wait-gcs-ready
  // has seen the head's GCS (TrackReadiness).
  rec.readiness_probed = true;
  rec.readiness_by_workload = true;
  std::string error;
  const PodId pid = store_.CreatePod(std::move(rec), &error);
  auto& rr = store_.ray().clusters[id];
  if (pid == cluster::kNone) {
    SetCondition(rr, store_.now(), "ReplicaFailure", "True", "FailedCreateWorkerPod", error);
    return;
  }
  rr.workers[group].push_back({pid, replica_index, replica, host_index});
  store_.RecordEvent(
      "Normal", "CreatedWorkerPod", "RayCluster", rr.obj.metadata.namespace_, rr.obj.metadata.name,
      "Created worker Pod " + rr.obj.metadata.namespace_ + "/" + store_.pod(pid).name, name_);
}

void RayClusterController::DeletePod(Record& r, PodId pod, bool head) {
  const auto& p = store_.pod(pod);
  if (p.deleted) return;
  const std::string status = cluster::PhaseName(p.phase);
  store_.RecordEvent("Normal", head ? "DeletedHeadPod" : "DeletedWorkerPod", "RayCluster",
                     r.obj.metadata.namespace_, r.obj.metadata.name,
                     std::string("Deleted ") + (head ? "head" : "worker") + " Pod " + p.namespace_ +
                         "/" + p.name + "; Pod status: " + status + "; Pod restart policy: " +
                         p.tmpl->spec->restart_policy + "; Ray container terminated status: nil",
                     name_);
  store_.DeletePod(pod);
}

void RayClusterController::DeleteAllPods(Record& r) {
  if (r.head != cluster::kNone) store_.DeletePod(r.head);
  for (const auto& g : r.workers) {
    for (const auto& w : g) store_.DeletePod(w.pod);
  }
}

std::string RayClusterController::ReconcilePods(uint32_t id, Time now) {
  auto& r = store_.ray().clusters[id];
  const auto& spec = r.obj.spec;
  const std::string& ns = r.obj.metadata.namespace_;
  if (r.IsTrue("RayClusterSuspending")) {
    DeleteAllPods(r);
    store_.RecordEvent(
        "Normal", "DeletedPod", "RayCluster", ns, r.obj.metadata.name,
        "Deleted Pods for RayCluster " + ns + "/" + r.obj.metadata.name + " due to suspension",
        name_);
    return "";
  }
  if (r.IsTrue("RayClusterSuspended") || spec.suspend) return "";
  // The head: a terminal head pod is deleted (its replacement comes on a later reconcile).
  if (r.head != cluster::kNone) {
    const auto& p = store_.pod(r.head);
    if (p.Terminal()) {
      const std::string why = "The head Pod " + p.name + " status is " +
                              cluster::PhaseName(p.phase) +
                              " which is a terminal state. KubeRay will delete the Pod and create "
                              "new Pods in the next reconciliation if necessary.";
      DeletePod(r, r.head, true);
      store_.ray().clusters[id].head = cluster::kNone;
      return why;
    }
  } else {
    // RayJob SidecarMode's ray.io/disable-provisioned-head-restart is not modelled (K8sJobMode).
    CreateHead(id, now);
  }
  for (size_t gi = 0; gi < store_.ray().clusters[id].obj.spec.worker_groups.size(); ++gi) {
    auto& rr = store_.ray().clusters[id];
    const auto& g = rr.obj.spec.worker_groups[gi];
    auto& pods = rr.workers[gi];
    if (g.suspend) {
      for (const auto& w : pods) store_.DeletePod(w.pod);
      pods.clear();
      continue;
    }
    const int32_t desired = DesiredWorkerPods(g);
    auto doomed = [&](const Record::Worker& w) {
      if (store_.pod(w.pod).Terminal()) return true;
      const auto& del = g.workers_to_delete;
      return std::find(del.begin(), del.end(), store_.pod(w.pod).name) != del.end();
    };
    if (g.num_of_hosts > 1) {
      // reconcileMultiHostWorkerGroup: replicas all-or-nothing.
      std::map<std::string, std::vector<Record::Worker>> replicas;
      for (const auto& w : pods) replicas[w.replica_name].push_back(w);
      std::vector<Record::Worker> kept;
      bool deleted = false;
      for (auto& [name, members] : replicas) {
        const bool whole = static_cast<int32_t>(members.size()) == g.num_of_hosts;
        const bool bad = std::any_of(members.begin(), members.end(), doomed);
        if (!whole || bad) {
          for (const auto& w : members) DeletePod(rr, w.pod, false);
          deleted = true;
        } else {
          kept.insert(kept.end(), members.begin(), members.end());
        }
      }
      pods = kept;
      if (deleted) return "delete unhealthy worker replica groups";
      if (desired % g.num_of_hosts != 0) {
        return "desired worker pods (" + std::to_string(desired) +
               ") is not a multiple of NumOfHosts (" + std::to_string(g.num_of_hosts) +
               ") for group " + g.group_name;
      }
      int32_t have = static_cast<int32_t>(kept.size()) / g.num_of_hosts;
      const int32_t want = desired / g.num_of_hosts;
      std::set<int32_t> used;
      for (const auto& w : kept) used.insert(w.replica_index);
      for (int32_t index = 0; have < want; ++index) {
        if (used.count(index)) continue;
        const std::string replica = g.group_name + "-" + Suffix(store_.ray().clusters[id]);
        for (int32_t h = 0; h < g.num_of_hosts; ++h) CreateWorker(id, gi, index, replica, h, now);
        ++have;
      }
      if (have > want) {
        // Scale down without autoscaling: whole replica groups, highest index first.
        auto& cur = store_.ray().clusters[id].workers[gi];
        std::vector<int32_t> indexes(used.begin(), used.end());
        for (auto it = indexes.rbegin(); it != indexes.rend() && have > want; ++it, --have) {
          for (const auto& w : cur) {
            if (w.replica_index == *it) store_.DeletePod(w.pod);
          }
          cur.erase(std::remove_if(cur.begin(), cur.end(),
                                   [&](const Record::Worker& w) { return w.replica_index == *it; }),
                    cur.end());
        }
      }
      continue;
    }
    // Unhealthy (terminal) worker pods are deleted; their replacements come next time.
    int32_t unhealthy = 0;
    std::vector<Record::Worker> kept;
    for (const auto& w : pods) {
      if (store_.pod(w.pod).Terminal()) {
        DeletePod(rr, w.pod, false);
        ++unhealthy;
      } else {
        kept.push_back(w);
      }
    }
    pods = kept;
    if (unhealthy > 0) return "delete " + std::to_string(unhealthy) + " unhealthy worker Pods";
    // scaleStrategy.workersToDelete: always deleted.
    kept.clear();
    for (const auto& w : pods) {
      if (doomed(w)) {
        store_.RecordEvent("Normal", "DeletedWorkerPod", "RayCluster", ns, rr.obj.metadata.name,
                           "Deleted pod " + ns + "/" + store_.pod(w.pod).name, name_);
        store_.DeletePod(w.pod);
      } else {
        kept.push_back(w);
      }
    }
    pods = kept;
    const int32_t diff = desired - static_cast<int32_t>(pods.size());
    if (diff > 0) {
      std::set<int32_t> used;
      for (const auto& w : pods) used.insert(w.replica_index);
      int32_t index = 0;
      for (int32_t i = 0; i < diff; ++i) {
        while (used.count(index)) ++index;
        used.insert(index);
        CreateWorker(id, gi, index, "", 0, now);
      }
    } else if (diff < 0 && !rr.obj.spec.enable_in_tree_autoscaling) {
      // Without autoscaling the first -diff pods of the list go (the twin's list: by name).
      auto& cur = store_.ray().clusters[id].workers[gi];
      std::vector<Record::Worker> sorted = cur;
      std::sort(sorted.begin(), sorted.end(), [&](const auto& a, const auto& b) {
        return store_.pod(a.pod).name < store_.pod(b.pod).name;
      });
      for (int32_t i = 0; i < -diff; ++i) {
        store_.RecordEvent("Normal", "DeletedWorkerPod", "RayCluster", ns, rr.obj.metadata.name,
                           "Deleted pod " + ns + "/" + store_.pod(sorted[i].pod).name, name_);
        store_.DeletePod(sorted[static_cast<size_t>(i)].pod);
      }
      sorted.erase(sorted.begin(), sorted.begin() + (-diff));
      cur = sorted;
    }
  }
  return "";
}

void RayClusterController::TrackReadiness(uint32_t id, Time now) {
  auto& r = store_.ray().clusters[id];
  Time gcs = cluster::kNever;
  if (r.head != cluster::kNone) {
    const auto& h = store_.pod(r.head);
    if (!h.deleted && h.phase == PodPhase::kRunning) gcs = h.container_started;
  }
  if (gcs != r.head_gcs_at) {
    if (r.head_gcs_at != cluster::kNever) {
      // The head (and its GCS) is gone or restarted: without GCS fault tolerance every worker's
      // raylet dies and its ray container restarts, to rejoin the new head.
      for (auto& [pod, started] : r.ray_started) {
        auto& p = store_.pod(pod);
        if (p.deleted) continue;
        ++p.restart_count;
        p.ready_at = cluster::kNever;
        r.rejoining.insert(pod);
        store_.UpdatePod(pod);
      }
      r.ray_started.clear();
    }
    r.head_gcs_at = gcs;
  }
  for (const auto& g : r.workers) {
    for (const auto& w : g) {
      auto& p = store_.pod(w.pod);
      if (p.deleted || p.phase != PodPhase::kRunning || p.container_started == cluster::kNever) {
        r.ray_started.erase(w.pod);
        continue;
      }
      if (gcs == cluster::kNever || r.ray_started.count(w.pod)) continue;
      Time start = p.container_started;
      if (r.rejoining.erase(w.pod)) {
        start = std::max(gcs, now);  // the restarted raylet connects to the new head
      } else if (gcs > start) {
        // wait-gcs-ready polls every 5 s from its start until the GCS answers.
        const int64_t period = Duration::Seconds(5).ns;
        const int64_t waited = (gcs - start).ns;
        start = start + Duration::Nanoseconds((waited + period - 1) / period * period);
      }
      r.ray_started[w.pod] = start;
      const auto& c = p.tmpl->spec->containers.front();
      const Time ready = start + ReadyAfter(*c.readiness_probe);
      At(ready, kReadyTimer | w.pod);
      if (start > now) At(start, id);  // availableWorkerReplicas changes then
    }
  }
}

void RayClusterController::UpdateStatus(uint32_t id, Time now, const std::string& error) {
  auto& r = store_.ray().clusters[id];
  const auto& spec = r.obj.spec;
  int32_t pods = 0, ready_workers = 0, available = 0;
  // utils.CheckAllPodsRunning: at least one pod, and every pod Running with no PodReady=False.
  bool all_running = true;
  if (r.head != cluster::kNone && !store_.pod(r.head).deleted) {
    ++pods;
    all_running = all_running && store_.pod(r.head).Ready();
  }
  for (const auto& g : r.workers) {
    for (const auto& w : g) {
      const auto& p = store_.pod(w.pod);
      if (p.deleted) continue;
      ++pods;
      auto it = r.ray_started.find(w.pod);
      const bool running =
          p.phase == PodPhase::kRunning && it != r.ray_started.end() && it->second <= now;
      available += running ? 1 : 0;
      ready_workers += running && p.Ready() ? 1 : 0;
      all_running = all_running && running && p.Ready();
    }
  }
  all_running = all_running && pods > 0;
  int64_t desired = 0, min = 0, max = 0;
  api::ResourceList res = PodResources(spec.head.template_.spec);
  for (const auto& g : spec.worker_groups) {
    desired += DesiredWorkerPods(g);
    for (const auto& [k, v] : PodResources(g.template_.spec)) {
      res[k].milli += v.milli * g.replicas * g.num_of_hosts;
    }
    if (g.suspend) continue;
    min += int64_t{g.min_replicas} * g.num_of_hosts;
    max += int64_t{g.max_replicas} * g.num_of_hosts;
  }
  r.ready_worker_replicas = ready_workers;
  r.available_worker_replicas = available;
  r.desired_worker_replicas = static_cast<int32_t>(std::min<int64_t>(desired, INT32_MAX));
  r.min_worker_replicas = static_cast<int32_t>(std::min<int64_t>(min, INT32_MAX));
  r.max_worker_replicas = static_cast<int32_t>(std::min<int64_t>(max, INT32_MAX));
  r.desired = res;
  // state: ready once every pod runs and is ready (and it stays so); suspended once none is
  // left of a suspended cluster.
  std::string state = r.state;
  if (error.empty() && pods == desired + 1 && all_running && !spec.suspend) state = "ready";
  // Suspension (RayClusterStatusConditions): Suspending until no pod is left.
  if (r.IsTrue("RayClusterSuspending") && pods == 0) {
    SetCondition(r, now, "RayClusterSuspending", "False", "RayClusterSuspending", "");
    SetCondition(r, now, "RayClusterSuspended", "True", "RayClusterSuspended", "");
    SetCondition(r, now, "RayClusterProvisioned", "False", "RayClusterPodsProvisioning",
                 "RayCluster has been suspended");
    state = "suspended";
  }
  if (state != r.state) {
    r.state = state;
    r.state_transition_times[state] = now;
    if (state == "ready") r.reason.clear();
  }
  // HeadPodReady mirrors the head pod's Ready condition (utils.FindHeadPodReadyCondition):
  // none before the kubelet has the pod (reason Unknown); ContainersNotReady is replaced by the
  // first container's waiting reason, its message extended with "<container>: <message>".
  if (r.head == cluster::kNone || store_.pod(r.head).deleted) {
    SetCondition(r, now, "HeadPodReady", "False", "HeadPodNotFound", "Head Pod not found");
  } else {
    const auto& h = store_.pod(r.head);
    std::string unready;
    for (const auto& c : h.tmpl->spec->containers) unready += (unready.empty() ? "" : " ") + c.name;
    const std::string message = "containers with unready status: [" + unready + "]";
    const std::string& first = h.tmpl->spec->containers.front().name;
    if (h.Ready()) {
      SetCondition(r, now, "HeadPodReady", "True", "HeadPodRunningAndReady", "");
    } else if (!h.Bound()) {
      SetCondition(r, now, "HeadPodReady", "False", "Unknown", "");
    } else if (h.container_started == cluster::kNever || h.reason == "CrashLoopBackOff") {
      // Waiting: ContainerCreating (the image pull) or CrashLoopBackOff.
      SetCondition(r, now, "HeadPodReady", "False",
                   h.reason == "CrashLoopBackOff" ? "CrashLoopBackOff" : "ContainerCreating",
                   message + "; " + first + ": ");
    } else {
      SetCondition(r, now, "HeadPodReady", "False", "ContainersNotReady", message);
    }
  }
  if (!r.IsTrue("RayClusterProvisioned") && !r.IsTrue("RayClusterSuspended")) {
    // Set whatever the pod count (CheckAllPodsRunning over the pods there are), once.
    if (all_running) {
      SetCondition(r, now, "RayClusterProvisioned", "True", "AllPodRunningAndReadyFirstTime",
                   "All Ray Pods are ready for the first time");
    } else {
      SetCondition(r, now, "RayClusterProvisioned", "False", "RayClusterPodsProvisioning",
                   "RayCluster Pods are being provisioned for first time");
    }
  }
  if (error.empty()) {
    r.conditions.erase(std::remove_if(r.conditions.begin(), r.conditions.end(),
                                      [](const auto& c) { return c.type == "ReplicaFailure"; }),
                       r.conditions.end());
  }
}

void RayClusterController::Sync(uint32_t id, Time now) {
  auto& r = store_.ray().clusters[id];
  if (r.deleted) return;
  const auto& m = r.obj.metadata;
  const std::string key = m.namespace_ + "/" + m.name;
  if (!r.obj.invalid_metadata.empty() || !r.obj.spec.invalid.empty()) {
    // Validated on every reconcile: a Warning event, and nothing else.
    if (!r.invalid_reported) {
      r.invalid_reported = true;
      const bool meta_bad = !r.obj.invalid_metadata.empty();
      store_.RecordEvent(
          "Warning", meta_bad ? "InvalidRayClusterMetadata" : "InvalidRayClusterSpec", "RayCluster",
          m.namespace_, m.name,
          std::string("The RayCluster ") + (meta_bad ? "metadata" : "spec") + " is invalid " + key +
              ": " + (meta_bad ? r.obj.invalid_metadata : r.obj.spec.invalid),
          name_);
    }
    return;
  }
  if (r.obj.spec.managed_by && *r.obj.spec.managed_by != "ray.io/kuberay-operator") return;
  // Forget deleted pods (evicted, preempted, deleted by a user or with their node).
  if (r.head != cluster::kNone && store_.pod(r.head).deleted) r.head = cluster::kNone;
  for (auto& g : r.workers) {
    g.erase(std::remove_if(g.begin(), g.end(),
                           [&](const Record::Worker& w) { return store_.pod(w.pod).deleted; }),
            g.end());
  }
  if (r.workers.size() != r.obj.spec.worker_groups.size()) {
    r.workers.resize(r.obj.spec.worker_groups.size());
  }
  // Suspension's conditions.
  if (r.obj.spec.suspend && !r.IsTrue("RayClusterSuspending") && !r.IsTrue("RayClusterSuspended")) {
    SetCondition(r, now, "RayClusterSuspending", "True", "RayClusterSuspending", "");
  }
  if (!r.obj.spec.suspend && r.IsTrue("RayClusterSuspended")) {
    SetCondition(r, now, "RayClusterSuspended", "False", "RayClusterSuspended", "");
    SetCondition(r, now, "RayClusterProvisioned", "False", "RayClusterPodsProvisioning",
                 "RayCluster Pods are being provisioned for first time");
    // status.state stays suspended until the cluster is ready again (calculateStatus).
  }
  // Services before pods: the head Service <c>-head-svc (headless), and <c>-headless for
  // multi-host groups.
  if (!r.services_created) {
    r.services_created = true;
    const std::string svc = r.obj.spec.head.head_service_name.empty()
                                ? m.name + "-head-svc"
                                : r.obj.spec.head.head_service_name;
    store_.RecordEvent("Normal", "CreatedService", "RayCluster", m.namespace_, m.name,
                       "Created service " + m.namespace_ + "/" + svc, name_);
    for (const auto& g : r.obj.spec.worker_groups) {
      if (g.num_of_hosts > 1) {
        store_.RecordEvent("Normal", "CreatedService", "RayCluster", m.namespace_, m.name,
                           "Created service " + m.namespace_ + "/" + m.name + "-headless", name_);
        break;
      }
    }
  }
  const std::string before = r.StatusKey();
  const std::string error = ReconcilePods(id, now);
  TrackReadiness(id, now);
  UpdateStatus(id, now, error);
  if (store_.ray().clusters[id].StatusKey() != before) {
    store_.UpdateWorkload(WatchKind::kRayCluster, id);
  }
  if (!error.empty()) After(Duration::Seconds(2), id);  // requeue after an error
}

}  // namespace gputwin::controllers
