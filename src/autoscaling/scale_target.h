// The /scale subresource the HPA controller and KEDA use: spec.replicas of a Deployment
// or a StatefulSet, and the pods its selector picks.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "cluster/store.h"

namespace gputwin::autoscaling {

struct ScaleTarget {
  cluster::WatchKind kind = cluster::WatchKind::kDeployment;
  uint32_t index = cluster::kNone;

  // kind "Deployment" or "StatefulSet" (apps/v1); none when missing or another kind.
  static ScaleTarget Find(const cluster::Store& store, const std::string& kind,
                          const std::string& namespace_, const std::string& name) {
    ScaleTarget t;
    if (kind == "Deployment") {
      t.index = store.FindDeployment(namespace_, name);
    } else if (kind == "StatefulSet") {
      t.kind = cluster::WatchKind::kStatefulSet;
      t.index = store.FindStatefulSet(namespace_, name);
    }
    return t;
  }
  static bool Scalable(const std::string& kind) {
    return kind == "Deployment" || kind == "StatefulSet";
  }
  bool found() const { return index != cluster::kNone; }

  int32_t Replicas(const cluster::Store& store) const {
    return kind == cluster::WatchKind::kDeployment ? store.deployments()[index].obj.replicas
                                                   : store.stateful_sets()[index].obj.replicas;
  }
  void SetReplicas(cluster::Store* store, int32_t n) const {
    if (kind == cluster::WatchKind::kDeployment) {
      store->deployments()[index].obj.replicas = n;
    } else {
      store->stateful_sets()[index].obj.replicas = n;
    }
    store->UpdateWorkload(kind, index);
  }
  // The target's pods (its ReplicaSets' for a Deployment), in id order.
  std::vector<cluster::PodId> Pods(const cluster::Store& store) const {
    std::vector<cluster::PodId> out;
    if (kind == cluster::WatchKind::kDeployment) {
      for (const auto& rs : store.replica_sets()) {
        if (rs.deleted || rs.deployment != index) continue;
        out.insert(out.end(), rs.pods.begin(), rs.pods.end());
      }
    } else {
      for (cluster::PodId p : store.stateful_sets()[index].pods) {
        if (p != cluster::kNone) out.push_back(p);
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

}  // namespace gputwin::autoscaling
