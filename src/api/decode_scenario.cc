// gputwin.io/v1alpha1 Scenario (see docs/scenario.md).
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "api/decode_core.h"
#include "api/decode_kinds.h"

namespace gputwin::api {
namespace {

std::string Resolve(const YamlReader& r, const std::string& p) {
  namespace fs = std::filesystem;
  if (fs::path(p).is_absolute()) return p;
  return (fs::path(r.file()).parent_path() / p).lexically_normal().string();
}

ArrivalProcess DecodeArrival(YamlReader& a) {
  ArrivalProcess out;
  out.type = a.RequiredString("type");
  out.start = a.OptDuration("start").value_or(Duration{0});
  out.stop = a.OptDuration("stop");
  out.count = a.Int("count", 0);
  if (out.type == "fixed") {
    for (const auto& t : a.StringList("times")) {
      std::string err;
      auto d = ParseDuration(t, &err);
      if (!d) a.Fail("times", "\"" + t + "\" is not a duration: " + err);
      out.times.push_back(*d);
    }
    if (out.times.empty()) a.Fail("times", "Required value: at least one time for type fixed");
  } else if (out.type == "poisson") {
    auto rate = a.Double("ratePerHour");
    if (!rate || *rate <= 0)
      a.Fail("ratePerHour", "Required value: a positive rate for type poisson");
    out.rate_per_hour = *rate;
  } else if (out.type == "csv") {
    out.csv_file = Resolve(a, a.RequiredString("file"));
    out.csv_column = a.String("column");
  } else {
    a.Fail("type", "Unsupported value: \"" + out.type +
                       "\": supported values: \"fixed\", \"poisson\", \"csv\"");
  }
  a.Finish();
  return out;
}

TokenDistribution DecodeTokens(YamlReader& t) {
  TokenDistribution d;
  d.distribution = t.String("distribution", "fixed");
  CheckOneOf(t, "distribution", d.distribution, {"fixed", "exponential", "lognormal"});
  auto mean = t.Double("mean");
  if (!mean || *mean < 1) t.Fail("mean", "Required value: a mean of at least 1 token");
  d.mean = *mean;
  d.sigma = t.Double("sigma").value_or(1.0);
  if (d.sigma <= 0) t.Fail("sigma", "must be positive");
  d.min = t.Int("min", 1).value_or(1);
  d.max = t.Int("max", d.min).value_or(1 << 20);
  t.Finish();
  return d;
}

TrafficSpec DecodeTraffic(YamlReader& t) {
  TrafficSpec x;
  x.source = t.Where();
  x.name = t.RequiredString("name");
  const std::string svc = t.String("service");
  x.ingress = t.String("ingress");
  if (svc.empty() == x.ingress.empty()) {
    t.Fail("service", "set exactly one of service or ingress");
  }
  if (x.ingress.empty()) {
    if (const size_t slash = svc.find('/'); slash != std::string::npos) {
      x.service_namespace = svc.substr(0, slash);
      x.service = svc.substr(slash + 1);
    } else {
      x.service = svc;
    }
  } else if (t.Has("proxy")) {
    t.Fail("proxy", "an Ingress names its proxy: its controller and annotations decide");
  }
  if (auto p = t.Object("proxy")) {
    x.proxy = p->String("kind", "kube-proxy");
    CheckOneOf(*p, "kind", x.proxy, {"kube-proxy", "envoy", "nginx"});
    x.load_balancer = p->String("loadBalancer");
    if (!x.load_balancer.empty()) {
      if (x.proxy == "kube-proxy") {
        CheckOneOf(*p, "loadBalancer", x.load_balancer, {"random", "round-robin"});
      } else if (x.proxy == "envoy") {
        CheckOneOf(*p, "loadBalancer", x.load_balancer, {"least-request", "round-robin", "random"});
      } else {
        CheckOneOf(*p, "loadBalancer", x.load_balancer, {"round-robin", "ewma"});
      }
    }
    x.endpoint_delay = p->OptDuration("endpointDelay").value_or(x.endpoint_delay);
    auto words = [](const std::string& list) {
      std::vector<std::string> out;
      std::string cur;
      for (char c : list + ",") {
        if (c == ',' || c == ' ') {
          if (!cur.empty()) out.push_back(cur);
          cur.clear();
        } else {
          cur += c;
        }
      }
      return out;
    };
    if (auto r = p->Object("retries")) {
      if (x.proxy != "envoy")
        r->Fail("retryOn", "retries are Envoy's; NGINX uses proxyNextUpstream");
      x.retry_on = words(r->RequiredString("retryOn"));
      for (const auto& w : x.retry_on) {
        static const std::vector<std::string> known = {"5xx",
                                                       "gateway-error",
                                                       "reset",
                                                       "connect-failure",
                                                       "refused-stream",
                                                       "retriable-status-codes",
                                                       "unavailable",
                                                       "cancelled"};
        if (std::find(known.begin(), known.end(), w) == known.end()) {
          r->Fail("retryOn", "Unsupported value: \"" + w +
                                 "\": supported values: 5xx, gateway-error, reset, "
                                 "connect-failure, refused-stream, retriable-status-codes, "
                                 "unavailable, cancelled");
        }
      }
      x.num_retries = static_cast<int32_t>(r->Int("numRetries", 0, 100).value_or(1));
      const std::string pred = r->String("retryHostPredicate");
      if (!pred.empty()) CheckOneOf(*r, "retryHostPredicate", pred, {"previous_hosts"});
      x.previous_hosts = pred == "previous_hosts";
      r->Finish();
    }
    if (p->Has("proxyNextUpstream")) {
      if (x.proxy != "nginx") p->Fail("proxyNextUpstream", "is an NGINX setting");
      x.next_upstream = words(p->String("proxyNextUpstream"));
    }
    if (auto tries = p->Int("proxyNextUpstreamTries", 0, 100)) {
      x.next_upstream_tries = static_cast<int32_t>(*tries);
    }
    x.retry_non_idempotent = p->Bool("retryNonIdempotent").value_or(false);
    if (p->Has("timeout")) {
      if (x.proxy != "envoy")
        p->Fail("timeout", "is Envoy's route timeout; NGINX uses proxyReadTimeout");
      x.timeout = p->OptDuration("timeout");
    }
    if (p->Has("proxyReadTimeout")) {
      if (x.proxy != "nginx") p->Fail("proxyReadTimeout", "is an NGINX setting");
      x.timeout = p->OptDuration("proxyReadTimeout");
    }
    if (p->Has("maxRetries")) {
      if (x.proxy != "envoy") p->Fail("maxRetries", "is Envoy's circuit breaker");
      x.max_retries = static_cast<int32_t>(p->Int("maxRetries", 0, int64_t{1} << 32).value_or(3));
    }
    if (auto b = p->Object("retryBudget")) {
      if (x.proxy != "envoy") b->Fail("budgetPercent", "a retry budget is Envoy's");
      x.retry_budget_percent = b->Double("budgetPercent").value_or(20.0);
      if (*x.retry_budget_percent < 0 || *x.retry_budget_percent > 100) {
        b->Fail("budgetPercent", "must be between 0 and 100");
      }
      x.min_retry_concurrency =
          static_cast<int32_t>(b->Int("minRetryConcurrency", 0, 1 << 30).value_or(3));
      b->Finish();
    }
    p->Finish();
  }
  if (x.load_balancer.empty()) {
    x.load_balancer = x.proxy == "envoy"   ? "least-request"
                      : x.proxy == "nginx" ? "round-robin"
                                           : "random";
  }
  auto a = t.Object("arrivals");
  if (!a) t.Fail("arrivals", "Required value: a rate, a ramp, a diurnal curve or a trace");
  x.start = a->OptDuration("start").value_or(Duration{0});
  x.stop = a->OptDuration("stop");
  int kinds = 0;
  if (auto r = a->Double("rate")) {
    if (*r <= 0) a->Fail("rate", "must be a positive number of requests per second");
    x.rate = *r;
    ++kinds;
  }
  for (auto& p : a->ObjectList("ramp")) {
    RatePoint rp;
    auto at = p.OptDuration("at");
    auto rate = p.Double("rate");
    if (!at) p.Fail("at", "Required value");
    if (!rate || *rate < 0) p.Fail("rate", "Required value: requests per second, at least 0");
    if (!x.ramp.empty() && *at <= x.ramp.back().at) p.Fail("at", "must increase along the ramp");
    rp.at = *at;
    rp.rate = *rate;
    p.Finish();
    x.ramp.push_back(rp);
  }
  if (!x.ramp.empty()) ++kinds;
  if (auto d = a->Object("diurnal")) {
    TrafficSpec::Diurnal di;
    di.min = d->Double("min").value_or(-1);
    di.max = d->Double("max").value_or(-1);
    if (di.min < 0) d->Fail("min", "Required value: the lowest rate, requests per second");
    if (di.max < di.min || di.max <= 0) d->Fail("max", "Required value: at least min and above 0");
    di.peak_at = d->OptDuration("peakAt").value_or(di.peak_at);
    d->Finish();
    x.diurnal = di;
    ++kinds;
  }
  if (auto tr = a->Object("trace")) {
    x.trace_file = Resolve(*tr, tr->RequiredString("file"));
    x.trace_format = tr->String("format", "azure-llm-inference-2023");
    CheckOneOf(*tr, "format", x.trace_format, {"azure-llm-inference-2023"});
    x.trace_rate_scale = tr->Double("rateScale").value_or(1.0);
    if (x.trace_rate_scale <= 0) tr->Fail("rateScale", "must be positive");
    x.trace_loop = tr->Bool("loop").value_or(false);
    tr->Finish();
    ++kinds;
  }
  if (kinds != 1) {
    a->Fail(kinds == 0 ? "rate" : "trace", "give exactly one of rate, ramp, diurnal or trace");
  }
  for (auto& b : a->ObjectList("bursts")) {
    TrafficBurst tb;
    auto at = b.OptDuration("at");
    auto dur = b.OptDuration("duration");
    if (!at) b.Fail("at", "Required value");
    if (!dur || dur->ns <= 0) b.Fail("duration", "Required value: a positive duration");
    tb.at = *at;
    tb.duration = *dur;
    tb.multiplier = b.Double("multiplier").value_or(0);
    if (tb.multiplier <= 0) b.Fail("multiplier", "Required value: a positive factor on the rate");
    b.Finish();
    x.bursts.push_back(tb);
  }
  a->Finish();
  const bool trace = !x.trace_file.empty();
  if (auto p = t.Object("promptTokens")) {
    x.prompt_tokens = DecodeTokens(*p);
  } else if (!trace) {
    t.Fail("promptTokens", "Required value: prompt lengths (or a trace that has them)");
  }
  if (auto o = t.Object("outputTokens")) {
    x.output_tokens = DecodeTokens(*o);
  } else if (!trace) {
    t.Fail("outputTokens", "Required value: answer lengths (or a trace that has them)");
  }
  x.stream = t.Bool("stream").value_or(true);
  t.Finish();
  return x;
}

WorkloadGenerator DecodeWorkload(YamlReader& w) {
  WorkloadGenerator g;
  g.source = w.Where();
  g.name = w.RequiredString("name");
  auto arrival = w.Object("arrival");
  if (!arrival) w.Fail("arrival", "Required value");
  g.arrival = DecodeArrival(*arrival);
  auto tmpl = w.Object("template");
  if (!tmpl) w.Fail("template", "Required value: a Pod or Job manifest");
  std::string kind = tmpl->String("kind");
  tmpl->Ignore({"apiVersion", "kind"});
  if (kind == "Pod") {
    g.pod = DecodePodObject(*tmpl, false);
  } else if (kind == "Job") {
    g.job = DecodeJobObject(*tmpl, false);
  } else {
    tmpl->Fail("kind", "Unsupported value: \"" + kind + "\": supported values: \"Pod\", \"Job\"");
  }
  w.Finish();
  return g;
}

// "kind/namespace/name" or "kind/name" for delete and patch.
void CheckKindTarget(YamlReader& a, const char* field, const std::string& target,
                     std::initializer_list<const char*> kinds) {
  const auto slash = target.find('/');
  const std::string kind = target.substr(0, slash);
  std::string list;
  bool ok = false;
  for (const char* k : kinds) {
    ok |= kind == k;
    list += std::string(list.empty() ? "" : ", ") + k;
  }
  if (slash == std::string::npos || slash + 1 == target.size() || !ok) {
    a.Fail(field, "Invalid value: \"" + target +
                      "\": write KIND/NAMESPACE/NAME (or KIND/NAME), KIND one of " + list);
  }
}

ScenarioAction DecodeAction(YamlReader& a) {
  ScenarioAction out;
  out.source = a.Where();
  auto at = a.OptDuration("at");
  if (!at) a.Fail("at", "Required value");
  out.at = *at;
  const int forms = static_cast<int>(a.Has("action")) + static_cast<int>(a.Has("apply")) +
                    static_cast<int>(a.Has("delete")) + static_cast<int>(a.Has("patch"));
  if (forms != 1) a.Fail("action", "set exactly one of action, apply, delete or patch");
  if (a.Has("apply")) {
    out.action = "apply";
    out.apply_file = Resolve(a, a.RequiredString("apply"));
    a.Finish();
    return out;
  }
  if (a.Has("delete")) {
    out.action = "delete";
    out.target = a.RequiredString("delete");
    CheckKindTarget(a, "delete", out.target, {"pod", "job", "deployment", "statefulset", "node"});
    a.Finish();
    return out;
  }
  if (a.Has("patch")) {
    out.action = "patch";
    out.target = a.RequiredString("patch");
    CheckKindTarget(a, "patch", out.target,
                    {"job", "workload", "deployment", "statefulset", "leaderworkerset",
                     "raycluster", "rayjob"});
    auto spec = a.Object("spec");
    if (!spec) a.Fail("spec", "Required value: the fields to patch");
    const std::string kind = out.target.substr(0, out.target.find('/'));
    if (kind == "job" || kind == "raycluster" || kind == "rayjob") {
      out.patch_suspend = spec->Bool("suspend");
    }
    if (kind == "raycluster") {
      // spec.workerGroupSpecs[]: merged by groupName (a list-map), replicas only.
      for (auto& g : spec->ObjectList("workerGroupSpecs")) {
        const std::string group = g.RequiredString("groupName");
        auto n = g.Int("replicas", 0, INT32_MAX);
        if (!n) g.Fail("replicas", "Required value: the group's new replicas");
        out.patch_worker_replicas.emplace_back(group, static_cast<int32_t>(*n));
        g.Finish();
      }
    }
    if (kind == "workload") out.patch_active = spec->Bool("active");
    if (kind == "deployment" || kind == "statefulset" || kind == "leaderworkerset") {
      if (auto r = spec->Int("replicas", 0, INT32_MAX)) {
        out.patch_replicas = static_cast<int32_t>(*r);
      }
    }
    spec->Finish();  // any other field is unknown here: the twin patches only these
    if (!out.patch_suspend && !out.patch_active && !out.patch_replicas &&
        out.patch_worker_replicas.empty()) {
      a.Fail("spec", std::string("Required value: ") + (kind == "job"        ? "suspend"
                                                        : kind == "workload" ? "active"
                                                                             : "replicas"));
    }
    a.Finish();
    return out;
  }
  out.action = a.RequiredString("action");
  static const char* kActions[] = {"cordon",
                                   "uncordon",
                                   "drain",
                                   "node-not-ready",
                                   "node-ready",
                                   "delete-node",
                                   "delete-pod",
                                   "scale",
                                   "taint",
                                   "untaint",
                                   "remove-scheduling-gate"};
  bool ok = false;
  std::string list;
  for (const char* k : kActions) {
    ok |= out.action == k;
    list += std::string(list.empty() ? "" : ", ") + "\"" + k + "\"";
  }
  if (!ok) a.Fail("action", "Unsupported value: \"" + out.action + "\": supported values: " + list);
  out.target = a.RequiredString("target");
  if (out.action == "scale") {
    auto rep = a.Int("replicas", 0, INT32_MAX);
    if (!rep) a.Fail("replicas", "Required value for action scale");
    out.replicas = static_cast<int32_t>(*rep);
  }
  if (out.action == "remove-scheduling-gate") out.gate = a.String("gate");
  if (out.action == "taint" || out.action == "untaint") {
    auto t = a.Object("taint");
    if (!t) a.Fail("taint", "Required value for action " + out.action);
    out.taint.key = t->RequiredString("key");
    out.taint.value = t->String("value");
    out.taint.effect = t->RequiredString("effect");
    t->Finish();
  }
  a.Finish();
  return out;
}

Expectation DecodeExpectation(YamlReader& e) {
  Expectation x;
  x.source = e.Where();
  x.at = e.OptDuration("at");
  x.pods = e.String("pods");
  x.job = e.String("job");
  x.job_set = e.String("jobSet");
  x.pytorch_job = e.String("pyTorchJob");
  x.leader_worker_set = e.String("leaderWorkerSet");
  x.train_job = e.String("trainJob");
  x.ray_cluster = e.String("rayCluster");
  x.ray_job = e.String("rayJob");
  x.ray_service = e.String("rayService");
  auto count32 = [&](const char* key, std::optional<int32_t>* out) {
    if (auto n = e.Int(key, 0, INT32_MAX)) *out = static_cast<int32_t>(*n);
  };
  count32("readyWorkerReplicas", &x.ready_worker_replicas);
  count32("availableWorkerReplicas", &x.available_worker_replicas);
  count32("desiredWorkerReplicas", &x.desired_worker_replicas);
  count32("numServeEndpoints", &x.num_serve_endpoints);
  x.job_deployment_status = e.OptString("jobDeploymentStatus");
  x.job_status = e.OptString("jobStatus");
  x.service_status = e.OptString("serviceStatus");
  if (auto n = e.Int("restarts", 0, INT32_MAX)) x.restarts = static_cast<int32_t>(*n);
  if (auto n = e.Int("readyReplicas", 0, INT32_MAX)) x.ready_replicas = static_cast<int32_t>(*n);
  x.workload = e.String("workload");
  x.node_claim = e.String("nodeClaim");
  x.traffic = e.String("traffic");
  x.hpa = e.String("hpa");
  x.alert = e.String("alert");
  if (static_cast<int>(!x.pods.empty()) + static_cast<int>(!x.job.empty()) +
          static_cast<int>(!x.job_set.empty()) + static_cast<int>(!x.pytorch_job.empty()) +
          static_cast<int>(!x.leader_worker_set.empty()) + static_cast<int>(!x.train_job.empty()) +
          static_cast<int>(!x.ray_cluster.empty()) + static_cast<int>(!x.ray_job.empty()) +
          static_cast<int>(!x.ray_service.empty()) + static_cast<int>(!x.workload.empty()) +
          static_cast<int>(!x.node_claim.empty()) + static_cast<int>(!x.traffic.empty()) +
          static_cast<int>(!x.hpa.empty()) + static_cast<int>(!x.alert.empty()) !=
      1) {
    e.Fail(
        "pods",
        "set exactly one of pods, job, jobSet, pyTorchJob, leaderWorkerSet, trainJob, rayCluster, "
        "rayJob, rayService, workload, nodeClaim, traffic, hpa or alert");
  }
  x.fired = e.Int("fired", 0);
  x.pending_at = e.OptDuration("pendingAt");
  x.firing_at = e.OptDuration("firingAt");
  x.ready_at = e.OptDuration("readyAt");
  x.served_min = e.Int("servedMin", 0);
  x.failed_max = e.Int("failedMax", 0);
  x.failed_min = e.Int("failedMin", 0);
  x.max_ready_replicas = e.Int("maxReadyReplicas", 0);
  if (e.Has("failedBy")) x.failed_by = e.StringMap("failedBy");
  x.ttft_p50_max = e.OptDuration("ttftP50Max");
  x.ttft_p99_max = e.OptDuration("ttftP99Max");
  x.ttft_p99_min = e.OptDuration("ttftP99Min");
  x.max_replicas_seen = e.Int("maxReplicasSeen", 0);
  x.rescales_min = e.Int("rescalesMin", 0);
  x.rescales_max = e.Int("rescalesMax", 0);
  x.instance_type = e.OptString("instanceType");
  x.capacity_type = e.OptString("capacityType");
  x.zone = e.OptString("zone");
  x.disruption_reason = e.OptString("disruptionReason");
  x.deleted = e.Bool("deleted");
  x.pending_forever = e.Bool("pendingForever");
  x.registered_at = e.OptDuration("registeredAt");
  x.initialized_at = e.OptDuration("initializedAt");
  x.deleted_at = e.OptDuration("deletedAt");
  if (e.Has("nodeLabels")) x.node_labels = e.StringMap("nodeLabels");
  x.karpenter_message_contains = e.OptString("karpenterMessageContains");
  x.lost_work = e.OptDuration("lostWork");
  if (auto n = e.Int("succeeded", 0, INT32_MAX)) x.succeeded = static_cast<int32_t>(*n);
  if (auto n = e.Int("failed", 0, INT32_MAX)) x.failed = static_cast<int32_t>(*n);
  x.completed_indexes = e.OptString("completedIndexes");
  x.failed_indexes = e.OptString("failedIndexes");
  x.state = e.OptString("state");
  x.cluster_queue = e.OptString("clusterQueue");
  if (e.Has("flavors")) x.flavors = e.StringMap("flavors");
  x.admitted_at = e.OptDuration("admittedAt");
  x.admitted_by = e.OptDuration("admittedBy");
  if (auto n = e.Int("admittedCount", 0, INT32_MAX)) x.admitted_count = static_cast<int32_t>(*n);
  if (auto n = e.Int("evictions", 0, INT32_MAX)) x.evictions = static_cast<int32_t>(*n);
  if (auto n = e.Int("preemptions", 0, INT32_MAX)) x.preemptions = static_cast<int32_t>(*n);
  x.evicted_reason = e.OptString("evictedReason");
  x.count = e.Int("count", 0);
  x.phase = e.OptString("phase");
  x.node = e.OptString("node");
  x.reason = e.OptString("reason");
  x.message = e.OptString("message");
  x.message_contains = e.OptString("messageContains");
  x.condition = e.OptString("condition");
  x.scheduled = e.Bool("scheduled");
  if (auto rc = e.Int("restartCount", 0, INT32_MAX)) x.restart_count = static_cast<int32_t>(*rc);
  x.scheduled_at = e.OptDuration("scheduledAt");
  x.started_at = e.OptDuration("startedAt");
  x.finished_at = e.OptDuration("finishedAt");
  x.finished_by = e.OptDuration("finishedBy");
  x.completed_at = e.OptDuration("completedAt");
  e.Finish();
  return x;
}

// A map of name → number in [0, below), e.g. {g5: 0.6, p: 0.5}.
std::map<std::string, double> NumberMap(YamlReader& r, const std::string& key, double below,
                                        const std::string& what) {
  std::map<std::string, double> out;
  for (const auto& [k, v] : r.StringMap(key)) {
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || !(d >= 0) || d >= below) {
      r.Fail(key, "Invalid value: \"" + v + "\" for " + k + ": " + what);
    }
    out[k] = d;
  }
  return out;
}

CloudSpec DecodeCloud(YamlReader& c) {
  CloudSpec out;
  out.present = true;
  out.source = c.Where();
  out.provider = c.String("provider", "aws");
  CheckOneOf(c, "provider", out.provider, {"aws"});
  out.region = c.String("region", "us-east-1");
  out.zones = c.StringList("zones");
  for (const auto& f : c.StringList("catalogs")) out.catalog_files.push_back(Resolve(c, f));
  for (auto& t : c.ObjectList("instanceTypes")) {
    CloudInstanceType it;
    it.source = t.Where();
    it.name = t.RequiredString("name");
    it.arch = t.String("arch", "amd64");
    it.vcpu = static_cast<int32_t>(t.Int("vcpu", 0, INT32_MAX).value_or(0));
    if (auto m = t.OptQuantity("memory")) it.memory_mib = m->Value() >> 20;
    it.max_pods = static_cast<int32_t>(t.Int("maxPods", 1, INT32_MAX).value_or(110));
    it.gpu_count = static_cast<int32_t>(t.Int("gpuCount", 0, 16).value_or(0));
    it.gpu_name = t.String("gpuName");
    if (auto m = t.OptQuantity("gpuMemory")) it.gpu_memory_mib = m->Value() >> 20;
    it.on_demand_price = t.Double("onDemandPrice");
    it.spot_price = t.Double("spotPrice");
    for (const char* key : {"onDemandPrice", "spotPrice"}) {
      auto v = t.Double(key);
      if (v && *v < 0) t.Fail(key, "Invalid value: a price must not be negative");
    }
    it.zones = t.StringList("zones");
    t.Finish();
    out.instance_types.push_back(it);
  }
  if (auto sp = c.Object("spot")) {
    out.spot_discount =
        NumberMap(*sp, "discount", 1, "a fraction of the on-demand price in [0, 1)");
    if (auto rate = sp->Double("interruptionRatePerHour")) {
      if (*rate < 0) sp->Fail("interruptionRatePerHour", "Invalid value: must not be negative");
      out.spot_interruption_rate_per_hour = *rate;
    }
    out.spot_interruption_rates =
        NumberMap(*sp, "interruptionRatesPerHour", INFINITY, "a non-negative rate per hour");
    for (auto& i : sp->ObjectList("interruptions")) {
      CloudInterruption ci;
      ci.source = i.Where();
      auto at = i.OptDuration("at");
      if (!at) i.Fail("at", "Required value");
      ci.at = *at;
      ci.node = i.String("node", "");
      ci.instance_type = i.String("instanceType", "");
      if (ci.node.empty() && ci.instance_type.empty()) ci.instance_type = "*";
      i.Finish();
      out.interruptions.push_back(ci);
    }
    sp->Finish();
  }
  if (auto q = c.Object("quotas")) {
    YAML::Node raw = c.Raw("quotas");
    for (auto it = raw.begin(); it != raw.end(); ++it) {
      std::string name = it->first.as<std::string>();
      auto v = q->Int(name, 0);
      out.quotas[name] = v.value_or(0);
    }
    q->Finish();
  }
  for (auto& cap : c.ObjectList("capacity")) {
    CloudCapacity cc;
    cc.source = cap.Where();
    cc.instance_type = cap.String("instanceType", "*");
    cc.zone = cap.String("zone", "*");
    cc.capacity_type = cap.String("capacityType", "*");
    if (cc.capacity_type != "*") {
      CheckOneOf(cap, "capacityType", cc.capacity_type, {"spot", "on-demand"});
    }
    cc.from = cap.OptDuration("from").value_or(Duration{0});
    cc.until = cap.OptDuration("until");
    cc.max_instances = cap.Int("maxInstances", 0);
    cap.Finish();
    out.capacity.push_back(cc);
  }
  for (const auto& text : c.StringList("amiReleases")) {
    std::string err;
    auto d = ParseDuration(text, &err);
    if (!d || d->ns < 0) c.Fail("amiReleases", "\"" + text + "\" is not a duration: " + err);
    out.ami_releases.push_back(*d);
  }
  std::sort(out.ami_releases.begin(), out.ami_releases.end(),
            [](Duration a, Duration b) { return a.ns < b.ns; });
  if (auto st = c.Object("startup")) {
    auto& s = out.startup;
    s.fleet = st->OptDuration("instanceLaunch").value_or(s.fleet);
    s.boot = st->OptDuration("nodeRegistration").value_or(s.boot);
    s.gpu_boot = st->OptDuration("gpuNodeRegistration").value_or(s.gpu_boot);
    s.startup_taints = st->OptDuration("startupTaintRemoval").value_or(s.startup_taints);
    if (auto bw = st->OptQuantity("imagePullBandwidth")) {
      if (bw->Value() <= 0) st->Fail("imagePullBandwidth", "Invalid value: must be positive");
      s.image_pull_bytes_per_second = bw->Value();
    }
    st->Finish();
  }
  c.Finish();
  return out;
}

}  // namespace

void DecodeScenario(YamlReader& r, Manifests* out) {
  Scenario s;
  s.metadata = DecodeMeta(r, false);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  {
    const auto listed = spec->StringList("manifests");
    for (size_t i = 0; i < listed.size(); ++i) {
      s.manifests.push_back(Resolve(*spec, listed[i]));
      // Named here, where the user wrote it, rather than when it is read.
      std::error_code ec;
      if (!std::filesystem::exists(s.manifests.back(), ec)) {
        spec->FailAt(spec->Raw("manifests")[i],
                     spec->FieldPath("manifests") + "[" + std::to_string(i) + "]",
                     "Not found: " + s.manifests.back() + " (no such file or folder)");
      }
    }
  }
  if (auto d = spec->OptDuration("duration")) {
    if (d->ns <= 0) spec->Fail("duration", "must be positive");
    s.duration = *d;
  }
  if (auto seed = spec->Int("seed", 0)) s.seed = static_cast<uint64_t>(*seed);
  if (auto max = spec->Int("maxPods", 1)) s.max_pods = *max;
  if (auto d = spec->OptDuration("metricsInterval")) {
    if (d->ns <= 0) spec->Fail("metricsInterval", "must be positive");
    s.metrics_interval = *d;
  }
  if (auto st = spec->OptString("startTime")) {
    std::string err;
    auto t = ParseRFC3339(*st, &err);
    if (!t) spec->Fail("startTime", err);
    s.start_time = *t;
  }
  for (auto& w : spec->ObjectList("workloads")) s.workloads.push_back(DecodeWorkload(w));
  for (auto& a : spec->ObjectList("actions")) s.actions.push_back(DecodeAction(a));
  for (auto& e : spec->ObjectList("expectations")) s.expectations.push_back(DecodeExpectation(e));
  for (auto& t : spec->ObjectList("traces")) {
    TraceSpec ts;
    ts.source = t.Where();
    ts.format = t.RequiredString("format");
    if (ts.format != "alibaba-gpu-v2023") {
      t.Fail("format",
             "Unsupported value: \"" + ts.format + "\": supported values: \"alibaba-gpu-v2023\"");
    }
    ts.nodes = t.Has("nodes") ? Resolve(t, t.RequiredString("nodes")) : "";
    ts.pods = t.Has("pods") ? Resolve(t, t.RequiredString("pods")) : "";
    ts.namespace_ = t.String("namespace", "default");
    t.Finish();
    s.traces.push_back(ts);
  }
  for (auto& t : spec->ObjectList("traffic")) s.traffic.push_back(DecodeTraffic(t));
  if (auto pr = spec->Object("prometheus")) {
    for (const auto& f : pr->StringList("ruleFiles")) s.rule_files.push_back(Resolve(*pr, f));
    if (auto ei = pr->OptDuration("evaluationInterval")) {
      if (ei->ns < Duration::Seconds(1).ns) pr->Fail("evaluationInterval", "must be at least 1s");
      s.evaluation_interval = *ei;
    }
    pr->Finish();
  }
  if (auto sv = spec->Object("serving")) {
    if (auto si = sv->OptDuration("scrapeInterval")) {
      if (si->ns < Duration::Seconds(1).ns) sv->Fail("scrapeInterval", "must be at least 1s");
      s.scrape_interval = *si;
    }
    for (auto& m : sv->ObjectList("models")) {
      ServingModelSpec ms;
      ms.source = m.Where();
      ms.name = m.RequiredString("name");
      ms.config = Resolve(m, m.RequiredString("config"));
      m.Finish();
      s.serving_models.push_back(ms);
    }
    sv->Finish();
  }
  for (auto& g : spec->ObjectList("gpuModels")) {
    GpuModelSpec m;
    m.source = g.Where();
    m.name = g.RequiredString("name");
    m.product = g.String("product", m.name);
    m.family = g.String("family", "unknown");
    auto mem = g.OptQuantity("memory");
    if (!mem || mem->Value() <= 0) g.Fail("memory", "Required value: GPU memory, e.g. 24Gi");
    m.memory_mib = mem->Value() / (int64_t{1024} * 1024);
    m.multiprocessors = static_cast<int32_t>(g.Int("multiprocessors", 0).value_or(0));
    g.Finish();
    s.gpu_models.push_back(m);
  }
  if (auto c = spec->Object("cloud")) s.cloud = DecodeCloud(*c);
  spec->Finish();
  r.Finish();
  out->scenarios.push_back(std::move(s));
}

}  // namespace gputwin::api
