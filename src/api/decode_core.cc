#include "api/decode_core.h"
#include "api/not_modelled.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <unordered_set>

namespace gputwin::api {
namespace {
// Extended resources (a domain other than kubernetes.io, e.g. nvidia.com/gpu) and
// hugepages cannot be overcommitted (helper.IsOvercommitAllowed).
bool IsOvercommitAllowed(const std::string& name) {
  if (name.starts_with("hugepages-")) return false;
  auto slash = name.find('/');
  if (slash == std::string::npos) return true;
  return name.starts_with("kubernetes.io/") || name.find(".kubernetes.io/") != std::string::npos;
}

// The API server's ValidateResourceRequirements, after defaulting requests from limits.
void ValidateResources(YamlReader& res, ResourceRequirements* r) {
  for (const auto& [name, q] : r->limits) {
    if (q.milli < 0)
      res.Fail("limits",
               "Invalid value: \"" + FormatQuantity(q) + "\": must be greater than or equal to 0");
    if (!IsOvercommitAllowed(name) && !q.IsInteger()) {
      res.Fail("limits", "Invalid value: \"" + FormatQuantity(q) + "\": must be an integer");
    }
  }
  for (const auto& [name, q] : r->requests) {
    std::string field = "requests";
    if (q.milli < 0)
      res.Fail(field,
               "Invalid value: \"" + FormatQuantity(q) + "\": must be greater than or equal to 0");
    if (!IsOvercommitAllowed(name) && !q.IsInteger()) {
      res.Fail(field, "Invalid value: \"" + FormatQuantity(q) + "\": must be an integer");
    }
    auto lim = r->limits.find(name);
    if (lim != r->limits.end()) {
      if (q != lim->second && !IsOvercommitAllowed(name)) {
        res.Fail(field, "Invalid value: \"" + FormatQuantity(q) + "\": must be equal to " + name +
                            " limit of " + FormatQuantity(lim->second));
      } else if (q > lim->second) {
        res.Fail(field, "Invalid value: \"" + FormatQuantity(q) +
                            "\": must be less than or equal to " + name + " limit of " +
                            FormatQuantity(lim->second));
      }
    } else if (!IsOvercommitAllowed(name)) {
      const std::string why = "Required value: Limit must be set for non overcommitable resources";
      if (auto* d = res.diagnostics(); d && d->collect_rejections) {
        d->rejections.push_back(
            {res.Where(res.Raw("requests")), res.FieldPath("limits"), name + ": " + why});
        continue;
      }
      res.Fail("limits", why);
    }
  }
  // Defaulting (SetDefaults_Container): a limit without a request sets the request.
  for (const auto& [name, q] : r->limits) {
    if (r->requests.emplace(name, q).second) r->defaulted_requests.push_back(name);
  }
}

// spec.resources of a pod (KEP-2837): validated as pkg/apis/core/validation
// validatePodResources, defaulted as pkg/apis/core/v1/defaults.go defaultPodRequests.
ResourceRequirements DecodePodLevelResources(YamlReader& res, const PodSpec& spec) {
  ResourceRequirements r;
  r.requests = res.Resources("requests");
  r.limits = res.Resources("limits");
  for (const auto* field : {"requests", "limits"}) {
    for (const auto& [name, q] : std::string(field) == "requests" ? r.requests : r.limits) {
      if (name != "cpu" && name != "memory" && !name.starts_with("hugepages-")) {
        res.Fail(field, "Unsupported value: \"" + name +
                            "\": supported values: \"cpu\", \"memory\" (pod-level resources; "
                            "extended resources such as GPUs stay on containers)");
      }
      if (q.milli < 0) {
        res.Fail(field, "Invalid value: \"" + FormatQuantity(q) +
                            "\": must be greater than or equal to 0");
      }
    }
  }
  // What the containers ask for: Σ containers, at least each init container.
  auto aggregate = [&](const std::string& name) -> std::optional<Quantity> {
    std::optional<Quantity> sum, init_max;
    for (const auto& c : spec.containers) {
      if (auto it = c.resources.requests.find(name); it != c.resources.requests.end()) {
        // Saturating: upstream's Quantity.Add does not overflow (inf.Dec); a sum past
        // int64 milli-units is past any node's capacity anyway.
        int64_t total = 0;
        if (__builtin_add_overflow(sum.value_or(Quantity{}).milli, it->second.milli, &total)) {
          total = std::numeric_limits<int64_t>::max();
        }
        sum = Quantity{total};
      }
    }
    for (const auto& c : spec.init_containers) {
      if (auto it = c.resources.requests.find(name); it != c.resources.requests.end()) {
        init_max = std::max(init_max.value_or(Quantity{}), it->second);
      }
    }
    if (!sum) return init_max;
    if (init_max) return std::max(*sum, *init_max);
    return sum;
  };
  for (const auto& [name, lim] : r.limits) {
    if (r.requests.count(name)) continue;
    auto agg = aggregate(name);
    r.requests.emplace(name, agg ? *agg : lim);
  }
  for (const auto& [name, q] : r.requests) {
    if (auto lim = r.limits.find(name); lim != r.limits.end() && q > lim->second) {
      res.Fail("requests", "Invalid value: \"" + FormatQuantity(q) +
                               "\": must be less than or equal to " + name + " limit of " +
                               FormatQuantity(lim->second));
    }
    if (auto agg = aggregate(name); agg && q < *agg) {
      res.Fail("requests",
               "Invalid value: \"" + FormatQuantity(q) +
                   "\": must be greater than or equal to aggregate container requests of " +
                   FormatQuantity(*agg));
    }
  }
  res.Finish();
  return r;
}

Probe DecodeProbe(YamlReader& p) {
  Probe out;
  out.initial_delay_seconds =
      static_cast<int32_t>(p.Int("initialDelaySeconds", 0, 1 << 30).value_or(0));
  out.period_seconds = static_cast<int32_t>(p.Int("periodSeconds", 1, 1 << 30).value_or(10));
  out.timeout_seconds = static_cast<int32_t>(p.Int("timeoutSeconds", 1, 1 << 30).value_or(1));
  out.success_threshold = static_cast<int32_t>(p.Int("successThreshold", 1, 1 << 30).value_or(1));
  out.failure_threshold = static_cast<int32_t>(p.Int("failureThreshold", 1, 1 << 30).value_or(3));
  p.Ignore({"httpGet", "tcpSocket", "exec", "grpc", "terminationGracePeriodSeconds"});
  p.Finish();
  return out;
}

// A preStop hook's pause: `sleep: {seconds: N}` (Kubernetes 1.29+) or `exec` of `sleep N`
// (also inside `sh -c`).
std::optional<int64_t> DecodePreStop(YamlReader& lifecycle) {
  auto pre = lifecycle.Object("preStop");
  if (!pre) return std::nullopt;
  int64_t seconds = 0;
  bool known = false;
  if (auto sl = pre->Object("sleep")) {
    seconds = sl->Int("seconds", 0, 1 << 30).value_or(0);
    known = true;
    sl->Finish();
  }
  if (auto ex = pre->Object("exec")) {
    const auto cmd = ex->StringList("command");
    std::string words;
    for (const auto& w : cmd) words += " " + w;
    const size_t at = words.find("sleep ");
    if (at != std::string::npos) {
      try {
        seconds = std::stoll(words.substr(at + 6));
        known = true;
      } catch (const std::exception&) {
      }
    }
    ex->Finish();
  }
  if (!known) {
    pre->diagnostics()->Warn(pre->Where(), "lifecycle.preStop",
                             "a preStop hook other than a sleep takes time the twin does not "
                             "know; it counts as 0s of the termination grace period");
  }
  pre->Ignore({"httpGet", "tcpSocket"});
  pre->Finish();
  return seconds;
}

Container DecodeContainer(YamlReader& c, bool init) {
  Container out;
  out.source = c.Where();
  if (auto rp = c.OptString("restartPolicy")) {
    // Only an init container may set it, and only to Always (API validation).
    if (!init || *rp != "Always") {
      c.Fail("restartPolicy", "Unsupported value: \"" + *rp + "\": " +
                                  (init ? "supported values: \"Always\""
                                        : "only init containers may set a restartPolicy"));
    }
    out.sidecar = true;
  }
  out.name = c.RequiredString("name");
  out.image = c.String("image");
  out.command = c.StringList("command");
  out.args = c.StringList("args");
  if (auto p = c.Object("readinessProbe")) out.readiness_probe = DecodeProbe(*p);
  if (auto p = c.Object("startupProbe")) out.startup_probe = DecodeProbe(*p);
  if (auto l = c.Object("lifecycle")) {
    out.pre_stop_seconds = DecodePreStop(*l);
    l->Ignore({"postStart", "stopSignal"});
    l->Finish();
  }
  if (auto res = c.Object("resources")) {
    out.resources.requests = res->Resources("requests");
    out.resources.limits = res->Resources("limits");
    ValidateResources(*res, &out.resources);
    res->Ignore({"claims"});
    res->Finish();
  }
  for (auto& e : c.ObjectList("env")) {
    const std::string name = e.RequiredString("name");
    out.env_names.push_back(name);
    if (auto v = e.OptString("value")) out.env.emplace_back(name, *v);
    e.Ignore({"valueFrom"});
    e.Finish();
  }
  // Read for lint only, but with kubectl's strict field validation: a misspelt field is
  // warned rather than dropped.
  if (auto sc = c.Object("securityContext")) {
    out.privileged = sc->Bool("privileged").value_or(false);
    sc->Ignore({"allowPrivilegeEscalation", "appArmorProfile", "capabilities", "procMount",
                "readOnlyRootFilesystem", "runAsGroup", "runAsNonRoot", "runAsUser",
                "seLinuxOptions", "seccompProfile", "windowsOptions"});
    sc->Finish();
  }
  for (auto& vm : c.ObjectList("volumeMounts")) {
    out.volume_mounts.push_back(vm.RequiredString("name"));
    vm.Ignore({"mountPath", "readOnly", "subPath", "subPathExpr", "mountPropagation",
               "recursiveReadOnly"});
    vm.Finish();
  }
  c.Ignore({"envFrom", "ports", "volumeDevices", "livenessProbe", "imagePullPolicy", "workingDir",
            "terminationMessagePath", "terminationMessagePolicy", "stdin", "stdinOnce", "tty",
            "resizePolicy"});
  c.Finish();
  return out;
}

NodeSelectorRequirement DecodeRequirement(YamlReader& r, bool field) {
  NodeSelectorRequirement out;
  out.key = r.RequiredString("key");
  out.op = r.RequiredString("operator");
  out.values = r.StringList("values");
  if (field) {
    CheckOneOf(r, "operator", out.op, {"In", "NotIn"});
    if (out.key != "metadata.name") {
      r.Fail("key", "Invalid value: \"" + out.key + "\": not a valid field selector key");
    }
    if (out.values.size() != 1) r.Fail("values", "must have one element");
  } else {
    CheckOneOf(r, "operator", out.op, {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"});
    if ((out.op == "In" || out.op == "NotIn") && out.values.empty()) {
      r.Fail("values", "Required value: must be specified when `operator` is 'In' or 'NotIn'");
    }
    if ((out.op == "Exists" || out.op == "DoesNotExist") && !out.values.empty()) {
      r.Fail("values",
             "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    }
    if (out.op == "Gt" || out.op == "Lt") {
      if (out.values.size() != 1)
        r.Fail("values",
               "Required value: must be specified single value when `operator` is 'Lt' or 'Gt'");
    }
  }
  r.Finish();
  return out;
}

NodeSelectorTerm DecodeTerm(YamlReader& t) {
  NodeSelectorTerm out;
  for (auto& e : t.ObjectList("matchExpressions"))
    out.match_expressions.push_back(DecodeRequirement(e, false));
  for (auto& e : t.ObjectList("matchFields"))
    out.match_fields.push_back(DecodeRequirement(e, true));
  t.Finish();
  return out;
}

}  // namespace

void CheckOneOf(YamlReader& r, const std::string& key, const std::string& value,
                std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) return;
    list += std::string(list.empty() ? "" : ", ") + "\"" + a + "\"";
  }
  r.Fail(key, "Unsupported value: \"" + value + "\": supported values: " + list);
}

std::vector<Toleration> DecodeTolerations(YamlReader& r, const std::string& key) {
  std::vector<Toleration> out;
  for (auto& t : r.ObjectList(key)) {
    Toleration tol;
    tol.key = t.String("key");
    tol.op = t.String("operator", "Equal");
    CheckOneOf(t, "operator", tol.op, {"Equal", "Exists"});
    tol.value = t.String("value");
    tol.effect = t.String("effect");
    if (!tol.effect.empty()) {
      CheckOneOf(t, "effect", tol.effect, {"NoSchedule", "PreferNoSchedule", "NoExecute"});
    }
    tol.toleration_seconds = t.Int("tolerationSeconds");
    if (tol.key.empty() && tol.op != "Exists") {
      t.Fail("operator", "Invalid value: \"" + tol.op +
                             "\": operator must be Exists when `key` is empty, which means "
                             "\"match all values and all keys\"");
    }
    if (tol.op == "Exists" && !tol.value.empty()) {
      t.Fail("value", "Invalid value: \"" + tol.value +
                          "\": value must be empty when `operator` is 'Exists'");
    }
    t.Finish();
    out.push_back(tol);
  }
  return out;
}

std::vector<NodeSelectorTerm> DecodeNodeSelectorTerms(YamlReader& r, const std::string& key) {
  std::vector<NodeSelectorTerm> out;
  for (auto& t : r.ObjectList(key)) out.push_back(DecodeTerm(t));
  return out;
}

std::vector<Taint> DecodeTaints(YamlReader& r, const std::string& key) {
  std::vector<Taint> out;
  for (auto& t : r.ObjectList(key)) {
    Taint taint;
    taint.key = t.RequiredString("key");
    taint.value = t.String("value");
    taint.effect = t.RequiredString("effect");
    CheckOneOf(t, "effect", taint.effect, {"NoSchedule", "PreferNoSchedule", "NoExecute"});
    t.Ignore({"timeAdded"});
    t.Finish();
    out.push_back(taint);
  }
  return out;
}

ObjectMeta DecodeTemplateMeta(YamlReader& m) {
  ObjectMeta out;
  out.name = m.String("name");
  out.generate_name = m.String("generateName");
  out.namespace_ = m.String("namespace");
  out.labels = m.StringMap("labels");
  out.annotations = m.StringMap("annotations");
  out.uid = m.String("uid");
  for (auto& o : m.ObjectList("ownerReferences")) {
    OwnerReference ref;
    ref.kind = o.String("kind");
    ref.name = o.String("name");
    ref.controller = o.Bool("controller").value_or(false);
    o.Ignore({"apiVersion", "uid", "blockOwnerDeletion"});
    o.Finish();
    out.owner_references.push_back(ref);
  }
  if (auto ts = m.OptString("creationTimestamp")) {
    std::string error;
    auto t = ParseRFC3339(*ts, &error);
    if (!t) m.Fail("creationTimestamp", error);
    out.creation_timestamp = *t;
  }
  m.Ignore({"resourceVersion", "managedFields", "selfLink", "generation", "deletionTimestamp",
            "deletionGracePeriodSeconds", "finalizers"});
  m.Finish();
  out.source = SourceRef{m.file(), m.Where().line};
  return out;
}

namespace {
// The API server's generated name (apiserver's names.SimpleNameGenerator): the prefix cut to
// 58 characters and 5 characters from k8s.io/apimachinery/pkg/util/rand's alphabet (no
// vowels, no look-alikes). Drawn from the object's place in its file, so the same files
// give the same names.
std::string GenerateName(const std::string& prefix, const std::string& file, int line) {
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : file + ":" + std::to_string(line) + ":" + prefix) {
    h = (h ^ c) * 1099511628211ULL;
  }
  std::string out = prefix.substr(0, 58);
  for (int i = 0; i < 5; ++i) {
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    out += kAlphabet[h % (sizeof kAlphabet - 1)];
  }
  return out;
}
}  // namespace

namespace {

// Go's %q for a value echoed in a message: printable ASCII as is, anything else escaped, so
// no raw byte of a hostile input reaches the terminal.
std::string GoQuote(const std::string& v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out + "\"";
}

bool IsAlnumLower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// apimachinery's IsDNS1123Label / IsDNS1123Subdomain, with their messages.
std::string DNS1123LabelError(const std::string& v) {
  if (v.size() > 63) return "must be no more than 63 characters";
  bool ok = !v.empty() && IsAlnumLower(v.front()) && IsAlnumLower(v.back());
  for (char c : v) ok = ok && (IsAlnumLower(c) || c == '-');
  if (ok) return "";
  return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
         "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
         "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
}
std::string DNS1123SubdomainError(const std::string& v) {
  if (v.size() > 253) return "must be no more than 253 characters";
  bool ok = !v.empty();
  size_t start = 0;
  while (ok && start <= v.size()) {
    const size_t dot = std::min(v.find('.', start), v.size());
    const std::string part = v.substr(start, dot - start);
    ok = !part.empty() && IsAlnumLower(part.front()) && IsAlnumLower(part.back());
    for (char c : part) ok = ok && (IsAlnumLower(c) || c == '-');
    start = dot + 1;
  }
  if (ok) return "";
  return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
         "'-' or '.', and must start and end with an alphanumeric character (e.g. "
         "'example.com', regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
}

}  // namespace

ObjectMeta DecodeMeta(YamlReader& obj, bool namespaced, bool require_name) {
  auto m = obj.Object("metadata");
  ObjectMeta out;
  if (m) {
    out = DecodeTemplateMeta(*m);
    if (out.name.empty() && !out.generate_name.empty()) {
      // As `kubectl create` of such an object gets it (`kubectl apply` needs a name).
      out.name = GenerateName(out.generate_name, obj.file(), obj.Where().line);
    }
    if (out.name.empty() && require_name) {
      m->Fail("name", "Required value: name or generateName is required");
    }
    // ValidateObjectMeta: names are DNS subdomains, namespaces DNS labels.
    if (!out.name.empty()) {
      if (std::string e = DNS1123SubdomainError(out.name); !e.empty()) {
        m->Fail("name", "Invalid value: " + GoQuote(out.name) + ": " + e);
      }
    }
    if (!out.namespace_.empty()) {
      if (std::string e = DNS1123LabelError(out.namespace_); !e.empty()) {
        m->Fail("namespace", "Invalid value: " + GoQuote(out.namespace_) + ": " + e);
      }
    }
  } else if (require_name) {
    obj.Fail("metadata", "Required value");
  }
  if (namespaced && out.namespace_.empty()) out.namespace_ = "default";
  if (!namespaced) out.namespace_.clear();
  out.source = obj.Where();
  return out;
}

LabelSelector DecodeLabelSelector(YamlReader& sel) {
  LabelSelector out;
  out.match_labels = sel.StringMap("matchLabels");
  for (auto& e : sel.ObjectList("matchExpressions")) {
    LabelSelectorRequirement req;
    req.key = e.RequiredString("key");
    req.op = e.RequiredString("operator");
    CheckOneOf(e, "operator", req.op, {"In", "NotIn", "Exists", "DoesNotExist"});
    req.values = e.StringList("values");
    e.Finish();
    out.match_expressions.push_back(req);
  }
  sel.Finish();
  return out;
}

namespace {

PodAffinityTerm DecodePodAffinityTerm(YamlReader& t) {
  PodAffinityTerm out;
  if (auto sel = t.Object("labelSelector")) out.label_selector = DecodeLabelSelector(*sel);
  out.namespaces = t.StringList("namespaces");
  if (auto ns = t.Object("namespaceSelector")) out.namespace_selector = DecodeLabelSelector(*ns);
  out.topology_key = t.String("topologyKey");
  if (out.topology_key.empty()) t.Fail("topologyKey", "Required value: can not be empty");
  out.match_label_keys = t.StringList("matchLabelKeys");
  out.mismatch_label_keys = t.StringList("mismatchLabelKeys");
  for (const auto& k : out.match_label_keys) {
    if (std::find(out.mismatch_label_keys.begin(), out.mismatch_label_keys.end(), k) !=
        out.mismatch_label_keys.end()) {
      t.Fail("matchLabelKeys",
             "Invalid value: \"" + k + "\": exists in both matchLabelKeys and mismatchLabelKeys");
    }
  }
  if ((!out.match_label_keys.empty() || !out.mismatch_label_keys.empty()) && !out.label_selector) {
    t.Fail("matchLabelKeys", "Forbidden: must not be specified when labelSelector is not set");
  }
  t.Finish();
  return out;
}

PodAffinity DecodePodAffinity(YamlReader& a) {
  PodAffinity out;
  for (auto& t : a.ObjectList("requiredDuringSchedulingIgnoredDuringExecution")) {
    out.required.push_back(DecodePodAffinityTerm(t));
  }
  for (auto& p : a.ObjectList("preferredDuringSchedulingIgnoredDuringExecution")) {
    WeightedPodAffinityTerm w;
    w.weight = static_cast<int32_t>(p.Int("weight", 1, 100).value_or(0));
    if (w.weight == 0) p.Fail("weight", "Required value");
    auto term = p.Object("podAffinityTerm");
    if (!term) p.Fail("podAffinityTerm", "Required value");
    w.term = DecodePodAffinityTerm(*term);
    p.Finish();
    out.preferred.push_back(std::move(w));
  }
  a.Finish();
  return out;
}

}  // namespace

TopologySpreadConstraint DecodeTopologySpreadConstraint(YamlReader& c) {
  TopologySpreadConstraint out;
  auto skew = c.Int("maxSkew", INT32_MIN, INT32_MAX);
  if (!skew) c.Fail("maxSkew", "Required value");
  if (*skew <= 0) {
    c.Fail("maxSkew", "Invalid value: " + std::to_string(*skew) + ": must be greater than zero");
  }
  out.max_skew = static_cast<int32_t>(*skew);
  out.topology_key = c.String("topologyKey");
  if (out.topology_key.empty()) c.Fail("topologyKey", "Required value: can not be empty");
  out.when_unsatisfiable = c.RequiredString("whenUnsatisfiable");
  CheckOneOf(c, "whenUnsatisfiable", out.when_unsatisfiable, {"DoNotSchedule", "ScheduleAnyway"});
  if (auto sel = c.Object("labelSelector")) out.label_selector = DecodeLabelSelector(*sel);
  if (auto md = c.Int("minDomains", INT32_MIN, INT32_MAX)) {
    if (*md <= 0) {
      c.Fail("minDomains", "Invalid value: " + std::to_string(*md) + ": must be greater than 0");
    }
    if (out.when_unsatisfiable != "DoNotSchedule") {
      c.Fail("minDomains", "Invalid value: " + std::to_string(*md) +
                               ": can only use minDomains if whenUnsatisfiable=DoNotSchedule, "
                               "not ScheduleAnyway");
    }
    out.min_domains = static_cast<int32_t>(*md);
  }
  out.node_affinity_policy = c.String("nodeAffinityPolicy", "Honor");
  CheckOneOf(c, "nodeAffinityPolicy", out.node_affinity_policy, {"Honor", "Ignore"});
  out.node_taints_policy = c.String("nodeTaintsPolicy", "Ignore");
  CheckOneOf(c, "nodeTaintsPolicy", out.node_taints_policy, {"Honor", "Ignore"});
  out.match_label_keys = c.StringList("matchLabelKeys");
  if (!out.match_label_keys.empty() && !out.label_selector) {
    c.Fail("matchLabelKeys", "Forbidden: must not be specified when labelSelector is not set");
  }
  if (out.label_selector) {
    for (const auto& k : out.match_label_keys) {
      bool in_selector = out.label_selector->match_labels.count(k) > 0;
      for (const auto& e : out.label_selector->match_expressions) in_selector |= e.key == k;
      if (in_selector) {
        c.Fail("matchLabelKeys",
               "Invalid value: \"" + k + "\": exists in both matchLabelKeys and labelSelector");
      }
    }
  }
  c.Finish();
  return out;
}

void DecodeAffinity(YamlReader& aff, PodSpec* out) {
  if (auto na = aff.Object("nodeAffinity")) {
    NodeAffinity node_aff;
    if (auto req = na->Object("requiredDuringSchedulingIgnoredDuringExecution")) {
      node_aff.required = DecodeNodeSelectorTerms(*req, "nodeSelectorTerms");
      if (node_aff.required->empty())
        req->Fail("nodeSelectorTerms", "Required value: must have at least one node selector term");
      req->Finish();
    }
    for (auto& p : na->ObjectList("preferredDuringSchedulingIgnoredDuringExecution")) {
      PreferredSchedulingTerm term;
      term.weight = static_cast<int32_t>(p.Int("weight", 1, 100).value_or(0));
      if (term.weight == 0) p.Fail("weight", "Required value");
      auto pref = p.Object("preference");
      if (!pref) p.Fail("preference", "Required value");
      term.preference = DecodeTerm(*pref);
      p.Finish();
      node_aff.preferred.push_back(term);
    }
    na->Finish();
    out->node_affinity = node_aff;
  }
  if (auto pa = aff.Object("podAffinity")) out->pod_affinity = DecodePodAffinity(*pa);
  if (auto pa = aff.Object("podAntiAffinity")) out->pod_anti_affinity = DecodePodAffinity(*pa);
  aff.Finish();
}

PodSpec DecodePodSpec(YamlReader& s) {
  PodSpec out;
  auto containers = s.ObjectList("containers");
  for (auto& c : containers) out.containers.push_back(DecodeContainer(c, false));
  if (out.containers.empty()) s.Fail("containers", "Required value");
  auto init_containers = s.ObjectList("initContainers");
  for (auto& c : init_containers) out.init_containers.push_back(DecodeContainer(c, true));
  {
    // Names are unique across containers and init containers: ValidatePodSpec checks each
    // init container against every container and the init containers before it, then the
    // containers among themselves.
    std::unordered_set<std::string_view> names;
    for (const auto& c : out.containers) names.insert(c.name);
    for (size_t i = 0; i < out.init_containers.size(); ++i) {
      const std::string& name = out.init_containers[i].name;
      if (!names.insert(name).second) {
        init_containers[i].Fail("name", "Duplicate value: \"" + name + "\"");
      }
    }
    names.clear();
    for (size_t i = 0; i < out.containers.size(); ++i) {
      const std::string& name = out.containers[i].name;
      if (!names.insert(name).second)
        containers[i].Fail("name", "Duplicate value: \"" + name + "\"");
    }
  }
  out.node_name = s.String("nodeName");
  out.scheduler_name = s.String("schedulerName", "default-scheduler");
  out.priority_class_name = s.String("priorityClassName");
  out.restart_policy = s.String("restartPolicy", "Always");
  CheckOneOf(s, "restartPolicy", out.restart_policy, {"Always", "OnFailure", "Never"});
  out.node_selector = s.StringMap("nodeSelector");
  if (auto p = s.Int("priority", INT32_MIN, INT32_MAX)) out.priority = static_cast<int32_t>(*p);
  out.preemption_policy = s.OptString("preemptionPolicy");
  if (out.preemption_policy) {
    CheckOneOf(s, "preemptionPolicy", *out.preemption_policy, {"PreemptLowerPriority", "Never"});
  }
  out.termination_grace_period_seconds = s.Int("terminationGracePeriodSeconds", 0).value_or(30);
  out.active_deadline_seconds = s.Int("activeDeadlineSeconds", 1);
  out.overhead = s.Resources("overhead");
  if (auto res = s.Object("resources")) out.pod_resources = DecodePodLevelResources(*res, out);
  out.tolerations = DecodeTolerations(s, "tolerations");
  if (auto aff = s.Object("affinity")) DecodeAffinity(*aff, &out);
  for (auto& c : s.ObjectList("topologySpreadConstraints")) {
    out.topology_spread_constraints.push_back(DecodeTopologySpreadConstraint(c));
    const auto& added = out.topology_spread_constraints.back();
    for (size_t i = 0; i + 1 < out.topology_spread_constraints.size(); ++i) {
      const auto& other = out.topology_spread_constraints[i];
      if (other.topology_key == added.topology_key &&
          other.when_unsatisfiable == added.when_unsatisfiable) {
        c.Fail("topologyKey", "Duplicate value: \"{" + added.topology_key + ", " +
                                  added.when_unsatisfiable + "}\"");
      }
    }
  }
  for (auto& g : s.ObjectList("schedulingGates")) {
    std::string name = g.RequiredString("name");
    if (std::find(out.scheduling_gates.begin(), out.scheduling_gates.end(), name) !=
        out.scheduling_gates.end()) {
      g.Fail("name", "Duplicate value: \"" + name + "\"");
    }
    out.scheduling_gates.push_back(std::move(name));
    g.Finish();
  }
  for (auto& v : s.ObjectList("volumes")) {
    const std::string name = v.RequiredString("name");
    if (auto cm = v.Object("configMap")) {
      out.config_map_volumes.emplace_back(name, cm->String("name"));
      cm->Ignore({"items", "defaultMode", "optional"});
      cm->Finish();
    }
    if (auto hp = v.Object("hostPath"))
      out.host_path_volumes.emplace_back(name, hp->String("path"));
    if (auto sec = v.Object("secret")) out.secret_volumes.push_back(sec->String("secretName"));
  }
  WarnNotModelled(s, "Pod", "spec");
  if (auto sc = s.Object("securityContext")) {
    sc->Ignore({"appArmorProfile", "fsGroup", "fsGroupChangePolicy", "runAsGroup", "runAsNonRoot",
                "runAsUser", "seLinuxChangePolicy", "seLinuxOptions", "seccompProfile",
                "supplementalGroups", "supplementalGroupsPolicy", "sysctls", "windowsOptions"});
    sc->Finish();
  }
  out.host_network = s.Bool("hostNetwork").value_or(false);
  out.service_account_name = s.String("serviceAccountName");
  s.Ignore({"serviceAccount", "imagePullSecrets", "hostPID", "hostIPC", "dnsPolicy", "dnsConfig",
            "hostname", "subdomain", "automountServiceAccountToken", "enableServiceLinks",
            "shareProcessNamespace", "hostAliases", "ephemeralContainers", "os",
            "setHostnameAsFQDN", "hostUsers"});
  s.Finish();
  return out;
}

PodTemplateSpec DecodePodTemplate(YamlReader& t) {
  PodTemplateSpec out;
  if (auto m = t.Object("metadata")) out.metadata = DecodeTemplateMeta(*m);
  out.metadata.source = t.Where();
  auto spec = t.Object("spec");
  if (!spec) t.Fail("spec", "Required value");
  out.spec = DecodePodSpec(*spec);
  t.Finish();
  return out;
}

bool LabelSelector::Matches(const Labels& labels) const {
  for (const auto& [k, v] : match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& e : match_expressions) {
    auto it = labels.find(e.key);
    bool has = it != labels.end();
    bool in = has && std::find(e.values.begin(), e.values.end(), it->second) != e.values.end();
    if (e.op == "In" && !in) return false;
    if (e.op == "NotIn" && in) return false;
    if (e.op == "Exists" && !has) return false;
    if (e.op == "DoesNotExist" && has) return false;
  }
  return true;
}

}  // namespace gputwin::api
