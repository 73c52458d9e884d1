#include <fmt/format.h>

#include <fstream>
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

void CheckTemplate(const api::PodSpec& spec, const api::ObjectMeta& meta, const SourceRef& where,
                   const LlmModelTable& models, Diagnostics* diagnostics) {
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
    } else if (args.tensor_parallel_size > gpus) {
      throw InputError(c.source, "args",
                       fmt::format("--tensor-parallel-size {} needs {} GPUs; the container's "
                                   "limits give it {}",
                                   args.tensor_parallel_size, args.tensor_parallel_size, gpus));
    }
  }
}

}  // namespace

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
  for (const auto& t : s.traffic) {
    const api::Service* svc = nullptr;
    for (const auto& x : m.services) {
      if (x.metadata.name == t.service && x.metadata.namespace_ == t.service_namespace) svc = &x;
    }
    if (!svc) {
      throw InputError(t.source, "service",
                       "Service \"" + t.service_namespace + "/" + t.service +
                           "\" is not in the manifests");
    }
    if (svc->session_affinity == "ClientIP") {
      diagnostics->Warn(svc->metadata.source, "spec.sessionAffinity",
                        "ClientIP affinity pins a client to one pod; the twin routes every "
                        "request as from a new client");
    }
    if (svc->selector.empty()) {
      diagnostics->Warn(svc->metadata.source, "spec.selector",
                        "a Service without a selector has no managed endpoints: traffic "
                        "\"" + t.name + "\" gets none");
    }
    if (!t.trace_file.empty()) ReadAzureLlmTrace(t.trace_file);
  }
}

}  // namespace gputwin::serving
