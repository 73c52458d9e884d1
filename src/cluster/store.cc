#include "cluster/store.h"

#include <algorithm>
#include <charconv>

#include "cluster/ray_objects.h"
#include "cluster/scheduling_helpers.h"
#include "core/errors.h"
#include "core/index_list.h"

namespace gputwin::cluster {

const char* PodWaitName(PodWait w) {
  switch (w) {
    case PodWait::kQueued:
      return "Queued";
    case PodWait::kSchedulingGated:
      return "SchedulingGated";
    case PodWait::kUnschedulable:
      return "Unschedulable";
    case PodWait::kNominated:
      return "Nominated";
  }
  return "";
}

const char* PhaseName(PodPhase p) {
  switch (p) {
    case PodPhase::kPending:
      return "Pending";
    case PodPhase::kRunning:
      return "Running";
    case PodPhase::kSucceeded:
      return "Succeeded";
    case PodPhase::kFailed:
      return "Failed";
  }
  return "Unknown";
}

Store::Store() : ray_(std::make_shared<RayStore>()) {
  // The built-in classes every cluster has (scheduling.k8s.io, SystemPriorityClasses).
  api::PriorityClass cluster_critical, node_critical;
  cluster_critical.metadata.name = "system-cluster-critical";
  cluster_critical.value = 2000000000;
  node_critical.metadata.name = "system-node-critical";
  node_critical.value = 2000001000;
  AddPriorityClass(cluster_critical);
  AddPriorityClass(node_critical);
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    AddNamespace(ns);
  }
}

void Store::AddPriorityClass(const api::PriorityClass& pc) {
  priority_classes_[pc.metadata.name] = pc;
}
void Store::AddNamespace(const std::string& name, const api::Labels& labels) {
  api::Labels& l = namespaces_[name];
  l = labels;
  l["kubernetes.io/metadata.name"] = name;
}

const api::Labels& Store::NamespaceLabels(const std::string& name) const {
  static const api::Labels kNoLabels;
  auto it = namespaces_.find(name);
  return it == namespaces_.end() ? kNoLabels : it->second;
}

int64_t Store::ImageSize(const std::string& image) const {
  auto it = image_sizes_.find(image);
  return it == image_sizes_.end() ? 0 : it->second;
}
void Store::AddResourceQuota(const api::ResourceQuota& q) {
  quotas_.push_back(QuotaState{q});
  for (const auto& [name, qty] : q.hard) {
    (void)qty;
    std::string base = name;
    for (const char* prefix : {"requests.", "limits."}) {
      if (base.starts_with(prefix)) base = base.substr(std::string(prefix).size());
    }
    if (base != "pods" && !base.starts_with("count/")) resources_.Id(base);
  }
}
void Store::AddLimitRange(const api::LimitRange& lr) {
  limit_ranges_.push_back(lr);
}

std::string Store::NewUid() {
  char buf[40];
  uint64_t n = ++next_uid_;
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(n));
  return buf;
}

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
      std::vector<bool> set;
      int32_t code = -1;
      auto [p, ec] = eq == std::string::npos ? std::from_chars(entry.data(), entry.data(), code)
                                             : std::from_chars(entry.data() + eq + 1,
                                                               entry.data() + entry.size(), code);
      if (eq == std::string::npos || ec != std::errc() || p != entry.data() + entry.size() ||
          code < 0 || code > 255 || ParseIndexList(entry.substr(0, eq), 1 << 20, &set)) {
        throw InputError(meta.source, field,
                         "\"" + entry +
                             "\" is not INDEXES=CODE (for example \"0,2,4-6=1;1=42\", "
                             "codes 0 to 255)");
      }
      for (size_t i = 0; i < set.size(); ++i) {
        if (set[i]) b.exit_code_by_index[static_cast<int32_t>(i)] = code;
      }
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

PodId Store::CreatePod(PodRecord rec, std::string* error) {
  if (static_cast<int64_t>(pods_.size()) >= max_pods_) {
    throw InputError("spec.maxPods: the run has created " + std::to_string(pods_.size()) +
                     " pods, its limit; raise spec.maxPods if the run needs more (pod " +
                     rec.namespace_ + "/" + rec.name + " would be next)");
  }
  if (!namespaces_.count(rec.namespace_)) {
    *error = "namespaces \"" + rec.namespace_ + "\" not found";
    return kNone;
  }
  std::string key = rec.Key();
  if (pod_by_key_.count(key)) {
    *error = "pods \"" + rec.name + "\" already exists";
    return kNone;
  }
  if (!AdmitQuota(rec, error)) return kNone;
  rec.created_at = now_;
  if (rec.uid.empty()) rec.uid = NewUid();
  rec.scheduling_gates = rec.tmpl->spec->scheduling_gates;
  for (const auto& hook : pod_admission_hooks_) hook(rec);
  // The API server marks a pod created with scheduling gates (applySchedulingGatedCondition).
  if (!rec.scheduling_gates.empty() && !rec.Bound()) {
    rec.reason = "SchedulingGated";
    rec.message = "Scheduling is blocked due to non-empty scheduling gates";
    rec.NoteWait(now_, PodWait::kSchedulingGated);
  }
  PodId id = static_cast<PodId>(pods_.size());
  ChargeNamespace(rec, +1);
  pods_.push_back(std::move(rec));
  pod_by_key_.emplace(std::move(key), id);
  ++phase_counts_[static_cast<int>(pods_[id].phase)];
  Notify(WatchKind::kPod, WatchOp::kAdded, id);
  return id;
}

bool Store::RemoveSchedulingGates(PodId id, const std::string& gate) {
  PodRecord& p = pods_[id];
  auto& gates = p.scheduling_gates;
  const size_t before = gates.size();
  if (gate.empty()) {
    gates.clear();
  } else {
    gates.erase(std::remove(gates.begin(), gates.end(), gate), gates.end());
  }
  if (gates.size() == before) return false;
  if (gates.empty() && p.reason == "SchedulingGated") {
    p.reason.clear();
    p.message.clear();
  }
  if (gates.empty() && !p.Bound()) p.NoteWait(now_, PodWait::kQueued);
  Notify(WatchKind::kPod, WatchOp::kModified, id);
  return true;
}

void Store::BindPod(PodId id, NodeId n) {
  PodRecord& p = pods_[id];
  NodeRecord& node = nodes_[n];
  p.node = n;
  p.nominated_node = kNone;
  p.scheduled_at = now_;
  p.unschedulable = false;
  p.message.clear();
  AddTo(&node.requested, p.tmpl->requests);
  if (node.requested.size() <= kPods) node.requested.resize(kPods + 1, 0);
  node.requested[kPods] += 1;
  ++node.usage_version;
  node.nonzero_cpu += p.tmpl->nonzero_cpu;
  node.nonzero_memory += p.tmpl->nonzero_memory;
  node.pods.push_back(id);
  Notify(WatchKind::kPod, WatchOp::kModified, id);
}

void Store::Release(PodRecord& p, PodId id) {
  if (p.node == kNone) return;
  NodeRecord& node = nodes_[p.node];
  auto it = std::find(node.pods.begin(), node.pods.end(), id);
  if (it == node.pods.end()) return;  // already released
  *it = node.pods.back();
  node.pods.pop_back();
  AddTo(&node.requested, p.tmpl->requests, -1);
  node.requested[kPods] -= 1;
  ++node.usage_version;
  node.nonzero_cpu -= p.tmpl->nonzero_cpu;
  node.nonzero_memory -= p.tmpl->nonzero_memory;
}

void Store::SetPodPhase(PodId id, PodPhase phase) {
  PodRecord& p = pods_[id];
  if (p.phase == phase) return;
  if (!p.deleted) {
    --phase_counts_[static_cast<int>(p.phase)];
    ++phase_counts_[static_cast<int>(phase)];
  }
  bool was_terminal = p.Terminal();
  p.phase = phase;
  if (p.Terminal() && !was_terminal) {
    // Terminal pods free their node's resources and stop counting against quota.
    Release(p, id);
    ChargeNamespace(p, -1);
    if (p.finished_at == kNever) p.finished_at = now_;
  }
  Notify(WatchKind::kPod, WatchOp::kModified, id);
}

void Store::DeletePod(PodId id) {
  PodRecord& p = pods_[id];
  if (p.deleted) return;
  // A running container is stopped with SIGTERM and ends with 128+15, unless its node is
  // gone (no kubelet left to report it).
  if (!p.Terminal() && p.phase == PodPhase::kRunning && p.disruption_target != "DeletionByPodGC") {
    p.exit_code = 143;
    p.exit_all_containers = true;
  }
  if (!p.Terminal()) {
    Release(p, id);
    ChargeNamespace(p, -1);
  }
  p.deleted = true;
  p.deleted_at = now_;
  --phase_counts_[static_cast<int>(p.phase)];  // the counts are of live pods
  pod_by_key_.erase(p.Key());
  Notify(WatchKind::kPod, WatchOp::kDeleted, id);
}

std::pair<std::string, std::string> Store::ControllerOf(const PodRecord& p) const {
  switch (p.owner.kind) {
    case OwnerKind::kReplicaSet:
      return {"ReplicaSet", replica_sets_[p.owner.index].obj.metadata.name};
    case OwnerKind::kJob:
      return {"Job", jobs_[p.owner.index].obj.metadata.name};
    case OwnerKind::kDaemonSet:
      return {"DaemonSet", daemon_sets_[p.owner.index].obj.metadata.name};
    case OwnerKind::kStatefulSet:
      return {"StatefulSet", stateful_sets_[p.owner.index].obj.metadata.name};
    case OwnerKind::kPyTorchJob:
      return {"PyTorchJob", pytorch_jobs_[p.owner.index].obj.metadata.name};
    case OwnerKind::kLeaderWorkerSet: {
      const std::string& lws = leader_worker_sets_[p.owner.index].obj.metadata.name;
      const auto& l = p.tmpl->metadata.labels;
      auto w = l.find("leaderworkerset.sigs.k8s.io/worker-index");
      auto g = l.find("leaderworkerset.sigs.k8s.io/group-index");
      if (w == l.end() || w->second == "0" || g == l.end()) return {"StatefulSet", lws};
      return {"StatefulSet", lws + "-" + g->second};
    }
    case OwnerKind::kRayCluster:
      return {"RayCluster", ray_->clusters[p.owner.index].obj.metadata.name};
    case OwnerKind::kGenerator:
      return {"Workload", ""};
    case OwnerKind::kNoOwner:
      break;
  }
  return {"", ""};
}

PodId Store::FindPod(const std::string& ns, const std::string& name) const {
  auto it = pod_by_key_.find(ns + "/" + name);
  return it == pod_by_key_.end() ? kNone : it->second;
}

NodeId Store::AddNode(const api::Node& node) {
  NodeId id = static_cast<NodeId>(nodes_.size());
  NodeRecord rec;
  rec.obj = node;
  rec.obj.metadata.labels.emplace("kubernetes.io/hostname", node.metadata.name);
  if (rec.obj.metadata.uid.empty()) {
    // The API server's uid, deterministic; nodes draw from their own sequence so pods'
    // uids do not depend on how many nodes registered before them.
    char buf[40];
    std::snprintf(buf, sizeof buf, "00000000-0000-4000-9000-%012llx",
                  static_cast<unsigned long long>(id + 1));
    rec.obj.metadata.uid = buf;
  }
  // Images the node reports (status.images) are present from the start.
  for (const auto& img : node.images) {
    for (const auto& name : img.names) {
      rec.images.emplace(name, now_);
      if (img.size_bytes > 0) image_sizes_.emplace(name, img.size_bytes);
    }
  }
  rec.allocatable = ToVec(rec.obj.allocatable, &resources_);
  // GPU sharing inventory (Open-Gpu-Share's node annotations or labels).
  for (const auto* m : {&node.metadata.annotations, &node.metadata.labels}) {
    if (auto it = m->find("alibabacloud.com/gpu-count"); it != m->end()) {
      int32_t n = 0;
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
      rec.gpu_share_left.assign(static_cast<size_t>(std::clamp(n, 0, 8)), 1000);
    }
    if (auto it = m->find("alibabacloud.com/gpu-card-model"); it != m->end()) {
      rec.gpu_share_model = it->second;
    }
  }
  rec.requested.assign(rec.allocatable.size(), 0);
  rec.created_at = now_;
  rec.ready_at = now_;
  nodes_.push_back(std::move(rec));
  node_by_name_[node.metadata.name] = id;
  for (const auto& [k, v] : nodes_[id].obj.metadata.labels) nodes_by_label_[{k, v}].push_back(id);
  Notify(WatchKind::kNode, WatchOp::kAdded, id);
  return id;
}

void Store::SetNodeLabel(NodeId id, const std::string& key, const std::string& value) {
  auto& labels = nodes_[id].obj.metadata.labels;
  auto it = labels.find(key);
  if (it != labels.end()) {
    auto& ids = nodes_by_label_[{key, it->second}];
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  }
  labels[key] = value;
  auto& ids = nodes_by_label_[{key, value}];
  ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id);
  Notify(WatchKind::kNode, WatchOp::kModified, id);
}

void Store::SetNodeDevices(NodeId id, const std::map<std::string, int64_t>& resources,
                           const api::Labels& labels, std::vector<DeviceUnit> devices) {
  NodeRecord& n = nodes_[id];
  auto& alloc = n.obj.allocatable;
  for (auto it = alloc.begin(); it != alloc.end();) {
    it = it->first.starts_with("nvidia.com/") ? alloc.erase(it) : std::next(it);
  }
  for (const auto& [name, count] : resources) alloc[name] = Quantity{count * 1000};
  n.allocatable = ToVec(alloc, &resources_);
  ++n.usage_version;
  if (n.requested.size() < n.allocatable.size()) n.requested.resize(n.allocatable.size(), 0);
  for (const auto& [k, v] : labels) {
    auto& ids = nodes_by_label_[{k, v}];
    auto old = n.obj.metadata.labels.find(k);
    if (old != n.obj.metadata.labels.end()) {
      auto& prev = nodes_by_label_[{k, old->second}];
      prev.erase(std::remove(prev.begin(), prev.end(), id), prev.end());
    }
    n.obj.metadata.labels[k] = v;
    ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id);
  }
  n.devices = std::move(devices);
  n.device_plugin_registered = true;
  Notify(WatchKind::kNode, WatchOp::kModified, id);
}

std::vector<NodeId> Store::NodesWithLabel(const std::string& key, const std::string& value) const {
  auto it = nodes_by_label_.find({key, value});
  if (it == nodes_by_label_.end()) return {};
  std::vector<NodeId> out;
  for (NodeId id : it->second) {
    if (!nodes_[id].deleted) out.push_back(id);
  }
  return out;
}

const std::vector<NodeId>& Store::LabelIndex(const std::string& key,
                                             const std::string& value) const {
  static const std::vector<NodeId> kNoNodes;
  auto it = nodes_by_label_.find({key, value});
  return it == nodes_by_label_.end() ? kNoNodes : it->second;
}

void Store::DeleteNode(NodeId id) {
  NodeRecord& n = nodes_[id];
  if (n.deleted) return;
  n.deleted = true;
  n.deleted_at = now_;
  node_by_name_.erase(n.name());
  Notify(WatchKind::kNode, WatchOp::kDeleted, id);
}

uint32_t Store::FindDeployment(const std::string& namespace_, const std::string& name) const {
  for (uint32_t d = 0; d < deployments_.size(); ++d) {
    const auto& m = deployments_[d].obj.metadata;
    if (!deployments_[d].deleted && m.name == name && m.namespace_ == namespace_) return d;
  }
  return kNone;
}

NodeId Store::FindNode(const std::string& name) const {
  auto it = node_by_name_.find(name);
  return it == node_by_name_.end() ? kNone : it->second;
}

uint32_t Store::AddDeployment(api::Deployment d) {
  auto id = static_cast<uint32_t>(deployments_.size());
  deployments_.push_back(DeploymentRecord{std::move(d)});
  Notify(WatchKind::kDeployment, WatchOp::kAdded, id);
  return id;
}

uint32_t Store::AddReplicaSet(api::ReplicaSet rs, uint32_t deployment) {
  auto id = static_cast<uint32_t>(replica_sets_.size());
  ReplicaSetRecord rec;
  rec.tmpl = MakeTemplate(rs.template_.metadata, rs.template_.spec, rs.metadata.namespace_);
  rec.obj = std::move(rs);
  rec.deployment = deployment;
  replica_sets_.push_back(std::move(rec));
  Notify(WatchKind::kReplicaSet, WatchOp::kAdded, id);
  return id;
}

std::shared_ptr<const PodTemplateInfo> Store::MakeJobTemplate(const api::Job& j) {
  // The Job controller labels its pods with the job's name (batch.kubernetes.io/job-name).
  api::ObjectMeta meta = j.template_->metadata;
  meta.labels["batch.kubernetes.io/job-name"] = j.metadata.name;
  meta.labels["job-name"] = j.metadata.name;
  return MakeTemplate(meta, j.template_->spec, j.metadata.namespace_);
}

uint32_t Store::AddJob(api::Job j) {
  auto id = static_cast<uint32_t>(jobs_.size());
  JobRecord rec;
  rec.tmpl = MakeJobTemplate(j);
  rec.obj = std::move(j);
  jobs_.push_back(std::move(rec));
  Notify(WatchKind::kJob, WatchOp::kAdded, id);
  return id;
}

void Store::DeleteJob(uint32_t id) {
  if (jobs_[id].deleted) return;
  for (PodId p : jobs_[id].all_pods) DeletePod(p);
  jobs_[id].deleted = true;
  jobs_[id].pods.clear();
  Notify(WatchKind::kJob, WatchOp::kModified, id);
}

void Store::DeleteDeployment(uint32_t id) {
  auto& d = deployments_[id];
  if (d.deleted) return;
  d.deleted = true;
  if (d.replica_set != kNone) {
    auto& rs = replica_sets_[d.replica_set];
    rs.deleted = true;
    std::vector<PodId> pods = rs.pods;
    for (PodId p : pods) DeletePod(p);
    replica_sets_[d.replica_set].pods.clear();
    Notify(WatchKind::kReplicaSet, WatchOp::kModified, d.replica_set);
  }
  Notify(WatchKind::kDeployment, WatchOp::kModified, id);
}

void Store::DeleteStatefulSet(uint32_t id) {
  auto& ss = stateful_sets_[id];
  if (ss.deleted) return;
  ss.deleted = true;
  std::vector<PodId> pods = ss.pods;
  for (PodId p : pods) {
    if (p != kNone) DeletePod(p);
  }
  Notify(WatchKind::kStatefulSet, WatchOp::kModified, id);
}

uint32_t Store::FindJob(const std::string& namespace_, const std::string& name) const {
  for (uint32_t j = 0; j < jobs_.size(); ++j) {
    const auto& m = jobs_[j].obj.metadata;
    if (!jobs_[j].deleted && m.name == name && m.namespace_ == namespace_) return j;
  }
  return kNone;
}

uint32_t Store::FindStatefulSet(const std::string& namespace_, const std::string& name) const {
  for (uint32_t i = 0; i < stateful_sets_.size(); ++i) {
    const auto& m = stateful_sets_[i].obj.metadata;
    if (!stateful_sets_[i].deleted && m.name == name && m.namespace_ == namespace_) return i;
  }
  return kNone;
}

uint32_t Store::AddStatefulSet(api::StatefulSet ss) {
  auto id = static_cast<uint32_t>(stateful_sets_.size());
  StatefulSetRecord rec;
  rec.obj = std::move(ss);
  stateful_sets_.push_back(std::move(rec));
  Notify(WatchKind::kStatefulSet, WatchOp::kAdded, id);
  return id;
}

uint32_t Store::AddDaemonSet(api::DaemonSet ds) {
  auto id = static_cast<uint32_t>(daemon_sets_.size());
  DaemonSetRecord rec;
  // AddOrUpdateDaemonPodTolerations: daemon pods stay through node conditions and cordons.
  api::PodSpec spec = ds.template_.spec;
  for (const auto& [key, effect] : std::vector<std::pair<const char*, const char*>>{
           {"node.kubernetes.io/not-ready", "NoExecute"},
           {"node.kubernetes.io/unreachable", "NoExecute"},
           {"node.kubernetes.io/disk-pressure", "NoSchedule"},
           {"node.kubernetes.io/memory-pressure", "NoSchedule"},
           {"node.kubernetes.io/pid-pressure", "NoSchedule"},
           {"node.kubernetes.io/unschedulable", "NoSchedule"}}) {
    api::Taint taint{key, "", effect};
    if (!TaintToleratedBy(taint, spec.tolerations)) {
      spec.tolerations.push_back(api::Toleration{key, "Exists", "", effect, std::nullopt});
    }
  }
  rec.tmpl = MakeTemplate(ds.template_.metadata, spec, ds.metadata.namespace_);
  rec.obj = std::move(ds);
  daemon_sets_.push_back(std::move(rec));
  Notify(WatchKind::kDaemonSet, WatchOp::kAdded, id);
  return id;
}

void Store::RecordEvent(const std::string& type, const std::string& reason, const std::string& kind,
                        const std::string& ns, const std::string& name, const std::string& message,
                        const std::string& source) {
  if (!record_events_) return;
  std::string key = kind + "\x1f" + ns + "\x1f" + name + "\x1f" + reason + "\x1f" + message;
  auto it = event_index_.find(key);
  if (it != event_index_.end()) {
    auto& e = events_[it->second];
    e.count++;
    e.last_timestamp = now_;
    return;
  }
  if (events_.size() >= max_events_) {
    ++dropped_events_;
    return;
  }
  event_index_.emplace(std::move(key), events_.size());
  events_.push_back(KubeEvent{now_, now_, type, reason, kind, ns, name, message, source, 1});
}

void Store::Notify(WatchKind kind, WatchOp op, uint32_t id) {
  const WatchKinds bit = WatchKinds{1} << static_cast<int>(kind);
  for (const auto& [w, kinds] : watchers_) {
    if (kinds & bit) w->OnWatch(kind, op, id);
  }
}

}  // namespace gputwin::cluster
