#include <algorithm>

#include "controllers/names.h"
#include "controllers/ray.h"
#include "core/time.h"

namespace gputwin::controllers {

using cluster::WatchKind;
using cluster::WatchOp;

namespace {

void SetCondition(cluster::RayServiceRecord& r, Time now, const std::string& type,
                  const std::string& status, const std::string& reason,
                  const std::string& message) {
  cluster::SetStatusCondition(&r.conditions, now, type, status, reason, message);
}

// How long the serve applications take to deploy once the config is applied (runtime_env,
// replicas starting): gputwin.io/serve-deploy-time on the RayService, 0 without.
Duration DeployTime(const api::RayService& s) {
  auto it = s.metadata.annotations.find("gputwin.io/serve-deploy-time");
  if (it == s.metadata.annotations.end()) return Duration{0};
  std::string err;
  auto d = ParseDuration(it->second, &err);
  return d ? *d : Duration{0};
}

}  // namespace

RayServiceController::RayServiceController(cluster::Store* store, EventQueue* queue)
    : Controller(
          "rayservice-controller", store, queue,
          cluster::Watches({WatchKind::kRayService, WatchKind::kRayCluster, WatchKind::kPod})) {}

void RayServiceController::OnWatch(WatchKind kind, WatchOp, uint32_t id) {
  const auto& ray = store_.ray();
  if (kind == WatchKind::kPod) {
    const auto& p = store_.pod(id);
    if (p.owner.kind != cluster::OwnerKind::kRayCluster) return;
    id = p.owner.index;
    kind = WatchKind::kRayCluster;
  }
  if (kind == WatchKind::kRayCluster) {
    const auto& c = ray.clusters[id];
    if (c.origin_kind != "RayService") return;
    id = c.origin;
  }
  dirty_.Add(id);
  RequestReconcile();
}

void RayServiceController::OnTimer(Time, uint64_t arg) {
  dirty_.Add(static_cast<uint32_t>(arg));
  RequestReconcile();
}

void RayServiceController::Reconcile(Time now) {
  for (uint32_t id : dirty_.Drain()) Sync(id, now);
}

void RayServiceController::Sync(uint32_t id, Time now) {
  auto& r = store_.ray().services[id];
  if (r.deleted) return;
  const auto& m = r.obj.metadata;
  auto key = [&](const cluster::RayServiceRecord& x) {
    std::string k = x.service_status + "|" + std::to_string(x.num_serve_endpoints) + "|" +
                    x.active_name + "|" + x.pending_name;
    for (const auto& c : x.conditions) k += "|" + c.type + c.status + c.reason;
    return k;
  };
  const std::string before = key(r);
  if (!r.obj.invalid.empty()) {
    SetCondition(r, now, "Ready", "False", "ValidationFailed", r.obj.invalid);
    if (key(r) != before) {
      store_.RecordEvent("Warning", "InvalidRayServiceSpec", "RayService", m.namespace_, m.name,
                         r.obj.invalid, name_);
      store_.UpdateWorkload(WatchKind::kRayService, id);
    }
    return;
  }
  if (r.conditions.empty()) {
    SetCondition(r, now, "Ready", "False", "Initializing", "RayService is initializing");
    SetCondition(r, now, "UpgradeInProgress", "False", "Initializing",
                 "RayService is initializing");
  }
  // A changed rayClusterConfig (its hash: Kueue toggles rayClusterConfig.suspend and merges
  // its flavors) while no cluster serves yet: the pending cluster is replaced by one made from
  // the new spec (v1.6.2, the KubeRay Kueue v0.19.2 builds with, hashes suspend; see
  // docs/training.md).
  if (r.pending != cluster::kNone && r.active == cluster::kNone &&
      r.pending_generation != r.generation) {
    store_.RecordEvent("Normal", "DeletedRayCluster", "RayService", m.namespace_, m.name,
                       "Deleted RayCluster " + m.namespace_ + "/" + r.pending_name, name_);
    DeleteRayCluster(&store_, r.pending);
    auto& rr = store_.ray().services[id];
    rr.pending = cluster::kNone;
    rr.pending_name.clear();
    rr.serve_config_applied = cluster::kNever;
    rr.app_statuses.clear();
  }
  if (r.active == cluster::kNone && r.pending == cluster::kNone) {
    // The pending cluster <rayservice>-xxxxx (GenerateRayClusterName).
    api::RayCluster c;
    c.metadata.name =
        m.name + "-" + NameSuffix(HashString(m.namespace_ + "/" + m.name), r.next_suffix++);
    c.metadata.namespace_ = m.namespace_;
    c.metadata.labels = m.labels;
    c.metadata.labels["ray.io/originated-from-cr-name"] = m.name;
    c.metadata.labels["ray.io/originated-from-crd"] = "RayService";
    c.metadata.annotations["ray.io/num-worker-groups"] =
        std::to_string(r.obj.cluster_spec.worker_groups.size());
    c.metadata.annotations["ray.io/kuberay-version"] = "v1.7.0";
    c.metadata.owner_references.push_back({"RayService", m.name, true});
    c.metadata.source = r.obj.source;
    c.spec = r.obj.cluster_spec;
    r.pending_name = c.metadata.name;
    r.pending_generation = r.generation;
    const std::string name = c.metadata.name;
    const uint32_t cid = AddRayCluster(&store_, std::move(c), "RayService", id);
    store_.ray().services[id].pending = cid;
    store_.RecordEvent("Normal", "CreatedRayCluster", "RayService", m.namespace_, m.name,
                       "Created RayCluster " + m.namespace_ + "/" + name, name_);
  }
  auto& s = store_.ray().services[id];
  const auto& ray = store_.ray();
  if (s.pending != cluster::kNone) {
    const auto& c = ray.clusters[s.pending];
    // Serve: once the head is Ready the config is applied (PUT to the dashboard), and the
    // cluster is ready to take traffic when every application is RUNNING.
    if (s.serve_config_applied == cluster::kNever && c.IsTrue("HeadPodReady")) {
      s.serve_config_applied = now;
      s.apps_running_at = now + DeployTime(s.obj);
      s.app_statuses.assign(s.obj.applications.size(), "DEPLOYING");
      if (s.apps_running_at > now) At(s.apps_running_at, id);
    }
    if (s.serve_config_applied != cluster::kNever && now >= s.apps_running_at &&
        !s.obj.applications.empty()) {
      s.app_statuses.assign(s.obj.applications.size(), "RUNNING");
      // The pending cluster is promoted; the Services switch to it.
      s.active = s.pending;
      s.active_name = s.pending_name;
      s.pending = cluster::kNone;
      s.pending_name.clear();
      if (!s.services_created) {
        s.services_created = true;
        for (const char* svc : {"-head-svc", "-serve-svc"}) {
          store_.RecordEvent("Normal", "CreatedService", "RayService", m.namespace_, m.name,
                             "Created service " + m.namespace_ + "/" + m.name + svc, name_);
        }
      }
    }
  }
  // numServeEndpoints: the serve Service's ready endpoints, the active cluster's serving pods
  // (ray.io/serve=true: every worker, and the head once its proxy is healthy unless
  // excludeHeadPodFromServeSvc) that are Ready.
  int32_t endpoints = 0;
  if (s.active != cluster::kNone) {
    const auto& c = ray.clusters[s.active];
    if (!s.obj.exclude_head_from_serve_svc && c.head != cluster::kNone &&
        store_.pod(c.head).Ready()) {
      ++endpoints;
    }
    for (const auto& g : c.workers) {
      for (const auto& w : g) endpoints += store_.pod(w.pod).Ready() ? 1 : 0;
    }
  }
  s.num_serve_endpoints = endpoints;
  if (endpoints > 0) {
    SetCondition(s, now, "Ready", "True", "NonZeroServeEndpoints",
                 "Number of serve endpoints is greater than 0");
  } else if (s.Find("Ready") && s.Find("Ready")->status == "True") {
    SetCondition(s, now, "Ready", "False", "ZeroServeEndpoints",
                 "Number of serve endpoints dropped to 0");
  }
  if (s.active != cluster::kNone && s.pending != cluster::kNone) {
    SetCondition(s, now, "UpgradeInProgress", "True", "BothActivePendingClustersExist",
                 "Both active and pending Ray clusters exist");
  } else if (s.active != cluster::kNone) {
    SetCondition(s, now, "UpgradeInProgress", "False", "NoPendingCluster",
                 "Active Ray cluster exists and no pending Ray cluster");
  }
  const auto* ready = s.Find("Ready");
  s.service_status = ready && ready->status == "True" ? "Running" : "";
  if (key(s) != before) store_.UpdateWorkload(WatchKind::kRayService, id);
}

}  // namespace gputwin::controllers
