#include "controllers/daemonset.h"

#include "cluster/scheduling_helpers.h"
#include "controllers/names.h"

namespace gputwin::controllers {

using cluster::OwnerKind;
using cluster::WatchKind;
using cluster::WatchOp;

DaemonSetController::DaemonSetController(Store* store, EventQueue* queue)
    : Controller("daemonset-controller", store, queue,
                 cluster::Watches({WatchKind::kDaemonSet, WatchKind::kNode, WatchKind::kPod})) {}

void DaemonSetController::OnWatch(WatchKind kind, WatchOp op, uint32_t id) {
  if (kind == WatchKind::kDaemonSet) {
    dirty_.Add(id);
  } else if (kind == WatchKind::kNode) {
    all_dirty_ = true;  // a node came, went or changed labels/taints
  } else if (kind == WatchKind::kPod) {
    const auto& p = store_.pod(id);
    if (p.owner.kind != OwnerKind::kDaemonSet) return;
    if (op != WatchOp::kDeleted && !p.Terminal()) return;
    dirty_.Add(p.owner.index);
  } else {
    return;
  }
  if (store_.daemon_sets().empty()) return;
  RequestReconcile();
}

void DaemonSetController::Reconcile(Time) {
  if (all_dirty_) {
    all_dirty_ = false;
    for (uint32_t i = 0; i < store_.daemon_sets().size(); ++i) dirty_.Add(i);
  }
  for (uint32_t ds : dirty_.Drain()) Sync(ds);
}

bool DaemonSetController::ShouldRun(uint32_t ds, NodeId n) const {
  const auto& node = store_.node(n);
  if (node.deleted) return false;
  const auto& spec = store_.daemon_sets()[ds].tmpl->spec;
  if (!cluster::MatchesRequiredAffinity(spec, node.obj.metadata.labels, node.name())) return false;
  return cluster::FindUntoleratedTaint(node.obj.taints, spec.tolerations, true, true) == nullptr;
}

void DaemonSetController::Sync(uint32_t id) {
  auto& ds = store_.daemon_sets()[id];
  if (ds.deleted) return;
  const std::string ns = ds.obj.metadata.namespace_;
  const std::string ds_name = ds.obj.metadata.name;
  std::vector<PodId> live;
  std::vector<bool> has_pod(store_.node_count(), false);
  for (PodId p : ds.pods) {
    auto& pod = store_.pod(p);
    if (pod.deleted) continue;
    if (pod.Terminal()) {
      // A failed daemon pod is deleted and replaced.
      store_.DeletePod(p);
      continue;
    }
    if (!ShouldRun(id, pod.daemon_node)) {
      store_.DeletePod(p);
      store_.RecordEvent("Normal", "SuccessfulDelete", "DaemonSet", ns, ds_name,
                         "Deleted pod: " + store_.pod(p).name, name_);
      continue;
    }
    has_pod[pod.daemon_node] = true;
    live.push_back(p);
  }
  for (NodeId n = 0; n < store_.node_count(); ++n) {
    if (has_pod[n] || !ShouldRun(id, n)) continue;
    auto& d = store_.daemon_sets()[id];
    cluster::PodRecord rec;
    rec.namespace_ = ns;
    rec.name = ds_name + "-" + NameSuffix(HashString(ns + "/" + ds_name), n);
    rec.tmpl = d.tmpl;
    rec.owner = {OwnerKind::kDaemonSet, id};
    rec.daemon_node = n;
    std::string error;
    PodId pid = store_.CreatePod(std::move(rec), &error);
    if (pid == cluster::kNone) {
      store_.RecordEvent("Warning", "FailedCreate", "DaemonSet", ns, ds_name,
                         "Error creating: " + error, name_);
      continue;
    }
    live.push_back(pid);
    store_.RecordEvent("Normal", "SuccessfulCreate", "DaemonSet", ns, ds_name,
                       "Created pod: " + store_.pod(pid).name, name_);
  }
  store_.daemon_sets()[id].pods = std::move(live);
}

}  // namespace gputwin::controllers
