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
  for (uint32_t ds : dirty_.Drain()) {
    Dirty& d = StateOf(ds);
    if (d.full) {
      Sync(ds);
      continue;
    }
    std::vector<NodeId> nodes = d.nodes.Drain();
    if (nodes.empty()) continue;
    nodes.insert(nodes.end(), d.failed.begin(), d.failed.end());
    std::sort(nodes.begin(), nodes.end());
    nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
    SyncNodes(ds, std::move(nodes));
  }
}

bool DaemonSetController::ShouldRun(uint32_t ds, NodeId n) const {
  if (n == cluster::kNone) return false;  // a snapshot's daemon pod not bound to a node
  const auto& node = store_.node(n);
  if (node.deleted) return false;
  const auto& spec = store_.daemon_sets()[ds].tmpl->spec;
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
  // (CreatePod may grow the Store's tables: names are read again.)
  const auto& meta = store_.daemon_sets()[id].obj.metadata;
  if (pid == cluster::kNone) {
    store_.RecordEvent("Warning", "FailedCreate", "DaemonSet", meta.namespace_, meta.name,
                       "Error creating: " + error, name_);
    return false;
  }
  *created = pid;
  store_.RecordEvent("Normal", "SuccessfulCreate", "DaemonSet", meta.namespace_, meta.name,
                     "Created pod: " + store_.pod(pid).name, name_);
  return true;
}

void DaemonSetController::Sync(uint32_t id) {
  Dirty& st = StateOf(id);
  st.full = false;
  st.nodes.Drain();
  st.failed.clear();
  st.on_node.assign(store_.node_count(), cluster::kNone);
  auto& ds = store_.daemon_sets()[id];
  if (ds.deleted) return;
  const std::string ns = ds.obj.metadata.namespace_;
  const std::string ds_name = ds.obj.metadata.name;
  std::vector<PodId> live;
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
    st.on_node[pod.daemon_node] = p;
    live.push_back(p);
  }
  for (NodeId n = 0; n < store_.node_count(); ++n) {
    if (st.on_node[n] != cluster::kNone || !ShouldRun(id, n)) continue;
    PodId pid;
    if (!CreateDaemonPod(id, n, &pid)) {
      st.failed.push_back(n);
      continue;
    }
    st.on_node[n] = pid;
    live.push_back(pid);
  }
  store_.daemon_sets()[id].pods = std::move(live);
}

void DaemonSetController::SyncNodes(uint32_t id, std::vector<NodeId> nodes) {
  Dirty& st = StateOf(id);
  if (st.on_node.size() < store_.node_count())
    st.on_node.resize(store_.node_count(), cluster::kNone);
  st.failed.clear();
  if (store_.daemon_sets()[id].deleted) return;
  const std::string ns = store_.daemon_sets()[id].obj.metadata.namespace_;
  const std::string ds_name = store_.daemon_sets()[id].obj.metadata.name;
  // Its pods on these nodes first, in the order of its pod list (creation order: PodIds
  // ascend), then the nodes without one in id order: the order a whole sync would take.
  std::vector<std::pair<PodId, NodeId>> pods;
  for (NodeId n : nodes) {
    if (st.on_node[n] != cluster::kNone) pods.emplace_back(st.on_node[n], n);
  }
  std::sort(pods.begin(), pods.end());
  std::vector<PodId> gone;
  for (auto [p, n] : pods) {
    auto& pod = store_.pod(p);
    if (pod.deleted) {
      gone.push_back(p);
    } else if (pod.Terminal()) {
      store_.DeletePod(p);
      gone.push_back(p);
    } else if (!ShouldRun(id, n)) {
      store_.DeletePod(p);
      store_.RecordEvent("Normal", "SuccessfulDelete", "DaemonSet", ns, ds_name,
                         "Deleted pod: " + store_.pod(p).name, name_);
      gone.push_back(p);
    } else {
      continue;
    }
    st.on_node[n] = cluster::kNone;
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
