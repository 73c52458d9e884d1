// Karpenter's v1 API (karpenter.sh/v1 NodePool, karpenter.k8s.aws/v1 EC2NodeClass) with the
// CRD defaults (there is no defaulting webhook upstream: every default is a kubebuilder
// marker). Behaviour lives in src/karpenter.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/types.h"

namespace gputwin::api {

// A NodeSelectorRequirement with Karpenter's minValues; operators In, NotIn, Exists,
// DoesNotExist, Gt, Lt, Gte, Lte.
struct NodePoolRequirement {
  SourceRef source;
  std::string key, op;
  std::vector<std::string> values;
  std::optional<int32_t> min_values;
};

struct DisruptionBudget {
  std::string nodes = "10%";         // "N" or "P%"
  std::vector<std::string> reasons;  // Underutilized | Empty | Drifted; empty: all
  std::string schedule;              // cron, UTC
  std::optional<Duration> duration;
};

struct NodePool {
  ObjectMeta metadata;
  std::optional<int32_t> weight;
  ResourceList limits;
  std::string consolidation_policy = "WhenEmptyOrUnderutilized";
  std::optional<Duration> consolidate_after = Duration{0};  // nullopt: Never
  std::vector<DisruptionBudget> budgets = {DisruptionBudget{}};
  Labels template_labels, template_annotations;
  std::string node_class_group = "karpenter.k8s.aws", node_class_kind = "EC2NodeClass",
              node_class_name;
  std::vector<NodePoolRequirement> requirements;
  std::vector<Taint> taints, startup_taints;
  std::optional<Duration> expire_after = Duration::Hours(720);  // nullopt: Never
  std::optional<Duration> termination_grace_period;
  std::optional<int64_t> replicas;  // a static NodePool (not modelled; read for lint)
};

// karpenter.k8s.aws/v1 EC2NodeClass: the fields that change the twin; the rest are kept
// out with a note (subnets, security groups, role, user data, tags, metadata options).
struct EC2NodeClass {
  ObjectMeta metadata;
  std::string ami_family;   // from amiSelectorTerms alias (al2023@latest) or amiFamily
  bool ami_latest = false;  // an alias @latest: each new AMI release drifts its nodes
  int64_t root_volume_bytes = 20LL << 30;  // blockDeviceMappings root volume, default 20Gi
  // instanceStorePolicy RAID0: the instance store disks become the node's ephemeral storage.
  bool instance_store_raid0 = false;
  std::optional<int32_t> max_pods;
  ResourceList kube_reserved, system_reserved;
  std::vector<std::string> cached_images;  // gputwin.io/cached-images: baked into the AMI
};

}  // namespace gputwin::api
