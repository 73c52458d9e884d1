// Kueue objects, v1beta1 and v1beta2 (cohort → cohortName; Borrow/Preempt fungibility
// names), validated as Kueue's webhooks and CRD rules do (pkg/webhooks, CEL markers).
#include <algorithm>
#include <set>

#include "api/decode_core.h"
#include "api/decode_kinds.h"
#include "api/not_modelled.h"

namespace gputwin::api {
namespace {

constexpr size_t kMaxResourceGroups = 16, kMaxCovered = 64, kMaxFlavors = 64;

Quantity NonNegative(YamlReader& r, const std::string& key, bool required) {
  auto q = r.OptQuantity(key);
  if (!q) {
    if (required) r.Fail(key, "Required value");
    return Quantity{0};
  }
  if (q->milli < 0) r.Fail(key, "Invalid value: must be greater than or equal to 0");
  return *q;
}

std::vector<ResourceGroup> DecodeResourceGroups(YamlReader& spec, bool has_parent,
                                                const char* parent_word) {
  std::vector<ResourceGroup> out;
  auto groups = spec.ObjectList("resourceGroups");
  if (groups.size() > kMaxResourceGroups) {
    spec.Fail("resourceGroups", "Too many: " + std::to_string(groups.size()) +
                                    ": must have at most " + std::to_string(kMaxResourceGroups) +
                                    " items");
  }
  std::set<std::string> seen_resources, seen_flavors;
  for (auto& g : groups) {
    ResourceGroup rg;
    rg.covered_resources = g.StringList("coveredResources");
    if (rg.covered_resources.empty()) g.Fail("coveredResources", "Required value");
    if (rg.covered_resources.size() > kMaxCovered) {
      g.Fail("coveredResources", "Too many: must have at most 64 items");
    }
    for (const auto& res : rg.covered_resources) {
      if (!seen_resources.insert(res).second) {
        g.Fail("coveredResources", "Duplicate value: \"" + res +
                                       "\": a resource may be covered by only one resource group");
      }
    }
    auto flavors = g.ObjectList("flavors");
    if (flavors.empty()) g.Fail("flavors", "Required value");
    if (flavors.size() > kMaxFlavors) g.Fail("flavors", "Too many: must have at most 64 items");
    for (auto& f : flavors) {
      FlavorQuotas fq;
      fq.name = f.RequiredString("name");
      if (!seen_flavors.insert(fq.name).second) {
        f.Fail("name", "Duplicate value: \"" + fq.name +
                           "\": a flavor may appear in only one resource group");
      }
      auto resources = f.ObjectList("resources");
      if (resources.size() != rg.covered_resources.size()) {
        f.Fail("resources", "Invalid value: " + std::to_string(resources.size()) +
                                ": must have the same number of resources as coveredResources (" +
                                std::to_string(rg.covered_resources.size()) + ")");
      }
      for (size_t i = 0; i < resources.size(); ++i) {
        auto& r = resources[i];
        FlavorQuota q;
        q.resource = r.RequiredString("name");
        if (q.resource != rg.covered_resources[i]) {
          r.Fail("name", "Invalid value: \"" + q.resource +
                             "\": must match the name in coveredResources (\"" +
                             rg.covered_resources[i] + "\")");
        }
        q.nominal_quota = NonNegative(r, "nominalQuota", true);
        if (r.Has("borrowingLimit")) q.borrowing_limit = NonNegative(r, "borrowingLimit", true);
        if (r.Has("lendingLimit")) q.lending_limit = NonNegative(r, "lendingLimit", true);
        if ((q.borrowing_limit || q.lending_limit) && !has_parent) {
          r.Fail(q.borrowing_limit ? "borrowingLimit" : "lendingLimit",
                 std::string("Invalid value: must be nil when ") + parent_word + " is empty");
        }
        r.Finish();
        fq.resources.push_back(q);
      }
      f.Finish();
      rg.flavors.push_back(std::move(fq));
    }
    g.Finish();
    out.push_back(std::move(rg));
  }
  return out;
}

Quantity FairSharingWeight(YamlReader& spec) {
  if (auto fs = spec.Object("fairSharing")) {
    Quantity w = NonNegative(*fs, "weight", false);
    if (!fs->Has("weight")) w = Quantity{1000};
    fs->Finish();
    return w;
  }
  return Quantity{1000};
}

}  // namespace

void DecodeClusterQueue(YamlReader& r, Manifests* out) {
  ClusterQueue cq;
  cq.metadata = DecodeMeta(r, false);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  if (auto sel = spec->Object("namespaceSelector"))
    cq.namespace_selector = DecodeLabelSelector(*sel);
  cq.cohort = spec->String("cohortName", spec->String("cohort"));
  cq.queueing_strategy = spec->String("queueingStrategy", "BestEffortFIFO");
  CheckOneOf(*spec, "queueingStrategy", cq.queueing_strategy, {"BestEffortFIFO", "StrictFIFO"});
  cq.resource_groups = DecodeResourceGroups(*spec, !cq.cohort.empty(), "cohort");
  if (auto p = spec->Object("preemption")) {
    cq.within_cluster_queue = p->String("withinClusterQueue", "Never");
    CheckOneOf(*p, "withinClusterQueue", cq.within_cluster_queue,
               {"Never", "LowerPriority", "LowerOrNewerEqualPriority"});
    cq.reclaim_within_cohort = p->String("reclaimWithinCohort", "Never");
    CheckOneOf(*p, "reclaimWithinCohort", cq.reclaim_within_cohort,
               {"Never", "LowerPriority", "Any"});
    if (auto b = p->Object("borrowWithinCohort")) {
      cq.borrow_within_cohort = b->String("policy", "Never");
      CheckOneOf(*b, "policy", cq.borrow_within_cohort, {"Never", "LowerPriority"});
      if (auto t = b->Int("maxPriorityThreshold", INT32_MIN, INT32_MAX)) {
        cq.borrow_max_priority_threshold = static_cast<int32_t>(*t);
      }
      b->Finish();
    }
    if (cq.reclaim_within_cohort == "Never" && cq.borrow_within_cohort != "Never") {
      p->Fail("borrowWithinCohort",
              "Invalid value: reclaimWithinCohort=Never and "
              "borrowWithinCohort.Policy!=Never");
    }
    p->Finish();
  }
  if (auto f = spec->Object("flavorFungibility")) {
    cq.when_can_borrow = f->String("whenCanBorrow", "MayStopSearch");
    if (cq.when_can_borrow == "Borrow") cq.when_can_borrow = "MayStopSearch";  // v1beta1 name
    CheckOneOf(*f, "whenCanBorrow", cq.when_can_borrow, {"MayStopSearch", "TryNextFlavor"});
    cq.when_can_preempt = f->String("whenCanPreempt", "TryNextFlavor");
    if (cq.when_can_preempt == "Preempt") cq.when_can_preempt = "MayStopSearch";
    CheckOneOf(*f, "whenCanPreempt", cq.when_can_preempt, {"MayStopSearch", "TryNextFlavor"});
    if (f->Has("preference")) {
      cq.fungibility_preference = f->String("preference");
      CheckOneOf(*f, "preference", cq.fungibility_preference,
                 {"BorrowingOverPreemption", "PreemptionOverBorrowing"});
      if (cq.when_can_borrow != "TryNextFlavor" || cq.when_can_preempt != "TryNextFlavor") {
        f->Fail("preference",
                "Invalid value: preference is only allowed when whenCanBorrow and "
                "whenCanPreempt are TryNextFlavor");
      }
    }
    f->Finish();
  }
  cq.stop_policy = spec->String("stopPolicy", "None");
  CheckOneOf(*spec, "stopPolicy", cq.stop_policy, {"None", "Hold", "HoldAndDrain"});
  cq.fair_sharing_weight = FairSharingWeight(*spec);
  WarnNotModelled(*spec, "ClusterQueue", "spec");
  spec->Finish();
  r.Finish();
  out->cluster_queues.push_back(std::move(cq));
}

void DecodeCohort(YamlReader& r, Manifests* out) {
  Cohort c;
  c.metadata = DecodeMeta(r, false);
  if (auto spec = r.Object("spec")) {
    c.parent = spec->String("parentName", spec->String("parent"));
    c.resource_groups = DecodeResourceGroups(*spec, !c.parent.empty(), "parentName");
    c.fair_sharing_weight = FairSharingWeight(*spec);
    spec->Finish();
  }
  r.Finish();
  out->cohorts.push_back(std::move(c));
}

void DecodeLocalQueue(YamlReader& r, Manifests* out) {
  LocalQueue lq;
  lq.metadata = DecodeMeta(r, true);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  lq.cluster_queue = spec->RequiredString("clusterQueue");
  lq.stop_policy = spec->String("stopPolicy", "None");
  CheckOneOf(*spec, "stopPolicy", lq.stop_policy, {"None", "Hold", "HoldAndDrain"});
  WarnNotModelled(*spec, "LocalQueue", "spec");
  spec->Finish();
  r.Finish();
  out->local_queues.push_back(std::move(lq));
}

void DecodeResourceFlavor(YamlReader& r, Manifests* out) {
  ResourceFlavor rf;
  rf.metadata = DecodeMeta(r, false);
  if (auto spec = r.Object("spec")) {
    rf.node_labels = spec->StringMap("nodeLabels");
    if (rf.node_labels.size() > 8) spec->Fail("nodeLabels", "Too many: must have at most 8 items");
    rf.node_taints = DecodeTaints(*spec, "nodeTaints");
    if (rf.node_taints.size() > 8) spec->Fail("nodeTaints", "Too many: must have at most 8 items");
    rf.tolerations = DecodeTolerations(*spec, "tolerations");
    rf.topology_name = spec->String("topologyName");
    // The CRD's CEL rule: a topology needs nodes to tell apart.
    if (!rf.topology_name.empty() && rf.node_labels.empty()) {
      spec->Fail("nodeLabels",
                 "Invalid value: at least one nodeLabel is required when topology "
                 "is set");
    }
    spec->Finish();
  }
  r.Finish();
  out->resource_flavors.push_back(std::move(rf));
}

// Topology (apis/kueue/v1beta1/topology_types.go): 1 to 16 levels, unique, and the hostname
// label only as the lowest.
void DecodeTopology(YamlReader& r, Manifests* out) {
  Topology t;
  t.metadata = DecodeMeta(r, false);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  auto levels = spec->ObjectList("levels");
  if (levels.empty()) spec->Fail("levels", "Required value: must have at least 1 items");
  if (levels.size() > 16) spec->Fail("levels", "Too many: must have at most 16 items");
  std::set<std::string> seen;
  for (size_t i = 0; i < levels.size(); ++i) {
    const std::string label = levels[i].RequiredString("nodeLabel");
    if (label.size() > 316) levels[i].Fail("nodeLabel", "Too long: may not be more than 316 bytes");
    if (!seen.insert(label).second) spec->Fail("levels", "Invalid value: must be unique");
    if (label == "kubernetes.io/hostname" && i + 1 != levels.size()) {
      spec->Fail("levels",
                 "Invalid value: the kubernetes.io/hostname label can only be used at the lowest "
                 "level of topology");
    }
    levels[i].Finish();
    t.levels.push_back(label);
  }
  spec->Finish();
  r.Finish();
  out->topologies.push_back(std::move(t));
}

void DecodeWorkloadPriorityClass(YamlReader& r, Manifests* out) {
  WorkloadPriorityClass w;
  w.metadata = DecodeMeta(r, false);
  auto v = r.Int("value", INT32_MIN, INT32_MAX);
  if (!v) r.Fail("value", "Required value");
  w.value = static_cast<int32_t>(*v);
  r.Ignore({"description"});
  r.Finish();
  out->workload_priority_classes.push_back(std::move(w));
}

void DecodeKueueConfiguration(YamlReader& r, Manifests* out) {
  KueueConfiguration c;
  c.metadata.source = r.Where();
  c.metadata.name = "kueue-configuration";
  c.present = true;
  if (out->kueue_config.present) {
    r.Fail("kind", "Duplicate value: a second Kueue Configuration (the first is at " +
                       out->kueue_config.metadata.source.Describe() + ")");
  }
  c.manage_jobs_without_queue_name = r.Bool("manageJobsWithoutQueueName").value_or(false);
  if (auto fs = r.Object("fairSharing")) {
    // v1beta1 has `enable`; in v1beta2 the section's presence enables it.
    c.fair_sharing = fs->Bool("enable").value_or(!fs->Has("enable"));
    if (fs->Has("preemptionStrategies")) {
      c.fair_sharing_strategies = fs->StringList("preemptionStrategies");
      const auto& v = c.fair_sharing_strategies;
      const std::vector<std::vector<std::string>> allowed = {
          {"LessThanOrEqualToFinalShare"},
          {"LessThanInitialShare"},
          {"LessThanOrEqualToFinalShare", "LessThanInitialShare"}};
      if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
        fs->Fail("preemptionStrategies",
                 "Unsupported value: must be [LessThanOrEqualToFinalShare], "
                 "[LessThanInitialShare] or [LessThanOrEqualToFinalShare, "
                 "LessThanInitialShare]");
      }
    }
    fs->Finish();
  }
  if (auto w = r.Object("waitForPodsReady")) {
    c.wait_for_pods_ready = w->Bool("enable").value_or(!w->Has("enable"));
    if (auto t = w->OptDuration("timeout")) c.pods_ready_timeout = *t;
    c.recovery_timeout = w->OptDuration("recoveryTimeout");
    c.block_admission = w->Bool("blockAdmission").value_or(false);
    if (auto q = w->Object("requeuingStrategy")) {
      c.requeuing_timestamp = q->String("timestamp", "Eviction");
      CheckOneOf(*q, "timestamp", c.requeuing_timestamp, {"Eviction", "Creation"});
      if (auto n = q->Int("backoffLimitCount", 0, INT32_MAX)) {
        c.backoff_limit_count = static_cast<int32_t>(*n);
      }
      c.backoff_base_seconds =
          static_cast<int32_t>(q->Int("backoffBaseSeconds", 1, INT32_MAX).value_or(60));
      c.backoff_max_seconds =
          static_cast<int32_t>(q->Int("backoffMaxSeconds", 1, INT32_MAX).value_or(3600));
      q->Finish();
    }
    w->Finish();
  }
  if (auto res = r.Object("resources")) {
    c.exclude_resource_prefixes = res->StringList("excludeResourcePrefixes");
    if (res->Has("transformations")) {
      out->diagnostics.Warn(res->Where(), res->FieldPath("transformations"),
                            "resource transformations are not modelled; ignored");
    }
    res->Ignore({"transformations", "deviceClassMappings"});
    res->Finish();
  }
  if (auto in = r.Object("integrations")) {
    if (in->Has("frameworks")) c.frameworks = in->StringList("frameworks");
    in->Ignore({"externalFrameworks", "podOptions", "labelKeysToCopy"});
    in->Finish();
  }
  if (auto sel = r.Object("managedJobsNamespaceSelector")) {
    c.managed_jobs_namespace_selector = DecodeLabelSelector(*sel);
  }
  c.quota_check_strategy = r.String("quotaCheckStrategy", "BlockUndeclared");
  CheckOneOf(r, "quotaCheckStrategy", c.quota_check_strategy,
             {"BlockUndeclared", "IgnoreUndeclared"});
  if (r.Has("admissionFairSharing")) {
    out->diagnostics.Warn(r.Where(), r.FieldPath("admissionFairSharing"),
                          "Admission Fair Sharing is not modelled; ignored");
  }
  r.Ignore({"namespace", "health", "metrics", "webhook", "leaderElection", "controller",
            "clientConnection", "internalCertManagement", "multiKueue", "featureGates",
            "admissionFairSharing", "waitForPodsReadyTimeout", "queueVisibility",
            "objectRetentionPolicies", "dra"});
  r.Finish();
  out->kueue_config = std::move(c);
}

}  // namespace gputwin::api
