#include "serving/serving_controller.h"

#include "serving/controller_parts.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/duration_cast.h"
#include "core/quantity.h"

namespace gputwin::serving {

using cluster::kNone;
using cluster::PodId;
using cluster::WatchKind;
using cluster::WatchOp;

const char* FailureName(Failure f) {
  switch (f) {
    case Failure::kNoEndpoints:
      return "no_endpoints";
    case Failure::kConnectionRefused:
      return "connection_refused";
    case Failure::kResetBeforeFirstToken:
      return "reset_before_first_token";
    case Failure::kResetBeforeResponse:
      return "reset_before_response";
    case Failure::kInterruptedMidStream:
      return "interrupted_mid_stream";
    case Failure::kTimeout:
      return "timeout";
    case Failure::kCount:
      break;
  }
  return "?";
}

namespace {

// Weight download or read speeds by source (bytes/s), documented in README.md.
WeightSource SourceFor(const std::string& name) {
  if (name == "object-storage") return {name, 500e6};
  if (name == "local") return {name, 2e9};
  if (name == "image") return {name, 2e9};
  return {"hub", 100e6};
}

constexpr double kEagerWarmupSeconds = 10;  // an estimate (docs/serving.md)

}  // namespace

ServingController::ServingController(cluster::Store* store, EventQueue* queue,
                                     const api::Manifests& manifests, const api::Scenario& scenario,
                                     const devices::GpuModelTable* gpus,
                                     telemetry::Registry* metrics, Duration metrics_interval)
    : Controller("vllm", store, queue, cluster::Watches({WatchKind::kPod, WatchKind::kNode})),
      manifests_(manifests),
      scenario_(scenario),
      gpus_(gpus),
      metrics_(metrics),
      metrics_interval_(metrics_interval),
      start_(scenario.start_time) {
  for (const auto& m : scenario.serving_models) {
    std::ifstream f(m.config);
    std::stringstream text;
    text << f.rdbuf();
    models_.Add(ParseHfConfig(text.str(), m.config, m.name));
  }
  DeclareVllmMetrics(metrics_);
}

ServingController::~ServingController() = default;

Time ServingController::AtSec(double s) const {
  return start_ + SaturatingNs(std::ceil(s * 1e9));
}

bool ServingController::Selects(const api::Service& s, const cluster::PodRecord& p) const {
  return s.Selects(p.namespace_, p.tmpl->metadata.labels);
}

void ServingController::Start() {
  const double run_seconds = scenario_.duration.seconds();
  std::map<std::string, std::shared_ptr<const std::vector<TraceRequest>>> traces;
  for (const auto& spec : scenario_.traffic) {
    auto t = std::make_unique<Traffic>(scenario_.seed, spec);
    for (size_t i = 0; i < manifests_.services.size(); ++i) {
      const auto& s = manifests_.services[i];
      if (s.metadata.name == spec.service && s.metadata.namespace_ == spec.service_namespace) {
        t->service = static_cast<int32_t>(i);
      }
    }
    std::shared_ptr<const std::vector<TraceRequest>> trace;
    if (!spec.trace_file.empty()) {
      auto& slot = traces[spec.trace_file];
      if (!slot)
        slot = std::make_shared<std::vector<TraceRequest>>(ReadAzureLlmTrace(spec.trace_file));
      trace = slot;
    }
    t->source = std::make_unique<TrafficSource>(spec, scenario_.seed, trace, run_seconds);
    TrafficStats st;
    st.name = spec.name;
    st.service = spec.service_namespace + "/" + spec.service;
    st.proxy = spec.proxy;
    st.load_balancer = spec.load_balancer;
    stats_.push_back(std::move(st));
    timelines_.emplace_back();
    const uint32_t index = static_cast<uint32_t>(traffic_.size());
    t->has_next = t->source->Next(&t->next);
    if (t->has_next) At(AtSec(t->next.at), Arg(kArrival, index));
    traffic_.push_back(std::move(t));
    streamed_.push_back(spec.stream ? 1 : 0);
  }
  At(start_, Arg(kSample, 0));
  At(start_, Arg(kScrape, 0));
}

const ServingController::TemplateServing* ServingController::ServingOf(
    const cluster::PodRecord& p) {
  auto [it, inserted] = templates_.try_emplace(p.tmpl->id);
  if (!inserted) return it->second.get();
  auto ts = std::make_unique<TemplateServing>();
  const auto& ann = p.tmpl->metadata.annotations;
  auto annotation = [&](const char* key) {
    auto a = ann.find(key);
    return a == ann.end() ? std::string() : a->second;
  };
  for (const auto& c : p.tmpl->spec->containers) {
    if (!LooksLikeVllm(c.image, c.command, c.args, annotation("gputwin.io/server"))) continue;
    Diagnostics quiet;  // validation already warned about these flags
    ts->args = ParseVllmArgs(c.command, c.args, c.source, &quiet);
    if (ts->args.model.empty()) continue;  // a plain GPU container (validation warned)
    ts->vllm = true;
    ts->where = c.source;
    ts->model = models_.Find(ts->args.model);
    ts->readiness = c.readiness_probe;
    ts->startup = c.startup_probe;
    ts->pre_stop = double(c.pre_stop_seconds.value_or(0));
    break;
  }
  ts->grace = double(p.tmpl->spec->termination_grace_period_seconds);
  const std::string source = annotation("gputwin.io/model-source");
  ts->source = SourceFor(source);
  if (auto bw = annotation("gputwin.io/weights-bandwidth"); !bw.empty()) {
    std::string err;
    if (auto q = ParseQuantity(bw, &err)) ts->source.bytes_per_second = double(q->Value());
  }
  // --enforce-eager skips torch.compile and CUDA graph capture: only the profile run.
  if (ts->args.enforce_eager) ts->warmup = kEagerWarmupSeconds;
  if (auto w = annotation("gputwin.io/engine-warmup"); !w.empty()) {
    std::string err;
    if (auto d = ParseDuration(w, &err)) ts->warmup = d->seconds();
  }
  it->second = std::move(ts);
  return it->second.get();
}

void ServingController::OnWatch(WatchKind kind, WatchOp op, uint32_t id) {
  if (kind == WatchKind::kNode) {
    if (op != WatchOp::kDeleted) return;
    // The Node object is gone. Pods drained from it first (Karpenter's termination
    // controller) are still shutting down: the instance is terminated only once they
    // have, and a spot instance no later than its 2-minute reclaim. Anything else on the
    // node dies now.
    const auto& labels = store_.node(id).obj.metadata.labels;
    auto ct = labels.find("karpenter.sh/capacity-type");
    const bool spot = ct != labels.end() && ct->second == "spot";
    for (uint32_t r : live_) {
      auto& rep = *replicas_[r];
      if (rep.node != id || rep.state == Replica::kDead) continue;
      if (rep.state == Replica::kTerminating) {
        if (spot) At(store_.now() + Duration::Minutes(2), Arg(kKill, r));
      } else {
        Kill(r, store_.now(), true);
      }
    }
    return;
  }
  const auto& p = store_.pod(id);
  if (auto g = GroupOf(p); g && !g->is_leader) {
    // A LeaderWorkerSet worker: a rank of its leader's engine (it runs `ray start`, not a
    // server). Its loss kills the engine; its start may be what the leader waits for.
    const uint32_t lr = id < engine_of_worker_.size() ? engine_of_worker_[id] : kNone;
    if (op == WatchOp::kDeleted || p.Terminal()) {
      if (lr != kNone && replicas_[lr]->state != Replica::kDead) {
        const auto& leader = store_.pod(replicas_[lr]->pod);
        store_.RecordEvent("Warning", "Unhealthy", "Pod", leader.namespace_, leader.name,
                           "vLLM engine died: Ray worker " + p.name +
                               " of its placement group "
                               "is gone",
                           "kubelet");
        Kill(lr, store_.now(), false);
      }
    } else if (p.container_started != cluster::kNever &&
               std::find(waiting_leaders_.begin(), waiting_leaders_.end(), g->leader) !=
                   waiting_leaders_.end()) {
      started_.push_back(g->leader);
      RequestReconcile();
    }
    return;
  }
  const uint32_t r = id < replica_of_pod_.size() ? replica_of_pod_[id] : kNone;
  if (op == WatchOp::kDeleted) {
    if (r != kNone && replicas_[r]->state != Replica::kDead) Terminate(r, store_.now());
    return;
  }
  if (p.Terminal()) {
    if (r != kNone && replicas_[r]->state != Replica::kDead) Kill(r, store_.now(), false);
    return;
  }
  if (p.container_started == cluster::kNever) return;
  if (r != kNone && records_[replicas_[r]->record].container_started == Sec(p.container_started)) {
    return;
  }
  const TemplateServing* ts = ServingOf(p);
  if (!ts->vllm) return;
  started_.push_back(id);
  RequestReconcile();
}

void ServingController::Reconcile(Time now) {
  std::vector<PodId> started;
  started.swap(started_);
  for (PodId id : started) StartReplica(id, now);
}

std::optional<ServingController::LwsGroup> ServingController::GroupOf(
    const cluster::PodRecord& p) const {
  if (p.owner.kind != cluster::OwnerKind::kLeaderWorkerSet) return std::nullopt;
  const auto& lws = store_.leader_worker_sets()[p.owner.index];
  const auto& labels = p.tmpl->metadata.labels;
  auto gi = labels.find("leaderworkerset.sigs.k8s.io/group-index");
  auto wi = labels.find("leaderworkerset.sigs.k8s.io/worker-index");
  if (gi == labels.end() || wi == labels.end()) return std::nullopt;
  const auto group = static_cast<size_t>(std::atoi(gi->second.c_str()));
  if (group >= lws.groups.size()) return std::nullopt;
  LwsGroup out;
  out.is_leader = wi->second == "0";
  out.leader = lws.groups[group].leader;
  for (PodId w : lws.groups[group].workers) {
    if (w != cluster::kNone) out.workers.push_back(w);
  }
  return out;
}

void ServingController::StartReplica(PodId id, Time now) {
  const auto& p = store_.pod(id);
  if (p.deleted || p.Terminal() || p.container_started == cluster::kNever) return;
  // A LeaderWorkerSet leader serves over a Ray cluster of its group (lws's vLLM example:
  // the leader starts the Ray head, waits for size-1 workers to join, then runs vLLM with
  // its placement group over all of them).
  std::vector<PodId> group;
  Time cluster_up = p.container_started;
  if (auto g = GroupOf(p); g && g->is_leader) {
    const auto& lws = store_.leader_worker_sets()[p.owner.index].obj;
    bool complete = static_cast<int32_t>(g->workers.size()) == lws.size - 1;
    for (PodId w : g->workers) {
      const auto& wp = store_.pod(w);
      complete = complete && !wp.deleted && wp.phase == cluster::PodPhase::kRunning &&
                 wp.container_started != cluster::kNever;
      if (complete) cluster_up = std::max(cluster_up, wp.container_started);
    }
    auto waiting = std::find(waiting_leaders_.begin(), waiting_leaders_.end(), id);
    if (!complete) {
      // A probe fails while the script waits for its Ray workers (without one, the pod is
      // Ready since its container started, server or not).
      const TemplateServing* wts = ServingOf(p);
      if (wts->readiness || wts->startup) {
        store_.pod(id).readiness_probed = true;
        store_.pod(id).readiness_by_workload = true;
        store_.pod(id).ready_at = cluster::kNever;
      }
      if (waiting == waiting_leaders_.end()) waiting_leaders_.push_back(id);
      return;
    }
    if (waiting != waiting_leaders_.end()) waiting_leaders_.erase(waiting);
    group = g->workers;
  }
  if (replica_of_pod_.size() <= id) replica_of_pod_.resize(id + 1, kNone);
  if (uint32_t old = replica_of_pod_[id]; old != kNone) {
    if (records_[replicas_[old]->record].container_started == Sec(p.container_started)) return;
    // The container restarted: the old process is gone.
    if (replicas_[old]->state != Replica::kDead) Kill(old, now, false);
  }
  const TemplateServing* ts = ServingOf(p);
  // The readiness probe owns the pod's Ready condition from now on.
  store_.pod(id).readiness_probed = true;
  store_.pod(id).readiness_by_workload = true;
  store_.pod(id).ready_at = cluster::kNever;
  auto rep = std::make_unique<Replica>();
  rep->pod = id;
  rep->node = p.node;
  rep->ts = ts;
  ReplicaRecord rec;
  rec.pod = id;
  rec.pod_key = p.Key();
  const auto& node = store_.node(p.node);
  rec.node = node.name();
  rec.model = ts->args.model;
  rec.container_started = Sec(p.container_started);
  rec.created = Sec(p.created_at);
  rec.scheduled = p.scheduled_at == cluster::kNever ? -1 : Sec(p.scheduled_at);
  rec.pull_seconds = p.scheduled_at == cluster::kNever
                         ? 0
                         : std::max(0.0, Sec(p.container_started) - Sec(p.scheduled_at));
  const devices::GpuModel* gpu = gpus_->Find(node.gpu_model);
  std::string failure;
  int gpus = 0;
  int64_t memory_mib = 0;
  double compute = 1.0, bandwidth = 1.0;
  // The engine's GPUs: the pod's own, and its Ray workers' (the slowest and smallest
  // count).
  std::vector<PodId> ranks = {id};
  ranks.insert(ranks.end(), group.begin(), group.end());
  for (PodId rank : ranks) {
    const auto& rp = store_.pod(rank);
    if (!rp.Bound()) continue;
    const auto& rn = store_.node(rp.node);
    const devices::GpuModel* rg = gpus_->Find(rn.gpu_model);
    for (uint32_t d : rp.devices) {
      if (d >= rn.devices.size()) continue;
      const auto& u = rn.devices[d];
      if (u.resource.find("nvidia.com/") != 0) continue;
      ++gpus;
      memory_mib = memory_mib == 0 ? u.memory_mib : std::min(memory_mib, u.memory_mib);
      if (u.mig >= 0 && rg) {
        compute = std::min(compute, u.compute);
        bandwidth = std::min(bandwidth, double(u.memory_mib) / double(rg->memory_mib));
      }
    }
  }
  const int need = ts->args.tensor_parallel_size * ts->args.pipeline_parallel_size;
  if (!gpu || gpus == 0) {
    failure = "RuntimeError: No CUDA GPUs are available";
  } else if (need > gpus) {
    failure = fmt::format(
        "ValueError: The number of required GPUs ({}) exceeds the total number of available "
        "GPUs in the placement group ({}).",
        need, gpus);
  }
  rec.gpu = gpu ? gpu->name : node.gpu_model;
  VllmEngine engine;
  if (failure.empty()) {
    try {
      engine = StartVllmEngine(ts->args, *ts->model, *gpu, memory_mib, ts->where);
    } catch (const InputError& e) {
      failure = e.what();
      if (const size_t at = failure.find("args: "); at != std::string::npos) {
        failure = failure.substr(at + 6);
      }
    }
  }
  // Several vLLM processes on one GPU (time-slicing) share its memory: each asks for
  // gpu_memory_utilization of all of it, and one that finds less free fails at start.
  if (failure.empty()) {
    const int64_t want = static_cast<int64_t>(double(memory_mib) * ts->args.gpu_memory_utilization);
    std::map<int32_t, int64_t> claimed;
    for (uint32_t other = 0; other < replicas_.size(); ++other) {
      const auto& o = *replicas_[other];
      if (o.node != p.node || o.state == Replica::kDead) continue;
      for (auto [g, mib] : o.claimed) claimed[g] += mib;
    }
    for (uint32_t d : p.devices) {
      if (d >= node.devices.size()) continue;
      const auto& u = node.devices[d];
      if (u.mig >= 0 || u.replica < 0) continue;  // only shared whole GPUs overlap
      const int64_t free = memory_mib - claimed[u.gpu];
      if (free < want) {
        failure = fmt::format(
            "ValueError: Free memory on device ({:.2f}/{:.2f} GiB) on startup is less than "
            "desired GPU memory utilization ({}, {:.2f} GiB). Decrease GPU memory utilization "
            "or reduce GPU memory used by other processes.",
            double(free) / 1024.0, double(memory_mib) / 1024.0, ts->args.gpu_memory_utilization,
            double(want) / 1024.0);
        break;
      }
    }
    if (failure.empty()) {
      for (uint32_t d : p.devices) {
        if (d < node.devices.size() && node.devices[d].mig < 0) {
          rep->claimed.push_back({node.devices[d].gpu, want});
        }
      }
    }
  }
  rep->record = static_cast<uint32_t>(records_.size());
  const uint32_t index = static_cast<uint32_t>(replicas_.size());
  replica_of_pod_[id] = index;
  if (!failure.empty()) {
    rec.failure = failure;
    rep->failed = true;
    rep->state = Replica::kDead;
    store_.RecordEvent("Warning", "BackOff", "Pod", p.namespace_, p.name,
                       "vLLM failed to start: " + failure, "kubelet");
    records_.push_back(std::move(rec));
    replicas_.push_back(std::move(rep));
    return;
  }
  EngineHardware hw;
  hw.gpu = gpu->performance;
  hw.tensor_parallel = ts->args.tensor_parallel_size;
  hw.pipeline_parallel = ts->args.pipeline_parallel_size;
  hw.compute_share = compute;
  hw.bandwidth_share = bandwidth;
  hw.cuda_graphs = !ts->args.enforce_eager;
  rep->flops_per_token =
      2.0 * double(ts->model->ActiveParamsPerToken()) / double(std::max(1, need));
  rep->group = group;
  for (PodId w : group) {
    if (engine_of_worker_.size() <= w) engine_of_worker_.resize(w + 1, kNone);
    engine_of_worker_[w] = index;
  }
  rep->tensor_flops =
      (engine.dtypes.fp16_tensor ? gpu->performance.fp16_tflops : gpu->performance.bf16_tflops) *
      1e12 * compute;
  rep->claimed_mib = static_cast<int64_t>(double(memory_mib) * ts->args.gpu_memory_utilization);
  rep->step = std::make_unique<StepTimeModel>(*ts->model, hw, engine.dtypes);
  EngineLimits limits;
  limits.max_num_seqs = engine.max_num_seqs;
  limits.max_num_batched_tokens = engine.max_num_batched_tokens;
  limits.num_blocks = engine.num_gpu_blocks;
  limits.block_size = engine.block_size;
  limits.max_model_len = engine.max_model_len;
  limits.chunked_prefill = engine.chunked_prefill;
  rep->engine.emplace(limits, rep->step.get());
  rep->sink = std::make_unique<Sink>(this, index);
  // Time-sliced GPUs: the processes on one GPU take turns (README.md).
  for (uint32_t d : p.devices) {
    if (d < node.devices.size() && node.devices[d].replica >= 0 && node.devices[d].mig < 0) {
      rep->shared.push_back({p.node, node.devices[d].gpu});
    }
  }
  rec.kv_cache_tokens = engine.num_gpu_blocks * engine.block_size;
  rec.weight_source = ts->source.name;
  // Each pod of a Ray cluster loads its own ranks' shard, all at once.
  rec.weights_seconds = double(ts->model->TotalParams()) * engine.dtypes.weight_bytes /
                        ts->source.bytes_per_second / double(ranks.size());
  rec.warmup_seconds = ts->warmup;
  rec.workers_seconds = Sec(cluster_up) - rec.container_started;
  rec.gpus = gpus;
  rec.server_up = Sec(cluster_up) + rec.weights_seconds + rec.warmup_seconds;
  // Readiness: with a probe, the first probe after the server listens (and after a
  // startup probe passed); without one, the pod is Ready as soon as it runs.
  double gate = rec.container_started;
  if (ts->startup) {
    const auto& sp = *ts->startup;
    const double first = rec.container_started + sp.initial_delay_seconds;
    const double k = std::max(0.0, std::ceil((rec.server_up - first) / sp.period_seconds));
    gate = first + (k + sp.success_threshold - 1) * sp.period_seconds;
  }
  double ready = gate;
  if (ts->readiness) {
    const auto& rp = *ts->readiness;
    const double first = rec.container_started + rp.initial_delay_seconds;
    const double from = std::max(gate, rec.server_up);
    const double k = std::max(0.0, std::ceil((from - first) / rp.period_seconds));
    ready = first + (k + rp.success_threshold - 1) * rp.period_seconds;
  }
  ready = std::max(ready, Sec(now));  // a leader that waited for its workers
  rec.ready = ready;
  // The scrape job: the Service a ServiceMonitor finds the pod through, usually named as
  // its Deployment (the twin does not resolve Services for this).
  std::string job = p.name;
  if (p.owner.kind == cluster::OwnerKind::kReplicaSet) {
    const auto& rs = store_.replica_sets()[p.owner.index];
    if (rs.deployment != cluster::kNone)
      job = store_.deployments()[rs.deployment].obj.metadata.name;
  }
  rep->metrics = std::make_unique<VllmMetricsEndpoint>(
      metrics_, ts->args.model, p.namespace_, p.name, p.tmpl->spec->containers.front().name,
      rec.container_started, job);
  records_.push_back(std::move(rec));
  replicas_.push_back(std::move(rep));
  live_.push_back(index);
  if (!replicas_.back()->shared.empty()) Share(index, true, now);
  At(AtSec(records_.back().server_up), Arg(kServerUp, index));
  At(AtSec(ready), Arg(kReady, index));
}

// A vLLM process starts or ends on time-sliced GPUs: every process on them now steps
// `n` times slower, n the most processes on any of its GPUs (CUDA time-slicing gives each
// context its turn; the twin counts co-tenants whether busy or idle). Steps already
// planned keep their timing.
void ServingController::Share(uint32_t r, bool add, Time now) {
  std::vector<uint32_t> touched;
  for (const auto& g : replicas_[r]->shared) {
    auto& group = sharing_[g];
    if (add) {
      group.push_back(r);
    } else {
      group.erase(std::remove(group.begin(), group.end(), r), group.end());
    }
    touched.insert(touched.end(), group.begin(), group.end());
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (uint32_t o : touched) {
    auto& rep = *replicas_[o];
    size_t n = 1;
    for (const auto& g : rep.shared) n = std::max(n, sharing_[g].size());
    rep.engine->AdvanceTo(Sec(now), rep.sink.get());
    rep.engine->set_time_scale(double(n));
  }
}

void ServingController::ScheduleWake(uint32_t r) {
  auto& rep = *replicas_[r];
  // A serving engine is advanced lazily, when a request is routed to it or Prometheus
  // scrapes it: its steps end without events. Only a server draining after SIGTERM needs
  // waking, to exit when its last request is done.
  if (rep.state != Replica::kTerminating || rep.listening) return;
  const double next = rep.engine->NextFinish();
  // A queued wake-up no later than the next finish serves: it advances the engine and
  // schedules again. Only an earlier finish needs a new event.
  if (rep.wake_pending && rep.wake_target <= next) return;
  ++rep.wake_version;
  rep.wake_pending = false;
  if (!std::isfinite(next)) return;
  rep.wake_target = next;
  rep.wake_pending = true;
  At(AtSec(next), Arg(kWake, (uint64_t{rep.wake_version & 0xFFFFFF} << 32) | r));
}

void ServingController::Wake(uint32_t r, Time now) {
  auto& rep = *replicas_[r];
  rep.wake_pending = false;
  if (rep.state == Replica::kDead) return;
  rep.engine->AdvanceTo(rep.wake_target, rep.sink.get());
  // After SIGTERM the server exits once its last request is done.
  if (rep.state == Replica::kTerminating && !rep.listening && rep.engine->Idle()) {
    rep.state = Replica::kDead;
    records_[rep.record].killed = rep.wake_target;
    ++rep.wake_version;
    Retire(r, now);
    return;
  }
  ScheduleWake(r);
}

void ServingController::Terminate(uint32_t r, Time now) {
  auto& rep = *replicas_[r];
  auto& rec = records_[rep.record];
  rec.deleted = Sec(now);
  if (rep.state == Replica::kDead) return;
  if (rep.ready) ChangeEndpoints(r, false, now);
  rep.ready = false;
  rep.state = Replica::kTerminating;
  // preStop first, then SIGTERM; SIGKILL at the grace period, and no sooner than 2 s
  // after SIGTERM (kubelet's minimum).
  const double sigterm = rec.deleted + std::min(rep.ts->pre_stop, rep.ts->grace);
  const double kill = std::max(rec.deleted + rep.ts->grace, sigterm + 2.0);
  rep.sigterm_at = sigterm;
  At(AtSec(sigterm), Arg(kSigterm, r));
  At(AtSec(kill), Arg(kKill, r));
}

// The pod's metrics endpoint is gone: its series end with a staleness marker.
void ServingController::Retire(uint32_t r, Time now) {
  auto& rep = *replicas_[r];
  if (!rep.shared.empty()) Share(r, false, now);
  if (rep.metrics) rep.metrics->Retire(now);
}

void ServingController::Kill(uint32_t r, Time now, bool /*node_gone*/) {
  auto& rep = *replicas_[r];
  if (rep.state == Replica::kDead) return;
  auto& rec = records_[rep.record];
  if (rep.engine) {
    rep.engine->AdvanceTo(Sec(now), rep.sink.get());
    const auto in_flight = rep.engine->Requests();
    rep.engine->Kill();
    rep.active = 0;
    for (const auto& f : in_flight) {
      // A first attempt's state is in its tag; a retried one's in its slot.
      const uint32_t slot = f.tag.id == 0 ? kNone : static_cast<uint32_t>(f.tag.id - 1);
      Request q;
      if (slot != kNone) {
        q = requests_[slot];
      } else {
        q.arrival = f.tag.arrival;
        q.prompt = f.prompt_tokens;
        q.output = f.tag.requested_output;
        q.traffic = f.tag.stream;
        q.attempts = 1;
        q.tried[0] = r;
      }
      const auto& spec = *traffic_[q.traffic]->spec;
      --traffic_[q.traffic]->in_flight;
      // A non-streamed answer is sent whole at the end: nothing reached the client yet.
      Fail(q, slot,
           !spec.stream  ? Failure::kResetBeforeResponse
           : f.streaming ? Failure::kInterruptedMidStream
                         : Failure::kResetBeforeFirstToken,
           Sec(now));
    }
    rec.preemptions = rep.engine->preemptions();
  }
  rep.active = 0;
  if (rep.ready) ChangeEndpoints(r, false, now);
  rep.ready = false;
  rep.listening = false;
  rep.state = Replica::kDead;
  rec.killed = Sec(now);
  ++rep.wake_version;
  rep.wake_pending = false;
  Retire(r, now);
}

void ServingController::Sample(Time now) {
  const double s = Sec(now);
  for (uint32_t r : live_) {
    auto& rep = *replicas_[r];
    if (rep.state == Replica::kDead || !rep.engine) continue;
    rep.engine->AdvanceTo(s, rep.sink.get());
    ScheduleWake(r);
  }
  for (uint32_t t = 0; t < traffic_.size(); ++t) {
    auto& tr = *traffic_[t];
    ServingTimelinePoint pt;
    pt.at = s;
    if (tr.service >= 0) {
      const auto& svc = manifests_.services[static_cast<size_t>(tr.service)];
      for (uint32_t r : live_) {
        const auto& rep = replicas_[r];
        if (rep->state == Replica::kDead) continue;
        if (!Selects(svc, store_.pod(rep->pod))) continue;
        ++pt.replicas;
        if (rep->ready) ++pt.ready;
        if (rep->engine) {
          pt.in_flight += rep->engine->running();
          pt.waiting += rep->engine->waiting();
        }
      }
    }
    auto& window = stats_[t].ttft_window;
    if (window.count() > 0) {
      pt.ttft_p50 = window.Quantile(0.5);
      pt.ttft_p95 = window.Quantile(0.95);
      pt.ttft_p99 = window.Quantile(0.99);
      window.Clear();
    }
    timelines_[t].push_back(pt);
  }
  if (now + metrics_interval_ <= start_ + scenario_.duration) {
    At(now + metrics_interval_, Arg(kSample, 0));
  }
}

// A Prometheus scrape of every vLLM pod's /metrics and of the kubelet's cAdvisor.
void ServingController::Scrape(Time now) {
  const double s = Sec(now);
  size_t kept = 0;
  for (uint32_t r : live_) {
    if (replicas_[r]->state != Replica::kDead) live_[kept++] = r;
  }
  live_.resize(kept);
  for (uint32_t r : live_) {
    auto& rep = *replicas_[r];
    if (!rep.engine) continue;
    rep.engine->AdvanceTo(s, rep.sink.get());
    rep.metrics->Scrape(*rep.engine, s);
    // What the DCGM exporter reads of this process: kernel time, and the tensor pipes'
    // time at their peak rate for the FLOPs done (2 per active parameter per token, per GPU).
    // Pipeline stages take turns: each GPU is busy for its stage's share of a step.
    const double stages = std::max(1, rep.ts->args.pipeline_parallel_size);
    for (size_t k = 0; k <= rep.group.size(); ++k) {
      auto& pod = store_.pod(k == 0 ? rep.pod : rep.group[k - 1]);
      if (pod.deleted) continue;
      pod.gpu_activity_reported = true;
      pod.gpu_busy_seconds = rep.engine->busy_seconds() / stages;
      pod.gpu_tensor_seconds = double(rep.engine->tokens_computed()) * rep.flops_per_token /
                               std::max(1.0, rep.tensor_flops);
      pod.gpu_memory_mib = rep.claimed_mib;
    }
    ScheduleWake(r);
  }
  metrics_->Sample("vllm", now, true);
  metrics_->Sample("cadvisor", now, true);
  // Prometheus's scrape interval (spec.serving.scrapeInterval; kube-prometheus-stack's 30 s).
  const Duration every = scenario_.scrape_interval;
  if (now + every <= start_ + scenario_.duration) At(now + every, Arg(kScrape, 0));
}

void ServingController::OnTimer(Time now, uint64_t arg) {
  const auto timer = static_cast<Timer>(arg >> 56);
  const uint64_t payload = arg & ((uint64_t{1} << 56) - 1);
  switch (timer) {
    case kArrival:
      Arrive(static_cast<uint32_t>(payload), now);
      break;
    case kWake: {
      const uint32_t r = static_cast<uint32_t>(payload & 0xFFFFFFFF);
      if ((replicas_[r]->wake_version & 0xFFFFFF) == (payload >> 32)) Wake(r, now);
      break;
    }
    case kServerUp: {
      auto& rep = *replicas_[payload];
      if (rep.state != Replica::kDead && rep.state != Replica::kTerminating) rep.listening = true;
      break;
    }
    case kReady: {
      auto& rep = *replicas_[payload];
      if (rep.state != Replica::kStarting) break;
      rep.state = Replica::kServing;
      rep.ready = true;
      store_.pod(rep.pod).ready_at = now;
      store_.UpdatePod(rep.pod);  // the Ready condition changed: controllers watching see it
      ChangeEndpoints(static_cast<uint32_t>(payload), true, now);
      break;
    }
    case kEndpoint:
      ApplyEndpoints(static_cast<uint32_t>(payload), now);
      break;
    case kSigterm: {
      auto& rep = *replicas_[payload];
      if (rep.state != Replica::kTerminating) break;
      rep.listening = false;
      if (!rep.engine || (rep.engine->AdvanceTo(Sec(now), rep.sink.get()), rep.engine->Idle())) {
        rep.state = Replica::kDead;
        records_[rep.record].killed = Sec(now);
        ++rep.wake_version;
        Retire(static_cast<uint32_t>(payload), now);
      } else {
        ScheduleWake(static_cast<uint32_t>(payload));
      }
      break;
    }
    case kKill:
      Kill(static_cast<uint32_t>(payload), now, false);
      break;
    case kSample:
      Sample(now);
      break;
    case kScrape:
      Scrape(now);
      break;
    case kRetry: {
      const uint32_t slot = static_cast<uint32_t>(payload);
      ApplyEndpoints(requests_[slot].traffic, now);
      Route(requests_[slot], slot, Sec(now));
      break;
    }
  }
}

void ServingController::Finish(Time end) {
  for (auto& rep : replicas_) {
    if (rep->state == Replica::kDead || !rep->engine) continue;
    rep->engine->AdvanceTo(Sec(end), rep->sink.get());
    records_[rep->record].preemptions = rep->engine->preemptions();
  }
}

}  // namespace gputwin::serving
