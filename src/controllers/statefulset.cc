#include "controllers/statefulset.h"

namespace gputwin::controllers {

using cluster::OwnerKind;
using cluster::PodId;
using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

StatefulSetController::StatefulSetController(cluster::Store* store, EventQueue* queue)
    : Controller("statefulset-controller", store, queue,
                 cluster::Watches({WatchKind::kStatefulSet, WatchKind::kPod})) {}

void StatefulSetController::OnWatch(WatchKind kind, WatchOp, uint32_t id) {
  if (kind == WatchKind::kStatefulSet) {
    dirty_.Add(id);
  } else {
    const auto& p = store_.pod(id);
    if (p.owner.kind != OwnerKind::kStatefulSet) return;
    dirty_.Add(p.owner.index);
  }
  RequestReconcile();
}

void StatefulSetController::Reconcile(Time now) {
  for (uint32_t id : dirty_.Drain()) Sync(id, now);
}

void StatefulSetController::OnTimer(Time, uint64_t arg) {
  dirty_.Add(static_cast<uint32_t>(arg));
  RequestReconcile();
}

PodId StatefulSetController::CreatePod(uint32_t id, int32_t ordinal) {
  auto& ss = store_.stateful_sets()[id];
  const auto slot = static_cast<size_t>(ordinal - ss.obj.ordinals_start);
  if (ss.tmpl.size() <= slot) ss.tmpl.resize(slot + 1);
  const std::string name = ss.obj.metadata.name + "-" + std::to_string(ordinal);
  const std::string& ns = ss.obj.metadata.namespace_;
  if (!ss.tmpl[slot]) {
    // newVersionedStatefulSetPod: the template's labels plus the pod's identity.
    api::ObjectMeta meta = ss.obj.template_.metadata;
    meta.labels["statefulset.kubernetes.io/pod-name"] = name;
    meta.labels["apps.kubernetes.io/pod-index"] = std::to_string(ordinal);
    ss.tmpl[slot] = store_.MakeTemplate(meta, ss.obj.template_.spec, ns);
  }
  cluster::PodRecord rec;
  rec.namespace_ = ns;
  rec.name = name;
  rec.tmpl = store_.stateful_sets()[id].tmpl[slot];
  rec.owner = {OwnerKind::kStatefulSet, id};
  std::string error;
  PodId pid = store_.CreatePod(std::move(rec), &error);
  auto& s = store_.stateful_sets()[id];
  if (pid == cluster::kNone) {
    store_.RecordEvent(
        "Warning", "FailedCreate", "StatefulSet", ns, s.obj.metadata.name,
        "create Pod " + name + " in StatefulSet " + s.obj.metadata.name + " failed error: " + error,
        name_);
    return pid;
  }
  store_.RecordEvent(
      "Normal", "SuccessfulCreate", "StatefulSet", ns, s.obj.metadata.name,
      "create Pod " + name + " in StatefulSet " + s.obj.metadata.name + " successful", name_);
  return pid;
}

void StatefulSetController::Sync(uint32_t id, Time now) {
  auto& ss = store_.stateful_sets()[id];
  if (ss.deleted) return;
  const int32_t start = ss.obj.ordinals_start;
  const bool ordered = ss.obj.pod_management_policy == "OrderedReady";
  // Forget pods that are gone; a failed or succeeded pod is deleted to be recreated.
  for (auto& p : ss.pods) {
    if (p == cluster::kNone) continue;
    const auto& pod = store_.pod(p);
    if (pod.deleted) {
      p = cluster::kNone;
    } else if (pod.Terminal()) {
      store_.DeletePod(p);
      p = cluster::kNone;
    }
  }
  auto& s = store_.stateful_sets()[id];
  // Condemned ordinals (beyond replicas), highest first.
  for (size_t slot = s.pods.size(); slot-- > static_cast<size_t>(s.obj.replicas);) {
    if (s.pods[slot] == cluster::kNone) continue;
    store_.DeletePod(s.pods[slot]);
    store_.stateful_sets()[id].pods[slot] = cluster::kNone;
  }
  for (int32_t i = 0; i < store_.stateful_sets()[id].obj.replicas; ++i) {
    auto& cur = store_.stateful_sets()[id];
    if (cur.pods.size() <= static_cast<size_t>(i))
      cur.pods.resize(static_cast<size_t>(i) + 1, cluster::kNone);
    PodId p = cur.pods[static_cast<size_t>(i)];
    if (p == cluster::kNone) {
      p = CreatePod(id, start + i);
      store_.stateful_sets()[id].pods[static_cast<size_t>(i)] = p;
      if (ordered) return;  // wait for it to be Running and Ready
      continue;
    }
    if (!ordered) continue;
    const auto& pod = store_.pod(p);
    if (!pod.Ready()) return;
    // Available: Ready for minReadySeconds.
    const Time available = pod.ReadySince() + Duration::Seconds(cur.obj.min_ready_seconds);
    if (now < available) {
      At(available, id);
      return;
    }
  }
}

}  // namespace gputwin::controllers
