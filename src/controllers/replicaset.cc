#include "controllers/replicaset.h"

#include <algorithm>

#include "controllers/names.h"

namespace gputwin::controllers {

using cluster::OwnerKind;
using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

ReplicaSetController::ReplicaSetController(Store* store, EventQueue* queue)
    : Controller(
          "replicaset-controller", store, queue,
          cluster::Watches({WatchKind::kDeployment, WatchKind::kReplicaSet, WatchKind::kPod})) {}

void ReplicaSetController::OnWatch(WatchKind kind, WatchOp op, uint32_t id) {
  if (kind == WatchKind::kDeployment) {
    deployments_.Add(id);
  } else if (kind == WatchKind::kReplicaSet) {
    replica_sets_.Add(id);
  } else if (kind == WatchKind::kPod) {
    const auto& p = store_.pod(id);
    if (p.owner.kind != OwnerKind::kReplicaSet) return;
    if (op == WatchOp::kDeleted || p.Terminal())
      replica_sets_.Add(p.owner.index);
    else
      return;
  } else {
    return;
  }
  RequestReconcile();
}

void ReplicaSetController::Reconcile(Time) {
  for (uint32_t d : deployments_.Drain()) SyncDeployment(d);
  for (uint32_t rs : replica_sets_.Drain()) SyncReplicaSet(rs);
}

void ReplicaSetController::OnTimer(Time, uint64_t arg) {
  replica_sets_.Add(static_cast<uint32_t>(arg));
  RequestReconcile();
}

void ReplicaSetController::SyncDeployment(uint32_t id) {
  auto& d = store_.deployments()[id];
  if (d.deleted) return;
  if (d.replica_set != cluster::kNone) {
    auto& rs = store_.replica_sets()[d.replica_set];
    if (rs.obj.replicas != d.obj.replicas) {
      int32_t old = rs.obj.replicas;
      rs.obj.replicas = d.obj.replicas;
      store_.RecordEvent("Normal", "ScalingReplicaSet", "Deployment", d.obj.metadata.namespace_,
                         d.obj.metadata.name,
                         std::string("Scaled ") + (d.obj.replicas > old ? "up" : "down") +
                             " replica set " + rs.obj.metadata.name + " from " +
                             std::to_string(old) + " to " + std::to_string(d.obj.replicas),
                         "deployment-controller");
      store_.UpdateWorkload(WatchKind::kReplicaSet, d.replica_set);
    }
    return;
  }
  // The new ReplicaSet: named after the pod-template-hash, which also labels its pods.
  std::string hash =
      NameSuffix(HashString(d.obj.metadata.namespace_ + "/" + d.obj.metadata.name), 0, 10);
  api::ReplicaSet rs;
  rs.metadata.name = d.obj.metadata.name + "-" + hash;
  rs.metadata.namespace_ = d.obj.metadata.namespace_;
  rs.metadata.labels = d.obj.template_.metadata.labels;
  rs.metadata.labels["pod-template-hash"] = hash;
  rs.metadata.source = d.obj.metadata.source;
  rs.replicas = d.obj.replicas;
  rs.selector = d.obj.selector;
  rs.selector.match_labels["pod-template-hash"] = hash;
  rs.template_ = d.obj.template_;
  rs.template_.metadata.labels["pod-template-hash"] = hash;
  rs.template_.metadata.source = d.obj.template_.metadata.source;
  std::string rs_name = rs.metadata.name;
  d.replica_set = store_.AddReplicaSet(std::move(rs), id);
  store_.RecordEvent(
      "Normal", "ScalingReplicaSet", "Deployment", d.obj.metadata.namespace_, d.obj.metadata.name,
      "Scaled up replica set " + rs_name + " from 0 to " + std::to_string(d.obj.replicas),
      "deployment-controller");
}

void ReplicaSetController::SyncReplicaSet(uint32_t id) {
  auto& rs = store_.replica_sets()[id];
  if (rs.deleted) return;
  // FilterActivePods: not terminal and not being deleted.
  std::vector<PodId> active;
  for (PodId p : rs.pods) {
    const auto& pod = store_.pod(p);
    if (!pod.deleted && !pod.Terminal()) active.push_back(p);
  }
  rs.pods = active;
  int64_t diff = static_cast<int64_t>(rs.obj.replicas) - static_cast<int64_t>(active.size());
  const std::string& ns = rs.obj.metadata.namespace_;
  if (diff > 0) {
    if (create_failures_.size() <= id) create_failures_.resize(id + 1, 0);
    for (int64_t i = 0; i < diff; ++i) {
      cluster::PodRecord rec;
      rec.namespace_ = ns;
      rec.name = rs.obj.metadata.name + "-" +
                 NameSuffix(HashString(ns + "/" + rs.obj.metadata.name), rs.next_suffix++);
      rec.tmpl = rs.tmpl;
      rec.owner = {OwnerKind::kReplicaSet, id};
      std::string error;
      PodId pid = store_.CreatePod(std::move(rec), &error);
      if (pid == cluster::kNone) {
        store_.RecordEvent("Warning", "FailedCreate", "ReplicaSet", ns, rs.obj.metadata.name,
                           "Error creating: " + error, name_);
        // The work queue's rate limiter: 5ms doubling, at most 1000s.
        int32_t n = create_failures_[id]++;
        Duration delay = Duration::Milliseconds(5) * (int64_t{1} << std::min(n, 17));
        After(std::min(delay, Duration::Seconds(1000)), id);
        return;
      }
      create_failures_[id] = 0;
      store_.replica_sets()[id].pods.push_back(pid);
      store_.RecordEvent("Normal", "SuccessfulCreate", "ReplicaSet", ns,
                         store_.replica_sets()[id].obj.metadata.name,
                         "Created pod: " + store_.pod(pid).name, name_);
    }
  } else if (diff < 0) {
    // getPodsToDelete ranking: unassigned before assigned, Pending before Running,
    // then the most recently started first.
    std::vector<PodId> order = active;
    std::stable_sort(order.begin(), order.end(), [&](PodId a, PodId b) {
      const auto& x = store_.pod(a);
      const auto& y = store_.pod(b);
      if (x.Bound() != y.Bound()) return !x.Bound();
      if (x.phase != y.phase) return x.phase == PodPhase::kPending;
      return x.started_at > y.started_at;
    });
    for (int64_t i = 0; i < -diff; ++i) {
      PodId victim = order[static_cast<size_t>(i)];
      std::string pod_name = store_.pod(victim).name;
      store_.DeletePod(victim);
      store_.RecordEvent("Normal", "SuccessfulDelete", "ReplicaSet", ns, rs.obj.metadata.name,
                         "Deleted pod: " + pod_name, name_);
    }
  }
}

}  // namespace gputwin::controllers
