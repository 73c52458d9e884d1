#include "controllers/leaderworkerset.h"

#include "core/sha1.h"

namespace gputwin::controllers {

using cluster::PodId;
using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

namespace {

constexpr const char* kNameLabel = "leaderworkerset.sigs.k8s.io/name";
constexpr const char* kGroupIndexLabel = "leaderworkerset.sigs.k8s.io/group-index";
constexpr const char* kGroupKeyLabel = "leaderworkerset.sigs.k8s.io/group-key";
constexpr const char* kWorkerIndexLabel = "leaderworkerset.sigs.k8s.io/worker-index";
constexpr const char* kSizeAnnotation = "leaderworkerset.sigs.k8s.io/size";
constexpr const char* kLeaderNameAnnotation = "leaderworkerset.sigs.k8s.io/leader-name";
constexpr const char* kExclusiveAnnotation = "leaderworkerset.sigs.k8s.io/exclusive-topology";

bool Gone(const cluster::PodRecord& p) {
  return p.deleted || p.Terminal();
}

}  // namespace

LeaderWorkerSetController::LeaderWorkerSetController(cluster::Store* store, EventQueue* queue)
    : Controller("lws-controller-manager", store, queue,
                 cluster::Watches({WatchKind::kLeaderWorkerSet, WatchKind::kPod})) {}

void LeaderWorkerSetController::OnWatch(WatchKind kind, WatchOp, uint32_t id) {
  if (kind == WatchKind::kPod) {
    const auto& p = store_.pod(id);
    if (p.owner.kind != cluster::OwnerKind::kLeaderWorkerSet) return;
    id = p.owner.index;
  }
  dirty_.Add(id);
  RequestReconcile();
}

void LeaderWorkerSetController::Reconcile(Time now) {
  for (uint32_t id : dirty_.Drain()) Sync(id, now);
}

PodId LeaderWorkerSetController::CreatePod(uint32_t id, size_t group, int32_t worker) {
  auto& r = store_.leader_worker_sets()[id];
  const auto& lws = r.obj;
  const std::string& ns = lws.metadata.namespace_;
  const std::string leader_name = lws.metadata.name + "-" + std::to_string(group);
  const std::string name = worker == 0 ? leader_name : leader_name + "-" + std::to_string(worker);
  if (r.tmpl.size() <= group) r.tmpl.resize(group + 1);
  auto& slots = r.tmpl[group];
  if (slots.size() < static_cast<size_t>(lws.size)) slots.resize(static_cast<size_t>(lws.size));
  auto& tmpl = slots[static_cast<size_t>(worker)];
  if (!tmpl) {
    const api::PodTemplateSpec& base = worker == 0 ? lws.LeaderTemplate() : lws.worker_template;
    api::ObjectMeta meta = base.metadata;
    api::PodSpec spec = base.spec;
    // The labels the StatefulSets set and the LWS pod webhook adds (group-key:
    // sha1("<namespace>/<leader pod name>")).
    const std::string key = Sha1Hex(ns + "/" + leader_name);
    meta.labels[kNameLabel] = lws.metadata.name;
    meta.labels[kGroupIndexLabel] = std::to_string(group);
    meta.labels[kGroupKeyLabel] = key;
    meta.labels[kWorkerIndexLabel] = std::to_string(worker);
    meta.labels["statefulset.kubernetes.io/pod-name"] = name;
    meta.labels["apps.kubernetes.io/pod-index"] = std::to_string(worker == 0 ? group : worker);
    meta.annotations[kSizeAnnotation] = std::to_string(lws.size);
    if (worker > 0) meta.annotations[kLeaderNameAnnotation] = leader_name;
    if (!lws.exclusive_topology.empty()) {
      meta.annotations[kExclusiveAnnotation] = lws.exclusive_topology;
      if (worker == 0) {
        // The leader attracts its own group and repels every other group per domain.
        api::PodAffinityTerm own;
        own.label_selector = api::LabelSelector{{}, {{kGroupKeyLabel, "In", {key}}}};
        own.topology_key = lws.exclusive_topology;
        api::PodAffinityTerm others;
        others.label_selector = api::LabelSelector{
            {}, {{kGroupKeyLabel, "Exists", {}}, {kGroupKeyLabel, "NotIn", {key}}}};
        others.topology_key = lws.exclusive_topology;
        if (!spec.pod_affinity) spec.pod_affinity = api::PodAffinity{};
        if (!spec.pod_anti_affinity) spec.pod_anti_affinity = api::PodAffinity{};
        spec.pod_affinity->required.push_back(std::move(own));
        spec.pod_anti_affinity->required.push_back(std::move(others));
      } else {
        spec.node_selector[lws.exclusive_topology] = r.groups[group].topology_value;
      }
    }
    tmpl = store_.MakeTemplate(meta, spec, ns);
  }
  cluster::PodRecord rec;
  rec.namespace_ = ns;
  rec.name = name;
  rec.tmpl = tmpl;
  rec.owner = {cluster::OwnerKind::kLeaderWorkerSet, id};
  std::string error;
  const PodId pid = store_.CreatePod(std::move(rec), &error);
  // The StatefulSet controller's events, on its StatefulSet.
  const std::string sts = worker == 0 ? lws.metadata.name : leader_name;
  if (pid == cluster::kNone) {
    store_.RecordEvent("Warning", "FailedCreate", "StatefulSet", ns, sts,
                       "create Pod " + name + " in StatefulSet " + sts + " failed error: " + error,
                       "statefulset-controller");
  } else {
    store_.RecordEvent("Normal", "SuccessfulCreate", "StatefulSet", ns, sts,
                       "create Pod " + name + " in StatefulSet " + sts + " successful",
                       "statefulset-controller");
  }
  return pid;
}

void LeaderWorkerSetController::CreateLeader(uint32_t id, size_t group) {
  const PodId p = CreatePod(id, group, 0);
  store_.leader_worker_sets()[id].groups[group].leader = p;
}

void LeaderWorkerSetController::CreateWorkerStatefulSet(uint32_t id, size_t group) {
  auto& r = store_.leader_worker_sets()[id];
  auto& g = r.groups[group];
  const auto& leader = store_.pod(g.leader);
  if (!r.obj.exclusive_topology.empty()) {
    // setNodeSelectorForWorkerPods: the workers follow the leader's domain, so they wait
    // for it to be scheduled.
    if (!leader.Bound()) return;
    const auto& labels = store_.node(leader.node).obj.metadata.labels;
    auto it = labels.find(r.obj.exclusive_topology);
    if (it == labels.end()) {
      store_.RecordEvent("Warning", "FailedCreate", "LeaderWorkerSet", r.obj.metadata.namespace_,
                         r.obj.metadata.name,
                         "node does not have topology label: " + r.obj.exclusive_topology, name_);
      return;
    }
    if (it->second != g.topology_value) {
      g.topology_value = it->second;
      // The worker templates carry the domain: built again for the new one.
      for (size_t j = 1; j < r.tmpl[group].size(); ++j) r.tmpl[group][j].reset();
    }
  }
  g.worker_sts = true;
  g.workers.assign(static_cast<size_t>(r.obj.size - 1), cluster::kNone);
  store_.RecordEvent("Normal", "GroupsProgressing", "LeaderWorkerSet", r.obj.metadata.namespace_,
                     r.obj.metadata.name,
                     "Created worker statefulset for leader pod " + leader.name, name_);
  for (int32_t j = 1; j < r.obj.size; ++j) {
    const PodId p = CreatePod(id, group, j);
    store_.leader_worker_sets()[id].groups[group].workers[static_cast<size_t>(j - 1)] = p;
  }
}

void LeaderWorkerSetController::DeleteWorkers(uint32_t id, size_t group) {
  auto& g = store_.leader_worker_sets()[id].groups[group];
  std::vector<PodId> workers;
  workers.swap(g.workers);
  g.worker_sts = false;
  for (PodId p : workers) {
    if (p != cluster::kNone && !store_.pod(p).deleted) store_.DeletePod(p);
  }
}

bool LeaderWorkerSetController::HandleRestartPolicy(uint32_t id, size_t group) {
  auto& r = store_.leader_worker_sets()[id];
  auto& g = r.groups[group];
  if (r.obj.restart_policy != "RecreateGroupOnPodRestart") return false;
  if (g.leader == cluster::kNone || store_.pod(g.leader).deleted) return false;
  // ContainerRestarted or PodDeleted, of the leader or of any worker (a failed pod counts:
  // its StatefulSet deletes it).
  const cluster::PodRecord* trigger = nullptr;
  const auto& leader = store_.pod(g.leader);
  if (leader.Terminal() || leader.restart_count > 0) trigger = &leader;
  for (PodId w : g.workers) {
    if (trigger) break;
    if (w == cluster::kNone) continue;
    const auto& p = store_.pod(w);
    if (Gone(p) || p.restart_count > 0) trigger = &p;
  }
  if (!trigger) return false;
  const std::string leader_name = leader.name;
  store_.RecordEvent("Normal", "RecreateGroupOnPodRestart", "LeaderWorkerSet",
                     r.obj.metadata.namespace_, r.obj.metadata.name,
                     "Worker pod " + trigger->name + " failed, deleted leader pod " + leader_name +
                         " to recreate group " + std::to_string(group),
                     name_);
  store_.DeletePod(g.leader);
  return true;
}

void LeaderWorkerSetController::Sync(uint32_t id, Time now) {
  auto& r = store_.leader_worker_sets()[id];
  if (r.deleted) return;
  const size_t replicas = static_cast<size_t>(r.obj.replicas);
  if (r.groups.size() < replicas) r.groups.resize(replicas);
  for (size_t i = 0; i < store_.leader_worker_sets()[id].groups.size(); ++i) {
    HandleRestartPolicy(id, i);
    auto& g = store_.leader_worker_sets()[id].groups[i];
    if (g.leader != cluster::kNone) {
      const auto& leader = store_.pod(g.leader);
      // A failed leader is deleted by the leader StatefulSet, to be created again.
      if (leader.Terminal() && !leader.deleted) store_.DeletePod(g.leader);
      if (store_.pod(g.leader).deleted) {
        // The whole group goes and comes back: its worker StatefulSet is owned by the
        // leader pod.
        g.leader = cluster::kNone;
        ++g.recreations;
        DeleteWorkers(id, i);
      }
    }
    auto& grp = store_.leader_worker_sets()[id].groups[i];
    // The worker StatefulSet replaces its failed or deleted pods under the same name.
    for (size_t j = 0; j < grp.workers.size(); ++j) {
      PodId w = grp.workers[j];
      if (w == cluster::kNone || !Gone(store_.pod(w))) continue;
      if (!store_.pod(w).deleted) store_.DeletePod(w);
      const PodId p = CreatePod(id, i, static_cast<int32_t>(j + 1));
      store_.leader_worker_sets()[id].groups[i].workers[j] = p;
    }
  }
  // The leader StatefulSet: scale down from the highest ordinal, create missing leaders.
  auto& rec = store_.leader_worker_sets()[id];
  for (size_t i = rec.groups.size(); i-- > replicas;) {
    auto& g = store_.leader_worker_sets()[id].groups[i];
    if (g.leader != cluster::kNone && !store_.pod(g.leader).deleted) store_.DeletePod(g.leader);
    DeleteWorkers(id, i);
    store_.leader_worker_sets()[id].groups.pop_back();
  }
  for (size_t i = 0; i < replicas; ++i) {
    if (store_.leader_worker_sets()[id].groups[i].leader == cluster::kNone) CreateLeader(id, i);
  }
  // The pod controller: a worker StatefulSet for each leader that may have one.
  for (size_t i = 0; i < replicas; ++i) {
    auto& r2 = store_.leader_worker_sets()[id];
    const auto& g = r2.groups[i];
    if (r2.obj.size <= 1 || g.worker_sts || g.leader == cluster::kNone) continue;
    const auto& leader = store_.pod(g.leader);
    if (leader.deleted) continue;
    if (r2.obj.startup_policy == "LeaderReady" && !leader.Ready()) continue;
    CreateWorkerStatefulSet(id, i);
  }
  UpdateStatus(id, now);
}

void LeaderWorkerSetController::UpdateStatus(uint32_t id, Time now) {
  auto& r = store_.leader_worker_sets()[id];
  int32_t ready = 0;
  for (const auto& g : r.groups) {
    bool group_ready = false;
    if (g.leader != cluster::kNone && !store_.pod(g.leader).deleted) {
      const auto& leader = store_.pod(g.leader);
      // StatefulsetReady (v0.7): the worker StatefulSet has created all its pods.
      bool workers = r.obj.size <= 1;
      if (g.worker_sts) {
        workers = true;
        for (PodId w : g.workers)
          workers = workers && w != cluster::kNone && !store_.pod(w).deleted;
      }
      group_ready = leader.Ready() && workers;
    }
    if (group_ready) ++ready;
  }
  r.ready_replicas = ready;
  const bool available = ready == r.obj.replicas;
  const std::string type = available ? "Available" : "Progressing";
  if (type == r.condition) return;
  r.condition = type;
  const std::string reason = available ? "AllGroupsReady" : "GroupsProgressing";
  const std::string message = available ? "All replicas are ready" : "Replicas are progressing";
  r.history.push_back({now, type, reason, message});
  store_.RecordEvent("Normal", reason, "LeaderWorkerSet", r.obj.metadata.namespace_,
                     r.obj.metadata.name,
                     message + ", with " + std::to_string(ready) + " groups ready of total " +
                         std::to_string(r.obj.replicas) + " groups",
                     name_);
}

}  // namespace gputwin::controllers
