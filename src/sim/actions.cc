// The scenario's actions, carried out at their times as an operator with kubectl would:
// every change is written through the store, where the controllers see it.
#include <algorithm>

#include "api/manifests.h"
#include "api/ray_types.h"
#include "cluster/ray_objects.h"
#include "controllers/ray.h"
#include "core/glob.h"
#include "kueue/kueue_controller.h"
#include "sim/drivers.h"
#include "sim/simulation.h"

namespace gputwin::sim {

std::string ObjKey(const api::ObjectMeta& m) {
  return m.namespace_ + "/" + m.name;
}

namespace {

// KIND/NAMESPACE/NAME or KIND/NAME (default namespace; the name of a cluster-scoped object).
struct KindTarget {
  std::string kind, namespace_, name;
};

KindTarget ParseKindTarget(const std::string& target) {
  KindTarget t;
  const auto first = target.find('/');
  t.kind = target.substr(0, first);
  const std::string rest = target.substr(first + 1);
  const auto second = rest.find('/');
  t.namespace_ = second == std::string::npos ? "default" : rest.substr(0, second);
  t.name = second == std::string::npos ? rest : rest.substr(second + 1);
  return t;
}

// What a Deployment's rollout would be triggered by, compared field by field.
std::string TemplateFingerprint(const api::PodTemplateSpec& t) {
  std::string f;
  for (const auto& [k, v] : t.metadata.labels) f += k + "=" + v + ";";
  for (const auto& c : t.spec.containers) {
    f += "|" + c.name + "@" + c.image;
    for (const auto& [r, q] : c.resources.requests) f += "," + r + "=" + std::to_string(q.milli);
    for (const auto& [r, q] : c.resources.limits) f += ",l" + r + "=" + std::to_string(q.milli);
  }
  for (const auto& [k, v] : t.spec.node_selector) f += ";ns" + k + "=" + v;
  return f;
}

}  // namespace

void Simulation::ApplyObjects(const api::ScenarioAction& a) {
  auto& store = store_;
  const auto& m = *a.applied;
  const std::string at = FormatDuration(a.at);
  auto note = [&](const SourceRef& src, const std::string& field, const std::string& what) {
    manifests_.diagnostics.Warn(src, field, "applied at " + at + ": " + what);
  };
  if (m.ray) {
    for (const auto& c : m.ray->clusters) {
      note(c.spec.source, "",
           "RayCluster " + ObjKey(c.metadata) +
               ": Ray objects applied during a run are not modelled (ignored)");
    }
    for (const auto& j : m.ray->jobs) {
      note(j.source, "",
           "RayJob " + ObjKey(j.metadata) +
               ": Ray objects applied during a run are not modelled (ignored)");
    }
    for (const auto& s : m.ray->services) {
      note(s.source, "",
           "RayService " + ObjKey(s.metadata) +
               ": Ray objects applied during a run are not modelled (ignored)");
    }
  }
  for (const auto& n : m.nodes) {
    cluster::NodeId id = store.FindNode(n.metadata.name);
    if (id == cluster::kNone) {
      store.AddNode(n);
      continue;
    }
    // A changed Node: labels, taints and cordon as written (capacity is the kubelet's).
    auto& node = store.node(id);
    node.obj.metadata.labels = n.metadata.labels;
    node.obj.taints = n.taints;
    node.obj.unschedulable = n.unschedulable;
    store.UpdateNode(id);
  }
  for (const auto& p : m.pods) {
    if (store.FindPod(p.metadata.namespace_, p.metadata.name) != cluster::kNone) {
      note(p.metadata.source, "spec",
           "pod " + ObjKey(p.metadata) +
               " exists: a pod's spec is immutable apart from images and gates, the twin "
               "leaves it as it is");
      continue;
    }
    cluster::PodRecord rec;
    rec.namespace_ = p.metadata.namespace_;
    rec.name = p.metadata.name;
    rec.tmpl = store.MakeTemplate(p.metadata, p.spec, p.metadata.namespace_);
    std::string error;
    cluster::PodId id = store.CreatePod(std::move(rec), &error);
    if (id == cluster::kNone) {
      note(p.metadata.source, "",
           "the API server refuses pod " + ObjKey(p.metadata) + ": " + error);
      continue;
    }
    if (!p.spec.node_name.empty()) {
      cluster::NodeId n = store.FindNode(p.spec.node_name);
      if (n != cluster::kNone) store.BindPod(id, n);
    }
  }
  for (const auto& j : m.jobs) {
    uint32_t id = store.FindJob(j.metadata.namespace_, j.metadata.name);
    if (id == cluster::kNone) {
      api::Job created = j;
      created.metadata.creation_timestamp.reset();  // the API server stamps it now
      store.AddJob(std::move(created));
      continue;
    }
    // The mutable fields of a Job; spec.template, completions and the selector are
    // immutable (the API server would refuse a change to them).
    auto& job = store.jobs()[id];
    if (TemplateFingerprint(*job.obj.template_) != TemplateFingerprint(*j.template_) ||
        job.obj.completions != j.completions) {
      note(j.metadata.source, "spec.template",
           "Job " + ObjKey(j.metadata) +
               " exists and its spec.template or completions differ: field is immutable, the "
               "API server refuses the apply; nothing changed");
      continue;
    }
    job.obj.suspend = j.suspend;
    job.obj.parallelism = j.parallelism;
    job.obj.active_deadline_seconds = j.active_deadline_seconds;
    store.UpdateWorkload(cluster::WatchKind::kJob, id);
  }
  for (const auto& d : m.deployments) {
    uint32_t id = store.FindDeployment(d.metadata.namespace_, d.metadata.name);
    if (id == cluster::kNone) {
      store.AddDeployment(d);
      continue;
    }
    auto& dep = store.deployments()[id];
    if (TemplateFingerprint(dep.obj.template_) != TemplateFingerprint(d.template_)) {
      note(d.metadata.source, "spec.template",
           "Deployment " + ObjKey(d.metadata) +
               ": a changed pod template starts a rollout upstream (RollingUpdate); the twin "
               "does not roll out template changes and applies spec.replicas only");
    }
    dep.obj.replicas = d.replicas;
    store.UpdateWorkload(cluster::WatchKind::kDeployment, id);
  }
  for (const auto& ss : m.stateful_sets) {
    uint32_t id = store.FindStatefulSet(ss.metadata.namespace_, ss.metadata.name);
    if (id == cluster::kNone) {
      store.AddStatefulSet(ss);
      continue;
    }
    auto& rec = store.stateful_sets()[id];
    if (TemplateFingerprint(rec.obj.template_) != TemplateFingerprint(ss.template_)) {
      note(ss.metadata.source, "spec.template",
           "StatefulSet " + ObjKey(ss.metadata) +
               ": a changed pod template is rolled out upstream (RollingUpdate from the highest "
               "ordinal); the twin applies spec.replicas only");
    }
    rec.obj.replicas = ss.replicas;
    store.UpdateWorkload(cluster::WatchKind::kStatefulSet, id);
  }
}

void Simulation::DeleteOrPatch(const api::ScenarioAction& a) {
  auto& store = store_;
  const KindTarget t = ParseKindTarget(a.target);
  int matched = 0;
  if (t.kind == "workload") {
    if (kueue_) matched = kueue_->SetActive(t.namespace_, t.name, *a.patch_active);
  } else if (t.kind == "node") {
    cluster::NodeId n = store.FindNode(t.name);
    if (n != cluster::kNone && !store.node(n).deleted) {
      store.DeleteNode(n);
      ++matched;
    }
  } else if (t.kind == "pod") {
    for (cluster::PodId p = 0; p < store.pod_count(); ++p) {
      const auto& pod = store.pod(p);
      if (pod.deleted || pod.namespace_ != t.namespace_ || !Glob(t.name.c_str(), pod.name.c_str()))
        continue;
      store.DeletePod(p);
      ++matched;
    }
  } else if (t.kind == "job") {
    for (uint32_t j = 0; j < store.jobs().size(); ++j) {
      auto& job = store.jobs()[j];
      const auto& meta = job.obj.metadata;
      if (job.deleted || meta.namespace_ != t.namespace_ ||
          !Glob(t.name.c_str(), meta.name.c_str()))
        continue;
      ++matched;
      if (a.action == "delete") {
        store.DeleteJob(j);
      } else {
        job.obj.suspend = *a.patch_suspend;
        store.UpdateWorkload(cluster::WatchKind::kJob, j);
      }
    }
  } else if (t.kind == "deployment") {
    for (uint32_t d = 0; d < store.deployments().size(); ++d) {
      auto& dep = store.deployments()[d];
      const auto& meta = dep.obj.metadata;
      if (dep.deleted || meta.namespace_ != t.namespace_ ||
          !Glob(t.name.c_str(), meta.name.c_str()))
        continue;
      ++matched;
      if (a.action == "delete") {
        store.DeleteDeployment(d);
      } else {
        dep.obj.replicas = *a.patch_replicas;
        store.UpdateWorkload(cluster::WatchKind::kDeployment, d);
      }
    }
  } else if (t.kind == "statefulset") {
    for (uint32_t i = 0; i < store.stateful_sets().size(); ++i) {
      auto& ss = store.stateful_sets()[i];
      const auto& meta = ss.obj.metadata;
      if (ss.deleted || meta.namespace_ != t.namespace_ || !Glob(t.name.c_str(), meta.name.c_str()))
        continue;
      ++matched;
      if (a.action == "delete") {
        store.DeleteStatefulSet(i);
      } else {
        ss.obj.replicas = *a.patch_replicas;
        store.UpdateWorkload(cluster::WatchKind::kStatefulSet, i);
      }
    }
  } else if (t.kind == "raycluster") {
    auto& ray = store.ray();
    for (uint32_t i = 0; i < ray.clusters.size(); ++i) {
      auto& c = ray.clusters[i];
      const auto& meta = c.obj.metadata;
      if (c.deleted || meta.namespace_ != t.namespace_ || !Glob(t.name.c_str(), meta.name.c_str()))
        continue;
      ++matched;
      if (a.patch_suspend) c.obj.spec.suspend = *a.patch_suspend;
      for (const auto& [group, replicas] : a.patch_worker_replicas) {
        for (auto& g : c.obj.spec.worker_groups) {
          if (g.group_name == group) g.replicas = replicas;
        }
      }
      store.UpdateWorkload(cluster::WatchKind::kRayCluster, i);
    }
  } else if (t.kind == "rayjob") {
    auto& ray = store.ray();
    for (uint32_t i = 0; i < ray.jobs.size(); ++i) {
      auto& j = ray.jobs[i];
      const auto& meta = j.obj.metadata;
      if (j.deleted || meta.namespace_ != t.namespace_ || !Glob(t.name.c_str(), meta.name.c_str()))
        continue;
      ++matched;
      if (a.patch_suspend) j.obj.suspend = *a.patch_suspend;
      store.UpdateWorkload(cluster::WatchKind::kRayJob, i);
    }
  } else if (t.kind == "leaderworkerset") {
    // The scale subresource: the leader StatefulSet follows, then each group's workers.
    for (uint32_t i = 0; i < store.leader_worker_sets().size(); ++i) {
      auto& lws = store.leader_worker_sets()[i];
      const auto& meta = lws.obj.metadata;
      if (lws.deleted || meta.namespace_ != t.namespace_ ||
          !Glob(t.name.c_str(), meta.name.c_str()))
        continue;
      ++matched;
      lws.obj.replicas = *a.patch_replicas;
      store.UpdateWorkload(cluster::WatchKind::kLeaderWorkerSet, i);
    }
  }
  if (matched == 0) {
    // kubectl: Error from server (NotFound); the run goes on.
    manifests_.diagnostics.Warn(a.source, a.action,
                                "at " + FormatDuration(a.at) + ": " + t.kind + " \"" + t.name +
                                    "\" not found in namespace \"" + t.namespace_ +
                                    "\" (NotFound): nothing " +
                                    (a.action == "delete" ? "deleted" : "patched"));
  }
}

void ActionRunner::OnEvent(Time now, uint64_t arg) {
  const auto& a = sim_.scenario_.actions[arg];
  auto& store = sim_.store_;
  (void)now;
  if (a.action == "apply") {
    sim_.ApplyObjects(a);
    return;
  }
  if (a.action == "delete" || a.action == "patch") {
    sim_.DeleteOrPatch(a);
    return;
  }
  if (a.action == "scale") {
    // `kubectl scale deployment`: spec.replicas, written through the API server.
    for (uint32_t i = 0; i < store.deployments().size(); ++i) {
      auto& d = store.deployments()[i];
      if (d.obj.metadata.name == a.target || ObjKey(d.obj.metadata) == a.target) {
        d.obj.replicas = a.replicas;
        store.UpdateWorkload(cluster::WatchKind::kDeployment, i);
      }
    }
    return;
  }
  if (a.action == "delete-pod" || a.action == "remove-scheduling-gate") {
    std::string ns = "default", name = a.target;
    if (auto slash = a.target.find('/'); slash != std::string::npos) {
      ns = a.target.substr(0, slash);
      name = a.target.substr(slash + 1);
    }
    // A glob deletes every live pod it matches, like `kubectl delete pod` on a list.
    for (cluster::PodId p = 0; p < store.pod_count(); ++p) {
      const auto& pod = store.pod(p);
      if (pod.deleted || pod.namespace_ != ns || !Glob(name.c_str(), pod.name.c_str())) continue;
      if (a.action == "delete-pod") {
        store.DeletePod(p);
      } else {
        store.RemoveSchedulingGates(p, a.gate);  // as the controller that owns the gate would
      }
    }
    return;
  }
  cluster::NodeId n = store.FindNode(a.target);
  if (n == cluster::kNone) return;  // already deleted
  auto& node = store.node(n);
  if (a.action == "cordon" || a.action == "uncordon") {
    node.obj.unschedulable = a.action == "cordon";
    store.UpdateNode(n);
  } else if (a.action == "drain") {
    // kubectl drain --ignore-daemonsets: cordon, then evict every other pod.
    node.obj.unschedulable = true;
    store.UpdateNode(n);
    std::vector<cluster::PodId> pods = store.node(n).pods;
    for (cluster::PodId p : pods) {
      auto& pod = store.pod(p);
      if (pod.owner.kind == cluster::OwnerKind::kDaemonSet) continue;
      pod.reason = "Evicted";
      pod.message = "Evicted by kubectl drain " + a.target;
      pod.disruption_target = "EvictionByEvictionAPI";
      store.DeletePod(p);
    }
  } else if (a.action == "node-not-ready") {
    node.kubelet_posting = false;
    node.kubelet_stopped_at = store.now();
    store.UpdateNode(n);
  } else if (a.action == "node-ready") {
    node.kubelet_posting = true;
    store.UpdateNode(n);
  } else if (a.action == "delete-node") {
    store.DeleteNode(n);
  } else if (a.action == "taint" || a.action == "untaint") {
    auto& taints = node.obj.taints;
    auto it = std::find_if(taints.begin(), taints.end(), [&](const api::Taint& t) {
      return t.key == a.taint.key && t.effect == a.taint.effect;
    });
    if (it != taints.end()) taints.erase(it);
    if (a.action == "taint") taints.push_back(a.taint);
    store.UpdateNode(n);
  }
}

}  // namespace gputwin::sim
