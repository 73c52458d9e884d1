#include "report/explain.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "core/errors.h"
#include "core/time.h"
#include "report/summary_fields.h"

namespace gputwin::report {

// nlohmann::json (keys sorted); not named Json, summary.h's report::Json is ordered_json.
using SortedJson = nlohmann::json;
using OJson = nlohmann::ordered_json;

SortedJson LoadRunSummary(const std::string& path) {
  std::filesystem::path p(path);
  if (std::filesystem::is_directory(p)) p /= "summary.json";
  std::ifstream in(p);
  if (!in) {
    throw InputError(path + ": no summary.json (give the --out DIR of a `gputwin run`)");
  }
  SortedJson summary;
  try {
    summary = SortedJson::parse(in);
  } catch (const SortedJson::exception& e) {
    throw InputError(p.string() + ": not a gputwin summary: " + e.what());
  }
  return summary;
}

namespace {

struct Chain {
  Time start;
  std::vector<OJson> steps;

  void Add(const std::string& time, const std::string& component, const std::string& reason,
           const std::string& message) {
    if (time.empty()) return;
    std::string error;
    auto t = ParseRFC3339(time, &error);
    const double offset = t ? static_cast<double>((*t - start).ns) / 1e9 : 0;
    steps.push_back(OJson{{"time", time},
                          {"offset", offset},
                          {"component", component},
                          {"reason", reason},
                          {"message", message}});
  }
  // Events about an object, in upstream words, with their source component.
  void Events(const SortedJson& summary, const std::string& kind, const std::string& ns,
              const std::string& name) {
    for (const auto& e : summary.value("events", SortedJson::array())) {
      const auto& o = e.at("involvedObject");
      if (Str(o, "kind") != kind || Str(o, "name") != name) continue;
      if (!ns.empty() && Str(o, "namespace") != ns) continue;
      std::string message = Str(e, "message");
      const int count = e.value("count", 1);
      if (count > 1) {
        message += fmt::format(" (x{}, last at {})", count, Str(e, "lastTimestamp"));
      }
      Add(Str(e, "firstTimestamp"), Str(e.at("source"), "component"), Str(e, "reason"), message);
    }
  }
  void NodeClaim(const SortedJson& nc) {
    const std::string name = Str(nc, "name");
    // A claim that never launched has no type yet: what its NodePool allowed.
    const std::string what =
        Str(nc, "instanceType").empty()
            ? fmt::format("NodePool {}, {} instance types allowed", Str(nc, "nodepool"),
                          nc.value("instanceTypeOptions", 0))
            : fmt::format("{} {} in {} (NodePool {}, ${:.4f}/h)", Str(nc, "capacityType"),
                          Str(nc, "instanceType"), Str(nc, "zone"), Str(nc, "nodepool"),
                          nc.value("pricePerHour", 0.0));
    Add(Str(nc, "createdAt"), "karpenter", "NodeClaimCreated", "nodeclaim/" + name + ": " + what);
    Add(Str(nc, "launchedAt"), "karpenter", "Launched", "nodeclaim/" + name + " launched");
    Add(Str(nc, "registeredAt"), "karpenter", "Registered",
        "nodeclaim/" + name + " registered as node " + Str(nc, "node"));
    Add(Str(nc, "initializedAt"), "karpenter", "Initialized",
        "nodeclaim/" + name +
            " initialized (startup taints gone, extended resources "
            "advertised)");
    if (!Str(nc, "launchError").empty()) {
      Add(Str(nc, "createdAt"), "karpenter", "LaunchFailed", Str(nc, "launchError"));
    }
    if (!Str(nc, "deletedAt").empty()) {
      Add(Str(nc, "deletedAt"), "karpenter", "Deleted",
          "nodeclaim/" + name + " deleted" +
              (Str(nc, "disruptionReason").empty() ? ""
                                                   : " (" + Str(nc, "disruptionReason") + ")"));
    }
  }
  void Workload(const SortedJson& w) {
    for (const auto& h : w.value("history", SortedJson::array())) {
      Add(Str(h, "time"), "kueue-controller-manager",
          Str(h, "type") + (Str(h, "reason").empty() || Str(h, "reason") == Str(h, "type")
                                ? ""
                                : "/" + Str(h, "reason")),
          "workload/" + Str(w, "name") + ": " + Str(h, "message"));
    }
  }
  void Sort() {
    std::stable_sort(steps.begin(), steps.end(), [](const OJson& a, const OJson& b) {
      return a["offset"].get<double>() < b["offset"].get<double>();
    });
  }
};

const SortedJson* FindIn(const SortedJson& list,
                         const std::function<bool(const SortedJson&)>& match) {
  for (const auto& x : list) {
    if (match(x)) return &x;
  }
  return nullptr;
}

const SortedJson& List(const SortedJson& summary, std::initializer_list<const char*> path) {
  static const SortedJson kEmpty = SortedJson::array();
  const SortedJson* at = &summary;
  for (const char* key : path) {
    auto it = at->find(key);
    if (it == at->end() || it->is_null()) return kEmpty;
    at = &*it;
  }
  return *at;
}

// The smallest changes that would let a Pending pod run, read from kube-scheduler's and
// Karpenter's own messages.
OJson WhatWouldChangeIt(const std::string& scheduler, const std::string& karpenter) {
  OJson out = OJson::array();
  const std::string taint = "had untolerated taint {";
  for (size_t at = scheduler.find(taint); at != std::string::npos;
       at = scheduler.find(taint, at + 1)) {
    const size_t start = at + taint.size();
    const size_t colon = scheduler.find(':', start);
    const size_t end = scheduler.find('}', start);
    if (colon == std::string::npos || end == std::string::npos || colon > end) continue;
    const std::string key = scheduler.substr(start, colon - start);
    out.push_back("tolerate the taint: tolerations: [{key: " + key +
                  ", operator: Exists, effect: NoSchedule}]");
  }
  if (scheduler.find("Insufficient nvidia.com/") != std::string::npos) {
    out.push_back(
        "more free GPUs of that resource: a node or NodePool that offers them, a device plugin "
        "that advertises them (and the right MIG or sharing config), or fewer GPUs per pod");
  }
  if (scheduler.find("didn't match Pod's node affinity/selector") != std::string::npos) {
    out.push_back(
        "a node whose labels match the pod's nodeSelector/affinity, or a looser "
        "selector");
  }
  if (scheduler.find("SchedulingGated") != std::string::npos ||
      scheduler.find("scheduling gates") != std::string::npos) {
    out.push_back(
        "the controller that owns the scheduling gate must remove it (Kueue: admit the "
        "workload)");
  }
  if (karpenter.find("no instance type") != std::string::npos ||
      karpenter.find("incompatible") != std::string::npos) {
    out.push_back(
        "a NodePool whose requirements, taints and limits admit an instance type "
        "that fits the pod");
  }
  if (karpenter.find("Exceeded") != std::string::npos ||
      karpenter.find("insufficient capacity") != std::string::npos) {
    out.push_back(
        "a higher cloud quota (vCPU limit for the family), another capacity type or "
        "region, or a NodePool allowing other instance families");
  }
  return out;
}

// kube-scheduler's FailedScheduling message ("0/5 nodes are available: 3 Insufficient
// nvidia.com/gpu, 2 node(s) had untolerated taint {...}. preemption: ...") back into the
// verdicts it summarises: how many nodes each Filter plugin rejected and why. The plugin
// is known by its reason text (framework/plugins/*: each plugin's ErrReason...).
OJson SchedulerVerdicts(const std::string& message) {
  static const std::vector<std::pair<const char*, const char*>> kPluginOf = {
      {"Insufficient ", "NodeResourcesFit"},
      {"Too many pods", "NodeResourcesFit"},
      {"had untolerated taint", "TaintToleration"},
      {"didn't match Pod's node affinity/selector", "NodeAffinity"},
      {"were unschedulable", "NodeUnschedulable"},
      {"didn't match pod topology spread constraints", "PodTopologySpread"},
      {"pod affinity rules", "InterPodAffinity"},
      {"pod anti-affinity rules", "InterPodAffinity"},
      {"existing pods anti-affinity rules", "InterPodAffinity"},
      {"didn't match the requested node name", "NodeName"},
      {"didn't have free ports", "NodePorts"},
      {"enough free share", "OpenGpuShare"},
  };
  OJson out = OJson::array();
  const std::string head = "nodes are available: ";
  const size_t at = message.find(head);
  if (at == std::string::npos) return out;
  std::string body = message.substr(at + head.size());
  if (const size_t end = body.find(". preemption:"); end != std::string::npos) body.resize(end);
  if (!body.empty() && body.back() == '.') body.pop_back();
  // Items are ", "-separated outside the braces of a taint.
  std::vector<std::string> items;
  int depth = 0;
  size_t from = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '{') ++depth;
    if (body[i] == '}') --depth;
    if (depth == 0 && body.compare(i, 2, ", ") == 0) {
      items.push_back(body.substr(from, i - from));
      from = i + 2;
    }
  }
  items.push_back(body.substr(from));
  for (const auto& item : items) {
    const size_t space = item.find(' ');
    if (space == std::string::npos) continue;
    const std::string count = item.substr(0, space);
    if (count.empty() || !std::all_of(count.begin(), count.end(), ::isdigit)) continue;
    const std::string reason = item.substr(space + 1);
    std::string plugin = "(other)";
    for (const auto& [text, name] : kPluginOf) {
      if (reason.find(text) != std::string::npos) {
        plugin = name;
        break;
      }
    }
    out.push_back(OJson{{"plugin", plugin}, {"nodes", std::stoi(count)}, {"reason", reason}});
  }
  return out;
}

// Seconds a pod spent in each wait before binding (summary.json's pods[].waits), and in
// ContainerCreating from binding to its container's start.
OJson WaitedFor(const SortedJson& pod, const SortedJson& summary) {
  std::string error;
  auto seconds = [&](const std::string& t) -> std::optional<double> {
    if (t.empty()) return std::nullopt;
    auto parsed = ParseRFC3339(t, &error);
    if (!parsed) return std::nullopt;
    return static_cast<double>(parsed->ns) / 1e9;
  };
  const double end = seconds(Str(summary, "endTime")).value_or(0);
  const auto created = seconds(Str(pod, "createdAt"));
  if (!created) return OJson::object();
  double until = end;
  for (const char* key : {"scheduledAt", "deletedAt", "finishedAt"}) {
    if (auto t = seconds(Str(pod, key))) until = std::min(until, *t);
  }
  std::map<std::string, double> spent;
  std::vector<std::string> order;
  double from = *created;
  std::string why = "Queued";
  auto add = [&](const std::string& w, double a, double b) {
    if (b <= a) return;
    if (!spent.count(w)) order.push_back(w);
    spent[w] += b - a;
  };
  for (const auto& w : pod.value("waits", SortedJson::array())) {
    if (!w.is_array() || w.size() != 2 || !w[0].is_string() || !w[1].is_string()) continue;
    const double next = seconds(w[0].get<std::string>()).value_or(from);
    add(why, from, std::min(next, until));
    from = std::max(from, next);
    why = w[1].get<std::string>();
  }
  add(why, from, until);
  if (auto scheduled = seconds(Str(pod, "scheduledAt"))) {
    double started = end;
    for (const char* key : {"startedAt", "deletedAt", "finishedAt"}) {
      if (auto t = seconds(Str(pod, key))) started = std::min(started, *t);
    }
    add("ContainerCreating", *scheduled, started);
  }
  OJson out = OJson::object();
  for (const auto& w : order) out[w] = std::round(spent[w] * 1000) / 1000;
  return out;
}

}  // namespace

OJson Explain(const SortedJson& summary, const std::string& object) {
  const auto slash = object.find('/');
  const std::string kind = object.substr(0, slash);
  const std::string rest = slash == std::string::npos ? "" : object.substr(slash + 1);
  const auto slash2 = rest.find('/');
  const bool namespaced = kind == "pod" || kind == "job" || kind == "workload" ||
                          kind == "jobset" || kind == "pytorchjob" || kind == "trainjob" ||
                          kind == "rayjob" || kind == "raycluster" || kind == "rayservice";
  if (slash == std::string::npos || rest.empty() || (namespaced && slash2 == std::string::npos)) {
    throw InputError("explain: \"" + object +
                     "\": write pod/NAMESPACE/NAME, job/NAMESPACE/NAME, workload/NAMESPACE/NAME, "
                     "jobset/NAMESPACE/NAME, pytorchjob/NAMESPACE/NAME, trainjob/NAMESPACE/NAME, "
                     "rayjob/NAMESPACE/NAME, raycluster/NAMESPACE/NAME, "
                     "rayservice/NAMESPACE/NAME, node/NAME or nodeclaim/NAME");
  }
  const std::string ns = namespaced ? rest.substr(0, slash2) : "";
  const std::string name = namespaced ? rest.substr(slash2 + 1) : rest;
  Chain chain;
  std::string error;
  chain.start = ParseRFC3339(Str(summary, "startTime"), &error).value_or(Time{0});
  OJson out{{"object", object}, {"kind", kind}};
  auto missing = [&]() {
    return InputError("explain: the run has no " + object + " (scenario " +
                      Str(summary, "scenario") + ")");
  };
  auto in_ns = [&](const SortedJson& x) {
    return Str(x, "namespace") == ns && Str(x, "name") == name;
  };
  const SortedJson& workloads = List(summary, {"workloads"});
  const SortedJson& claims = List(summary, {"karpenter", "nodeClaims"});
  static const SortedJson kNoCost = SortedJson::object();
  const SortedJson& cost =
      summary.contains("cost") && summary["cost"].is_object() ? summary["cost"] : kNoCost;

  if (kind == "pod") {
    const SortedJson* pod = FindIn(List(summary, {"pods"}), in_ns);
    if (!pod) throw missing();
    const SortedJson& owner = pod->value("owner", SortedJson());
    const std::string owner_kind = owner.is_object() ? Str(owner, "kind") : "";
    const std::string owner_name = owner.is_object() ? Str(owner, "name") : "";
    chain.Add(Str(*pod, "createdAt"), owner_kind.empty() ? "kubectl" : owner_kind, "Created",
              "pod created" + (owner_kind.empty() ? std::string(" (no owner)")
                                                  : " by " + owner_kind + " " + owner_name));
    // The owner's own story: a ReplicaSet's Deployment, a Job's Workload.
    if (owner_kind == "ReplicaSet") {
      for (const auto& e : List(summary, {"events"})) {
        if (Str(e, "reason") == "ScalingReplicaSet" &&
            Str(e, "message").find(" " + owner_name + " ") != std::string::npos) {
          out["deployment"] = Str(e.at("involvedObject"), "name");
          break;
        }
      }
      // A snapshot's ReplicaSet: <deployment>-<pod-template-hash>.
      const auto dash = owner_name.rfind('-');
      if (!out.contains("deployment") && dash != std::string::npos &&
          FindIn(List(summary, {"deployments"}), [&](const SortedJson& d) {
            return Str(d, "namespace") == ns && Str(d, "name") == owner_name.substr(0, dash);
          })) {
        out["deployment"] = owner_name.substr(0, dash);
      }
    }
    const SortedJson* wl = FindIn(workloads, [&](const SortedJson& w) {
      if (Str(w, "namespace") != ns) return false;
      return (owner_kind == "Job" && Str(w, "job") == owner_name) ||
             Str(w, "owner") == "Pod " + name;
    });
    if (wl) {
      chain.Workload(*wl);
      out["workload"] = Str(*wl, "name");
    }
    chain.Events(summary, "Pod", ns, name);
    const std::string node = Str(*pod, "node");
    if (const SortedJson* nc = FindIn(
            claims, [&](const SortedJson& c) { return !node.empty() && Str(c, "node") == node; })) {
      chain.NodeClaim(*nc);
    }
    for (const auto& p : List(summary, {"karpenter", "pendingPods"})) {
      if (Str(p, "pod") != ns + "/" + name) continue;
      out["karpenter"] = OJson{{"message", Str(p, "message")},
                               {"nominated", Str(p, "nominated")},
                               {"pendingForever", p.value("pendingForever", false)}};
      // Still waiting for (or let down by) the NodeClaim it was nominated to.
      const std::string claim = Str(p, "nominated");
      if (const SortedJson* nc = FindIn(
              claims,
              [&](const SortedJson& c) { return !claim.empty() && Str(c, "name") == claim; });
          nc && node.empty()) {
        chain.NodeClaim(*nc);
      }
    }
    // Every NodeClaim the pod's node came from or it waited for: the instance types its
    // NodePool allowed.
    OJson considered = OJson::array();
    for (const auto& c : claims) {
      const bool ours = (!node.empty() && Str(c, "node") == node) ||
                        (out.contains("karpenter") &&
                         Str(c, "name") == out["karpenter"]["nominated"].get<std::string>());
      if (!ours || !c.contains("instanceTypeOptions")) continue;
      considered.push_back(
          OJson{{"nodeClaim", Str(c, "name")},
                {"nodePool", Str(c, "nodepool")},
                {"instanceTypeOptions", c["instanceTypeOptions"]},
                {"cheapestOptions", c.value("cheapestOptions", SortedJson::array())},
                {"launched", c.value("instanceType", SortedJson())}});
    }
    if (!considered.empty()) out["nodeClaims"] = considered;
    // kube-scheduler's last verdict per Filter plugin (the pod's FailedScheduling message).
    std::string last_failure;
    for (const auto& e : List(summary, {"events"})) {
      const auto& o = e.at("involvedObject");
      if (Str(e, "reason") == "FailedScheduling" && Str(o, "kind") == "Pod" &&
          Str(o, "namespace") == ns && Str(o, "name") == name &&
          Str(e.at("source"), "component") != "karpenter") {
        last_failure = Str(e, "message");
      }
    }
    if (!last_failure.empty()) {
      out["scheduler"] = OJson{{"lastFailedScheduling", last_failure},
                               {"filterVerdicts", SchedulerVerdicts(last_failure)}};
    }
    if (const OJson waited = WaitedFor(*pod, summary); !waited.empty()) out["waited"] = waited;
    for (const auto& c : List(summary, {"karpenter", "coldStarts"})) {
      if (Str(c, "pod") == ns + "/" + name) out["coldStart"] = c;
    }
    for (const auto& l : List(summary, {"karpenter", "lostWork"})) {
      if (Str(l, "pod") != ns + "/" + name) continue;
      chain.Add(Str(l, "at"), "karpenter", "LostWork",
                fmt::format("{:.0f} s of work lost ({:.0f} GPU-seconds): {}",
                            l.value("seconds", 0.0), l.value("gpuSeconds", 0.0), Str(l, "reason")));
    }
    chain.Add(Str(*pod, "finishedAt"), "kubelet", Str(*pod, "phase"),
              "pod " + Str(*pod, "phase") +
                  (Str(*pod, "reason").empty() ? "" : " (" + Str(*pod, "reason") + ")"));
    chain.Add(Str(*pod, "deletedAt"), "kube-apiserver", "Deleted",
              "pod deleted" + (Str(*pod, "message").empty() ? "" : ": " + Str(*pod, "message")));
    out["state"] = OJson{{"phase", Str(*pod, "phase")},
                         {"node", node},
                         {"reason", Str(*pod, "reason")},
                         {"message", Str(*pod, "message")},
                         {"restartCount", pod->value("restartCount", 0)},
                         {"waitSeconds", pod->value("waitSeconds", SortedJson())}};
    if (Str(*pod, "phase") == "Pending") {
      const std::string karpenter =
          out.contains("karpenter") ? out["karpenter"]["message"].get<std::string>() : "";
      const OJson changes =
          WhatWouldChangeIt(Str(*pod, "reason") + " " + Str(*pod, "message"), karpenter);
      if (!changes.empty()) out["whatWouldChangeIt"] = changes;
      if (wl && Str(*wl, "state") == "Pending") {
        out["whatWouldChangeIt"].push_back(
            "Kueue must admit workload " + Str(*wl, "name") + ": " +
            wl->value("pendingMessage", std::string("it is queued")) +
            " (quota in its ClusterQueue, borrowing from the cohort, or a higher priority)");
      }
    }
    if (owner_kind == "Job") {
      out["cost"] =
          cost.value("byJob", SortedJson::object()).value(ns + "/" + owner_name, SortedJson());
    } else if (out.contains("deployment")) {
      out["cost"] = cost.value("byDeployment", SortedJson::object())
                        .value(ns + "/" + out["deployment"].get<std::string>(), SortedJson());
    }
  } else if (kind == "job") {
    const SortedJson* job = FindIn(List(summary, {"jobs"}), in_ns);
    if (!job) throw missing();
    chain.Events(summary, "Job", ns, name);
    if (const SortedJson* wl = FindIn(workloads, [&](const SortedJson& w) {
          return Str(w, "namespace") == ns && Str(w, "job") == name;
        })) {
      chain.Workload(*wl);
      out["workload"] = Str(*wl, "name");
    }
    OJson pods = OJson::array();
    for (const auto& p : List(summary, {"pods"})) {
      const SortedJson& o = p.value("owner", SortedJson());
      if (Str(p, "namespace") == ns && o.is_object() && Str(o, "kind") == "Job" &&
          Str(o, "name") == name) {
        pods.push_back(Str(p, "name") + " " + Str(p, "phase"));
      }
    }
    out["state"] =
        OJson{{"condition", Str(*job, "condition")}, {"reason", Str(*job, "reason")},
              {"message", Str(*job, "message")},     {"succeeded", job->value("succeeded", 0)},
              {"failed", job->value("failed", 0)},   {"pods", pods}};
    out["cost"] = cost.value("byJob", SortedJson::object()).value(ns + "/" + name, SortedJson());
  } else if (kind == "workload") {
    const SortedJson* wl = FindIn(workloads, [&](const SortedJson& w) {
      return Str(w, "namespace") == ns && (Str(w, "name") == name || Str(w, "job") == name);
    });
    if (!wl) throw missing();
    chain.Workload(*wl);
    out["state"] = OJson{{"state", Str(*wl, "state")},
                         {"clusterQueue", wl->value("clusterQueue", SortedJson())},
                         {"flavors", wl->value("flavors", SortedJson::object())},
                         {"waitSeconds", wl->value("waitSeconds", 0.0)},
                         {"evictions", wl->value("evictions", 0)},
                         {"preemptions", wl->value("preemptions", 0)}};
    if (wl->contains("pendingMessage")) out["state"]["pendingMessage"] = (*wl)["pendingMessage"];
  } else if (kind == "node") {
    const SortedJson* node = FindIn(List(summary, {"nodes"}),
                                    [&](const SortedJson& n) { return Str(n, "name") == name; });
    if (!node) throw missing();
    if (const SortedJson* nc =
            FindIn(claims, [&](const SortedJson& c) { return Str(c, "node") == name; })) {
      chain.NodeClaim(*nc);
      out["nodeClaim"] = Str(*nc, "name");
    } else {
      chain.Add(Str(*node, "createdAt"), "kube-apiserver", "Registered", "node registered");
    }
    chain.Events(summary, "Node", "", name);
    chain.Add(Str(*node, "readyAt"), "kubelet", "NodeReady", "node Ready");
    chain.Add(Str(*node, "deletedAt"), "kube-apiserver", "Deleted", "node deleted");
    out["state"] = OJson{{"ready", node->value("ready", false)},
                         {"pods", node->value("pods", 0)},
                         {"taints", node->value("taints", SortedJson::array())}};
    if (const SortedJson* c = FindIn(cost.value("nodes", SortedJson::array()),
                                     [&](const SortedJson& n) { return Str(n, "name") == name; })) {
      out["cost"] = *c;
    }
  } else if (kind == "rayjob" || kind == "raycluster" || kind == "rayservice") {
    // KubeRay's objects: the status history, their events (and their cluster's), their Kueue
    // workload.
    const std::string event_kind = kind == "rayjob"       ? "RayJob"
                                   : kind == "raycluster" ? "RayCluster"
                                                          : "RayService";
    const char* list = kind == "rayjob"       ? "rayJobs"
                       : kind == "raycluster" ? "rayClusters"
                                              : "rayServices";
    const SortedJson* obj = FindIn(List(summary, {list}), in_ns);
    if (!obj) throw missing();
    for (const auto& h : obj->value("history", SortedJson::array())) {
      // "" is JobDeploymentStatusNew.
      const std::string status =
          Str(h, "jobDeploymentStatus").empty() ? "New" : Str(h, "jobDeploymentStatus");
      chain.Add(Str(h, "time"), "rayjob-controller", status, "jobDeploymentStatus " + status);
    }
    for (const auto& c : obj->value("conditions", SortedJson::array())) {
      chain.Add(Str(c, "lastTransitionTime"), kind + "-controller", Str(c, "reason"),
                Str(c, "type") + "=" + Str(c, "status") +
                    (Str(c, "message").empty() ? "" : ": " + Str(c, "message")));
    }
    std::vector<std::pair<std::string, std::string>> objects = {{event_kind, name}};
    if (kind == "rayjob" && !Str(*obj, "rayClusterName").empty()) {
      objects.emplace_back("RayCluster", Str(*obj, "rayClusterName"));
      objects.emplace_back("Job", name);
      out["rayCluster"] = Str(*obj, "rayClusterName");
    }
    for (const auto& e : List(summary, {"events"})) {
      const auto& o = e.at("involvedObject");
      const bool ours = std::any_of(objects.begin(), objects.end(), [&](const auto& k) {
        return Str(o, "kind") == k.first && Str(o, "name") == k.second;
      });
      if (!ours || Str(o, "namespace") != ns) continue;
      chain.Add(Str(e, "firstTimestamp"), Str(e.at("source"), "component"), Str(e, "reason"),
                Str(e, "message"));
    }
    const std::string owner = event_kind + " " + name;
    if (const SortedJson* wl = FindIn(workloads, [&](const SortedJson& w) {
          return Str(w, "namespace") == ns && Str(w, "owner") == owner;
        })) {
      chain.Workload(*wl);
      out["workload"] = Str(*wl, "name");
    }
    OJson state = OJson::object();
    for (const char* key :
         {"state", "jobDeploymentStatus", "jobStatus", "reason", "message", "serviceStatus",
          "numServeEndpoints", "readyWorkerReplicas", "desiredWorkerReplicas", "succeeded",
          "failed", "gpuHoursAdvancing", "gpuHoursWaitingForGang", "gpuHoursLost"}) {
      if (obj->contains(key)) state[key] = (*obj)[key];
    }
    out["state"] = state;
  } else if (kind == "jobset" || kind == "pytorchjob" || kind == "trainjob") {
    // A training operator's object: its conditions, its Kueue workload, and its gang (a
    // TrainJob's: its JobSet's, whose conditions join the chain).
    const std::string event_kind = kind == "jobset"       ? "JobSet"
                                   : kind == "pytorchjob" ? "PyTorchJob"
                                                          : "TrainJob";
    const char* list = kind == "jobset"       ? "jobSets"
                       : kind == "pytorchjob" ? "pyTorchJobs"
                                              : "trainJobs";
    const SortedJson* obj = FindIn(List(summary, {list}), in_ns);
    if (!obj) throw missing();
    std::set<std::string> reasons;
    auto conditions = [&](const SortedJson& o, const std::string& component) {
      for (const auto& c : o.value("conditions", SortedJson::array())) {
        const std::string at =
            c.contains("lastTransitionTime") ? Str(c, "lastTransitionTime") : Str(c, "time");
        chain.Add(at, component, Str(c, "reason"), Str(c, "message"));
        reasons.insert(Str(c, "reason"));
      }
    };
    conditions(*obj, kind + "-controller");
    std::vector<std::pair<std::string, std::string>> objects = {{event_kind, name}};
    if (kind == "trainjob" && !Str(*obj, "jobSet").empty()) {
      const std::string js = Str(*obj, "jobSet");
      out["jobSet"] = js;
      objects.emplace_back("JobSet", js);
      if (const SortedJson* j = FindIn(List(summary, {"jobSets"}), [&](const SortedJson& x) {
            return Str(x, "namespace") == ns && Str(x, "name") == js;
          })) {
        conditions(*j, "jobset-controller");
      }
    }
    // Their events, but for those that only announce a condition listed above.
    for (const auto& e : List(summary, {"events"})) {
      const auto& o = e.at("involvedObject");
      const bool ours = std::any_of(objects.begin(), objects.end(), [&](const auto& k) {
        return Str(o, "kind") == k.first && Str(o, "name") == k.second;
      });
      if (!ours || Str(o, "namespace") != ns || reasons.count(Str(e, "reason"))) continue;
      chain.Add(Str(e, "firstTimestamp"), Str(e.at("source"), "component"), Str(e, "reason"),
                Str(e, "message"));
    }
    const std::string owner = event_kind + " " + name;
    if (const SortedJson* wl = FindIn(workloads, [&](const SortedJson& w) {
          return Str(w, "namespace") == ns && Str(w, "owner") == owner;
        })) {
      chain.Workload(*wl);
      out["workload"] = Str(*wl, "name");
    }
    OJson state = OJson::object();
    for (const char* key :
         {"terminalState", "condition", "state", "numNodes", "restarts", "gpuHoursAdvancing",
          "gpuHoursWaitingForGang", "secondsWaitingForGang", "gpuHoursLost"}) {
      if (obj->contains(key)) state[key] = (*obj)[key];
    }
    out["state"] = state;
    if (obj->value("secondsWaitingForGang", 0.0) > 0) {
      out["whatWouldChangeIt"] = OJson::array(
          {"its gang waited for missing members while holding GPUs: admit it whole (Kueue "
           "with its " +
           event_kind + " integration) or give it room for every pod at once"});
    }
  } else if (kind == "nodeclaim") {
    const SortedJson* nc =
        FindIn(claims, [&](const SortedJson& c) { return Str(c, "name") == name; });
    if (!nc) throw missing();
    chain.NodeClaim(*nc);
    chain.Events(summary, "NodeClaim", "", name);
    out["state"] = *nc;
  } else {
    throw InputError("explain: unknown kind \"" + kind +
                     "\": pod, job, workload, jobset, pytorchjob, trainjob, node or nodeclaim");
  }
  chain.Sort();
  out["chain"] = chain.steps;
  return out;
}

std::string RenderExplain(const OJson& e) {
  std::string out = e["object"].get<std::string>() + "\n";
  if (e.contains("deployment")) {
    out += "  owned by Deployment " + e["deployment"].get<std::string>() + "\n";
  }
  if (e.contains("jobSet")) out += "  its JobSet " + e["jobSet"].get<std::string>() + "\n";
  if (e.contains("workload")) out += "  Kueue workload " + e["workload"].get<std::string>() + "\n";
  out += "\nWhat happened\n";
  auto line = [](const OJson& s) {
    return fmt::format("  {:>9}  {:<26} {:<24} {}\n",
                       FormatDuration(Duration::Nanoseconds(
                           static_cast<int64_t>(s["offset"].get<double>() * 1e9))),
                       s["component"].get<std::string>(), s["reason"].get<std::string>(),
                       s["message"].get<std::string>());
  };
  // A run of the same step (Karpenter nominating to claim after failing claim) shows its
  // first and last; --format json keeps every one.
  const auto& chain = e["chain"];
  for (size_t i = 0; i < chain.size();) {
    size_t j = i + 1;
    while (j < chain.size() && chain[j]["component"] == chain[i]["component"] &&
           chain[j]["reason"] == chain[i]["reason"]) {
      ++j;
    }
    out += line(chain[i]);
    if (j - i > 3) {
      out += fmt::format("  {:>9}  ... {} more {} steps\n", "", j - i - 2,
                         chain[i]["reason"].get<std::string>());
      out += line(chain[j - 1]);
      i = j;
    } else {
      ++i;
    }
  }
  out += "\nNow\n";
  for (const auto& [k, v] : e["state"].items()) {
    if (v.is_null() || (v.is_string() && v.get<std::string>().empty())) continue;
    out += "  " + k + ": " + (v.is_string() ? v.get<std::string>() : v.dump()) + "\n";
  }
  if (e.contains("whatWouldChangeIt")) {
    out += "\nWhat would change it\n";
    for (const auto& c : e["whatWouldChangeIt"]) out += "  - " + c.get<std::string>() + "\n";
  }
  if (e.contains("waited")) {
    out += "\nWhere the wait went\n";
    for (const auto& [why, s] : e["waited"].items()) {
      out += fmt::format("  {:<18} {}\n", why,
                         FormatDuration(Duration::Nanoseconds(
                             static_cast<int64_t>(std::llround(s.get<double>() * 1e9)))));
    }
  }
  if (e.contains("scheduler")) {
    out += "\nkube-scheduler, last attempt (nodes rejected per Filter plugin)\n";
    for (const auto& v : e["scheduler"]["filterVerdicts"]) {
      out += fmt::format("  {:<18} {:>6}  {}\n", v["plugin"].get<std::string>(),
                         v["nodes"].get<int>(), v["reason"].get<std::string>());
    }
  }
  if (e.contains("karpenter")) {
    out += "\nKarpenter\n  " + e["karpenter"]["message"].get<std::string>() + "\n";
  }
  if (e.contains("nodeClaims")) {
    for (const auto& c : e["nodeClaims"]) {
      std::string cheapest;
      for (const auto& t : c["cheapestOptions"]) {
        cheapest += (cheapest.empty() ? "" : ", ") + t.get<std::string>();
      }
      out += fmt::format(
          "  nodeclaim/{} of NodePool {}: {} instance types allowed (cheapest: {}); launched: {}\n",
          c["nodeClaim"].get<std::string>(), c["nodePool"].get<std::string>(),
          c["instanceTypeOptions"].get<size_t>(), cheapest,
          c["launched"].is_string() ? c["launched"].get<std::string>() : "nothing");
    }
  }
  if (e.contains("coldStart")) {
    const auto& c = e["coldStart"];
    out += fmt::format(
        "\nCold start ({:.0f} s)\n  waiting for a decision {:.0f} s, launch and boot {:.0f} s, "
        "GPU setup {:.0f} s, bind {:.0f} s, image pull {:.0f} s\n",
        c.value("totalSeconds", 0.0), c.value("waitingForDecisionSeconds", 0.0),
        c.value("launchAndBootSeconds", 0.0), c.value("gpuSetupSeconds", 0.0),
        c.value("bindSeconds", 0.0), c.value("imagePullSeconds", 0.0));
  }
  if (e.contains("cost") && !e["cost"].is_null()) {
    out += "\nCost\n  " +
           (e["cost"].is_number()
                ? fmt::format("${:.2f} (its owner's share over the run)", e["cost"].get<double>())
                : e["cost"].dump()) +
           "\n";
  }
  return out;
}

}  // namespace gputwin::report
