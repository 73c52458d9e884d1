// The provisioner (kubernetes-sigs/karpenter pkg/controllers/provisioning): batching,
// provisionable pods, the pass that turns the scheduling simulation's result into
// NodeClaims and pod verdicts.
#include <algorithm>
#include <cmath>

#include "cluster/scheduling_helpers.h"
#include "karpenter/karpenter.h"

namespace gputwin::karpenter {

using cluster::OwnerKind;
using cluster::PodPhase;

namespace {

// DaemonSet overhead: the DaemonSets known when provisioning first runs.
void ComputeDaemonOverhead(NodePoolState* st, cluster::Store& store) {
  st->daemon_overhead.assign(store.resources().size(), 0);
  for (const auto& ds : store.daemon_sets()) {
    if (ds.deleted || !ds.tmpl) continue;
    const auto& spec = *ds.tmpl->spec;
    if (cluster::FindUntoleratedTaint(st->spec->taints, spec.tolerations, true, true)) continue;
    if (!st->requirements.Compatible(Requirements::FromPod(spec, 0)).empty()) continue;
    cluster::AddTo(&st->daemon_overhead, ds.tmpl->requests);
    if (st->daemon_overhead.size() <= cluster::kPods) {
      st->daemon_overhead.resize(cluster::kPods + 1, 0);
    }
    st->daemon_overhead[cluster::kPods] += 1;
  }
}

}  // namespace

bool Karpenter::Provisionable(PodId id) const {
  const auto& p = store_.pod(id);
  return !p.deleted && !p.Bound() && p.phase == PodPhase::kPending && p.unschedulable &&
         p.nominated_node == cluster::kNone && p.owner.kind != OwnerKind::kDaemonSet &&
         p.tmpl->spec->scheduler_name == "default-scheduler";
}

void Karpenter::Trigger(Time now) {
  last_trigger_ = now;
  if (batch_open_) return;
  batch_open_ = true;
  batch_start_ = now;
  At(now + kBatchIdle, Arg(kBatchCheck, 0));
}

void Karpenter::Provision(Time now) {
  ++passes_;
  for (auto& pool : pools_) {
    if (pool.daemon_overhead.empty()) ComputeDaemonOverhead(&pool, store_);
  }
  std::vector<PodId> pods;
  for (PodId id : pending_) {
    if (Provisionable(id)) pods.push_back(id);
  }
  if (pods.empty()) return;
  // Nothing the simulation reads has changed since the last pass: it would decide the
  // same, so only its FailedScheduling events repeat (the pod controller's 10 s requeue
  // keeps passes coming while pods wait).
  if (UnchangedSince(provision_memo_, now)) {
    ++reused_passes_;
    decisions_ += pods.size();
    for (PodId id : failed_pods_) {
      store_.RecordEvent("Warning", "FailedScheduling", "Pod", store_.pod(id).namespace_,
                         store_.pod(id).name, verdicts_[id].message, "karpenter");
    }
    RequeuePods(now);
    return;
  }
  const PassMemo seen{state_version_, now};  // what this pass reads (it may change it)
  SimNodes nodes;
  const ReturnNodes give_back{this, &nodes};
  // The last pass's list patched, and its fit lists standing for the nodes and NodeClaims
  // that did not change.
  ListNodes(&nodes, &provision_carry_, {}, false);
  Solution sol = Solve(pods, &nodes, now, {});
  KeepFits(&nodes, &provision_carry_);
  // Before any NodeClaim is created: the simulation's nodes point into claims_.
  for (const auto& [id, sim] : sol.existing) {
    // Fits where capacity is coming (or is, for kube-scheduler): a node that never
    // advertises its GPUs holds the pod forever.
    bool forever = false;
    const std::string& node = *sim->name;
    std::string msg = "nominated to " + node + ", which is not ready for the pod yet";
    if (sim->node != cluster::kNone) {
      const int32_t claim = sim->claim;
      if (claim >= 0 && claims_[claim].phase == ClaimPhase::kRegistered) {
        const auto& c = claims_[claim];
        const auto& type = ec2_.catalog().types[c.type];
        if (type.gpu_count > 0 && !gpu_stack_) {
          forever = true;
          msg = "nominated to node " + node + " (" + type.name +
                "), which never initializes: nvidia.com/gpu is never registered because no "
                "NVIDIA device plugin DaemonSet or GPU Operator is in the manifests";
        } else {
          msg = "nominated to node " + node + " (" + type.name + "), which has not initialized yet";
        }
      } else if (claim < 0) {
        msg = "fits on node " + node + " as Karpenter sees it; kube-scheduler has not bound it";
      }
    } else if (const auto& c = claims_[sim->claim]; !c.registers_late.empty()) {
      msg = c.registers_late;
      forever = BootsAlike(c);
    } else {
      msg = "nominated to nodeclaim " + node + ", which is launching";
    }
    if (msg.starts_with("nominated")) store_.pod(id).NoteWait(now, cluster::PodWait::kNominated);
    SetVerdict(id, msg, forever, node);
  }
  for (auto& nc : sol.claims) {
    // Create(): a NodePool whose nodes already exceed its limits launches nothing more.
    const auto& pool = pools_[nc.pool];
    const ResourceVec& usage = PoolUsage(nc.pool);
    std::string exceeded;
    for (const auto& [name, q] : pool.spec->limits) {
      if (name == "nodes") continue;
      auto r = store_.resources().Id(name);
      if (cluster::At(usage, r) > cluster::ResourceRegistry::Units(name, q)) exceeded = name;
    }
    if (!exceeded.empty()) {
      for (PodId id : nc.pods) {
        SetVerdict(id,
                   "creating nodeclaim, nodepool \"" + pool.spec->metadata.name +
                       "\" has exceeded its limit of " + exceeded,
                   false);
      }
      continue;
    }
    // TruncateInstanceTypes: the 600 cheapest.
    SortByPrice(&nc.types, nc.requirements(), now);
    if (nc.types.size() > kMaxInstanceTypes) nc.types.resize(kMaxInstanceTypes);
    CreateClaim(std::move(nc), "provisioned", now);
  }
  unschedulable_pods_ = sol.errors.size();
  failed_pods_.clear();
  for (const auto& [id, err] : sol.errors) {
    std::string msg = "Failed to schedule pod, " + err;
    store_.pod(id).NoteWait(now, cluster::PodWait::kUnschedulable);
    store_.RecordEvent("Warning", "FailedScheduling", "Pod", store_.pod(id).namespace_,
                       store_.pod(id).name, msg, "karpenter");
    SetVerdict(id, std::move(msg), sol.forever.at(id));
    failed_pods_.push_back(id);
  }
  provision_memo_ = seen;
  RequeuePods(now);
}

// The pod controller requeues provisionable pods every 10 s.
void Karpenter::RequeuePods(Time now) {
  if (!requeue_pending_) {
    requeue_pending_ = true;
    At(now + kPodRequeue, Arg(kPodRequeueTimer, 0));
  }
}

bool Karpenter::UnchangedSince(const std::optional<PassMemo>& memo, Time now) const {
  if (!memo || memo->version != state_version_) return false;
  // Offerings that came back since (their unavailable entry expired) count as a change.
  return std::none_of(unavailable_.begin(), unavailable_.end(), [&](const auto& entry) {
    return entry.second.until > memo->at && entry.second.until <= now;
  });
}

uint32_t Karpenter::CreateClaim(NewClaim nc, const std::string& reason, Time now) {
  Changed();
  NodeClaim c;
  const auto& pool = pools_[nc.pool];
  static const char kChars[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string suffix;
  for (int i = 0; i < 5; ++i) suffix += kChars[names_.Below(sizeof kChars - 1)];
  c.name = pool.spec->metadata.name + "-" + suffix;
  c.nodepool = nc.pool;
  c.reason = reason;
  c.requirements = nc.requirements();
  c.instance_types = std::move(nc.types);
  c.requests = std::move(nc.requests);
  c.pods = std::move(nc.pods);
  c.created_at = now;
  auto index = static_cast<uint32_t>(claims_.size());
  claim_state_.push_back(
      ClaimState{c.node, c.nodepool, c.phase, c.deleting, c.initialized_at, c.created_at});
  claims_.push_back(std::move(c));
  live_claims_.push_back(index);
  live_heads_.emplace_back();
  SyncLiveHead(index);
  starting_claims_.insert(index);
  MarkUnconsolidated(now);
  Count("karpenter_nodeclaims_created_total",
        {{"reason", reason}, {"nodepool", pool.spec->metadata.name}});
  for (PodId id : claims_[index].pods) {
    auto& p = store_.pod(id);
    p.NoteWait(now, cluster::PodWait::kNominated);
    store_.RecordEvent("Normal", "Nominated", "Pod", p.namespace_, p.name,
                       "Pod should schedule on: nodeclaim/" + claims_[index].name, "karpenter");
    SetVerdict(id, "nominated to nodeclaim " + claims_[index].name + ", which is launching", false,
               claims_[index].name);
  }
  Launch(index, now);
  return index;
}

}  // namespace gputwin::karpenter
