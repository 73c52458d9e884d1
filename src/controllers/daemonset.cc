#include "controllers/daemonset.h"

#include <algorithm>

#include "cluster/scheduling_helpers.h"
#include "controllers/names.h"

namespace gputwin::controllers {

using cluster::OwnerKind;
using cluster::WatchKind;
using cluster::WatchOp;

DaemonSetController::DaemonSetController(Store* store, EventQueue* queue)
    : Controller("daemonset-controller", store, queue,
                 cluster::Watches({WatchKind::kDaemonSet, WatchKind::kNode, WatchKind::kPod})) {}

DaemonSetController::Dirty& DaemonSetController::StateOf(uint32_t ds) {
  if (state_.size() <= ds) state_.resize(ds + 1);
  return state_[ds];
}

void DaemonSetController::OnWatch(WatchKind kind, WatchOp op, uint32_t id) {
  if (kind == WatchKind::kDaemonSet) {
    StateOf(id).full = true;
    dirty_.Add(id);
  } else if (kind == WatchKind::kNode) {
    // A node came, went or changed labels/taints: every DaemonSet looks at it again.
    all_dirty_ = true;
    for (uint32_t ds = 0; ds < store_.daemon_sets().size(); ++ds) StateOf(ds).nodes.Add(id);
  } else if (kind == WatchKind::kPod) {
    const auto& p = store_.pod(id);
    if (p.owner.kind != OwnerKind::kDaemonSet) return;
    if (op != WatchOp::kDeleted && !p.Terminal()) return;
    Dirty& d = StateOf(p.owner.index);
    if (p.daemon_node == cluster::kNone) {
      d.full = true;
    } else {
      d.nodes.Add(p.daemon_node);
    }
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
  if (n == cluster::kNone) return false;  // a snapshot's daemon pod not bound to a node
  const auto& node = store_.node(n);
  if (node.deleted) return false;
  const auto& spec = *store_.daemon_sets()[ds].tmpl->spec;
  if (!cluster::MatchesRequiredAffinity(spec, node.obj.metadata.labels, node.name())) return false;
  return cluster::FindUntoleratedTaint(node.obj.taints, spec.tolerations, true, true) == nullptr;
}

bool DaemonSetController::CreateDaemonPod(uint32_t id, NodeId n, PodId* created) {
  const auto& d = store_.daemon_sets()[id];
  const std::string& ns = d.obj.metadata.namespace_;
  const std::string& ds_name = d.obj.metadata.name;
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
    return false;
  }
  *created = pid;
  store_.RecordEvent("Normal", "SuccessfulCreate", "DaemonSet", ns, ds_name,
                     "Created pod: " + store_.pod(pid).name, name_);
  return true;
}

void DaemonSetController::Sync(uint32_t id) {
  Dirty& st = StateOf(id);
  const bool full = st.full;
  std::vector<NodeId> nodes = st.nodes.Drain();
  if (full) {
    st.full = false;
    nodes.resize(store_.node_count());
    for (NodeId n = 0; n < nodes.size(); ++n) nodes[n] = n;
    st.on_node.assign(store_.node_count(), cluster::kNone);
  } else {
    if (nodes.empty()) return;
    // Creations that failed are tried again on any change.
    nodes.insert(nodes.end(), st.failed.begin(), st.failed.end());
    std::sort(nodes.begin(), nodes.end());
    nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
    st.on_node.resize(store_.node_count(), cluster::kNone);
  }
  st.failed.clear();
  const auto& ds = store_.daemon_sets()[id];
  if (ds.deleted) return;
  const std::string& ns = ds.obj.metadata.namespace_;
  const std::string& ds_name = ds.obj.metadata.name;
  // Its pods first, in the order of its pod list (creation order: PodIds ascend): all of
  // them, or those on these nodes; then the nodes without one, in id order.
  std::vector<PodId> pods;
  if (full) {
    pods = ds.pods;
  } else {
    for (NodeId n : nodes) {
      if (st.on_node[n] != cluster::kNone) pods.push_back(st.on_node[n]);
    }
    std::sort(pods.begin(), pods.end());
  }
  std::vector<PodId> gone;
  for (PodId p : pods) {
    const auto& pod = store_.pod(p);
    const NodeId n = pod.daemon_node;
    if (!pod.deleted && !pod.Terminal() && ShouldRun(id, n)) {
      st.on_node[n] = p;
      continue;
    }
    // A failed daemon pod is deleted and replaced; one on a node it should not run on is
    // deleted.
    if (!pod.deleted) {
      const bool ended = pod.Terminal();
      store_.DeletePod(p);
      if (!ended) {
        store_.RecordEvent("Normal", "SuccessfulDelete", "DaemonSet", ns, ds_name,
                           "Deleted pod: " + store_.pod(p).name, name_);
      }
    }
    gone.push_back(p);
    if (n != cluster::kNone && st.on_node[n] == p) st.on_node[n] = cluster::kNone;
  }
  std::vector<PodId> created;
  for (NodeId n : nodes) {
    if (st.on_node[n] != cluster::kNone || !ShouldRun(id, n)) continue;
    PodId pid;
    if (!CreateDaemonPod(id, n, &pid)) {
      st.failed.push_back(n);
      continue;
    }
    st.on_node[n] = pid;
    created.push_back(pid);
  }
  auto& list = store_.daemon_sets()[id].pods;
  if (!gone.empty()) {
    std::sort(gone.begin(), gone.end());
    std::erase_if(list, [&](PodId p) { return std::binary_search(gone.begin(), gone.end(), p); });
  }
  list.insert(list.end(), created.begin(), created.end());
}

}  // namespace gputwin::controllers
