#include "sim/simulation.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "cloud/ec2.h"
#include "controllers/daemonset.h"
#include "controllers/job.h"
#include "controllers/kubelet.h"
#include "controllers/node_lifecycle.h"
#include "controllers/replicaset.h"
#include "core/csv.h"
#include "core/glob.h"
#include "core/random.h"
#include "devices/device_plugin_controller.h"
#include "karpenter/karpenter.h"
#include "kueue/kueue_controller.h"
#include "scheduler/scheduler.h"
#include "sim/trace_import.h"

namespace gputwin::sim {

using cluster::PodPhase;

// Carries out the scenario's actions at their times, as an operator with kubectl would.
class ActionRunner : public EventHandler {
 public:
  explicit ActionRunner(Simulation* sim) : sim_(*sim) {}
  void OnEvent(Time now, uint64_t arg) override;

 private:
  Simulation& sim_;
};

// Checks an expectation with `at` at its time.
class ExpectationProbe : public EventHandler {
 public:
  explicit ExpectationProbe(Simulation* sim) : sim_(*sim) {}
  void OnEvent(Time, uint64_t arg) override { sim_.Probe(arg); }

 private:
  Simulation& sim_;
};

// Creates the pods of an imported trace at their arrival times.
class TraceReplay : public EventHandler {
 public:
  struct Arrival {
    Duration at;
    std::string namespace_, name;
    std::shared_ptr<const cluster::PodTemplateInfo> tmpl;
  };
  TraceReplay(Simulation* sim, std::vector<Arrival> arrivals)
      : sim_(*sim), arrivals_(std::move(arrivals)) {}
  void Start(EventQueue* queue, Time start) {
    for (size_t i = 0; i < arrivals_.size(); ++i) queue->Schedule(start + arrivals_[i].at, this, i);
  }
  void OnEvent(Time, uint64_t arg) override {
    const auto& a = arrivals_[arg];
    cluster::PodRecord rec;
    rec.namespace_ = a.namespace_;
    rec.name = a.name;
    rec.tmpl = a.tmpl;
    std::string error;
    if (sim_.store().CreatePod(std::move(rec), &error) == cluster::kNone) {
      sim_.store().RecordEvent("Warning", "FailedCreate", "Pod", a.namespace_, a.name, error,
                               "gputwin-trace");
    }
  }

 private:
  Simulation& sim_;
  std::vector<Arrival> arrivals_;
};

// Creates a Pod or a Job from a template at each arrival of its process.
class WorkloadGenerator : public EventHandler {
 public:
  WorkloadGenerator(Simulation* sim, const api::WorkloadGenerator& spec);
  void Start();
  void OnEvent(Time now, uint64_t arg) override;

 private:
  Simulation& sim_;
  const api::WorkloadGenerator& spec_;
  RandomStream random_;
  std::vector<Duration> offsets_;  // fixed and csv arrivals
  std::shared_ptr<const cluster::PodTemplateInfo> pod_template_;
  int64_t created_ = 0;
};

namespace {

std::string ObjKey(const api::ObjectMeta& m) {
  return m.namespace_ + "/" + m.name;
}

void CheckUnique(std::set<std::string>* seen, const std::string& kind, const api::ObjectMeta& m) {
  if (!seen->insert(kind + "/" + ObjKey(m)).second) {
    throw InputError(m.source, "metadata.name",
                     kind + " \"" + m.name + "\" already exists" +
                         (m.namespace_.empty() ? "" : " in namespace \"" + m.namespace_ + "\""));
  }
}

std::vector<Duration> ReadCsvArrivals(const api::WorkloadGenerator& g) {
  std::ifstream in(g.arrival.csv_file);
  if (!in) throw InputError(g.source, "arrival.file", "cannot read " + g.arrival.csv_file);
  std::string line;
  std::vector<Duration> out;
  int column = 0;
  int line_no = 0;
  bool header_done = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cells = SplitCsvLine(line);
    if (!header_done) {
      header_done = true;
      // A header row names the column; without `column` the first is used.
      bool numeric = !cells.empty() && !cells[0].empty() &&
                     (std::isdigit(static_cast<unsigned char>(cells[0][0])) != 0);
      if (!numeric) {
        if (!g.arrival.csv_column.empty()) {
          auto it = std::find(cells.begin(), cells.end(), g.arrival.csv_column);
          if (it == cells.end()) {
            throw InputError(SourceRef{g.arrival.csv_file, line_no}, "",
                             "no column \"" + g.arrival.csv_column + "\"");
          }
          column = static_cast<int>(it - cells.begin());
        }
        continue;
      }
    }
    if (static_cast<size_t>(column) >= cells.size()) {
      throw InputError(SourceRef{g.arrival.csv_file, line_no}, "", "missing column");
    }
    const std::string& v = cells[static_cast<size_t>(column)];
    std::string err;
    if (auto d = ParseDuration(v, &err)) {
      out.push_back(*d);
      continue;
    }
    char* end = nullptr;
    double secs = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || !(secs >= 0)) {
      throw InputError(SourceRef{g.arrival.csv_file, line_no}, "",
                       "\"" + v + "\" is neither a duration nor a number of seconds");
    }
    out.push_back(Duration::Nanoseconds(static_cast<int64_t>(std::llround(secs * 1e9))));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Simulation::Simulation(api::Manifests manifests, api::Scenario scenario)
    : manifests_(std::move(manifests)), scenario_(std::move(scenario)) {
  store_.set_now(scenario_.start_time);
  Load();
}

Simulation::~Simulation() = default;

void Simulation::Load() {
  auto& m = manifests_;
  std::set<std::string> seen;
  // Traces: their nodes join the manifests' nodes; their pods arrive later.
  std::vector<TraceArrival> trace_pods;
  for (const auto& t : scenario_.traces) {
    auto arrivals = ImportTrace(t, &m.nodes);
    for (auto& a : arrivals) trace_pods.push_back(std::move(a));
  }
  // Reference objects first, as `kubectl apply` of a folder would need them.
  for (const auto& ns : m.namespaces) {
    CheckUnique(&seen, "Namespace", ns.metadata);
    store_.AddNamespace(ns.metadata.name, ns.metadata.labels);
  }
  for (const auto& pc : m.priority_classes) {
    CheckUnique(&seen, "PriorityClass", pc.metadata);
    store_.AddPriorityClass(pc);
  }
  auto ensure_namespace = [&](const api::ObjectMeta& meta) {
    if (store_.HasNamespace(meta.namespace_)) return;
    m.diagnostics.Warn(
        meta.source, "metadata.namespace",
        "namespace \"" + meta.namespace_ + "\" is not in the manifests; the twin creates it");
    store_.AddNamespace(meta.namespace_);
  };
  for (const auto& q : m.resource_quotas) {
    CheckUnique(&seen, "ResourceQuota", q.metadata);
    ensure_namespace(q.metadata);
    store_.AddResourceQuota(q);
  }
  for (const auto& lr : m.limit_ranges) {
    CheckUnique(&seen, "LimitRange", lr.metadata);
    ensure_namespace(lr.metadata);
    store_.AddLimitRange(lr);
  }
  for (const auto& cm : m.config_maps) {
    CheckUnique(&seen, "ConfigMap", cm.metadata);
    store_.AddConfigMap(cm);
  }
  for (const auto& n : m.nodes) CheckUnique(&seen, "Node", n.metadata);
  for (const auto& p : m.pods) {
    CheckUnique(&seen, "Pod", p.metadata);
    ensure_namespace(p.metadata);
  }
  for (const auto& d : m.deployments) {
    CheckUnique(&seen, "Deployment", d.metadata);
    ensure_namespace(d.metadata);
  }
  for (const auto& rs : m.replica_sets) {
    CheckUnique(&seen, "ReplicaSet", rs.metadata);
    ensure_namespace(rs.metadata);
  }
  for (const auto& j : m.jobs) {
    CheckUnique(&seen, "Job", j.metadata);
    ensure_namespace(j.metadata);
  }
  for (const auto& ds : m.daemon_sets) {
    CheckUnique(&seen, "DaemonSet", ds.metadata);
    ensure_namespace(ds.metadata);
  }
  std::set<std::string> node_names;
  for (const auto& n : m.nodes) node_names.insert(n.metadata.name);
  // Admission of every template up front, so a bad one stops the run before it starts.
  auto preflight = [&](const api::PodTemplateSpec& t, const std::string& ns) {
    store_.MakeTemplate(t.metadata, t.spec, ns);
  };
  for (const auto& p : m.pods) {
    if (!p.spec.node_name.empty() && !node_names.count(p.spec.node_name)) {
      throw InputError(p.metadata.source, "spec.nodeName",
                       "node \"" + p.spec.node_name + "\" is not in the manifests");
    }
  }
  for (const auto& d : m.deployments) preflight(d.template_, d.metadata.namespace_);
  for (const auto& j : m.jobs) preflight(j.template_, j.metadata.namespace_);
  for (auto& g : scenario_.workloads) {
    if (g.pod && g.pod->metadata.namespace_.empty()) g.pod->metadata.namespace_ = "default";
    if (g.job && g.job->metadata.namespace_.empty()) g.job->metadata.namespace_ = "default";
    const auto& meta = g.pod ? g.pod->metadata : g.job->metadata;
    ensure_namespace(meta);
    if (g.job) preflight(g.job->template_, meta.namespace_);
  }
  for (const auto& a : scenario_.actions) {
    if (a.action == "scale") {
      bool found = std::any_of(m.deployments.begin(), m.deployments.end(), [&](const auto& d) {
        return d.metadata.name == a.target || ObjKey(d.metadata) == a.target;
      });
      if (!found) {
        throw InputError(a.source, "target",
                         "deployment \"" + a.target + "\" is not in the manifests");
      }
    } else if (a.action != "delete-pod" && a.action != "remove-scheduling-gate" &&
               !node_names.count(a.target)) {
      throw InputError(a.source, "target", "node \"" + a.target + "\" is not in the manifests");
    }
  }

  // Kueue: a Job naming a missing WorkloadPriorityClass is an error before the run.
  const bool kueue_on = !m.cluster_queues.empty() || !m.local_queues.empty() ||
                        !m.resource_flavors.empty() || m.kueue_config.present;
  if (kueue_on) {
    for (const auto& j : m.jobs) kueue::WorkloadForJob(j, m);
    for (const auto& g : scenario_.workloads) {
      if (g.job) kueue::WorkloadForJob(*g.job, m);
    }
    for (const auto& lq : m.local_queues) {
      bool found = std::any_of(m.cluster_queues.begin(), m.cluster_queues.end(),
                               [&](auto& cq) { return cq.metadata.name == lq.cluster_queue; });
      if (!found) {
        m.diagnostics.Warn(lq.metadata.source, "spec.clusterQueue",
                           "LocalQueue " + lq.metadata.namespace_ + "/" + lq.metadata.name +
                               " points to ClusterQueue \"" + lq.cluster_queue +
                               "\", which does not exist: its workloads stay pending");
      }
    }
  }
  // GPU models the scenario defines, then the GPU stack: the device plugin (DaemonSet or
  // GPU Operator), its configs, MIG layouts.
  for (const auto& g : scenario_.gpu_models) {
    devices::GpuModel model;
    model.name = g.name;
    model.product = g.product;
    model.family = g.family;
    model.memory_mib = g.memory_mib;
    model.multiprocessors = g.multiprocessors;
    std::string error;
    if (!gpu_models_.Add(model, &error)) throw InputError(g.source, "name", error);
  }
  devices::GpuStack gpu_stack = devices::DiscoverGpuStack(m, &gpu_models_, &m.diagnostics);
  const bool gpu_stack_present = gpu_stack.mode != devices::GpuStack::Mode::kNone;
  for (const auto& n : m.nodes) {
    devices::NodeGpuPlan plan;
    if (!devices::PlanNode(n, gpu_stack, &plan)) continue;
    bool advertised = false;
    for (const auto& [name, q] : n.allocatable) advertised |= name.starts_with("nvidia.com/");
    if (!advertised && gpu_stack.mode == devices::GpuStack::Mode::kNone) {
      m.diagnostics.Warn(n.metadata.source, "",
                         "node " + n.metadata.name + " has " + std::to_string(plan.gpus.count) +
                             " " + plan.gpus.model->name +
                             " GPUs but no NVIDIA device plugin DaemonSet or GPU Operator "
                             "ClusterPolicy is in the manifests: it will never advertise "
                             "nvidia.com/gpu");
    }
  }

  // Controllers, in the order kube-controller-manager, the scheduler and kubelets start.
  controllers::KubeletConfig kubelet_config;
  handlers_.push_back(std::make_unique<controllers::NodeLifecycleController>(&store_, &queue_));
  handlers_.push_back(std::make_unique<controllers::TaintEvictionController>(&store_, &queue_));
  auto rs = std::make_unique<controllers::ReplicaSetController>(&store_, &queue_);
  replica_sets_ = rs.get();
  handlers_.push_back(std::move(rs));
  handlers_.push_back(std::make_unique<controllers::JobController>(&store_, &queue_));
  // Metrics samples: about 288 per run, at least a minute apart.
  int64_t minutes =
      std::max<int64_t>(1, (scenario_.duration.ns / 288 + 59'999'999'999) / 60'000'000'000);
  Duration interval = scenario_.metrics_interval.value_or(Duration::Minutes(minutes));
  if (kueue_on) {
    auto k = std::make_unique<kueue::KueueController>(&store_, &queue_, manifests_,
                                                      &manifests_.diagnostics, interval);
    kueue_ = k.get();
    kueue_->Start();
    handlers_.push_back(std::move(k));
  }
  handlers_.push_back(std::make_unique<controllers::DaemonSetController>(&store_, &queue_));
  // The cloud and Karpenter, when the manifests have NodePools or the scenario a cloud.
  if (!m.node_pools.empty() || scenario_.cloud.present) {
    if (!scenario_.cloud.present) scenario_.cloud.source = scenario_.metadata.source;
    ec2_ = std::make_unique<cloud::Ec2>(scenario_.cloud, scenario_.seed, &queue_,
                                        scenario_.start_time, &gpu_models_);
  }
  if (!m.node_pools.empty()) {
    auto k = std::make_unique<karpenter::Karpenter>(&store_, &queue_, manifests_, ec2_.get(),
                                                    &manifests_.diagnostics, interval,
                                                    gpu_stack_present);
    karpenter_ = k.get();
    karpenter_->Start();
    handlers_.push_back(std::move(k));
  } else if (!m.ec2_node_classes.empty()) {
    m.diagnostics.Warn(m.ec2_node_classes.front().metadata.source, "",
                       "EC2NodeClass without any NodePool: Karpenter launches nothing");
  }
  scheduler::SchedulerConfig sched_config;
  if (m.scheduler_config) {
    sched_config = scheduler::SchedulerConfig::From(*m.scheduler_config, &m.diagnostics);
  }
  scheduler_ =
      std::make_unique<scheduler::Scheduler>(&store_, &queue_, sched_config, scenario_.seed);
  auto kubelet = std::make_unique<controllers::Kubelet>(&store_, &queue_, kubelet_config);
  kubelet_ = kubelet.get();
  handlers_.push_back(std::move(kubelet));
  handlers_.push_back(
      std::make_unique<devices::DevicePluginController>(&store_, &queue_, std::move(gpu_stack)));

  // The cluster as the manifests describe it, at the start time.
  for (const auto& n : m.nodes) store_.AddNode(n);
  for (const auto& ds : m.daemon_sets) store_.AddDaemonSet(ds);
  for (const auto& p : m.pods) {
    cluster::PodRecord rec;
    rec.namespace_ = p.metadata.namespace_;
    rec.name = p.metadata.name;
    rec.tmpl = store_.MakeTemplate(p.metadata, p.spec, p.metadata.namespace_);
    std::string error;
    cluster::PodId id = store_.CreatePod(std::move(rec), &error);
    if (id == cluster::kNone) throw InputError(p.metadata.source, "", error);
    // A pod with spec.nodeName skips the scheduler: the kubelet gets it directly.
    if (!p.spec.node_name.empty()) store_.BindPod(id, store_.FindNode(p.spec.node_name));
  }
  for (const auto& d : m.deployments) store_.AddDeployment(d);
  for (const auto& rs_obj : m.replica_sets) store_.AddReplicaSet(rs_obj, cluster::kNone);
  for (const auto& j : m.jobs) store_.AddJob(j);

  if (!trace_pods.empty()) {
    std::vector<TraceReplay::Arrival> arrivals;
    for (auto& tp : trace_pods) {
      ensure_namespace(tp.pod.metadata);
      arrivals.push_back(
          {tp.at, tp.pod.metadata.namespace_, tp.pod.metadata.name,
           store_.MakeTemplate(tp.pod.metadata, tp.pod.spec, tp.pod.metadata.namespace_)});
    }
    auto replay = std::make_unique<TraceReplay>(this, std::move(arrivals));
    replay->Start(&queue_, scenario_.start_time);
    handlers_.push_back(std::move(replay));
  }
  if (!scenario_.actions.empty()) {
    auto runner = std::make_unique<ActionRunner>(this);
    for (size_t i = 0; i < scenario_.actions.size(); ++i) {
      queue_.Schedule(scenario_.start_time + scenario_.actions[i].at, runner.get(), i);
    }
    handlers_.push_back(std::move(runner));
  }
  for (const auto& g : scenario_.workloads) {
    auto gen = std::make_unique<WorkloadGenerator>(this, g);
    gen->Start();
    handlers_.push_back(std::move(gen));
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
  if (probing) handlers_.push_back(std::move(probe));
}

void Simulation::Run(Progress* progress) {
  const Time stop = end();
  int64_t total = (stop - start()).ns;
  uint64_t since_report = 0;
  while (!queue_.empty() && queue_.top().at <= stop) {
    Event e = queue_.Pop();
    store_.set_now(e.at);
    e.handler->OnEvent(e.at, e.arg);
    ++events_processed_;
    if (progress && ++since_report >= 4096) {
      since_report = 0;
      progress->Update(
          total > 0 ? static_cast<double>((e.at - start()).ns) / static_cast<double>(total) : 1.0,
          e.at);
    }
  }
  store_.set_now(stop);
  if (progress) progress->Update(1.0, stop);
  CheckExpectations();
}

const std::vector<cluster::LostWork>& Simulation::lost_work() const {
  return kubelet_->lost_work();
}

uint64_t Simulation::scheduling_attempts() const {
  return scheduler_->scheduling_attempts();
}

bool Simulation::expectations_passed() const {
  return std::all_of(results_.begin(), results_.end(), [](const auto& r) { return r.passed; });
}

void ActionRunner::OnEvent(Time now, uint64_t arg) {
  const auto& a = sim_.scenario_.actions[arg];
  auto& store = sim_.store_;
  (void)now;
  if (a.action == "scale") {
    for (uint32_t i = 0; i < store.deployments().size(); ++i) {
      const auto& d = store.deployments()[i].obj.metadata;
      if (d.name == a.target || ObjKey(d) == a.target) {
        sim_.replica_sets_->ScaleDeployment(i, a.replicas);
      }
    }
    return;
  }
  if (a.action == "delete-pod" || a.action == "remove-scheduling-gate") {
    std::string ns = "default", name = a.target;
    if (auto slash = a.target.find('/'); slash != std::string::npos) {
      ns = a.target.substr(0, slash);
      name = a.target.substr(slash + 1);
    }
    // A glob deletes every live pod it matches, like `kubectl delete pod` on a list.
    for (cluster::PodId p = 0; p < store.pod_count(); ++p) {
      const auto& pod = store.pod(p);
      if (pod.deleted || pod.namespace_ != ns || !Glob(name.c_str(), pod.name.c_str())) continue;
      if (a.action == "delete-pod") {
        store.DeletePod(p);
      } else {
        store.RemoveSchedulingGates(p, a.gate);  // as the controller that owns the gate would
      }
    }
    return;
  }
  cluster::NodeId n = store.FindNode(a.target);
  if (n == cluster::kNone) return;  // already deleted
  auto& node = store.node(n);
  if (a.action == "cordon" || a.action == "uncordon") {
    node.obj.unschedulable = a.action == "cordon";
    store.UpdateNode(n);
  } else if (a.action == "drain") {
    // kubectl drain --ignore-daemonsets: cordon, then evict every other pod.
    node.obj.unschedulable = true;
    store.UpdateNode(n);
    std::vector<cluster::PodId> pods = store.node(n).pods;
    for (cluster::PodId p : pods) {
      auto& pod = store.pod(p);
      if (pod.owner.kind == cluster::OwnerKind::kDaemonSet) continue;
      pod.reason = "Evicted";
      pod.message = "Evicted by kubectl drain " + a.target;
      store.DeletePod(p);
    }
  } else if (a.action == "node-not-ready") {
    node.kubelet_posting = false;
    node.kubelet_stopped_at = store.now();
    store.UpdateNode(n);
  } else if (a.action == "node-ready") {
    node.kubelet_posting = true;
    store.UpdateNode(n);
  } else if (a.action == "delete-node") {
    store.DeleteNode(n);
  } else if (a.action == "taint" || a.action == "untaint") {
    auto& taints = node.obj.taints;
    auto it = std::find_if(taints.begin(), taints.end(), [&](const api::Taint& t) {
      return t.key == a.taint.key && t.effect == a.taint.effect;
    });
    if (it != taints.end()) taints.erase(it);
    if (a.action == "taint") taints.push_back(a.taint);
    store.UpdateNode(n);
  }
}

WorkloadGenerator::WorkloadGenerator(Simulation* sim, const api::WorkloadGenerator& spec)
    : sim_(*sim), spec_(spec), random_(sim->scenario_.seed, "workload/" + spec.name) {
  if (spec.arrival.type == "fixed") offsets_ = spec.arrival.times;
  if (spec.arrival.type == "csv") offsets_ = ReadCsvArrivals(spec);
  std::sort(offsets_.begin(), offsets_.end());
  if (spec.pod) {
    pod_template_ =
        sim->store_.MakeTemplate(spec.pod->metadata, spec.pod->spec, spec.pod->metadata.namespace_);
  }
}

void WorkloadGenerator::Start() {
  const Time base = sim_.scenario_.start_time + spec_.arrival.start;
  if (spec_.arrival.type == "poisson") {
    double mean_s = 3600.0 / spec_.arrival.rate_per_hour;
    sim_.queue_.Schedule(
        base + Duration::Nanoseconds(static_cast<int64_t>(random_.Exponential(mean_s) * 1e9)), this,
        0);
  } else if (!offsets_.empty()) {
    sim_.queue_.Schedule(base + offsets_[0], this, 0);
  }
}

void WorkloadGenerator::OnEvent(Time now, uint64_t arg) {
  const auto& a = spec_.arrival;
  if ((a.count && created_ >= *a.count) || (a.stop && now > sim_.scenario_.start_time + *a.stop)) {
    return;
  }
  auto& store = sim_.store_;
  std::string name = spec_.name + "-" + std::to_string(created_);
  ++created_;
  if (spec_.pod) {
    cluster::PodRecord rec;
    rec.namespace_ = spec_.pod->metadata.namespace_;
    rec.name = name;
    rec.tmpl = pod_template_;
    rec.owner = {cluster::OwnerKind::kGenerator, 0};
    std::string error;
    if (store.CreatePod(std::move(rec), &error) == cluster::kNone) {
      store.RecordEvent("Warning", "FailedCreate", "Pod", spec_.pod->metadata.namespace_, name,
                        error, "gputwin-workload/" + spec_.name);
    }
  } else {
    api::Job job = *spec_.job;
    job.metadata.name = name;
    store.AddJob(std::move(job));
  }
  // The next arrival.
  uint64_t next = arg + 1;
  const Time base = sim_.scenario_.start_time + a.start;
  if (a.type == "poisson") {
    sim_.queue_.Schedule(now + Duration::Nanoseconds(static_cast<int64_t>(
                                   random_.Exponential(3600.0 / a.rate_per_hour) * 1e9)),
                         this, next);
  } else if (next < offsets_.size()) {
    sim_.queue_.Schedule(base + offsets_[next], this, next);
  }
}

}  // namespace gputwin::sim
