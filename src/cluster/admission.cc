// The API server's admission plugins as pods are created: LimitRanger (container defaults,
// min/max), Priority (priorityClassName, globalDefault), DefaultTolerationSeconds, the pod
// (anti-)affinity label keys (KEP-3633), ResourceQuota; and the workload annotations the
// twin reads off a pod template (gputwin.io/*, Alibaba's GPU sharing). Equal admitted specs
// are interned (Store::InternSpec).
#include <algorithm>
#include <charconv>

#include "cluster/scheduling_helpers.h"
#include "cluster/store.h"
#include "core/errors.h"
#include "core/index_list.h"

namespace gputwin::cluster {

namespace {

template <typename T>
T ParseAnnotation(const api::ObjectMeta& meta, const std::string& key, const std::string& text,
                  const char* what) {
  T v{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    throw InputError(meta.source, "metadata.annotations." + key, "\"" + text + "\" is not " + what);
  }
  return v;
}

PodBehavior ParseBehavior(const api::ObjectMeta& meta) {
  PodBehavior b;
  const auto& a = meta.annotations;
  std::string err;
  if (auto it = a.find("gputwin.io/run-time"); it != a.end()) {
    auto d = ParseDuration(it->second, &err);
    if (!d || d->ns < 0) {
      throw InputError(meta.source, "metadata.annotations.gputwin.io/run-time",
                       "\"" + it->second + "\" is not a non-negative duration");
    }
    b.run_time = *d;
  }
  if (auto it = a.find("gputwin.io/exit-code"); it != a.end()) {
    b.exit_code = ParseAnnotation<int32_t>(meta, it->first, it->second, "an integer");
    if (b.exit_code < 0 || b.exit_code > 255) {
      throw InputError(meta.source, "metadata.annotations." + it->first,
                       "must be between 0 and 255");
    }
  }
  if (auto it = a.find("gputwin.io/exit-code-by-index"); it != a.end()) {
    // "INDEXES=CODE;INDEXES=CODE", indexes as a Job's completedIndexes ("0,2,4-6").
    const std::string field = "metadata.annotations." + it->first;
    const std::string& text = it->second;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find(';', pos);
      if (end == std::string::npos) end = text.size();
      const std::string entry = text.substr(pos, end - pos);
      const size_t eq = entry.find('=');
      std::vector<IndexInterval> intervals;
      int32_t code = -1;
      auto [p, ec] = eq == std::string::npos ? std::from_chars(entry.data(), entry.data(), code)
                                             : std::from_chars(entry.data() + eq + 1,
                                                               entry.data() + entry.size(), code);
      if (eq == std::string::npos || ec != std::errc() || p != entry.data() + entry.size() ||
          code < 0 || code > 255 || ParseIndexIntervals(entry.substr(0, eq), 1 << 20, &intervals)) {
        throw InputError(meta.source, field,
                         "\"" + entry +
                             "\" is not INDEXES=CODE (for example \"0,2,4-6=1;1=42\", "
                             "codes 0 to 255)");
      }
      for (const IndexInterval& in : intervals) b.exit_code_by_index.push_back({in, code});
      pos = end + 1;
    }
  }
  if (auto it = a.find("gputwin.io/gpu-utilization"); it != a.end()) {
    b.gpu_utilization = ParseAnnotation<double>(meta, it->first, it->second, "a number");
    if (!(b.gpu_utilization >= 0 && b.gpu_utilization <= 1)) {
      throw InputError(meta.source, "metadata.annotations." + it->first, "must be between 0 and 1");
    }
  }
  for (const char* key : {"gputwin.io/checkpoint-interval", "gputwin.io/checkpoint-cost"}) {
    auto it = a.find(key);
    if (it == a.end()) continue;
    auto d = ParseDuration(it->second, &err);
    bool interval = std::string(key) == "gputwin.io/checkpoint-interval";
    if (!d || d->ns < 0 || (interval && d->ns == 0)) {
      throw InputError(meta.source, std::string("metadata.annotations.") + key,
                       "\"" + it->second + "\" is not a " +
                           (interval ? "positive" : "non-negative") + " duration");
    }
    if (interval) {
      b.checkpoint_interval = *d;
    } else {
      b.checkpoint_cost = *d;
    }
  }
  if (auto it = a.find("gputwin.io/step-time"); it != a.end()) {
    auto d = ParseDuration(it->second, &err);
    if (!d || d->ns <= 0) {
      throw InputError(meta.source, "metadata.annotations.gputwin.io/step-time",
                       "\"" + it->second + "\" is not a positive duration");
    }
    b.step_time = *d;
  }
  for (const char* key :
       {"gputwin.io/gpu-memory", "gputwin.io/image-size", "gputwin.io/gradient-size"}) {
    auto it = a.find(key);
    if (it == a.end()) continue;
    auto q = ParseQuantity(it->second, &err);
    if (!q || q->milli < 0) {
      throw InputError(meta.source, std::string("metadata.annotations.") + key,
                       "\"" + it->second + "\" is not a quantity" + (q ? "" : ": " + err));
    }
    const std::string k = key;
    (k == "gputwin.io/gpu-memory"   ? b.gpu_memory
     : k == "gputwin.io/image-size" ? b.image_size
                                    : b.gradient_bytes) = q->Value();
  }
  return b;
}

}  // namespace

std::shared_ptr<const PodTemplateInfo> Store::MakeTemplate(const api::ObjectMeta& meta,
                                                           const api::PodSpec& spec_in,
                                                           const std::string& ns) {
  auto info = std::make_shared<PodTemplateInfo>();
  info->id = next_template_id_++;
  info->metadata = meta;
  api::PodSpec spec = spec_in;

  // LimitRanger admission: container defaults from the namespace's LimitRanges.
  for (const auto& lr : limit_ranges_) {
    if (lr.metadata.namespace_ != ns) continue;
    for (const auto& item : lr.limits) {
      if (item.type != "Container") continue;
      for (auto* list : {&spec.containers, &spec.init_containers}) {
        for (auto& c : *list) {
          for (const auto& [r, q] : item.default_limits) c.resources.limits.emplace(r, q);
          for (const auto& [r, q] : item.default_requests) c.resources.requests.emplace(r, q);
          // A defaulted limit also defaults the request when no defaultRequest is given.
          for (const auto& [r, q] : c.resources.limits) c.resources.requests.emplace(r, q);
          for (const auto& [r, q] : item.max) {
            auto lim = c.resources.limits.find(r);
            if (lim != c.resources.limits.end() && lim->second > q) {
              throw InputError(meta.source, "spec.containers",
                               "forbidden: maximum " + r + " usage per Container is " +
                                   FormatQuantity(q, r == "memory") + ", but limit is " +
                                   FormatQuantity(lim->second, r == "memory"));
            }
          }
          for (const auto& [r, q] : item.min) {
            auto req = c.resources.requests.find(r);
            if (req != c.resources.requests.end() && req->second < q) {
              throw InputError(meta.source, "spec.containers",
                               "forbidden: minimum " + r + " usage per Container is " +
                                   FormatQuantity(q, r == "memory") + ", but request is " +
                                   FormatQuantity(req->second, r == "memory"));
            }
          }
        }
      }
    }
  }

  // Priority admission: priorityClassName, else the globalDefault class, else 0.
  if (spec.priority_class_name.empty()) {
    for (const auto& [name, pc] : priority_classes_) {
      if (pc.global_default) {
        info->priority = pc.value;
        info->preempt_never = pc.preemption_policy == "Never";
      }
    }
  } else {
    auto it = priority_classes_.find(spec.priority_class_name);
    if (it == priority_classes_.end()) {
      throw InputError(meta.source, "spec.priorityClassName",
                       "no PriorityClass with name " + spec.priority_class_name + " was found");
    }
    info->priority = it->second.value;
    info->preempt_never = it->second.preemption_policy == "Never";
  }
  if (spec.preemption_policy) info->preempt_never = *spec.preemption_policy == "Never";
  spec.priority = info->priority;

  // DefaultTolerationSeconds admission: tolerate not-ready and unreachable for 300s.
  for (const char* key : {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}) {
    api::Taint taint{key, "", "NoExecute"};
    if (TaintToleratedBy(taint, spec.tolerations)) continue;
    spec.tolerations.push_back(api::Toleration{key, "Exists", "", "NoExecute", 300});
  }

  // resource.PodRequests: max(Σ app containers, each init container) + overhead.
  ResourceVec sum, sum_limits;
  for (const auto& c : spec.containers) {
    AddTo(&sum, ToVec(c.resources.requests, &resources_));
    AddTo(&sum_limits, ToVec(c.resources.limits, &resources_));
    info->has_cpu_request |= c.resources.requests.count("cpu") > 0;
    info->has_memory_request |= c.resources.requests.count("memory") > 0;
    int64_t cpu = 0, mem = 0;
    if (auto it = c.resources.requests.find("cpu"); it != c.resources.requests.end()) {
      cpu = it->second.milli;
    } else {
      cpu = kDefaultMilliCpuRequest;
    }
    if (auto it = c.resources.requests.find("memory"); it != c.resources.requests.end()) {
      mem = it->second.Value();
    } else {
      mem = kDefaultMemoryRequest;
    }
    info->nonzero_cpu += cpu;
    info->nonzero_memory += mem;
    if (!c.image.empty()) info->images.push_back(c.image);
  }
  // resourcehelper's AggregateContainerRequests: sidecars (restartable init containers)
  // run beside the app containers and beside every init container after them.
  ResourceVec sidecars, init_max;
  for (const auto& c : spec.init_containers) {
    ResourceVec v = ToVec(c.resources.requests, &resources_);
    if (c.sidecar) {
      AddTo(&sidecars, v);
      v = sidecars;
    } else {
      AddTo(&v, sidecars);
    }
    if (init_max.size() < v.size()) init_max.resize(v.size(), 0);
    for (size_t i = 0; i < v.size(); ++i) init_max[i] = std::max(init_max[i], v[i]);
    if (!c.image.empty()) info->images.push_back(c.image);
  }
  AddTo(&sum, sidecars);
  if (sum.size() < init_max.size()) sum.resize(init_max.size(), 0);
  for (size_t i = 0; i < init_max.size(); ++i) sum[i] = std::max(sum[i], init_max[i]);
  // Pod-level resources replace the containers' sum for the resources they name.
  if (spec.pod_resources) {
    auto set = [&](ResourceVec* vec, const api::ResourceList& list) {
      for (const auto& [name, q] : list) {
        const ResourceId id = resources_.Id(name);
        if (vec->size() <= id) vec->resize(id + 1u, 0);
        (*vec)[id] = ResourceRegistry::Units(name, q);
      }
    };
    set(&sum, spec.pod_resources->requests);
    set(&sum_limits, spec.pod_resources->limits);
    const auto& req = spec.pod_resources->requests;
    if (auto it = req.find("cpu"); it != req.end()) {
      info->has_cpu_request = true;
      info->nonzero_cpu = it->second.milli;
    }
    if (auto it = req.find("memory"); it != req.end()) {
      info->has_memory_request = true;
      info->nonzero_memory = it->second.Value();
    }
  }
  AddTo(&sum, ToVec(spec.overhead, &resources_));
  info->requests = std::move(sum);
  info->limits = std::move(sum_limits);
  info->behavior = ParseBehavior(meta);
  if (info->behavior.image_size > 0 && !info->images.empty()) {
    const int64_t each = info->behavior.image_size / static_cast<int64_t>(info->images.size());
    for (const auto& image : info->images) image_sizes_.emplace(image, each);
  }
  // The API server merges matchLabelKeys / mismatchLabelKeys of pod (anti-)affinity terms
  // into their label selectors when the pod is created (KEP-3633).
  for (auto* affinity : {&spec.pod_affinity, &spec.pod_anti_affinity}) {
    if (!*affinity) continue;
    auto merge = [&](api::PodAffinityTerm& t) {
      if (!t.label_selector) return;
      for (const auto& k : t.match_label_keys) {
        if (auto l = meta.labels.find(k); l != meta.labels.end()) {
          t.label_selector->match_expressions.push_back({k, "In", {l->second}});
        }
      }
      for (const auto& k : t.mismatch_label_keys) {
        if (auto l = meta.labels.find(k); l != meta.labels.end()) {
          t.label_selector->match_expressions.push_back({k, "NotIn", {l->second}});
        }
      }
      t.match_label_keys.clear();
      t.mismatch_label_keys.clear();
    };
    for (auto& t : (*affinity)->required) merge(t);
    for (auto& w : (*affinity)->preferred) merge(w.term);
  }
  // GPU sharing, as Alibaba's clusters ask for it (annotations).
  const auto& ann = meta.annotations;
  if (auto it = ann.find("alibabacloud.com/gpu-milli"); it != ann.end()) {
    auto& g = info->gpu_share;
    g.gpu_milli = ParseAnnotation<int32_t>(meta, it->first, it->second, "an integer");
    if (g.gpu_milli < 1 || g.gpu_milli > 1000) {
      throw InputError(meta.source, "metadata.annotations." + it->first, "must be 1 to 1000");
    }
    g.num_gpu = 1;
    if (auto c = ann.find("alibabacloud.com/gpu-count"); c != ann.end()) {
      g.num_gpu = ParseAnnotation<int32_t>(meta, c->first, c->second, "an integer");
      if (g.num_gpu < 1 || g.num_gpu > 8 || (g.num_gpu > 1 && g.gpu_milli != 1000)) {
        throw InputError(meta.source, "metadata.annotations." + c->first,
                         "1 to 8 GPUs, and whole GPUs (gpu-milli 1000) when more than one");
      }
    }
    if (auto m = ann.find("alibabacloud.com/gpu-card-model"); m != ann.end())
      g.gpu_type = m->second;
    g.cpu_milli = At(info->requests, kCpu);
    g.memory_mib = At(info->requests, kMemory) >> 20;
    info->uses_gpu_share = true;
  }
  info->spec = InternSpec(std::move(spec));
  return info;
}

std::shared_ptr<const api::PodSpec> Store::InternSpec(api::PodSpec spec) {
  // What tells specs apart in practice (a bucket is searched with ==): per-pod templates of
  // a snapshot differ by nodeName, generated ones by image, requests, selectors and the
  // line their containers were read from.
  const std::hash<std::string> hs;
  size_t h = hs(spec.node_name) * 31 + hs(spec.priority_class_name);
  h = h * 31 + spec.tolerations.size() * 7 + spec.init_containers.size();
  for (const auto& c : spec.containers) {
    h = h * 31 + hs(c.name) + hs(c.image) + static_cast<size_t>(c.source.line);
    for (const auto& [r, q] : c.resources.requests) h = h * 31 + static_cast<size_t>(q.milli);
    for (const auto& [r, q] : c.resources.limits) h = h * 31 + static_cast<size_t>(q.milli);
  }
  for (const auto& [k, v] : spec.node_selector) h = h * 31 + hs(k) + hs(v);
  auto [first, last] = spec_intern_.equal_range(h);
  for (auto it = first; it != last;) {
    auto held = it->second.lock();
    if (!held) {
      it = spec_intern_.erase(it);
      continue;
    }
    if (*held == spec) return held;
    ++it;
  }
  auto shared = std::make_shared<const api::PodSpec>(std::move(spec));
  spec_intern_.emplace(h, shared);
  return shared;
}

void Store::ChargeNamespace(const PodRecord& p, int64_t sign) {
  auto& u = usage_[p.namespace_];
  AddTo(&u.requests, p.tmpl->requests, sign);
  AddTo(&u.limits, p.tmpl->limits, sign);
  u.pods += sign;
}

bool Store::AdmitQuota(const PodRecord& p, std::string* error) {
  auto& u = usage_[p.namespace_];
  for (const auto& q : quotas_) {
    if (q.obj.metadata.namespace_ != p.namespace_) continue;
    std::string requested, used, limited, must_specify;
    for (const auto& [name, hard] : q.obj.hard) {
      int64_t want = 0, have = 0, cap = 0;
      bool is_limits = name.starts_with("limits.");
      std::string base = name;
      if (name.starts_with("requests.")) base = name.substr(9);
      if (is_limits) base = name.substr(7);
      bool memory_like = base == "memory" || base == "ephemeral-storage";
      if (base == "pods" || name == "count/pods") {
        want = 1;
        have = u.pods;
        cap = hard.Value();
      } else if (base.starts_with("count/")) {
        continue;
      } else {
        ResourceId id = resources_.Id(base);
        want = At(is_limits ? p.tmpl->limits : p.tmpl->requests, id);
        have = At(is_limits ? u.limits : u.requests, id);
        cap = ResourceRegistry::Units(base, hard);
        // A quota on cpu or memory requires every container to state it.
        if ((base == "cpu" || base == "memory") && want == 0) {
          must_specify += (must_specify.empty() ? "" : "; ") + name +
                          " for: " + p.tmpl->spec->containers.front().name;
          continue;
        }
      }
      if (want > 0 && have + want > cap) {
        auto fmt = [&](int64_t v) {
          return base == "cpu" ? FormatQuantity(Quantity{v})
                               : FormatQuantity(Quantity{v * 1000}, memory_like);
        };
        auto sep = [](std::string& s) {
          if (!s.empty()) s += ",";
        };
        sep(requested), sep(used), sep(limited);
        requested += name + "=" + fmt(want);
        used += name + "=" + fmt(have);
        limited += name + "=" + fmt(cap);
      }
    }
    if (!must_specify.empty()) {
      *error = "pods \"" + p.name + "\" is forbidden: failed quota: " + q.obj.metadata.name +
               ": must specify " + must_specify;
      return false;
    }
    if (!requested.empty()) {
      *error = "pods \"" + p.name + "\" is forbidden: exceeded quota: " + q.obj.metadata.name +
               ", requested: " + requested + ", used: " + used + ", limited: " + limited;
      return false;
    }
  }
  return true;
}

}  // namespace gputwin::cluster
