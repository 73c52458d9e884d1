#include "sim/components.h"

#include "api/ray_types.h"

#include "autoscaling/horizontal.h"
#include "autoscaling/keda.h"
#include "cloud/ec2.h"
#include "controllers/cronjob.h"
#include "controllers/daemonset.h"
#include "controllers/job.h"
#include "controllers/jobset.h"
#include "controllers/kubelet.h"
#include "controllers/leaderworkerset.h"
#include "controllers/node_lifecycle.h"
#include "controllers/pytorchjob.h"
#include "controllers/ray.h"
#include "controllers/replicaset.h"
#include "controllers/statefulset.h"
#include "controllers/trainjob.h"
#include "devices/device_plugin_controller.h"
#include "exporters/dcgm_exporter.h"
#include "exporters/kube_state_metrics.h"
#include "exporters/opencost.h"
#include "karpenter/karpenter.h"
#include "kueue/kueue_controller.h"
#include "prometheus/rule_manager.h"
#include "scheduler/scheduler.h"
#include "serving/serving_controller.h"
#include "serving/vllm_config.h"

namespace gputwin::sim {

bool KueueEnabled(const api::Manifests& m) {
  return !m.cluster_queues.empty() || !m.local_queues.empty() || !m.resource_flavors.empty() ||
         m.kueue_config.present;
}

namespace {

bool CloudEnabled(const api::Manifests& m, const api::Scenario& s) {
  return !m.node_pools.empty() || s.cloud.present;
}

bool RunsVllm(const api::PodSpec& spec, const api::ObjectMeta& meta) {
  auto a = meta.annotations.find("gputwin.io/server");
  const std::string server = a == meta.annotations.end() ? "" : a->second;
  for (const auto& c : spec.containers) {
    if (!serving::LooksLikeVllm(c.image, c.command, c.args, server)) continue;
    Diagnostics quiet;
    if (!serving::ParseVllmArgs(c.command, c.args, c.source, &quiet).model.empty()) return true;
  }
  return false;
}

// The serving data plane runs when traffic is sent or a workload runs vLLM.
bool ServingEnabled(const api::Manifests& m, const api::Scenario& s) {
  if (!s.traffic.empty()) return true;
  for (const auto& d : m.deployments) {
    if (RunsVllm(d.template_.spec, d.template_.metadata)) return true;
  }
  for (const auto& p : m.pods) {
    if (RunsVllm(p.spec, p.metadata)) return true;
  }
  return false;
}

}  // namespace

const std::vector<ComponentRegistration>& Components() {
  static const std::vector<ComponentRegistration> kComponents = {
      // kube-controller-manager.
      {"node-lifecycle-controller", nullptr,
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::NodeLifecycleController>(&c.store, &c.queue);
       }},
      {"taint-eviction-controller", nullptr,
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::TaintEvictionController>(&c.store, &c.queue);
       }},
      {"replicaset-controller", nullptr,
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::ReplicaSetController>(&c.store, &c.queue);
       }},
      // KEDA's operator, then the HPA controller with KEDA's HPAs (keda-hpa-<name>).
      {"keda-operator",
       [](const api::Manifests& m, const api::Scenario&) { return !m.scaled_objects.empty(); },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         auto k = std::make_unique<autoscaling::KedaOperator>(
             &c.store, &c.queue, c.manifests.scaled_objects, &c.metrics);
         k->Start();
         return k;
       }},
      {"horizontal-pod-autoscaler",
       [](const api::Manifests& m, const api::Scenario&) {
         return !m.horizontal_pod_autoscalers.empty() || !m.scaled_objects.empty();
       },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         auto hpas = c.manifests.horizontal_pod_autoscalers;
         for (const auto& so : c.manifests.scaled_objects) {
           hpas.push_back(autoscaling::HpaForScaledObject(so));
         }
         auto h = std::make_unique<autoscaling::HorizontalPodAutoscalerController>(
             &c.store, &c.queue, std::move(hpas), &c.metrics, &c.manifests.services);
         h->Start();
         return h;
       }},
      {"job-controller", nullptr,
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::JobController>(&c.store, &c.queue);
       }},
      {"cronjob-controller",
       [](const api::Manifests& m, const api::Scenario&) { return !m.cron_jobs.empty(); },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         auto k = std::make_unique<controllers::CronJobController>(&c.store, &c.queue,
                                                                   c.manifests.cron_jobs);
         k->Start();
         return k;
       }},
      {"jobset-controller",
       [](const api::Manifests& m, const api::Scenario&) {
         return !m.job_sets.empty() || !m.train_jobs.empty();
       },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::JobSetController>(&c.store, &c.queue);
       }},
      {"trainjob-controller",
       [](const api::Manifests& m, const api::Scenario&) { return !m.train_jobs.empty(); },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::TrainJobController>(&c.store, &c.queue,
                                                                  &c.manifests.training_runtimes);
       }},
      {"pytorchjob-controller",
       [](const api::Manifests& m, const api::Scenario&) { return !m.pytorch_jobs.empty(); },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::PyTorchJobController>(&c.store, &c.queue);
       }},
      // KubeRay's operator: its RayCluster and RayJob controllers.
      {"raycluster-controller",
       [](const api::Manifests& m, const api::Scenario&) { return m.ray != nullptr; },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::RayClusterController>(&c.store, &c.queue);
       }},
      {"rayjob-controller",
       [](const api::Manifests& m, const api::Scenario&) {
         return m.ray != nullptr && !m.ray->jobs.empty();
       },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::RayJobController>(&c.store, &c.queue);
       }},
      {"rayservice-controller",
       [](const api::Manifests& m, const api::Scenario&) {
         return m.ray != nullptr && !m.ray->services.empty();
       },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::RayServiceController>(&c.store, &c.queue);
       }},
      {"lws-controller-manager",
       [](const api::Manifests& m, const api::Scenario&) { return !m.leader_worker_sets.empty(); },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::LeaderWorkerSetController>(&c.store, &c.queue);
       }},
      {"kueue-controller-manager",
       [](const api::Manifests& m, const api::Scenario&) { return KueueEnabled(m); },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         auto k = std::make_unique<kueue::KueueController>(&c.store, &c.queue, c.manifests,
                                                           &c.manifests.diagnostics, &c.metrics,
                                                           c.metrics_interval);
         k->Start();
         return k;
       }},
      {"statefulset-controller",
       [](const api::Manifests& m, const api::Scenario&) { return !m.stateful_sets.empty(); },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::StatefulSetController>(&c.store, &c.queue);
       }},
      {"daemonset-controller", nullptr,
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::DaemonSetController>(&c.store, &c.queue);
       }},
      // The cloud: EC2, when Karpenter runs or the scenario describes one.
      {"ec2", CloudEnabled,
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         if (!c.scenario.cloud.present) c.scenario.cloud.source = c.scenario.metadata.source;
         return std::make_unique<cloud::Ec2>(c.scenario.cloud, c.scenario.seed, &c.queue,
                                             c.scenario.start_time, &c.gpu_models);
       }},
      {"karpenter",
       [](const api::Manifests& m, const api::Scenario&) { return !m.node_pools.empty(); },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         auto k = std::make_unique<karpenter::Karpenter>(
             &c.store, &c.queue, c.manifests, c.Find<cloud::Ec2>(), &c.manifests.diagnostics,
             &c.metrics, c.metrics_interval, c.gpu_stack.mode != devices::GpuStack::Mode::kNone);
         k->Start();
         return k;
       }},
      {"default-scheduler", nullptr,
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         scheduler::SchedulerConfig config;
         if (c.manifests.scheduler_config) {
           config = scheduler::SchedulerConfig::From(*c.manifests.scheduler_config,
                                                     &c.manifests.diagnostics);
         }
         return std::make_unique<scheduler::Scheduler>(&c.store, &c.queue, std::move(config),
                                                       c.scenario.seed);
       }},
      {"kubelet", nullptr,
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<controllers::Kubelet>(&c.store, &c.queue,
                                                       controllers::KubeletConfig{});
       }},
      // What runs inside the serving pods, and the proxies and clients in front of them.
      {"vllm", ServingEnabled,
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         auto v = std::make_unique<serving::ServingController>(&c.store, &c.queue, c.manifests,
                                                               c.scenario, &c.gpu_models,
                                                               &c.metrics, c.metrics_interval);
         v->Start();
         return v;
       }},
      {"nvidia-device-plugin", nullptr,
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         return std::make_unique<devices::DevicePluginController>(&c.store, &c.queue,
                                                                  std::move(c.gpu_stack));
       }},
      // Exporters Prometheus scrapes; they work only when the run's metrics are recorded.
      {"kube-state-metrics", nullptr,
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         auto k = std::make_unique<exporters::KubeStateMetrics>(&c.store, &c.queue, &c.metrics,
                                                                c.scenario.scrape_interval);
         k->Start();
         return k;
       }},
      {"prometheus-rules",
       [](const api::Manifests& m, const api::Scenario&) { return !m.rule_groups.empty(); },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         auto r = std::make_unique<prometheus::RuleManager>(
             &c.queue, c.manifests.rule_groups, c.scenario.evaluation_interval, &c.metrics,
             c.scenario.start_time, c.scenario.start_time + c.scenario.duration);
         r->Start();
         return r;
       }},
      {"dcgm-exporter",
       [](const api::Manifests& m, const api::Scenario&) {
         return exporters::DcgmExporterDeployed(m);
       },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         auto d = std::make_unique<exporters::DcgmExporter>(
             &c.store, &c.queue, &c.metrics, &c.gpu_models, c.scenario.scrape_interval,
             exporters::DcgmExporterOptionsFrom(c.manifests));
         d->Start();
         return d;
       }},
      {"opencost",
       [](const api::Manifests& m, const api::Scenario&) { return exporters::OpenCostDeployed(m); },
       [](RunContext& c) -> std::unique_ptr<EventHandler> {
         auto o = std::make_unique<exporters::OpenCost>(
             &c.store, &c.queue, &c.metrics, c.Find<cloud::Ec2>(), c.scenario.scrape_interval);
         o->Start();
         return o;
       }},
  };
  return kComponents;
}

}  // namespace gputwin::sim
