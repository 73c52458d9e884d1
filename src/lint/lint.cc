#include "lint/lint.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string_view>
#include <tuple>

#include "lint/rules.h"

namespace gputwin::lint {

namespace {
constexpr const char* kDocsUri = GPUTWIN_DOCS_URI;
}  // namespace

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kNote:
      return "note";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "warning";
}

bool ParseSeverity(const std::string& s, Severity* out) {
  for (Severity v : {Severity::kNote, Severity::kWarning, Severity::kError}) {
    if (s == SeverityName(v)) {
      *out = v;
      return true;
    }
  }
  return false;
}

const std::vector<Rule>& Rules() {
  static const std::vector<Rule> kRules = {
      {"gpu-in-requests-only", Severity::kError,
       "a GPU (extended resource) in requests without limits",
       "put nvidia.com/gpu in resources.limits (requests default to it)"},
      {"no-gpu-device-plugin", Severity::kError,
       "a node with GPUs that advertises none, and no NVIDIA device plugin in the files",
       "deploy the device plugin DaemonSet (Helm chart nvidia-device-plugin) or the GPU "
       "Operator"},
      {"gpu-taint-not-tolerated", Severity::kError,
       "a GPU pod that tolerates none of the GPU capacity's taints",
       "add a toleration for the GPU nodes' taint (nvidia.com/gpu:NoSchedule)"},
      {"cpu-pod-on-gpu-nodes", Severity::kWarning,
       "a pod that needs no GPU but tolerates the GPU nodes' taints",
       "drop the broad toleration (operator: Exists without a key), or keep the pod off GPU "
       "nodes with a nodeSelector or affinity"},
      {"gpu-nodepool-without-taint", Severity::kWarning,
       "a Karpenter NodePool that can launch GPU instances without a NoSchedule taint",
       "taint the NodePool (nvidia.com/gpu=true:NoSchedule) and tolerate it in GPU pods"},
      {"gpu-nodepool-without-limits", Severity::kWarning,
       "a Karpenter NodePool that can launch GPU instances without limits",
       "set spec.limits (nvidia.com/gpu, cpu) to what the budget allows"},
      {"hpa-cpu-on-gpu-workload", Severity::kWarning,
       "a GPU Deployment autoscaled on CPU or memory only",
       "scale on the model server's queue or load (KEDA prometheus trigger on "
       "vllm:num_requests_waiting, or a Pods/External metric)"},
      {"gpu-fast-scale-down", Severity::kWarning,
       "a GPU workload scaled down (or to zero) within 5 minutes",
       "keep scaleDown.stabilizationWindowSeconds and KEDA's cooldownPeriod at 300 s or more"},
      {"image-not-pinned", Severity::kWarning, "an image without a version tag, or :latest",
       "use a version tag or a digest"},
      {"kueue-localqueue-missing", Severity::kError,
       "a workload naming a LocalQueue that is not in its namespace",
       "create the LocalQueue in that namespace or fix the kueue.x-k8s.io/queue-name label"},
      {"ray-replicas-outside-bounds", Severity::kWarning,
       "a Kueue-managed Ray worker group whose replicas lie outside [minReplicas, maxReplicas]",
       "set replicas within minReplicas and maxReplicas (Kueue admits replicas, KubeRay runs "
       "the clamped count)"},
      {"cloud-credentials-in-env", Severity::kWarning,
       "long-lived cloud credentials in a container's environment",
       "use IRSA or EKS Pod Identity (GKE or AKS workload identity)"},
      {"privileged-gpu-pod", Severity::kWarning, "a privileged GPU pod, or one mounting hostPath",
       "drop privileged and hostPath; the device plugin mounts the GPUs a pod gets"},
      {"gpu-sharing-config-unused", Severity::kWarning,
       "a time-slicing or MPS config the device plugin in the files does not read",
       "point the plugin at the ConfigMap (Helm config.name, ClusterPolicy "
       "devicePlugin.config.name)"},
      {"gpu-sharing-on-karpenter", Severity::kWarning, "GPU sharing on nodes Karpenter launches",
       "tell Karpenter the shared capacity (a NodeOverlay with the replicas) or keep sharing "
       "on a static node group"},
      {"gpu-sharing-without-memory-cap", Severity::kWarning,
       "a vLLM server without --gpu-memory-utilization on shared GPUs",
       "set --gpu-memory-utilization to its share of the GPU (0.45 for two per GPU), or use "
       "MIG for memory isolation"},
      {"spot-training-without-checkpoint", Severity::kWarning,
       "a GPU training Job that may run on spot without checkpoints",
       "checkpoint (gputwin.io/checkpoint-interval models it) or require on-demand"},
      {"consolidation-evicts-jobs", Severity::kWarning,
       "GPU Jobs on a NodePool that consolidates underutilised nodes",
       "annotate the Job's pod template karpenter.sh/do-not-disrupt: \"true\""},
      {"gpu-notebook-without-deadline", Severity::kWarning,
       "a notebook holding whole GPUs without activeDeadlineSeconds",
       "set activeDeadlineSeconds (or cull idle kernels) and share GPUs for notebooks"},
      {"large-image-cold-start", Severity::kNote, "a 5-20 GB GPU image nothing pre-pulls",
       "bake it into the node image (EC2NodeClass) or pre-pull it with a DaemonSet"},
      {"gpu-namespace-without-quota", Severity::kNote,
       "a namespace with GPU work and no GPU quota or LocalQueue",
       "a ResourceQuota on requests.nvidia.com/gpu, or Kueue LocalQueues"},
      {"gpu-namespace-without-networkpolicy", Severity::kNote,
       "a namespace with GPU work and no NetworkPolicy",
       "a default-deny NetworkPolicy and explicit allows"},
      {"mig-config-invalid", Severity::kError,
       "a MIG layout the GPU cannot have, or mixed profiles under the single strategy",
       "pick a mig-parted config of the node's GPU model; with mixed profiles use "
       "migStrategy mixed"},
      {"cuda-newer-than-driver", Severity::kError,
       "an nvidia/cuda image newer than the CUDA the node driver runs",
       "use an image of the driver's CUDA or older, or upgrade the driver (GPU Operator "
       "driver.version)"},
      {"latency-critical-on-spot", Severity::kWarning,
       "a latency-critical GPU Deployment with only spot-capable NodePools",
       "add an on-demand NodePool (a base) and prefer it, with spot for overflow"},
      {"broad-rbac-grant", Severity::kWarning,
       "admin, edit or cluster-admin bound to every authenticated user or service account",
       "bind roles to named ServiceAccounts or groups of people, per namespace"},
      {"lint-ignore-invalid", Severity::kWarning,
       "a gputwin.io/lint-ignore annotation without a reason or naming no rule",
       "write \"RULE[,RULE]: why\" with rule ids from docs/lint.md"},
  };
  return kRules;
}

const Rule* FindRule(const std::string& id) {
  for (const auto& r : Rules()) {
    if (id == r.id) return &r;
  }
  return nullptr;
}

Config LoadConfig(const std::string& path) {
  Config c;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw InputError(SourceRef{path, e.mark.line >= 0 ? e.mark.line + 1 : 0}, "",
                     "cannot read lint config: " + e.msg);
  }
  auto where = [&](const YAML::Node& n) { return SourceRef{path, n.Mark().line + 1}; };
  if (!root.IsMap()) throw InputError(SourceRef{path, 1}, "", "a lint config is a mapping");
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (key == "apiVersion" || key == "kind") continue;
    if (key == "disable") {
      for (const auto& r : kv.second) {
        const std::string id = r.as<std::string>();
        if (!FindRule(id)) throw InputError(where(r), "disable", "unknown rule \"" + id + "\"");
        c.disable.push_back(id);
      }
    } else if (key == "severity") {
      for (const auto& r : kv.second) {
        const std::string id = r.first.as<std::string>();
        if (!FindRule(id)) {
          throw InputError(where(r.first), "severity." + id, "unknown rule \"" + id + "\"");
        }
        Severity s;
        if (!ParseSeverity(r.second.as<std::string>(), &s)) {
          throw InputError(where(r.second), "severity." + id,
                           "Unsupported value: supported values: \"note\", \"warning\", \"error\"");
        }
        c.severity[id] = s;
      }
    } else {
      throw InputError(where(kv.first), key,
                       "unknown field (a lint config has disable and severity)");
    }
  }
  return c;
}

api::Manifests LoadForLint(const std::vector<std::string>& paths) {
  api::Manifests m;
  m.diagnostics.collect_rejections = true;
  for (const auto& p : paths) api::LoadPath(p, &m);
  return m;
}

namespace {

// Each object a finding can name, with its annotations (a pod template's count too).
std::map<std::string, std::pair<SourceRef, api::Labels>> Annotated(const api::Manifests& m) {
  std::map<std::string, std::pair<SourceRef, api::Labels>> out;
  auto key = [](const std::string& kind, const api::ObjectMeta& meta) {
    return kind + " " + (meta.namespace_.empty() ? meta.name : meta.namespace_ + "/" + meta.name);
  };
  auto add = [&](const std::string& kind, const api::ObjectMeta& meta,
                 const api::ObjectMeta* tmpl = nullptr) {
    api::Labels a = meta.annotations;
    if (tmpl) a.insert(tmpl->annotations.begin(), tmpl->annotations.end());
    out[key(kind, meta)] = {meta.source, std::move(a)};
  };
  for (const auto& p : PodSources(m)) add(p.kind, *p.owner, p.template_meta);
  for (const auto& n : m.nodes) add("Node", n.metadata);
  for (const auto& n : m.node_pools) add("NodePool", n.metadata);
  for (const auto& h : m.horizontal_pod_autoscalers) add("HorizontalPodAutoscaler", h.metadata);
  for (const auto& s : m.scaled_objects) add("ScaledObject", s.metadata);
  return out;
}

std::vector<std::string> SplitIds(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t comma = std::min(s.find(',', at), s.size());
    std::string id = s.substr(at, comma - at);
    id.erase(0, id.find_first_not_of(' '));
    id.erase(id.find_last_not_of(' ') + 1);
    if (!id.empty()) out.push_back(id);
    at = comma + 1;
  }
  return out;
}

}  // namespace

std::vector<Finding> Lint(const api::Manifests& m, const Config& config) {
  Findings f;
  const auto pods = PodSources(m);
  const auto gpus = FindGpuCapacity(m);
  CheckRejections(m, &f);
  CheckDevicePlugin(m, gpus, &f);
  CheckGpuTaints(pods, gpus, &f);
  CheckNodePools(gpus, &f);
  CheckAutoscalers(m, &f);
  CheckImages(pods, &f);
  CheckKueueQueues(m, &f);
  CheckSecurity(pods, &f);
  CheckSharing(m, pods, gpus, &f);
  CheckDisruption(m, pods, gpus, &f);
  CheckGpuHolders(pods, &f);
  CheckColdStart(m, pods, &f);
  CheckNamespaces(m, pods, &f);
  CheckRbac(m, &f);
  CheckGpuStack(m, pods, gpus, &f);
  CheckLatencyCritical(pods, gpus, &f);

  // Suppressions: gputwin.io/lint-ignore: "RULE[,RULE]: reason".
  const auto annotated = Annotated(m);
  std::map<std::string, std::vector<std::string>> ignored;
  for (const auto& [object, entry] : annotated) {
    auto it = entry.second.find(kIgnoreAnnotation);
    if (it == entry.second.end()) continue;
    const std::string& v = it->second;
    const auto colon = v.find(':');
    const std::string reason = colon == std::string::npos ? "" : v.substr(colon + 1);
    std::vector<std::string> ids = SplitIds(v.substr(0, colon));
    std::string bad;
    for (const auto& id : ids) {
      if (!FindRule(id)) bad += (bad.empty() ? "" : ", ") + id;
    }
    if (ids.empty() || reason.find_first_not_of(' ') == std::string::npos || !bad.empty()) {
      f.Add("lint-ignore-invalid", entry.first, object,
            object + ": " + kIgnoreAnnotation + " \"" + v + "\" " +
                (!bad.empty()  ? "names no rule: " + bad
                 : ids.empty() ? "names no rule"
                               : "gives no reason (write \"RULE: why\")"));
    }
    ignored[object] = std::move(ids);
  }
  std::vector<Finding> out;
  for (auto& finding : f.items) {
    if (std::find(config.disable.begin(), config.disable.end(), finding.rule) !=
        config.disable.end()) {
      continue;
    }
    if (auto it = ignored.find(finding.object);
        it != ignored.end() && finding.rule != "lint-ignore-invalid" &&
        std::find(it->second.begin(), it->second.end(), finding.rule) != it->second.end()) {
      continue;
    }
    const Rule* r = FindRule(finding.rule);
    finding.severity = r ? r->severity : Severity::kWarning;
    if (auto s = config.severity.find(finding.rule); s != config.severity.end()) {
      finding.severity = s->second;
    }
    out.push_back(std::move(finding));
  }
  std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.where.file, a.where.line, a.where.column, a.rule, a.message) <
           std::tie(b.where.file, b.where.line, b.where.column, b.rule, b.message);
  });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const Finding& a, const Finding& b) {
                          return a.rule == b.rule && a.where.file == b.where.file &&
                                 a.where.line == b.where.line && a.message == b.message;
                        }),
            out.end());
  return out;
}

std::string FormatText(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& f : findings) {
    out += fmt::format("{}:{}:{}: {}: {} [{}]\n", f.where.file, std::max(1, f.where.line),
                       std::max(1, f.where.column), SeverityName(f.severity), f.message, f.rule);
  }
  return out;
}

std::string FormatJson(const std::vector<Finding>& findings) {
  nlohmann::ordered_json j;
  j["findings"] = nlohmann::ordered_json::array();
  std::map<std::string, int> by_severity{{"error", 0}, {"warning", 0}, {"note", 0}};
  for (const auto& f : findings) {
    j["findings"].push_back({{"rule", f.rule},
                             {"severity", SeverityName(f.severity)},
                             {"file", f.where.file},
                             {"line", std::max(1, f.where.line)},
                             {"column", std::max(1, f.where.column)},
                             {"object", f.object},
                             {"message", f.message}});
    by_severity[SeverityName(f.severity)]++;
  }
  j["summary"] = by_severity;
  return j.dump(2) + "\n";
}

std::string FormatSarif(const std::vector<Finding>& findings, const std::string& version) {
  using Json = nlohmann::ordered_json;
  Json rules = Json::array();
  std::map<std::string, size_t> index;
  for (const auto& r : Rules()) {
    index[r.id] = rules.size();
    rules.push_back(
        {{"id", r.id},
         {"shortDescription", {{"text", r.title}}},
         {"fullDescription", {{"text", std::string(r.title) + ". Fix: " + r.fix + "."}}},
         {"helpUri", std::string(kDocsUri) + "#" + r.id},
         {"help", {{"text", std::string(r.fix) + " (docs/lint.md#" + r.id + ")"}}},
         {"defaultConfiguration", {{"level", SeverityName(r.severity)}}}});
  }
  // An artifact's URI: a relative path stays relative to the run's source root (as code
  // scanning wants it), an absolute one becomes a file: URI; both percent-encoded.
  auto artifact = [](const std::string& path) {
    std::string enc;
    for (unsigned char c : path) {
      if (std::isalnum(c) ||
          std::string_view("-._~/").find(static_cast<char>(c)) != std::string_view::npos) {
        enc += static_cast<char>(c);
      } else {
        enc += fmt::format("%{:02X}", c);
      }
    }
    if (path.starts_with('/')) return Json{{"uri", "file://" + enc}};
    if (enc.starts_with("./")) enc.erase(0, 2);
    return Json{{"uri", enc}, {"uriBaseId", "%SRCROOT%"}};
  };
  Json results = Json::array();
  for (const auto& f : findings) {
    Json region = {{"startLine", std::max(1, f.where.line)}};
    if (f.where.column > 0) region["startColumn"] = f.where.column;
    Json result = {
        {"ruleId", f.rule},
        {"level", SeverityName(f.severity)},
        {"message", {{"text", f.message}}},
        {"locations",
         Json::array({{{"physicalLocation",
                        {{"artifactLocation", artifact(f.where.file)}, {"region", region}}}}})}};
    if (auto it = index.find(f.rule); it != index.end()) result["ruleIndex"] = it->second;
    results.push_back(std::move(result));
  }
  Json sarif = {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
                {"version", "2.1.0"},
                {"runs", Json::array({{{"tool",
                                        {{"driver",
                                          {{"name", "gputwin"},
                                           {"version", version},
                                           {"informationUri", kDocsUri},
                                           {"rules", rules}}}}},
                                       {"results", results}}})}};
  return sarif.dump(2) + "\n";
}

}  // namespace gputwin::lint
