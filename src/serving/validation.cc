#include <fmt/format.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "core/quantity.h"
#include "serving/serving_controller.h"

namespace gputwin::serving {
namespace {

// The serving annotations (docs/annotations.md), checked like the others.
void CheckAnnotations(const api::ObjectMeta& meta, const SourceRef& where) {
  auto fail = [&](const std::string& key, const std::string& what) {
    throw InputError(where, "metadata.annotations[" + key + "]", what);
  };
  for (const auto& [key, value] : meta.annotations) {
    if (key == "gputwin.io/server" && value != "vllm" && value != "none") {
      fail(key, "Unsupported value: \"" + value + "\": supported values: \"vllm\", \"none\"");
    }
    if (key == "gputwin.io/model-source" && value != "hub" && value != "object-storage" &&
        value != "local" && value != "image") {
      fail(key, "Unsupported value: \"" + value +
                    "\": supported values: \"hub\", \"object-storage\", \"local\", \"image\"");
    }
    if (key == "gputwin.io/weights-bandwidth") {
      std::string err;
      auto q = ParseQuantity(value, &err);
      if (!q || q->Value() <= 0) fail(key, "\"" + value + "\" is not a positive bytes/s quantity");
    }
    if (key == "gputwin.io/engine-warmup") {
      std::string err;
      auto d = ParseDuration(value, &err);
      if (!d || d->ns < 0) fail(key, "\"" + value + "\" is not a duration: " + err);
    }
  }
}

int64_t GpuLimits(const api::PodSpec& spec) {
  int64_t gpus = 0;
  for (const auto& c : spec.containers) {
    for (const auto& [name, q] : c.resources.limits) {
      if (name == "nvidia.com/gpu" || name.starts_with("nvidia.com/mig-")) gpus += q.Value();
    }
  }
  return gpus;
}

// `group_gpus`: GPUs other pods add to the engine's Ray cluster (a LeaderWorkerSet leader's
// workers), 0 for a server on its own.
void CheckTemplate(const api::PodSpec& spec, const api::ObjectMeta& meta, const SourceRef& where,
                   const LlmModelTable& models, Diagnostics* diagnostics, int64_t group_gpus = 0) {
  CheckAnnotations(meta, meta.source.line > 0 ? meta.source : where);
  auto a = meta.annotations.find("gputwin.io/server");
  const std::string server = a == meta.annotations.end() ? "" : a->second;
  for (const auto& c : spec.containers) {
    if (!LooksLikeVllm(c.image, c.command, c.args, server)) continue;
    const VllmEngineArgs args = ParseVllmArgs(c.command, c.args, c.source, diagnostics);
    if (args.model.empty()) {
      diagnostics->Warn(c.source, "args",
                        "this container runs the vLLM image without naming a model; the twin "
                        "runs it as a plain GPU container (vLLM would serve its default model)");
      continue;
    }
    const LlmArchitecture* model = models.Find(args.model);
    if (!model) throw InputError(c.source, "args", UnknownModelMessage(models, args.model));
    CheckTensorParallel(args, *model, c.source);
    int64_t gpus = 0;
    for (const auto& [name, q] : c.resources.limits) {
      if (name == "nvidia.com/gpu" || name.starts_with("nvidia.com/mig-")) gpus += q.Value();
    }
    if (gpus == 0) {
      diagnostics->Warn(c.source, "resources.limits",
                        "this vLLM container asks for no nvidia.com/gpu: vLLM fails with "
                        "\"No CUDA GPUs are available\"");
    } else if (args.tensor_parallel_size * args.pipeline_parallel_size > gpus + group_gpus) {
      const int need = args.tensor_parallel_size * args.pipeline_parallel_size;
      throw InputError(
          c.source, "args",
          group_gpus > 0
              ? fmt::format("--tensor-parallel-size {} × --pipeline-parallel-size {} needs {} "
                            "GPUs; the leader and its workers' limits give the group {}",
                            args.tensor_parallel_size, args.pipeline_parallel_size, need,
                            gpus + group_gpus)
              : fmt::format("--tensor-parallel-size {} needs {} GPUs; the container's "
                            "limits give it {}",
                            need, need, gpus));
    }
  }
}

}  // namespace

void ResolveIngresses(const api::Manifests& m, api::Scenario* s, Diagnostics* diagnostics) {
  // Annotations of ingress-nginx that change what a request meets, not modelled.
  static const std::vector<std::pair<std::string, std::string>> kUnmodelled = {
      {"nginx.ingress.kubernetes.io/upstream-hash-by", "consistent hashing of requests"},
      {"nginx.ingress.kubernetes.io/affinity", "sticky sessions"},
      {"nginx.ingress.kubernetes.io/proxy-send-timeout", "a timeout sending the request"},
      {"nginx.ingress.kubernetes.io/proxy-next-upstream-timeout", "a limit on retrying"},
      {"nginx.ingress.kubernetes.io/limit-rps", "rate limiting"},
      {"nginx.ingress.kubernetes.io/limit-connections", "connection limiting"},
      {"nginx.ingress.kubernetes.io/canary", "canary routing"},
  };
  bool retry_non_idempotent = false;
  std::string read_timeout;
  for (const auto& cm : m.config_maps) {
    auto it = cm.data.find("retry-non-idempotent");
    if (it != cm.data.end()) retry_non_idempotent = it->second == "true";
    if (auto rt = cm.data.find("proxy-read-timeout"); rt != cm.data.end())
      read_timeout = rt->second;
  }
  for (auto& t : s->traffic) {
    if (t.ingress.empty()) continue;
    std::string ns = "default", name = t.ingress;
    if (const size_t slash = name.find('/'); slash != std::string::npos) {
      ns = name.substr(0, slash);
      name = name.substr(slash + 1);
    }
    const api::Ingress* ing = nullptr;
    for (const auto& x : m.ingresses) {
      if (x.metadata.name == name && x.metadata.namespace_ == ns) ing = &x;
    }
    if (!ing) {
      throw InputError(t.source, "ingress",
                       "Ingress \"" + ns + "/" + name + "\" is not in the manifests");
    }
    const api::IngressBackend* be =
        ing->default_backend ? &*ing->default_backend
                             : (ing->backends.empty() ? nullptr : &ing->backends.front());
    if (!be) throw InputError(ing->metadata.source, "spec.rules", "the Ingress routes nowhere");
    if (!ing->default_backend && ing->backends.size() > 1) {
      diagnostics->Warn(ing->metadata.source, "spec.rules",
                        "traffic \"" + t.name + "\" goes to the first path's Service (" +
                            be->service + "); the twin does not split traffic by host and path");
    }
    std::string cls = ing->ingress_class;
    if (auto a = ing->metadata.annotations.find("kubernetes.io/ingress.class");
        cls.empty() && a != ing->metadata.annotations.end()) {
      cls = a->second;
    }
    if (!cls.empty() && cls != "nginx") {
      diagnostics->Warn(ing->metadata.source, "spec.ingressClassName",
                        "ingress class \"" + cls +
                            "\" is not modelled; the twin routes as "
                            "ingress-nginx would");
    }
    t.service_namespace = ns;
    t.service = be->service;
    t.proxy = "nginx";
    t.load_balancer = "round-robin";
    // ingress-nginx syncs endpoint changes at most every ~3.3 s (rate-limited) and each
    // worker picks them up within 1 s.
    t.endpoint_delay = Duration::Seconds(3);
    t.retry_non_idempotent = retry_non_idempotent;
    const auto& ann = ing->metadata.annotations;
    auto get = [&](const char* k) {
      auto it = ann.find(std::string("nginx.ingress.kubernetes.io/") + k);
      return it == ann.end() ? std::optional<std::string>() : it->second;
    };
    if (auto lb = get("load-balance")) {
      if (*lb == "round_robin") {
        t.load_balancer = "round-robin";
      } else if (*lb == "ewma") {
        t.load_balancer = "ewma";
      } else {
        throw InputError(ing->metadata.source, "metadata.annotations",
                         "nginx.ingress.kubernetes.io/load-balance: Unsupported value: \"" + *lb +
                             "\": supported values: \"round_robin\", \"ewma\"");
      }
    }
    if (auto nu = get("proxy-next-upstream")) {
      t.next_upstream.clear();
      std::string cur;
      for (char c : *nu + " ") {
        if (c == ' ') {
          if (!cur.empty()) t.next_upstream.push_back(cur);
          cur.clear();
        } else {
          cur += c;
        }
      }
    }
    // proxy-read-timeout: seconds between two reads of the answer (the controller's
    // ConfigMap default, else 60).
    if (auto rt = get("proxy-read-timeout").value_or(read_timeout); !rt.empty()) {
      try {
        t.timeout = Duration::Seconds(std::stoi(rt));
      } catch (const std::exception&) {
        throw InputError(ing->metadata.source, "metadata.annotations",
                         "nginx.ingress.kubernetes.io/proxy-read-timeout: \"" + rt +
                             "\" is not a number of seconds");
      }
    }
    if (auto tries = get("proxy-next-upstream-tries")) {
      try {
        t.next_upstream_tries = std::stoi(*tries);
      } catch (const std::exception&) {
        throw InputError(ing->metadata.source, "metadata.annotations",
                         "nginx.ingress.kubernetes.io/proxy-next-upstream-tries: \"" + *tries +
                             "\" is not a number");
      }
    }
    for (const auto& [key, what] : kUnmodelled) {
      if (ann.count(key)) {
        diagnostics->Warn(ing->metadata.source, "metadata.annotations",
                          key + " (" + what + ") is not modelled");
      }
    }
  }
}

void ValidateServing(const api::Manifests& m, const api::Scenario& s, Diagnostics* diagnostics) {
  LlmModelTable models;
  for (const auto& sm : s.serving_models) {
    std::ifstream f(sm.config);
    if (!f) throw InputError(sm.source, "config", "cannot read " + sm.config);
    std::stringstream text;
    text << f.rdbuf();
    models.Add(ParseHfConfig(text.str(), sm.config, sm.name));
  }
  for (const auto& d : m.deployments) {
    CheckTemplate(d.template_.spec, d.template_.metadata, d.metadata.source, models, diagnostics);
  }
  for (const auto& p : m.pods) {
    CheckTemplate(p.spec, p.metadata, p.metadata.source, models, diagnostics);
  }
  // A LeaderWorkerSet's leader serves with its group's GPUs (vLLM over a Ray cluster of the
  // leader and its workers, as lws's vLLM example runs it).
  for (const auto& l : m.leader_worker_sets) {
    const int64_t workers = int64_t{l.size - 1} * GpuLimits(l.worker_template.spec);
    // The workers join the leader's Ray cluster (`ray start`): ranks, not servers.
    CheckTemplate(l.LeaderTemplate().spec, l.LeaderTemplate().metadata, l.metadata.source, models,
                  diagnostics, workers);
    bool vllm = false;
    for (const auto& c : l.LeaderTemplate().spec.containers) {
      auto a = l.LeaderTemplate().metadata.annotations.find("gputwin.io/server");
      vllm = vllm ||
             LooksLikeVllm(c.image, c.command, c.args,
                           a == l.LeaderTemplate().metadata.annotations.end() ? "" : a->second);
    }
    if (vllm && l.size > 1 && l.restart_policy == "None") {
      diagnostics->Warn(l.source, "spec.leaderWorkerTemplate.restartPolicy",
                        "None: upstream a lost worker makes vLLM on the leader exit and restart "
                        "its container, waiting for the workers again; the twin keeps the "
                        "leader's server down until the leader pod is replaced");
    }
  }
  for (const auto& t : s.traffic) {
    const api::Service* svc = nullptr;
    for (const auto& x : m.services) {
      if (x.metadata.name == t.service && x.metadata.namespace_ == t.service_namespace) svc = &x;
    }
    if (!svc) {
      throw InputError(
          t.source, "service",
          "Service \"" + t.service_namespace + "/" + t.service + "\" is not in the manifests");
    }
    if (svc->session_affinity == "ClientIP") {
      diagnostics->Warn(svc->metadata.source, "spec.sessionAffinity",
                        "ClientIP affinity pins a client to one pod; the twin routes every "
                        "request as from a new client");
    }
    if (svc->selector.empty()) {
      diagnostics->Warn(svc->metadata.source, "spec.selector",
                        "a Service without a selector has no managed endpoints: traffic "
                        "\"" +
                            t.name + "\" gets none");
    }
    if (!t.trace_file.empty()) ReadAzureLlmTrace(t.trace_file);
  }
}

}  // namespace gputwin::serving
