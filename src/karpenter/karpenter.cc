// The Karpenter process: its NodePools, the watch handlers, the timers that drive each
// controller, pod verdicts and metrics. The controllers live in provisioner.cc,
// scheduling.cc (the scheduling simulation), nodeclaim_lifecycle.cc and disruption.cc.
#include <algorithm>
#include <cmath>

#include "cluster/scheduling_helpers.h"
#include "karpenter/cron.h"
#include "karpenter/karpenter.h"

#include "scheduler/plugins/node_affinity.h"
#include "scheduler/plugins/node_resources_fit.h"
#include "scheduler/plugins/node_unschedulable.h"
#include "scheduler/plugins/taint_toleration.h"

namespace gputwin::karpenter {

using cluster::OwnerKind;
using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

Karpenter::Karpenter(cluster::Store* store, EventQueue* queue, const api::Manifests& m,
                     cloud::Ec2* ec2, Diagnostics* diag, telemetry::Registry* metrics,
                     Duration metrics_interval, bool gpu_stack)
    : Controller("karpenter", store, queue),
      manifests_(m),
      ec2_(*ec2),
      diag_(diag),
      metrics_interval_(metrics_interval),
      gpu_stack_(gpu_stack),
      names_(1, "karpenter/nodeclaim-names"),
      metrics_(*metrics) {
  store_.RecordUsageChanges();  // for the passes' node lists (ListNodes)
  // As Karpenter v1.14 and its AWS provider declare them (pkg/metrics, the controllers'
  // metrics.go); the labels are those the twin records.
  using telemetry::MetricType;
  auto declare = [&](const char* name, MetricType type, std::vector<std::string> labels,
                     const char* help, std::vector<double> buckets = {}) {
    return metrics_.Declare("karpenter",
                            {name, help, type, std::move(labels), std::move(buckets),
                             std::string(name).ends_with("_seconds") ? "seconds" : ""});
  };
  declare("karpenter_nodeclaims_created_total", MetricType::kCounter, {"reason", "nodepool"},
          "Number of nodeclaims created in total by Karpenter. Labeled by reason the nodeclaim "
          "was created and the owning nodepool.");
  declare("karpenter_nodeclaims_disrupted_total", MetricType::kCounter,
          {"reason", "nodepool", "capacity_type"},
          "Number of nodeclaims disrupted in total by Karpenter. Labeled by reason the "
          "nodeclaim was disrupted and the owning nodepool.");
  declare("karpenter_nodes_created_total", MetricType::kCounter, {"nodepool", "zone"},
          "Number of nodes created in total by Karpenter. Labeled by owning nodepool and zone.");
  declare("karpenter_nodes_terminated_total", MetricType::kCounter, {"nodepool", "zone"},
          "Number of nodes terminated in total by Karpenter. Labeled by owning nodepool and "
          "zone.");
  declare("karpenter_cloudprovider_instance_launch_failures_total", MetricType::kCounter,
          {"zone", "capacity_type", "reason"},
          "Number of instance launch (CreateFleet offering) failures, dimensioned by "
          "availability zone, zone ID, capacity type, and launch failure reason.");
  declare("karpenter_interruption_received_messages_total", MetricType::kCounter, {"message_type"},
          "Count of messages received from the SQS queue. Broken down by message type and "
          "whether the message was actionable.");
  declare("karpenter_voluntary_disruption_decisions_total", MetricType::kCounter,
          {"decision", "reason", "consolidation_type"},
          "Number of disruption decisions performed. Labeled by disruption decision, reason, "
          "and consolidation type.");
  usage_ = declare("karpenter_nodepools_usage", MetricType::kGauge, {"resource_type", "nodepool"},
                   "The amount of resources that have been provisioned for a nodepool. "
                   "Labeled by nodepool name and resource type.");
  limit_ = declare("karpenter_nodepools_limit", MetricType::kGauge, {"resource_type", "nodepool"},
                   "Limits specified on the nodepool that restrict the quantity of resources "
                   "provisioned. Labeled by nodepool name and resource type.");
  node_count_ = declare("karpenter_cluster_state_node_count", MetricType::kGauge, {},
                        "Current count of nodes in cluster state");
  unschedulable_count_ = declare("karpenter_scheduler_unschedulable_pods_count", MetricType::kGauge,
                                 {}, "The number of unschedulable Pods.");
  // Upstream a summary (quantiles 0, 0.5, 0.9, 0.99, 1); the twin keeps a histogram.
  pod_startup_ =
      metrics_.At(declare("karpenter_pods_startup_duration_seconds", MetricType::kHistogram, {},
                          "The time from pod creation until the pod is running.",
                          {0.5, 1,   2,   5,   10,  15,  20,  30,  45,  60,   90,   120,
                           180, 240, 300, 360, 420, 480, 540, 600, 900, 1200, 1800, 3600}),
                  {});
  scheduler::Handle handle;
  handle.store = &store_;
  handle.reasons = &filter_reasons_;
  filter_plugins_.push_back(std::make_unique<scheduler::NodeUnschedulable>(&filter_reasons_));
  filter_plugins_.push_back(std::make_unique<scheduler::TaintToleration>(&filter_reasons_));
  filter_plugins_.push_back(std::make_unique<scheduler::NodeAffinity>(&filter_reasons_, &store_));
  filter_plugins_.push_back(std::make_unique<scheduler::NodeResourcesFit>(
      handle, scheduler::NodeResourcesFitArgs{}, &store->resources()));
  for (const auto& p : filter_plugins_) {
    filters_.push_back(dynamic_cast<const scheduler::FilterPlugin*>(p.get()));
  }
  ec2_.SetInterruptionQueue([this](const cloud::InterruptionMessage& msg) {
    interruptions_.push_back(msg);
    RequestReconcile();
  });
  // Instance-type labels, once: the scheduling simulation reads them for every pod.
  for (const auto& t : ec2_.catalog().types) type_labels_.push_back(t.Labels());
  // Validate the NodePools now (errors and warnings before the run starts).
  ComputePools();
}

void Karpenter::Start() {
  At(store_.now(), Arg(kSample, 0));
  for (Duration d : ec2_.ami_releases()) At(store_.now() + d, Arg(kAmiRelease, 0));
}

void Karpenter::ComputePools() {
  pools_.clear();
  pool_order_.clear();
  auto& reg = store_.resources();
  const auto& catalog = ec2_.catalog();
  for (const auto& np : manifests_.node_pools) {
    NodePoolState st;
    st.spec = &np;
    for (const auto& nc : manifests_.ec2_node_classes) {
      if (nc.metadata.name == np.node_class_name) st.node_class = &nc;
    }
    if (np.node_class_kind != "EC2NodeClass" || np.node_class_group != "karpenter.k8s.aws") {
      throw InputError(np.metadata.source, "spec.template.spec.nodeClassRef",
                       "Unsupported value: the twin models the AWS provider's EC2NodeClass "
                       "(group karpenter.k8s.aws)");
    }
    if (!st.node_class) {
      st.not_ready = "NodeClassReady=False: EC2NodeClass \"" + np.node_class_name + "\" not found";
      diag_->Warn(np.metadata.source, "spec.template.spec.nodeClassRef.name",
                  "NodePool " + np.metadata.name + " refers to EC2NodeClass \"" +
                      np.node_class_name + "\", which does not exist: the NodePool is not " +
                      "Ready and launches nothing");
    } else {
      st.overhead.max_pods = st.node_class->max_pods;
      st.overhead.kube_reserved = st.node_class->kube_reserved;
      st.overhead.system_reserved = st.node_class->system_reserved;
      st.overhead.root_volume_bytes = st.node_class->root_volume_bytes;
      st.overhead.instance_store_raid0 = st.node_class->instance_store_raid0;
    }
    for (size_t b = 0; b < np.budgets.size(); ++b) {
      if (np.budgets[b].schedule.empty()) continue;
      scheduled_budgets_ = true;
      if (std::string e = CronError(np.budgets[b].schedule); !e.empty()) {
        diag_->Warn(np.metadata.source,
                    "spec.disruption.budgets[" + std::to_string(b) + "].schedule",
                    "invalid cron \"" + np.budgets[b].schedule + "\" (" + e +
                        "): Karpenter treats the budget as 0 nodes");
      }
    }
    st.requirements = Requirements::FromNodePool(np.requirements);
    for (const auto& [k, v] : np.template_labels) st.requirements.Add(k, Requirement::In({v}));
    st.requirements.Add("karpenter.sh/nodepool", Requirement::In({np.metadata.name}));
    for (uint32_t t = 0; t < catalog.types.size(); ++t) {
      const auto& offers = ec2_.OfferingsOf(t);
      if (offers.empty()) continue;
      const auto& type = catalog.types[t];
      bool ok = true;
      for (const auto& [key, value] : type_labels_[t]) {
        const Requirement* r = st.requirements.Get(key);
        if (r && !r->Has(value)) ok = false;
      }
      bool offering_ok = std::any_of(offers.begin(), offers.end(), [&](const cloud::Offering& o) {
        const Requirement* z = st.requirements.Get("topology.kubernetes.io/zone");
        const Requirement* c = st.requirements.Get("karpenter.sh/capacity-type");
        return (!z || z->Has(o.zone)) && (!c || c->Has(cloud::CapacityTypeName(o.capacity_type)));
      });
      if (!ok || !offering_ok) continue;
      st.instance_types.push_back(t);
      st.capacity.resize(catalog.types.size());
      st.allocatable.resize(catalog.types.size());
      st.capacity[t] = cluster::ToVec(type.Capacity(st.overhead), &reg);
      st.allocatable[t] = cluster::ToVec(type.Allocatable(st.overhead), &reg);
    }
    if (st.instance_types.empty()) {
      diag_->Warn(np.metadata.source, "spec.template.spec.requirements",
                  "NodePool " + np.metadata.name + ": no instance type in the catalog (" +
                      ec2_.region() + ") meets its requirements " + st.requirements.ToString() +
                      ": it can launch nothing");
    }
    pools_.push_back(std::move(st));
  }
  pool_usage_.assign(pools_.size(), ResourceVec{});
  pool_nodes_.assign(pools_.size(), 0);
  ++pool_usage_version_;  // CurrentPoolLimits works them out again
  for (uint32_t i = 0; i < pools_.size(); ++i) pool_order_.push_back(i);
  std::sort(pool_order_.begin(), pool_order_.end(), [&](uint32_t a, uint32_t b) {
    int32_t wa = pools_[a].spec->weight.value_or(0), wb = pools_[b].spec->weight.value_or(0);
    if (wa != wb) return wa > wb;
    return pools_[a].spec->metadata.name > pools_[b].spec->metadata.name;
  });
}

void Karpenter::OnWatch(WatchKind kind, WatchOp op, uint32_t id) {
  const Time now = store_.now();
  if (kind == WatchKind::kPod) {
    const auto& p = store_.pod(id);
    if (!manifests_.pod_disruption_budgets.empty()) CountPod(id);
    if (p.tmpl->spec->pod_anti_affinity && !p.tmpl->spec->pod_anti_affinity->required.empty()) {
      if (p.Bound() && !p.Terminal() && op != WatchOp::kDeleted) {
        bound_anti_affinity_.insert(id);
      } else {
        bound_anti_affinity_.erase(id);
      }
    }
    // Of an unbound pod, Karpenter reads only whether it is provisionable: kube-scheduler
    // marking a waiting pod Unschedulable again changes nothing it decides on.
    bool changed = op != WatchOp::kModified || p.node != cluster::kNone;
    if (Provisionable(id)) {
      if (pending_.insert(id).second) {
        changed = true;
        Trigger(now);
      }
    } else {
      changed |= pending_.erase(id) > 0;
    }
    if (changed) Changed();
    if (p.node != cluster::kNone) {
      if (auto claim = ClaimOf(p.node)) heads_stale_.push_back(*claim);  // its pods' head
    }
    if (p.node != cluster::kNone &&
        (op == WatchOp::kDeleted || p.scheduled_at == now || p.Terminal())) {
      if (last_pod_event_.size() <= p.node) last_pod_event_.resize(p.node + 1, Time{0});
      last_pod_event_[p.node] = now;
      if (auto claim = ClaimOf(p.node)) consolidation_touched_.push_back(*claim);
      MarkUnconsolidated(now);
    }
    if (op != WatchOp::kDeleted && p.phase == PodPhase::kRunning && p.started_at == now &&
        p.restart_count == 0 && p.owner.kind != OwnerKind::kDaemonSet) {
      metrics_.Observe(pod_startup_, (p.started_at - p.created_at).seconds());
    }
    return;
  }
  Changed();
  if (kind == WatchKind::kNode) {
    if (node_version_.size() <= id) node_version_.resize(id + 1, 0);
    ++node_version_[id];
    if (id < node_cordoned_.size()) node_cordoned_[id] = -1;
    NoteNode(id);
    if (op != WatchOp::kModified) MarkUnconsolidated(now);
    if (op == WatchOp::kDeleted) deleted_unpruned_.push_back(id);
    auto claim = ClaimOf(id);
    if (!claim) return;
    heads_stale_.push_back(*claim);
    if (op == WatchOp::kDeleted) {
      if (claims_[*claim].deleting) {
        FinishTermination(*claim, now);  // gone while draining
      } else if (claims_[*claim].phase != ClaimPhase::kDeleted) {
        DeleteClaim(*claim, "node deleted", now);
      }
      return;
    }
    CheckInitialized(*claim, now);
  }
}

void Karpenter::Reconcile(Time now) {
  std::vector<cloud::InterruptionMessage> messages;
  messages.swap(interruptions_);
  for (const auto& m : messages) OnInterruption(m, now);
}

void Karpenter::OnTimer(Time now, uint64_t arg) {
  auto timer = static_cast<Timer>(arg >> 56);
  uint64_t payload = arg & ((uint64_t{1} << 56) - 1);
  switch (timer) {
    case kBatchCheck: {
      if (!batch_open_) break;
      if (now - last_trigger_ >= kBatchIdle || now - batch_start_ >= kBatchMax) {
        batch_open_ = false;
        Provision(now);
      } else {
        At(std::min(last_trigger_ + kBatchIdle, batch_start_ + kBatchMax), Arg(kBatchCheck, 0));
      }
      break;
    }
    case kPodRequeueTimer:
      requeue_pending_ = false;
      if (!pending_.empty()) Trigger(now);
      break;
    case kLaunched: {
      auto& c = claims_[payload];
      if (c.phase == ClaimPhase::kLaunching) {
        Changed();
        SetPhase(static_cast<uint32_t>(payload), ClaimPhase::kLaunched);
        c.launched_at = now;
      }
      break;
    }
    case kRegister:
      Register(static_cast<uint32_t>(payload), now);
      break;
    case kLiveness:
      RegistrationTimedOut(static_cast<uint32_t>(payload), now);
      break;
    case kAmiRelease:
      ReleaseAmi(now);
      break;
    case kDrain:
      Drain(static_cast<uint32_t>(payload), now);
      break;
    case kStartupTaints: {
      auto& c = claims_[payload];
      if (c.phase == ClaimPhase::kDeleted || c.node == cluster::kNone) break;
      auto& node = store_.node(c.node);
      const auto& startup = pools_[c.nodepool].spec->startup_taints;
      auto& taints = node.obj.taints;
      taints.erase(std::remove_if(taints.begin(), taints.end(),
                                  [&](const api::Taint& t) {
                                    return std::find(startup.begin(), startup.end(), t) !=
                                           startup.end();
                                  }),
                   taints.end());
      store_.UpdateNode(c.node);
      break;
    }
    case kExpire: {
      auto& c = claims_[payload];
      if (c.phase != ClaimPhase::kDeleted && !c.deleting) {
        DeleteClaim(static_cast<uint32_t>(payload), "Expired", now);
      }
      break;
    }
    case kDisruption:
      disruption_scheduled_ = false;
      Disrupt(now);
      break;
    case kValidate:
      Validate(now);
      break;
    case kSample:
      Sample(now);
      After(metrics_interval_, Arg(kSample, 0));
      break;
  }
}

void Karpenter::SetVerdict(PodId pod, std::string message, bool forever, std::string nominated) {
  if (verdicts_.size() <= pod) {
    verdicts_.resize(pod + 1);
    has_verdict_.resize(pod + 1, false);
  }
  verdicts_[pod] = {std::move(message), forever, std::move(nominated)};
  has_verdict_[pod] = true;
}

const PodVerdict* Karpenter::Verdict(PodId pod) const {
  return pod < has_verdict_.size() && has_verdict_[pod] ? &verdicts_[pod] : nullptr;
}

void Karpenter::Count(const std::string& name, telemetry::Labels labels, double v) {
  metrics_.Add(metrics_.At(metrics_.Find(name), labels), v);
}

void Karpenter::Sample(Time now) {
  // Gauges: NodePool usage and limits, nodes, pods waiting for capacity.
  for (uint32_t p = 0; p < pools_.size(); ++p) {
    const std::string& name = pools_[p].spec->metadata.name;
    const ResourceVec& usage = PoolUsage(p);
    for (const char* res : {"cpu", "memory", "nvidia.com/gpu"}) {
      auto r = store_.resources().Find(res);
      double v = static_cast<double>(cluster::At(usage, r));
      if (std::string(res) == "cpu") v /= 1000;
      metrics_.Set(metrics_.At(usage_, {{"nodepool", name}, {"resource_type", res}}), v);
    }
    // NodePool.status.resources counts its nodes too (the counter controller), and the
    // usage gauge has a series per status resource.
    int64_t pool_nodes = 0;
    for (const auto& c : claims_) pool_nodes += c.nodepool == p && c.phase != ClaimPhase::kDeleted;
    metrics_.Set(metrics_.At(usage_, {{"nodepool", name}, {"resource_type", "nodes"}}),
                 static_cast<double>(pool_nodes));
    for (const auto& [res, q] : pools_[p].spec->limits) {
      metrics_.Set(metrics_.At(limit_, {{"nodepool", name}, {"resource_type", res}}),
                   static_cast<double>(q.milli) / 1000);
    }
  }
  int64_t nodes = 0;
  for (const auto& c : claims_)
    nodes += c.node != cluster::kNone && c.phase != ClaimPhase::kDeleted;
  metrics_.Set(metrics_.At(node_count_, {}), static_cast<double>(nodes));
  metrics_.Set(metrics_.At(unschedulable_count_, {}), static_cast<double>(unschedulable_pods_));
  // Series new to this sample join the record in name and label order.
  metrics_.Up("karpenter", "karpenter", "karpenter:8080");
  metrics_.Sample("karpenter", now, /*sorted=*/true);
}

}  // namespace gputwin::karpenter
