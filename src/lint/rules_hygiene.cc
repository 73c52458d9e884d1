// Hygiene rules: pinned images, credentials, privileges, RBAC and the guard rails of team
// namespaces (docs/lint.md).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "lint/lint.h"
#include "lint/rules.h"

namespace gputwin::lint {

void CheckImages(const std::vector<PodSource>& pods, Findings* out) {
  for (const auto& p : pods) {
    for (const auto* list : {&p.spec->containers, &p.spec->init_containers}) {
      for (const auto& c : *list) {
        if (c.image.empty() || c.image.find('@') != std::string::npos) continue;
        const auto slash = c.image.rfind('/');
        const auto colon = c.image.rfind(':');
        const bool tagged =
            colon != std::string::npos && (slash == std::string::npos || colon > slash);
        const std::string tag = tagged ? c.image.substr(colon + 1) : "";
        if (tagged && tag != "latest") continue;
        out->Add("image-not-pinned", c.source.line ? c.source : At(p),
                 std::string(p.kind) + " " + Key(*p.owner),
                 "container " + c.name + " runs image " + c.image +
                     (tagged ? "" : " (no tag: latest)") +
                     ": what runs changes with every push, and IfNotPresent nodes keep an old "
                     "copy; pin a version tag or a digest");
      }
    }
  }
}

void CheckSecurity(const std::vector<PodSource>& pods, Findings* out) {
  static const std::set<std::string> kCredentials = {
      "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
      "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_CLIENT_SECRET"};
  for (const auto& p : pods) {
    const std::string who = std::string(p.kind) + " " + Key(*p.owner);
    for (const auto& c : p.spec->containers) {
      for (const auto& name : c.env_names) {
        if (!kCredentials.count(name)) continue;
        out->Add("cloud-credentials-in-env", c.source.line ? c.source : At(p), who,
                 "container " + c.name + " gets " + name +
                     " from its env: long-lived cloud keys leak with the pod spec and never "
                     "rotate; use IRSA or EKS Pod Identity (GKE/AKS workload identity)");
      }
    }
    if (!WantsGpu(*p.spec) || IsNvidiaStack(p)) continue;
    for (const auto& c : p.spec->containers) {
      if (c.privileged) {
        out->Add("privileged-gpu-pod", c.source.line ? c.source : At(p), who,
                 "container " + c.name +
                     " of a GPU pod is privileged: it sees every GPU on the node (not just the "
                     "ones it was given) and the host; the device plugin already mounts its "
                     "devices");
      }
    }
    for (const auto& [volume, path] : p.spec->host_path_volumes) {
      out->Add("privileged-gpu-pod", At(p), who,
               "GPU pod mounts hostPath " + path + " (volume " + volume +
                   "): a shared GPU node's host is exposed to the workload; use a PVC or an "
                   "image volume");
    }
  }
}

void CheckRbac(const api::Manifests& m, Findings* out) {
  // The decoder keeps RBAC objects by name only; their roleRef and subjects are read back
  // from the file at the line each was found.
  std::map<std::string, std::map<int, YAML::Node>> by_file;
  auto index = [&](const std::string& file) -> const std::map<int, YAML::Node>& {
    auto it = by_file.find(file);
    if (it != by_file.end()) return it->second;
    auto& lines = by_file[file];
    std::function<void(const YAML::Node&)> visit = [&](const YAML::Node& n) {
      if (!n.IsMap()) return;
      if (n["kind"] && n["kind"].as<std::string>("") == "List" && n["items"]) {
        for (const auto& item : n["items"]) visit(item);
        return;
      }
      lines[n.Mark().line + 1] = n;
    };
    try {
      for (const auto& doc : YAML::LoadAllFromFile(file)) visit(doc);
    } catch (const YAML::Exception&) {
      // The decoder read it; a file that changed since is not judged.
    }
    return lines;
  };
  // Groups that stand for everyone (or every workload) of the cluster or of a namespace.
  auto broad = [](const std::string& kind, const std::string& name) {
    return kind == "Group" &&
           (name == "system:authenticated" || name == "system:unauthenticated" ||
            name == "system:serviceaccounts" || name.starts_with("system:serviceaccounts:"));
  };
  for (const auto& o : m.kept_objects) {
    if (o.kind != "RoleBinding" && o.kind != "ClusterRoleBinding") continue;
    const auto& lines = index(o.source.file);
    auto it = lines.find(o.source.line);
    if (it == lines.end()) continue;
    const YAML::Node& n = it->second;
    const std::string role = n["roleRef"] ? n["roleRef"]["name"].as<std::string>("") : "";
    if (role != "cluster-admin" && role != "admin" && role != "edit") continue;
    if (!n["subjects"] || !n["subjects"].IsSequence()) continue;
    for (const auto& subject : n["subjects"]) {
      const std::string kind = subject["kind"] ? subject["kind"].as<std::string>("") : "";
      const std::string name = subject["name"] ? subject["name"].as<std::string>("") : "";
      if (!broad(kind, name)) continue;
      const std::string scope =
          o.kind == "ClusterRoleBinding" ? "the whole cluster" : "namespace " + o.namespace_;
      out->Add("broad-rbac-grant", o.source, o.kind + " " + o.name,
               o.kind + " " + o.name + " grants " + role + " in " + scope + " to group " + name +
                   ": every such identity can create pods there, GPUs and privileged ones "
                   "included, and read its Secrets");
      break;
    }
  }
}

void CheckNamespaces(const api::Manifests& m, const std::vector<PodSource>& pods, Findings* out) {
  std::map<std::string, const PodSource*> gpu_namespaces;
  for (const auto& p : pods) {
    if (std::string(p.kind) == "DaemonSet" || !WantsGpu(*p.spec)) continue;
    gpu_namespaces.emplace(p.owner->namespace_, &p);
  }
  for (const auto& entry : gpu_namespaces) {
    const std::string& ns = entry.first;  // (not a structured binding: lambdas capture it)
    const PodSource* p = entry.second;
    // Judged where the files create the namespace: its guard rails belong with it.
    const bool defined = std::any_of(m.namespaces.begin(), m.namespaces.end(),
                                     [&](const auto& n) { return n.metadata.name == ns; });
    if (!defined) continue;
    const bool quota =
        std::any_of(m.resource_quotas.begin(), m.resource_quotas.end(), [&](auto& q) {
          if (q.metadata.namespace_ != ns) return false;
          return std::any_of(q.hard.begin(), q.hard.end(), [](const auto& h) {
            return h.first.find("nvidia.com/gpu") != std::string::npos;
          });
        });
    const bool queue = std::any_of(m.local_queues.begin(), m.local_queues.end(),
                                   [&](auto& lq) { return lq.metadata.namespace_ == ns; });
    if (!quota && !queue) {
      out->Add("gpu-namespace-without-quota", At(*p), "Namespace " + ns,
               "namespace " + ns +
                   " runs GPU work with neither a ResourceQuota on nvidia.com/gpu nor a Kueue "
                   "LocalQueue: one team's burst can take every GPU");
    }
    const bool netpol = std::any_of(m.kept_objects.begin(), m.kept_objects.end(), [&](auto& o) {
      return o.kind == "NetworkPolicy" && o.namespace_ == ns;
    });
    if (!netpol) {
      out->Add("gpu-namespace-without-networkpolicy", At(*p), "Namespace " + ns,
               "namespace " + ns +
                   " runs GPU work and has no NetworkPolicy: its model servers and notebooks "
                   "are reachable from every pod of the cluster");
    }
  }
}

}  // namespace gputwin::lint
