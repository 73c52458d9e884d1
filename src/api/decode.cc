// The table of kinds and the document walker (multi-document files, kind: List).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "api/decode_core.h"
#include "api/decode_kinds.h"
#include "api/manifests.h"
#include "api/not_modelled.h"
#include "api/object_patch.h"
#include "api/ray_types.h"

namespace gputwin::api {
namespace {

struct KindEntry {
  const char* kind;
  std::vector<const char*> api_versions;  // group/version strings accepted quietly
  KindDecoder decode;
};

const std::vector<KindEntry>& KindTable() {
  static const std::vector<KindEntry> kTable = {
      {"Node", {"v1"}, DecodeNode},
      {"Pod", {"v1"}, DecodePod},
      {"Deployment", {"apps/v1"}, DecodeDeployment},
      {"ReplicaSet", {"apps/v1"}, DecodeReplicaSet},
      {"Job", {"batch/v1"}, DecodeJob},
      {"CronJob", {"batch/v1"}, DecodeCronJob},
      {"JobSet", {"jobset.x-k8s.io/v1alpha2"}, DecodeJobSet},
      {"PyTorchJob", {"kubeflow.org/v1"}, DecodePyTorchJob},
      {"LeaderWorkerSet", {"leaderworkerset.x-k8s.io/v1"}, DecodeLeaderWorkerSet},
      {"TrainJob", {"trainer.kubeflow.org/v1alpha1"}, DecodeTrainJob},
      {"RayCluster", {"ray.io/v1"}, DecodeRayCluster},
      {"RayJob", {"ray.io/v1"}, DecodeRayJob},
      {"RayService", {"ray.io/v1"}, DecodeRayService},
      {"ClusterTrainingRuntime", {"trainer.kubeflow.org/v1alpha1"}, DecodeClusterTrainingRuntime},
      {"TrainingRuntime", {"trainer.kubeflow.org/v1alpha1"}, DecodeTrainingRuntime},
      {"DaemonSet", {"apps/v1"}, DecodeDaemonSet},
      {"StatefulSet", {"apps/v1"}, DecodeStatefulSet},
      {"PriorityClass", {"scheduling.k8s.io/v1"}, DecodePriorityClass},
      {"Namespace", {"v1"}, DecodeNamespace},
      {"ConfigMap", {"v1"}, DecodeConfigMap},
      {"ResourceQuota", {"v1"}, DecodeResourceQuota},
      {"LimitRange", {"v1"}, DecodeLimitRange},
      {"PodDisruptionBudget", {"policy/v1"}, DecodePodDisruptionBudget},
      {"Service", {"v1"}, DecodeService},
      {"Ingress", {"networking.k8s.io/v1"}, DecodeIngress},
      {"HorizontalPodAutoscaler", {"autoscaling/v2"}, DecodeHorizontalPodAutoscaler},
      {"ScaledObject", {"keda.sh/v1alpha1"}, DecodeScaledObject},
      {"PrometheusRule", {"monitoring.coreos.com/v1"}, DecodePrometheusRule},
      {"ServiceMonitor", {"monitoring.coreos.com/v1"}, DecodeServiceMonitor},
      {"PodMonitor", {"monitoring.coreos.com/v1"}, DecodePodMonitor},
      {"KubeSchedulerConfiguration",
       {"kubescheduler.config.k8s.io/v1", "kubescheduler.config.k8s.io/v1beta3"},
       DecodeKubeSchedulerConfiguration},
      {"Scenario", {"gputwin.io/v1alpha1"}, DecodeScenario},
      {"Sweep", {"gputwin.io/v1alpha1"}, DecodeSweep},
      {"ClusterPolicy", {"nvidia.com/v1"}, DecodeClusterPolicy},
      {"ClusterQueue", {"kueue.x-k8s.io/v1beta1", "kueue.x-k8s.io/v1beta2"}, DecodeClusterQueue},
      {"Cohort",
       {"kueue.x-k8s.io/v1beta1", "kueue.x-k8s.io/v1beta2", "kueue.x-k8s.io/v1alpha1"},
       DecodeCohort},
      {"LocalQueue", {"kueue.x-k8s.io/v1beta1", "kueue.x-k8s.io/v1beta2"}, DecodeLocalQueue},
      {"ResourceFlavor",
       {"kueue.x-k8s.io/v1beta1", "kueue.x-k8s.io/v1beta2"},
       DecodeResourceFlavor},
      {"Topology",
       {"kueue.x-k8s.io/v1beta1", "kueue.x-k8s.io/v1beta2", "kueue.x-k8s.io/v1alpha1"},
       DecodeTopology},
      {"WorkloadPriorityClass",
       {"kueue.x-k8s.io/v1beta1", "kueue.x-k8s.io/v1beta2"},
       DecodeWorkloadPriorityClass},
      {"Configuration",
       {"config.kueue.x-k8s.io/v1beta1", "config.kueue.x-k8s.io/v1beta2"},
       DecodeKueueConfiguration},
      {"NodePool", {"karpenter.sh/v1"}, DecodeNodePool},
      {"EC2NodeClass", {"karpenter.k8s.aws/v1"}, DecodeEC2NodeClass},
  };
  return kTable;
}

void DecodeObject(const YAML::Node& doc, const std::string& file, const std::string& path,
                  Manifests* out);

void DecodeAsWritten(const YAML::Node& doc, const std::string& file, const std::string& path,
                     Manifests* out) {
  YamlReader r(doc, file, path, &out->diagnostics);
  std::string kind = r.String("kind");
  std::string api_version = r.String("apiVersion");
  if (kind.empty() && api_version.empty() && r.Has("groups")) {
    // A plain Prometheus rule file in a folder of manifests (what spec.prometheus.ruleFiles
    // names): its rules, as promtool reads them.
    DecodeRuleGroups(r, file, out);
    r.Finish();
    return;
  }
  if (kind.empty()) r.Fail("kind", "Required value: kind must be set");
  if (kind == "List" || (kind.size() > 4 && kind.ends_with("List") && r.Has("items"))) {
    YAML::Node items = doc["items"];
    if (items && !items.IsNull()) {
      if (!items.IsSequence()) r.Fail("items", "expected a list");
      for (size_t i = 0; i < items.size(); ++i) {
        DecodeObject(items[i], file, r.FieldPath("items[" + std::to_string(i) + "]"), out);
      }
    }
    return;
  }
  const auto& table = KindTable();
  auto it =
      std::find_if(table.begin(), table.end(), [&](const KindEntry& e) { return kind == e.kind; });
  if (it == table.end()) {
    if (const auto* nm = FindNotModelledKind(api_version, kind)) {
      if (!nm->twin) {
        Manifests::KeptObject k{r.Where(), api_version, kind, "", ""};
        if (auto meta = r.Object("metadata")) {
          k.namespace_ = meta->String("namespace");
          k.name = meta->String("name", meta->String("generateName"));
        }
        out->kept_objects.push_back(std::move(k));
        return;
      }
      out->diagnostics.Warn(r.Where(), "",
                            kind + " (" + api_version + ") is not modelled: upstream " +
                                nm->upstream + "; the twin: " + nm->twin);
      return;
    }
    out->diagnostics.Warn(r.Where(), "",
                          "unknown kind \"" + kind + "\" (" + api_version + "), ignored");
    return;
  }
  if (api_version.empty()) r.Fail("apiVersion", "Required value: apiVersion must be set");
  if (kind == "CronJob" && api_version == "batch/v1beta1") {
    r.Fail("apiVersion",
           "Invalid value: \"batch/v1beta1\": no matches for kind \"CronJob\" in "
           "version \"batch/v1beta1\" (removed in Kubernetes 1.25): write batch/v1");
  }
  if (kind == "ScaledObject" && api_version.starts_with("keda.k8s.io/")) {
    r.Fail("apiVersion", "Invalid value: \"" + api_version +
                             "\": KEDA 1.x's API, removed in KEDA 2.0 (no cluster serves it "
                             "now): write keda.sh/v1alpha1 with scaleTargetRef.name");
  }
  if (std::find_if(it->api_versions.begin(), it->api_versions.end(),
                   [&](const char* v) { return api_version == v; }) == it->api_versions.end()) {
    out->diagnostics.Warn(r.Where(), "apiVersion",
                          "\"" + api_version + "\" is not a version the twin knows for " + kind +
                              "; decoding as " + it->api_versions.front());
  }
  r.Ignore({"status"});
  it->decode(r, out);
}

// An object is patched (a Sweep's point) before it is read; what its patched fields hold
// is then reported with the patch that wrote them.
void DecodeObject(const YAML::Node& doc, const std::string& file, const std::string& path,
                  Manifests* out) {
  const ObjectPatch* patch = ApplyPatches(out->patches, doc);
  if (patch == nullptr) return DecodeAsWritten(doc, file, path, out);
  try {
    DecodeAsWritten(doc, file, path, out);
  } catch (const InputError& e) {
    throw InputError(std::string(e.what()) + " (the object as patched at " +
                     patch->source.Describe() + ")");
  }
}

}  // namespace

size_t Manifests::ObjectCount() const {
  return nodes.size() + pods.size() + deployments.size() + replica_sets.size() + jobs.size() +
         daemon_sets.size() + stateful_sets.size() + priority_classes.size() + namespaces.size() +
         config_maps.size() + resource_quotas.size() + limit_ranges.size() + cron_jobs.size() +
         job_sets.size() + pytorch_jobs.size() + leader_worker_sets.size() +
         training_runtimes.size() + train_jobs.size() + pod_disruption_budgets.size() +
         services.size() + ingresses.size() + horizontal_pod_autoscalers.size() +
         scaled_objects.size() + (scheduler_config ? 1 : 0) + (gpu_operator ? 1 : 0) +
         cluster_queues.size() + cohorts.size() + local_queues.size() + resource_flavors.size() +
         topologies.size() + workload_priority_classes.size() + (kueue_config.present ? 1 : 0) +
         node_pools.size() + ec2_node_classes.size() + scenarios.size() + sweeps.size() +
         kept_objects.size() +
         (ray ? ray->clusters.size() + ray->jobs.size() + ray->services.size() : 0);
}

std::vector<std::string> KnownKinds() {
  std::vector<std::string> out;
  for (const auto& e : KindTable())
    out.push_back(std::string(e.api_versions.front()) + " " + e.kind);
  return out;
}

namespace {

// Strict decoding's checks that yaml-cpp does not make: a key given twice in one mapping
// (yaml-cpp keeps one silently; the API server's strict decoding rejects the object), a key
// that is not a scalar, and aliases expanding a small file into a huge tree (go-yaml's
// "excessive aliasing" guard: here, more nodes than ten per byte of input).
class KeyChecker {
 public:
  KeyChecker(const std::string& file, size_t text_size)
      : file_(file), budget_(10 * text_size + 10'000) {}

  void Check(const YAML::Node& n, const std::string& path) {
    if (++visited_ > budget_) {
      throw InputError(SourceRef{file_, n.Mark().line + 1}, "",
                       "yaml: document contains excessive aliasing");
    }
    if (n.IsSequence()) {
      for (size_t i = 0; i < n.size(); ++i) Check(n[i], path + "[" + std::to_string(i) + "]");
      return;
    }
    if (!n.IsMap()) return;
    std::map<std::string, int> seen;  // key → its line
    for (const auto& kv : n) {
      const int line = kv.first.Mark().line + 1;
      if (!kv.first.IsScalar()) {
        throw InputError(SourceRef{file_, line}, path,
                         "a mapping key must be a string, not a " +
                             std::string(kv.first.IsMap() ? "mapping" : "sequence"));
      }
      const std::string key = kv.first.Scalar();
      auto [it, added] = seen.try_emplace(key, line);
      const std::string field = path.empty() ? key : path + "." + key;
      if (!added) {
        throw InputError(SourceRef{file_, line}, field,
                         "duplicate key \"" + key + "\" (first at line " +
                             std::to_string(it->second) +
                             "): strict decoding rejects an object with a field given twice");
      }
      Check(kv.second, field);
    }
  }

 private:
  const std::string& file_;
  size_t budget_, visited_ = 0;
};

}  // namespace

void DecodeYaml(const std::string& text, const std::string& file, Manifests* out) {
  const std::vector<YAML::Node> docs = LoadAllDocuments(text, file);
  KeyChecker keys(file, text.size());
  for (const auto& doc : docs) {
    if (!doc || doc.IsNull()) continue;  // empty document between '---'
    keys.Check(doc, "");
    ++out->documents;
    if (!doc.IsMap()) {
      throw InputError(SourceRef{file, doc.Mark().line + 1}, "",
                       "expected a Kubernetes object (a mapping with apiVersion and kind)");
    }
    DecodeObject(doc, file, "", out);
  }
}

void LoadPath(const std::string& path, Manifests* out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(path, ec)) {
      auto ext = entry.path().extension().string();
      if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
        files.push_back(entry.path().string());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) LoadPath(f, out);
    return;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read file");
  // yaml-cpp holds a file's whole tree at about 25 times its size: a file past the limit is
  // refused before reading rather than exhausting memory. GPUTWIN_MAX_INPUT_MIB raises it.
  int64_t limit_mib = 256;
  if (const char* env = std::getenv("GPUTWIN_MAX_INPUT_MIB")) {
    const long long v = std::atoll(env);
    if (v > 0) limit_mib = v;
  }
  const auto bytes = fs::file_size(path, ec);
  if (!ec && bytes > static_cast<uintmax_t>(limit_mib) * 1024 * 1024) {
    throw InputError(path + ": " + std::to_string(bytes / (1024 * 1024)) + " MiB, past the " +
                     std::to_string(limit_mib) +
                     " MiB limit of one input file (set GPUTWIN_MAX_INPUT_MIB to raise it, or "
                     "split the file)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  DecodeYaml(ss.str(), path, out);
}

void LoadRuleFile(const std::string& path, Manifests* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read rule file");
  std::stringstream ss;
  ss << in.rdbuf();
  YAML::Node doc;
  try {
    doc = YAML::Load(ss.str());
  } catch (const YAML::Exception& e) {
    throw InputError(SourceRef{path, e.mark.line >= 0 ? e.mark.line + 1 : 0}, "",
                     "malformed YAML: " + e.msg);
  }
  if (!doc.IsMap()) {
    throw InputError(SourceRef{path, 1}, "groups", "a Prometheus rule file has `groups:`");
  }
  YamlReader r(doc, path, "", &out->diagnostics);
  DecodeRuleGroups(r, path, out);
  r.Finish();
}

}  // namespace gputwin::api
