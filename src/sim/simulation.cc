#include "sim/simulation.h"

#include <algorithm>

#include "autoscaling/horizontal.h"
#include "autoscaling/keda.h"
#include "cloud/ec2.h"
#include "controllers/cronjob.h"
#include "controllers/kubelet.h"
#include "controllers/ray.h"
#include "karpenter/karpenter.h"
#include "kueue/kueue_controller.h"
#include "prometheus/rule_manager.h"
#include "scheduler/scheduler.h"
#include "serving/serving_controller.h"
#include "sim/components.h"
#include "sim/drivers.h"

namespace gputwin::sim {

Simulation::Simulation(api::Manifests manifests, api::Scenario scenario)
    : manifests_(std::move(manifests)), scenario_(std::move(scenario)) {
  store_.set_now(scenario_.start_time);
  Validate();
  Wire();
  Seed();
}

Simulation::~Simulation() {
  // Drivers and components go in the reverse of the order they came in.
  while (!drivers_.empty()) drivers_.pop_back();
  while (!components_.empty()) components_.pop_back();
}

void Simulation::Wire() {
  // Metrics samples: about 288 per run, at least a minute apart.
  int64_t minutes =
      std::max<int64_t>(1, (scenario_.duration.ns / 288 + 59'999'999'999) / 60'000'000'000);
  Duration interval = scenario_.metrics_interval.value_or(Duration::Minutes(minutes));
  RunContext ctx{store_,     queue_,   manifests_, scenario_,  gpu_models_,
                 gpu_stack_, metrics_, interval,   components_};
  for (const auto& c : Components()) {
    if (c.enabled && !c.enabled(manifests_, scenario_)) continue;
    components_.push_back(c.build(ctx));
  }
  // What the outputs read of the components, found by type (none is named above).
  scheduler_ = ctx.Find<scheduler::Scheduler>();
  kubelet_ = ctx.Find<controllers::Kubelet>();
  cron_jobs_ = ctx.Find<controllers::CronJobController>();
  kueue_ = ctx.Find<kueue::KueueController>();
  karpenter_ = ctx.Find<karpenter::Karpenter>();
  ec2_ = ctx.Find<cloud::Ec2>();
  serving_ = ctx.Find<serving::ServingController>();
  rules_ = ctx.Find<prometheus::RuleManager>();
  hpa_ = ctx.Find<autoscaling::HorizontalPodAutoscalerController>();
  keda_ = ctx.Find<autoscaling::KedaOperator>();
  // The exporters' samples are kept an hour for PromQL only when something in the run
  // evaluates it: rules, or KEDA's prometheus trigger.
  bool promql = !manifests_.rule_groups.empty();
  for (const auto& so : manifests_.scaled_objects) {
    for (const auto& t : so.triggers) promql = promql || t.type == "prometheus";
  }
  metrics_.KeepQueryHistory(promql);
}

void Simulation::Seed() {
  auto& m = manifests_;
  // The cluster as the manifests describe it, at the start time.
  for (const auto& n : m.nodes) store_.AddNode(n);
  // Pods of their own first; a snapshot's pods with a controller once it exists (below).
  for (const auto& p : m.pods) {
    if (p.metadata.owner_references.empty()) SeedPod(p);
  }
  for (const auto& ds : m.daemon_sets) store_.AddDaemonSet(ds);
  for (const auto& d : m.deployments) store_.AddDeployment(d);
  // A snapshot's ReplicaSets belong to their Deployment (ownerReferences): the Deployment
  // controller then scales that one instead of making its own.
  for (const auto& rs_obj : m.replica_sets) {
    uint32_t owner = cluster::kNone;
    for (const auto& ref : rs_obj.metadata.owner_references) {
      if (ref.kind == "Deployment")
        owner = store_.FindDeployment(rs_obj.metadata.namespace_, ref.name);
    }
    const uint32_t id = store_.AddReplicaSet(rs_obj, owner);
    if (owner != cluster::kNone) {
      auto& d = store_.deployments()[owner];
      // The one with replicas wins over an old, scaled-down revision.
      if (d.replica_set == cluster::kNone || rs_obj.replicas > 0) d.replica_set = id;
    }
  }
  for (const auto& j : m.jobs) store_.AddJob(j);
  for (const auto& js : m.job_sets) store_.AddJobSet(js);
  for (const auto& pj : m.pytorch_jobs) store_.AddPyTorchJob(pj);
  for (const auto& tj : m.train_jobs) store_.AddTrainJob(tj);
  for (const auto& l : m.leader_worker_sets) store_.AddLeaderWorkerSet(l);
  if (m.ray) controllers::AddRayObjects(&store_, *m.ray);
  for (const auto& ss : m.stateful_sets) store_.AddStatefulSet(ss);
  IndexSnapshotControllers();
  for (const auto& p : m.pods) {
    if (!p.metadata.owner_references.empty()) SeedPod(p);
  }

  if (!trace_pods_.empty()) {
    std::vector<TraceReplay::Arrival> arrivals;
    for (auto& tp : trace_pods_) {
      EnsureNamespace(tp.pod.metadata);
      arrivals.push_back(
          {tp.at, tp.pod.metadata.namespace_, tp.pod.metadata.name,
           store_.MakeTemplate(tp.pod.metadata, tp.pod.spec, tp.pod.metadata.namespace_)});
    }
    auto replay = std::make_unique<TraceReplay>(this, std::move(arrivals));
    replay->Start(&queue_, scenario_.start_time);
    drivers_.push_back(std::move(replay));
  }
  if (!scenario_.actions.empty()) {
    auto runner = std::make_unique<ActionRunner>(this);
    for (size_t i = 0; i < scenario_.actions.size(); ++i) {
      queue_.Schedule(scenario_.start_time + scenario_.actions[i].at, runner.get(), i);
    }
    drivers_.push_back(std::move(runner));
  }
  for (const auto& g : scenario_.workloads) {
    auto gen = std::make_unique<WorkloadGenerator>(this, g);
    gen->Start();
    drivers_.push_back(std::move(gen));
  }
  // Expectations with `at` are checked then, after everything else due at that instant.
  auto probe = std::make_unique<ExpectationProbe>(this);
  bool probing = false;
  for (size_t i = 0; i < scenario_.expectations.size(); ++i) {
    if (const auto& at = scenario_.expectations[i].at) {
      queue_.ScheduleLast(scenario_.start_time + *at, probe.get(), i);
      probing = true;
    }
  }
  if (probing) drivers_.push_back(std::move(probe));
}

void Simulation::SeedPod(const api::Pod& p) {
  // A finished pod of a snapshot holds nothing; it is history, not cluster state.
  if (p.status_phase == "Succeeded" || p.status_phase == "Failed") return;
  cluster::PodRecord rec;
  rec.namespace_ = p.metadata.namespace_;
  rec.name = p.metadata.name;
  rec.uid = p.metadata.uid;
  rec.owner = SnapshotOwner(p);
  rec.tmpl = store_.MakeTemplate(p.metadata, p.spec, p.metadata.namespace_);
  std::string error;
  cluster::PodId id = store_.CreatePod(std::move(rec), &error);
  if (id == cluster::kNone) throw InputError(p.metadata.source, "", error);
  // A pod of a snapshot was created before the run: its pending time counts from then.
  if (p.metadata.creation_timestamp && *p.metadata.creation_timestamp < store_.now()) {
    store_.pod(id).created_at = *p.metadata.creation_timestamp;
  }
  AdoptSnapshotPod(id);
  // A pod with spec.nodeName skips the scheduler: the kubelet gets it directly.
  if (!p.spec.node_name.empty()) store_.BindPod(id, store_.FindNode(p.spec.node_name));
}

void Simulation::IndexSnapshotControllers() {
  auto add = [&](const char* kind, const api::ObjectMeta& m, cluster::OwnerKind owner, uint32_t i) {
    snapshot_controllers_.emplace(std::string(kind) + "/" + m.namespace_ + "/" + m.name,
                                  cluster::Owner{owner, i});
  };
  const auto& rs = store_.replica_sets();
  for (uint32_t i = 0; i < rs.size(); ++i) {
    add("ReplicaSet", rs[i].obj.metadata, cluster::OwnerKind::kReplicaSet, i);
  }
  const auto& jobs = store_.jobs();
  for (uint32_t i = 0; i < jobs.size(); ++i)
    add("Job", jobs[i].obj.metadata, cluster::OwnerKind::kJob, i);
  const auto& ss = store_.stateful_sets();
  for (uint32_t i = 0; i < ss.size(); ++i) {
    add("StatefulSet", ss[i].obj.metadata, cluster::OwnerKind::kStatefulSet, i);
  }
  const auto& ds = store_.daemon_sets();
  for (uint32_t i = 0; i < ds.size(); ++i) {
    add("DaemonSet", ds[i].obj.metadata, cluster::OwnerKind::kDaemonSet, i);
  }
}

cluster::Owner Simulation::SnapshotOwner(const api::Pod& p) {
  // ownerReferences of a `kubectl get -o yaml` pod: its controller, when the files have it.
  const auto& ns = p.metadata.namespace_;
  for (const auto& ref : p.metadata.owner_references) {
    if (!ref.controller) continue;
    const std::string key = ref.kind + "/" + ns + "/" + ref.name;
    if (auto it = snapshot_controllers_.find(key); it != snapshot_controllers_.end()) {
      return it->second;
    }
    if (ref.kind != "ReplicaSet") continue;
    // A snapshot without ReplicaSets: the ReplicaSet <deployment>-<pod-template-hash> of
    // a Deployment in the files is made from it, so its pods are not created twice.
    const auto dash = ref.name.rfind('-');
    const uint32_t d = dash == std::string::npos
                           ? cluster::kNone
                           : store_.FindDeployment(ns, ref.name.substr(0, dash));
    if (d == cluster::kNone || store_.deployments()[d].replica_set != cluster::kNone) continue;
    const auto& dep = store_.deployments()[d].obj;
    const std::string hash = ref.name.substr(dash + 1);
    api::ReplicaSet rs;
    rs.metadata.name = ref.name;
    rs.metadata.namespace_ = ns;
    rs.metadata.labels = dep.template_.metadata.labels;
    rs.metadata.labels["pod-template-hash"] = hash;
    rs.metadata.source = dep.metadata.source;
    rs.replicas = dep.replicas;
    rs.selector = dep.selector;
    rs.selector.match_labels["pod-template-hash"] = hash;
    rs.template_ = dep.template_;
    rs.template_.metadata.labels["pod-template-hash"] = hash;
    const uint32_t id = store_.AddReplicaSet(std::move(rs), d);
    store_.deployments()[d].replica_set = id;
    const cluster::Owner owner{cluster::OwnerKind::kReplicaSet, id};
    snapshot_controllers_.emplace(key, owner);
    return owner;
  }
  return {};
}

void Simulation::AdoptSnapshotPod(cluster::PodId id) {
  const auto& pod = store_.pod(id);
  switch (pod.owner.kind) {
    case cluster::OwnerKind::kReplicaSet:
      store_.replica_sets()[pod.owner.index].pods.push_back(id);
      break;
    case cluster::OwnerKind::kJob: {
      auto& job = store_.jobs()[pod.owner.index];
      job.pods.push_back(id);
      job.all_pods.push_back(id);
      break;
    }
    case cluster::OwnerKind::kStatefulSet: {
      // <name>-<ordinal> fills its ordinal's slot.
      auto& ss = store_.stateful_sets()[pod.owner.index];
      const std::string& name = pod.name;
      const auto dash = name.rfind('-');
      const int ordinal = dash == std::string::npos ? -1 : std::atoi(name.c_str() + dash + 1);
      const int slot = ordinal - ss.obj.ordinals_start;
      if (slot < 0) break;
      if (ss.pods.size() <= static_cast<size_t>(slot)) ss.pods.resize(slot + 1, cluster::kNone);
      ss.pods[static_cast<size_t>(slot)] = id;
      break;
    }
    case cluster::OwnerKind::kDaemonSet: {
      // Its node: spec.nodeName, else the one its node affinity names (the DaemonSet
      // controller gives each pod `matchFields: metadata.name In [node]`).
      auto& p = store_.pod(id);
      if (!p.tmpl->spec->node_name.empty())
        p.daemon_node = store_.FindNode(p.tmpl->spec->node_name);
      const auto& aff = p.tmpl->spec->node_affinity;
      if (p.daemon_node == cluster::kNone && aff && aff->required) {
        for (const auto& term : *aff->required) {
          for (const auto& f : term.match_fields) {
            if (f.key == "metadata.name" && f.op == "In" && f.values.size() == 1) {
              p.daemon_node = store_.FindNode(f.values.front());
            }
          }
        }
      }
      store_.daemon_sets()[p.owner.index].pods.push_back(id);
      break;
    }
    default:
      break;
  }
}

void Simulation::Run(Progress* progress) {
  const Time stop = end();
  int64_t total = (stop - start()).ns;
  uint64_t since_report = 0, since_check = 0, at_instant = 0;
  Time instant = start(), last = start();
  while (!queue_.empty() && queue_.top().at <= stop) {
    if (queue_.top().at != last) {
      last = queue_.top().at;
      at_instant = 0;
    } else if (++at_instant > max_events_per_instant_) {
      throw InvariantViolation(
          "the clock stopped at " + FormatRFC3339(last) + ": more than " +
          std::to_string(max_events_per_instant_) +
          " events at that one instant (controllers re-triggering each other without end); "
          "a bug in gputwin, or an input it should have refused: please report it with the "
          "inputs");
    }
    // The invariants hold between instants (within one, controllers are mid-way); checked
    // at most once per 64 events so that long runs stay fast. The clock's direction is
    // checked at every event: an event set in the past would run after later ones.
    if (invariants_ && queue_.top().at != instant) {
      if (++since_check >= 64) {
        since_check = 0;
        invariants_->Check(instant);
      }
      instant = queue_.top().at;
      invariants_->CheckClock(instant);
    }
    Event e = queue_.Pop();
    store_.set_now(e.at);
    e.handler->OnEvent(e.at, e.arg);
    ++events_processed_;
    if (progress && ++since_report >= 4096) {
      since_report = 0;
      progress->Update(
          total > 0 ? static_cast<double>((e.at - start()).ns) / static_cast<double>(total) : 1.0,
          e.at, events_processed_);
    }
  }
  if (invariants_) invariants_->Check(instant);
  store_.set_now(stop);
  if (serving_) serving_->Finish(stop);
  kubelet_->Finish(stop);
  if (progress) progress->Update(1.0, stop, events_processed_);
  CheckExpectations();
}

const std::vector<cluster::LostWork>& Simulation::lost_work() const {
  return kubelet_->lost_work();
}

uint64_t Simulation::scheduling_attempts() const {
  return scheduler_->scheduling_attempts();
}

void ExpectationProbe::OnEvent(Time, uint64_t arg) {
  sim_.Probe(arg);
}

bool Simulation::expectations_passed() const {
  return std::all_of(results_.begin(), results_.end(), [](const auto& r) { return r.passed; });
}

}  // namespace gputwin::sim
