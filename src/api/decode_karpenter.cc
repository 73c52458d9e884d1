// Karpenter v1 objects, validated as the CRDs' OpenAPI patterns and CEL rules do
// (kubernetes-sigs/karpenter pkg/apis/crds/karpenter.sh_nodepools.yaml,
// aws/karpenter-provider-aws pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml).
#include <algorithm>
#include <set>

#include "api/decode_core.h"
#include "api/decode_kinds.h"
#include "api/not_modelled.h"

namespace gputwin::api {
namespace {

// Labels Karpenter knows values for (core pkg/apis/v1/labels.go, AWS pkg/apis/v1/labels.go).
const std::set<std::string>& WellKnownLabels() {
  static const std::set<std::string> k = {
      "karpenter.sh/nodepool",
      "karpenter.sh/capacity-type",
      "topology.kubernetes.io/zone",
      "topology.kubernetes.io/region",
      "node.kubernetes.io/instance-type",
      "kubernetes.io/arch",
      "kubernetes.io/os",
      "node.kubernetes.io/windows-build",
      "topology.k8s.aws/zone-id",
      "karpenter.k8s.aws/instance-category",
      "karpenter.k8s.aws/instance-family",
      "karpenter.k8s.aws/instance-generation",
      "karpenter.k8s.aws/instance-size",
      "karpenter.k8s.aws/instance-cpu",
      "karpenter.k8s.aws/instance-cpu-manufacturer",
      "karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz",
      "karpenter.k8s.aws/instance-memory",
      "karpenter.k8s.aws/instance-ebs-bandwidth",
      "karpenter.k8s.aws/instance-network-bandwidth",
      "karpenter.k8s.aws/instance-local-nvme",
      "karpenter.k8s.aws/instance-hypervisor",
      "karpenter.k8s.aws/instance-encryption-in-transit-supported",
      "karpenter.k8s.aws/instance-capability-flex",
      "karpenter.k8s.aws/instance-tenancy",
      "karpenter.k8s.aws/instance-gpu-name",
      "karpenter.k8s.aws/instance-gpu-manufacturer",
      "karpenter.k8s.aws/instance-gpu-count",
      "karpenter.k8s.aws/instance-gpu-memory",
      "karpenter.k8s.aws/instance-accelerator-name",
      "karpenter.k8s.aws/instance-accelerator-manufacturer",
      "karpenter.k8s.aws/instance-accelerator-count",
      "karpenter.k8s.aws/capacity-reservation-id",
      "karpenter.k8s.aws/capacity-reservation-type",
      "karpenter.k8s.aws/capacity-reservation-interruptible",
      "karpenter.k8s.aws/ec2nodeclass",
  };
  return k;
}

// The CRD's CEL rules on requirement keys: kubernetes.io/hostname is restricted, and so
// are the karpenter.sh, karpenter.k8s.aws, kubernetes.io and k8s.io domains except for the
// well-known labels and the node.kubernetes.io / node-restriction.kubernetes.io exceptions.
std::string RestrictedKeyError(const std::string& key) {
  if (key == "kubernetes.io/hostname") return "label \"kubernetes.io/hostname\" is restricted";
  if (WellKnownLabels().count(key)) return "";
  auto slash = key.find('/');
  if (slash == std::string::npos) return "";
  std::string domain = key.substr(0, slash);
  for (const char* exception : {"node.kubernetes.io", "node-restriction.kubernetes.io"}) {
    if (domain == exception || domain.ends_with(std::string(".") + exception)) return "";
  }
  for (const char* restricted : {"karpenter.sh", "karpenter.k8s.aws", "kubernetes.io", "k8s.io"}) {
    if (domain == restricted || domain.ends_with(std::string(".") + restricted)) {
      return std::string("label domain \"") + restricted + "\" is restricted";
    }
  }
  return "";
}

// The CRDs' patterns, by hand (std::regex trips GCC 12's -Wmaybe-uninitialized).
bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
// ^([0-9]+(units))+$ with the given unit letters.
bool DigitUnitPairs(const std::string& s, const std::string& units) {
  size_t i = 0;
  if (s.empty()) return false;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start || i == s.size() || units.find(s[i]) == std::string::npos) return false;
    ++i;
  }
  return true;
}
// ^((100|[0-9]{1,2})%|[0-9]+)$
bool BudgetNodes(const std::string& s) {
  if (s.ends_with("%")) {
    std::string n = s.substr(0, s.size() - 1);
    return AllDigits(n) && (n.size() <= 2 || n == "100");
  }
  return AllDigits(s);
}

std::optional<Duration> NeverOrDuration(YamlReader& r, const std::string& key,
                                        std::optional<Duration> fallback) {
  auto s = r.OptString(key);
  if (!s) return fallback;
  if (*s == "Never") return std::nullopt;
  if (!DigitUnitPairs(*s, "smh")) {
    r.Fail(key, "Invalid value: \"" + *s + "\": should match '^(([0-9]+(s|m|h))+|Never)$'");
  }
  std::string err;
  return ParseDuration(*s, &err);
}

NodePoolRequirement DecodeNodePoolRequirement(YamlReader& q) {
  NodePoolRequirement out;
  out.source = q.Where();
  out.key = q.RequiredString("key");
  out.op = q.RequiredString("operator");
  out.values = q.StringList("values");
  if (auto mv = q.Int("minValues", 1, 50)) out.min_values = static_cast<int32_t>(*mv);
  q.Finish();
  if (auto e = RestrictedKeyError(out.key); !e.empty()) q.Fail("key", "Invalid value: " + e);
  CheckOneOf(q, "operator", out.op,
             {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Gte", "Lte"});
  if (out.op == "In" && out.values.empty()) {
    q.Fail("values", "Invalid value: requirements with operator 'In' must have a value defined");
  }
  if ((out.op == "Exists" || out.op == "DoesNotExist") && !out.values.empty()) {
    q.Fail("values",
           "Invalid value: requirements with operator '" + out.op + "' must not have values");
  }
  if (out.op == "Gt" || out.op == "Lt" || out.op == "Gte" || out.op == "Lte") {
    if (out.values.size() != 1 || !AllDigits(out.values[0])) {
      q.Fail("values", "Invalid value: requirements with operator '" + out.op +
                           "' must have a single positive integer value");
    }
  }
  if (out.min_values && out.op == "In" &&
      static_cast<int32_t>(out.values.size()) < *out.min_values) {
    q.Fail("minValues",
           "Invalid value: requirements with 'minValues' must have at least that many values "
           "specified in the 'values' field");
  }
  return out;
}

}  // namespace

bool IsWellKnownKarpenterLabel(const std::string& key) {
  return WellKnownLabels().count(key) > 0;
}

void DecodeNodePool(YamlReader& r, Manifests* out) {
  NodePool np;
  np.metadata = DecodeMeta(r, false);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  if (spec->Has("weight")) np.weight = static_cast<int32_t>(*spec->Int("weight", 1, 100));
  np.limits = spec->Resources("limits");
  for (const auto& [name, q] : np.limits) {
    if (q.milli < 0) spec->Fail("limits", "Invalid value: " + name + " must not be negative");
  }
  // Read for lint (a static NodePool keeps `replicas` nodes); not modelled, warned below.
  if (spec->Has("replicas")) np.replicas = spec->Int("replicas", 0);
  WarnNotModelled(*spec, "NodePool", "spec");
  if (auto d = spec->Object("disruption")) {
    np.consolidation_policy = d->String("consolidationPolicy", np.consolidation_policy);
    CheckOneOf(*d, "consolidationPolicy", np.consolidation_policy,
               {"WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"});
    np.consolidate_after = NeverOrDuration(*d, "consolidateAfter", Duration{0});
    if (d->Has("budgets")) {
      np.budgets.clear();
      auto budgets = d->ObjectList("budgets");
      if (budgets.size() > 50) d->Fail("budgets", "Too many: must have at most 50 items");
      for (auto& b : budgets) {
        DisruptionBudget db;
        db.nodes = b.String("nodes", "10%");
        if (!BudgetNodes(db.nodes)) {
          b.Fail("nodes", "Invalid value: \"" + db.nodes +
                              "\": should match '^((100|[0-9]{1,2})%|[0-9]+)$'");
        }
        db.reasons = b.StringList("reasons");
        for (const auto& reason : db.reasons) {
          CheckOneOf(b, "reasons", reason, {"Underutilized", "Empty", "Drifted"});
        }
        db.schedule = b.String("schedule");
        if (auto dur = b.OptString("duration")) {
          std::string hm = dur->ends_with("0s") ? dur->substr(0, dur->size() - 2) : *dur;
          if (!DigitUnitPairs(hm, "hm") || hm.size() > 12) {
            b.Fail("duration", "Invalid value: \"" + *dur + "\": should match hours and minutes");
          }
          std::string err;
          db.duration = ParseDuration(*dur, &err);
        }
        if (db.schedule.empty() != !db.duration) {
          b.Fail("schedule", "Invalid value: 'schedule' must be set with 'duration'");
        }
        b.Finish();
        np.budgets.push_back(db);
      }
    }
    d->Finish();
  }
  auto tmpl = spec->Object("template");
  if (!tmpl) spec->Fail("template", "Required value");
  if (auto meta = tmpl->Object("metadata")) {
    np.template_labels = meta->StringMap("labels");
    np.template_annotations = meta->StringMap("annotations");
    meta->Finish();
    for (const auto& [k, v] : np.template_labels) {
      if (auto e = RestrictedKeyError(k); !e.empty()) {
        tmpl->Fail("metadata.labels", "Invalid value: " + e);
      }
    }
  }
  auto ts = tmpl->Object("spec");
  if (!ts) tmpl->Fail("spec", "Required value");
  auto ref = ts->Object("nodeClassRef");
  if (!ref) ts->Fail("nodeClassRef", "Required value");
  np.node_class_group = ref->RequiredString("group");
  np.node_class_kind = ref->RequiredString("kind");
  np.node_class_name = ref->RequiredString("name");
  ref->Finish();
  auto reqs = ts->ObjectList("requirements");
  if (reqs.size() > 100) ts->Fail("requirements", "Too many: must have at most 100 items");
  for (auto& q : reqs) np.requirements.push_back(DecodeNodePoolRequirement(q));
  np.taints = DecodeTaints(*ts, "taints");
  np.startup_taints = DecodeTaints(*ts, "startupTaints");
  np.expire_after = NeverOrDuration(*ts, "expireAfter", Duration::Hours(720));
  if (ts->Has("terminationGracePeriod")) {
    np.termination_grace_period = NeverOrDuration(*ts, "terminationGracePeriod", std::nullopt);
  }
  ts->Finish();
  tmpl->Finish();
  spec->Finish();
  r.Finish();
  out->node_pools.push_back(std::move(np));
}

void DecodeEC2NodeClass(YamlReader& r, Manifests* out) {
  EC2NodeClass nc;
  nc.metadata = DecodeMeta(r, false);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  nc.ami_family = spec->String("amiFamily");
  for (auto& term : spec->ObjectList("amiSelectorTerms")) {
    std::string alias = term.String("alias");
    if (!alias.empty() && nc.ami_family.empty()) nc.ami_family = alias.substr(0, alias.find('@'));
    if (alias.ends_with("@latest")) nc.ami_latest = true;
    term.Ignore({"id", "name", "owner", "tags", "ssmParameter"});
    term.Finish();
  }
  if (nc.ami_family.empty()) {
    spec->Fail("amiSelectorTerms", "Required value: amiFamily or an amiSelectorTerms alias");
  }
  if (auto policy = spec->OptString("instanceStorePolicy")) {
    CheckOneOf(*spec, "instanceStorePolicy", *policy, {"RAID0"});
    nc.instance_store_raid0 = true;
  }
  for (auto& bdm : spec->ObjectList("blockDeviceMappings")) {
    bool root = bdm.Bool("rootVolume").value_or(false);
    if (auto ebs = bdm.Object("ebs")) {
      auto size = ebs->OptQuantity("volumeSize");
      // In bytes × 1000 on the node it must fit int64; no EBS volume is past 64 TiB.
      if (size && size->Value() > (int64_t{64} << 40)) {
        ebs->Fail("volumeSize", "Invalid value: \"" + ebs->String("volumeSize") +
                                    "\": at most 64Ti (the largest EBS volume)");
      }
      if (root && size) nc.root_volume_bytes = size->Value();
      // volumeInitializationRate (MiB/s, 100-300) only with a snapshot, as the CRD's CEL
      // rule says; how fast a snapshot's blocks arrive is not modelled either way.
      if (ebs->Int("volumeInitializationRate", 100, 300) && ebs->String("snapshotID").empty()) {
        ebs->Fail("volumeInitializationRate",
                  "Invalid value: snapshotID must be set when volumeInitializationRate is set");
      }
      ebs->Ignore({"volumeType", "iops", "throughput", "encrypted", "kmsKeyID",
                   "deleteOnTermination", "snapshotID"});
      ebs->Finish();
    }
    bdm.Ignore({"deviceName"});
    bdm.Finish();
  }
  if (auto k = spec->Object("kubelet")) {
    if (auto mp = k->Int("maxPods", 0, INT32_MAX)) nc.max_pods = static_cast<int32_t>(*mp);
    nc.kube_reserved = k->Resources("kubeReserved");
    nc.system_reserved = k->Resources("systemReserved");
    WarnNotModelled(*k, "EC2NodeClass", "spec.kubelet");
    k->Ignore({"evictionSoftGracePeriod", "evictionMaxPodGracePeriod",
               "imageGCHighThresholdPercent", "imageGCLowThresholdPercent", "cpuCFSQuota",
               "clusterDNS"});
    k->Finish();
  }
  if (auto cpu = spec->Object("cpuOptions")) {
    WarnNotModelled(*cpu, "EC2NodeClass", "spec.cpuOptions");
    cpu->Finish();
  }
  // Accepted, not modelled: networking, IAM, bootstrap and instance metadata.
  spec->Ignore({"subnetSelectorTerms", "securityGroupSelectorTerms",
                "capacityReservationSelectorTerms", "placementGroupSelector", "role",
                "instanceProfile", "userData", "tags", "metadataOptions",
                "associatePublicIPAddress", "detailedMonitoring", "context", "networkInterfaces",
                "connectionTracking", "ipPrefixCount"});
  spec->Finish();
  r.Finish();
  if (auto it = nc.metadata.annotations.find("gputwin.io/cached-images");
      it != nc.metadata.annotations.end()) {
    std::string s = it->second;
    size_t start = 0;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      std::string img =
          s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      img.erase(0, img.find_first_not_of(' '));
      img.erase(img.find_last_not_of(' ') + 1);
      if (!img.empty()) nc.cached_images.push_back(img);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  out->ec2_node_classes.push_back(std::move(nc));
}

}  // namespace gputwin::api
