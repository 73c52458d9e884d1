// The NodeClaim lifecycle (pkg/controllers/nodeclaim/lifecycle: launch, registration,
// initialization), the AWS provider's launch (aws/karpenter-provider-aws
// pkg/providers/instance: filters, capacity type, CreateFleet, the unavailable-offerings
// cache) and termination (pkg/controllers/node/termination: drain, terminate).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "karpenter/karpenter.h"

namespace gputwin::karpenter {

using cloud::CapacityType;

bool Karpenter::Launch(uint32_t index, Time now) {
  Changed();
  auto& c = claims_[index];
  const auto& catalog = ec2_.catalog();
  const std::string& pool_name = pools_[c.nodepool].spec->metadata.name;
  const Requirement* zones = c.requirements.Get("topology.kubernetes.io/zone");
  const Requirement* cts = c.requirements.Get("karpenter.sh/capacity-type");
  auto zone_ok = [&](const cloud::Offering& o) { return !zones || zones->Has(o.zone); };
  auto ct_allowed = [&](CapacityType t) { return !cts || cts->Has(cloud::CapacityTypeName(t)); };
  // CompatibleAvailableFilter.
  std::vector<uint32_t> types;
  for (uint32_t t : c.instance_types) {
    if (TypeHasOffering(t, c.requirements, now)) types.push_back(t);
  }
  // ExoticInstanceTypeFilter: GPU and metal types only when no generic type fits
  // (skipped when a requirement has minValues).
  bool min_values = std::any_of(c.requirements.all().begin(), c.requirements.all().end(),
                                [](const auto& kv) { return kv.second.min_values.has_value(); });
  auto exotic = [&](uint32_t t) {
    return catalog.types[t].gpu_count > 0 ||
           catalog.types[t].size.find("metal") != std::string::npos;
  };
  if (!min_values &&
      std::any_of(types.begin(), types.end(), [&](uint32_t t) { return !exotic(t); })) {
    std::erase_if(types, exotic);
  }
  // SpotOfferingFilter: with on-demand also allowed, spot offerings dearer than the
  // cheapest on-demand offering are dropped. Then the capacity type: spot when allowed and
  // an offering is left, else on-demand (getCapacityType).
  double od_floor = INFINITY;
  if (ct_allowed(CapacityType::kSpot) && ct_allowed(CapacityType::kOnDemand) && !min_values) {
    for (uint32_t t : types) {
      for (const auto& o : ec2_.OfferingsOf(t)) {
        if (o.capacity_type == CapacityType::kOnDemand && zone_ok(o) && OfferingAvailable(o, now)) {
          od_floor = std::min(od_floor, o.price);
        }
      }
    }
  }
  CapacityType ct = CapacityType::kOnDemand;
  if (ct_allowed(CapacityType::kSpot)) {
    for (uint32_t t : types) {
      for (const auto& o : ec2_.OfferingsOf(t)) {
        if (o.capacity_type == CapacityType::kSpot && zone_ok(o) && OfferingAvailable(o, now) &&
            o.price <= od_floor) {
          ct = CapacityType::kSpot;
        }
      }
    }
  }
  // Truncate to the 60 cheapest, then every available offering of the chosen capacity type.
  SortByPrice(&types, c.requirements, now);
  if (types.size() > kMaxFleetTypes) types.resize(kMaxFleetTypes);
  std::vector<cloud::Offering> overrides;
  for (uint32_t t : types) {
    for (const auto& o : ec2_.OfferingsOf(t)) {
      if (o.capacity_type != ct || !zone_ok(o) || !OfferingAvailable(o, now)) continue;
      if (ct == CapacityType::kSpot && o.price > od_floor) continue;
      overrides.push_back(o);
    }
  }
  auto result = ec2_.CreateFleet(overrides, now);
  for (const auto& e : result.errors) {
    ++unavailable_version_;
    unavailable_[{static_cast<int>(e.offering.capacity_type), e.offering.type, e.offering.zone}] = {
        now + kUnavailableOfferingsTtl, e.code};
    Count("karpenter_cloudprovider_instance_launch_failures_total",
          {{"zone", e.offering.zone},
           {"capacity_type", cloud::CapacityTypeName(e.offering.capacity_type)},
           {"reason", e.code}});
  }
  if (!result.instance) {
    // InsufficientCapacityError: the NodeClaim is deleted; the pods stay pending and the
    // next provisioning pass works without the offerings now cached as unavailable.
    std::string detail;
    if (result.errors.empty()) {
      detail = "all requested instance types were unavailable during launch";
    } else {
      const auto& e = result.errors.front();
      detail = "with fleet error(s), " + e.code + ": " + e.message;
      std::map<std::string, int> codes;
      for (const auto& err : result.errors) ++codes[err.code];
      if (result.errors.size() > 1) {
        detail += " (" + std::to_string(result.errors.size()) + " offerings refused:";
        for (const auto& [code, n] : codes) detail += " " + code + "×" + std::to_string(n);
        detail += ")";
      }
    }
    c.launch_error = "creating instance, insufficient capacity, " + detail;
    SetPhase(index, ClaimPhase::kDeleted);
    Retire(index);
    c.deleted_at = now;
    Count("karpenter_nodeclaims_disrupted_total", {{"reason", "insufficient_capacity"},
                                                   {"nodepool", pool_name},
                                                   {"capacity_type", cloud::CapacityTypeName(ct)}});
    store_.RecordEvent("Warning", "InsufficientCapacityError", "NodeClaim", "", c.name,
                       "NodeClaim " + c.name + " event: " + c.launch_error, "karpenter");
    // Quota errors do not go away by themselves; capacity may come back.
    bool quota = !result.errors.empty() &&
                 std::all_of(result.errors.begin(), result.errors.end(), [](const auto& e) {
                   return e.code == "VcpuLimitExceeded" || e.code == "MaxSpotInstanceCountExceeded";
                 });
    for (PodId id : c.pods) {
      if (!store_.pod(id).Bound()) store_.pod(id).NoteWait(now, cluster::PodWait::kUnschedulable);
      SetVerdict(id, "nodeclaim " + c.name + " failed: " + c.launch_error, quota, c.name);
    }
    return false;
  }
  const auto& inst = ec2_.instance(*result.instance);
  c.instance = *result.instance;
  c.type = inst.offering.type;
  cluster::AddTo(&pool_usage_[c.nodepool], TypeCapacity(c.nodepool, c.type));
  ++pool_nodes_[c.nodepool];
  ++pool_usage_version_;
  c.zone = inst.offering.zone;
  c.capacity_type = inst.offering.capacity_type;
  c.price = inst.offering.price;
  c.ami_version = ami_version_;
  claim_of_instance_[*result.instance] = index;
  // The Node's labels: the instance type's, the pinned requirements, the template's.
  c.labels = type_labels_[c.type];
  for (const auto& [key, v] : c.requirements.SingleValued()) c.labels[key] = v;
  const auto& spec = *pools_[c.nodepool].spec;
  for (const auto& [key, v] : spec.template_labels) c.labels[key] = v;
  c.labels["karpenter.sh/nodepool"] = spec.metadata.name;
  c.labels["karpenter.sh/capacity-type"] = cloud::CapacityTypeName(c.capacity_type);
  c.labels["topology.kubernetes.io/zone"] = c.zone;
  c.labels["topology.kubernetes.io/region"] = ec2_.region();
  c.labels["karpenter.k8s.aws/ec2nodeclass"] = spec.node_class_name;
  // EKS labels a node with its place in the EC2 network (network-node-layer-1 at the top).
  for (size_t l = 0; l < inst.network_nodes.size(); ++l) {
    c.labels["topology.k8s.aws/network-node-layer-" + std::to_string(l + 1)] =
        inst.network_nodes[l];
  }
  const auto& st = ec2_.startup();
  At(now + st.fleet, Arg(kLaunched, index));
  const Time registers =
      now + st.fleet + (catalog.types[c.type].gpu_count > 0 ? st.gpu_boot : st.boot);
  // The liveness controller deletes a NodeClaim whose Node has not registered 15 minutes
  // after its creation (liveness.go registrationTTL).
  if (registers - c.created_at > kRegistrationTtl) {
    At(c.created_at + kRegistrationTtl, Arg(kLiveness, index));
    c.registers_late = "nominated to nodeclaim " + c.name + " (" + catalog.types[c.type].name +
                       "), whose node needs " + FormatDuration(registers - c.created_at) +
                       " to register: the liveness controller deletes it at the 15m " +
                       "registration TTL";
    for (PodId id : c.pods) SetVerdict(id, c.registers_late, BootsAlike(c), c.name);
  } else {
    At(registers, Arg(kRegister, index));
  }
  return true;
}

// Every candidate of the claim boots as slowly as the launched type (GPU or not alike): a
// retry meets the same end.
bool Karpenter::BootsAlike(const NodeClaim& c) const {
  const auto& catalog = ec2_.catalog();
  bool gpu = catalog.types[c.type].gpu_count > 0;
  return std::all_of(c.instance_types.begin(), c.instance_types.end(),
                     [&](uint32_t t) { return (catalog.types[t].gpu_count > 0) == gpu; });
}

void Karpenter::RegistrationTimedOut(uint32_t index, Time now) {
  auto& c = claims_[index];
  if (c.phase == ClaimPhase::kDeleted || c.deleting || c.node != cluster::kNone) return;
  const auto& st = ec2_.startup();
  const bool gpu = ec2_.catalog().types[c.type].gpu_count > 0;
  const bool alike = BootsAlike(c);
  std::string message = "nodeclaim " + c.name + " deleted: its node did not register within " +
                        "the 15m registration TTL (launch " + FormatDuration(st.fleet) +
                        " + boot " + FormatDuration(gpu ? st.gpu_boot : st.boot) + ")";
  std::vector<PodId> pods = c.pods;
  DeleteClaim(index, "liveness", now);
  for (PodId id : pods) {
    if (!store_.pod(id).Bound()) SetVerdict(id, message, alike, c.name);
  }
}

void Karpenter::Register(uint32_t index, Time now) {
  Changed();
  auto& c = claims_[index];
  if (c.phase == ClaimPhase::kDeleted || c.deleting || !c.instance) return;
  const auto& pool = pools_[c.nodepool];
  const auto& type = ec2_.catalog().types[c.type];
  auto& inst = ec2_.instance(*c.instance);
  api::Node node;
  char name[96];
  uint32_t k = *c.instance + 1;
  std::snprintf(name, sizeof name, "ip-10-0-%u-%u.%s", k / 250, k % 250 + 4,
                ec2_.region() == "us-east-1" ? "ec2.internal"
                                             : (ec2_.region() + ".compute.internal").c_str());
  node.metadata.name = name;
  // The Node holds the labels from here on: nothing reads a registered NodeClaim's own
  // (a month of NodeClaims kept two copies).
  node.metadata.labels = std::move(c.labels);
  c.labels = {};
  node.metadata.labels["karpenter.sh/registered"] = "true";
  node.metadata.annotations = pool.spec->template_annotations;
  node.metadata.annotations["gputwin.io/image-pull-bandwidth"] =
      std::to_string(ec2_.startup().image_pull_bytes_per_second);
  if (type.network_mbps > 0) {
    // The instance type's network performance (EFA included), for the training step model.
    node.metadata.annotations["gputwin.io/network-bandwidth"] =
        std::to_string(type.network_mbps) + "M";
  }
  if (type.gpu_count > 0) {
    node.metadata.annotations["gputwin.io/gpu-model"] = type.gpu_model;
    node.metadata.annotations["gputwin.io/gpu-count"] = std::to_string(type.gpu_count);
  }
  node.provider_id = "aws:///" + c.zone + "/" + inst.id;
  node.taints = pool.spec->taints;
  for (const auto& t : pool.spec->startup_taints) node.taints.push_back(t);
  // The kubelet reports everything but the GPUs, which only the device plugin advertises.
  node.capacity = type.Capacity(pool.overhead);
  node.allocatable = type.Allocatable(pool.overhead);
  node.capacity.erase("nvidia.com/gpu");
  node.allocatable.erase("nvidia.com/gpu");
  node.metadata.source = pool.spec->metadata.source;
  inst.node_name = name;
  SetPhase(index, ClaimPhase::kRegistered);
  c.registered_at = now;
  if (c.launched_at == cluster::kNever) c.launched_at = now;
  NodeId id = store_.AddNode(node);
  SetClaimNode(index, id);
  if (pool.node_class) {
    for (const auto& img : pool.node_class->cached_images) store_.node(id).images.emplace(img, now);
  }
  Count("karpenter_nodes_created_total",
        {{"nodepool", pool.spec->metadata.name}, {"zone", c.zone}});
  if (!pool.spec->startup_taints.empty()) {
    At(now + ec2_.startup().startup_taints, Arg(kStartupTaints, index));
  }
  CheckInitialized(index, now);
}

void Karpenter::CheckInitialized(uint32_t index, Time now) {
  Changed();
  auto& c = claims_[index];
  if (c.phase != ClaimPhase::kRegistered || c.node == cluster::kNone) return;
  const auto& node = store_.node(c.node);
  if (node.deleted || !node.ready) return;
  for (const auto& t : pools_[c.nodepool].spec->startup_taints) {
    if (std::find(node.obj.taints.begin(), node.obj.taints.end(), t) != node.obj.taints.end()) {
      return;
    }
  }
  // Every extended resource the instance type promises must be advertised.
  if (ec2_.catalog().types[c.type].gpu_count > 0) {
    bool gpus = false;
    for (const auto& [name, q] : node.obj.allocatable) {
      gpus |= name.starts_with("nvidia.com/") && q.milli > 0;
    }
    if (!gpus) return;
  }
  MarkInitialized(index, now);
  store_.SetNodeLabel(c.node, "karpenter.sh/initialized", "true");
  // A replacement is ready: the nodes it replaces go once all their replacements are.
  for (uint32_t old : std::vector<uint32_t>(c.replaces)) {
    if (claims_[old].awaiting > 1) {
      --claims_[old].awaiting;
      continue;
    }
    claims_[old].awaiting = 0;
    in_command_.erase(old);
    if (!claims_[old].deleting && claims_[old].phase != ClaimPhase::kDeleted) {
      DeleteClaim(old, c.replaced_for.empty() ? "Underutilized" : c.replaced_for, now);
    }
  }
  const auto& pool = pools_[c.nodepool];
  if (pool.spec->expire_after) At(c.created_at + *pool.spec->expire_after, Arg(kExpire, index));
  if (!disruption_scheduled_) {
    disruption_scheduled_ = true;
    At(now + kDisruptionPoll, Arg(kDisruption, 0));
  }
}

void Karpenter::DeleteClaim(uint32_t index, const std::string& reason, Time now) {
  Changed();
  auto& c = claims_[index];
  if (c.deleting || c.phase == ClaimPhase::kDeleted) return;
  MarkDeleting(index);
  c.disruption_reason = reason;
  MarkUnconsolidated(now);
  std::string metric_reason = reason;
  std::transform(metric_reason.begin(), metric_reason.end(), metric_reason.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  Count("karpenter_nodeclaims_disrupted_total",
        {{"reason", metric_reason},
         {"nodepool", pools_[c.nodepool].spec->metadata.name},
         {"capacity_type", cloud::CapacityTypeName(c.capacity_type)}});
  if (c.node != cluster::kNone && !store_.node(c.node).deleted) {
    // Termination: taint karpenter.sh/disrupted:NoSchedule, then drain; the NodePool's
    // terminationGracePeriod bounds the drain.
    auto& node = store_.node(c.node);
    node.obj.taints.push_back({"karpenter.sh/disrupted", "", "NoSchedule"});
    store_.UpdateNode(c.node);
    if (const auto& tgp = pools_[c.nodepool].spec->termination_grace_period) {
      c.drain_deadline = now + *tgp;
      At(c.drain_deadline, Arg(kDrain, index));
    }
    Drain(index, now);
    return;
  }
  FinishTermination(index, now);
}

void Karpenter::Drain(uint32_t index, Time now, bool instance_gone) {
  auto& c = claims_[index];
  if (c.phase == ClaimPhase::kDeleted) return;
  if (c.node == cluster::kNone || store_.node(c.node).deleted) {
    FinishTermination(index, now);
    return;
  }
  // Past the terminationGracePeriod, or with the instance gone, pods go whatever their
  // PDBs say.
  const bool past_deadline = c.drain_deadline != cluster::kNever && now >= c.drain_deadline;
  const bool force = past_deadline || instance_gone;
  RefreshPdbAllowance();
  const auto& node = store_.node(c.node);
  std::vector<PodId> pods = node.pods;
  std::string blocked;
  for (PodId id : pods) {
    auto& p = store_.pod(id);
    if (!Reschedulable(p)) continue;
    // The eviction API refuses while a PDB allows no more disruptions (429); each
    // eviction it grants uses one up.
    if (!force && !pdb_allowed_.empty()) {
      if (EvictionBlocked(id)) {
        if (blocked.empty()) blocked = p.Key();
        continue;
      }
      if (p.tmpl->id < template_pods_.size()) {
        for (uint32_t b : template_pods_[p.tmpl->id].pdbs) --pdb_allowed_[b];
      }
    }
    p.reason = instance_gone ? "NodeLost" : "Evicted";
    // Evictions go through the Eviction API; pods of a vanished instance are removed by
    // PodGC once the node is deleted. Either way the pod gets DisruptionTarget.
    p.disruption_target = instance_gone ? "DeletionByPodGC" : "EvictionByEvictionAPI";
    p.message = instance_gone   ? "the instance of node " + node.name() + " was terminated"
                : past_deadline ? "Deleted by Karpenter: node " + node.name() +
                                      " reached its NodePool's terminationGracePeriod (" +
                                      c.disruption_reason + ")"
                                : "Evicted by Karpenter: node " + node.name() +
                                      " is being disrupted (" + c.disruption_reason + ")";
    if (!instance_gone) {
      store_.RecordEvent("Normal", "Evicted", "Pod", p.namespace_, p.name, p.message, "karpenter");
    }
    store_.DeletePod(id);
  }
  if (!blocked.empty()) {
    c.drain_blocked = "draining: a PodDisruptionBudget blocks evicting " + blocked;
    At(now + kEvictionRetry, Arg(kDrain, index));
    return;
  }
  c.drain_blocked.clear();
  FinishTermination(index, now);
}

void Karpenter::Retire(uint32_t index) {
  auto it = std::lower_bound(live_claims_.begin(), live_claims_.end(), index);
  if (it != live_claims_.end() && *it == index) {
    live_heads_.erase(live_heads_.begin() + (it - live_claims_.begin()));
    live_claims_.erase(it);
  }
  drifted_claims_.erase(index);
  if (index < was_consolidatable_.size() && was_consolidatable_[index]) {
    retired_consolidatable_.push_back(index);
  }
  starting_claims_.erase(index);
}

void Karpenter::FinishTermination(uint32_t index, Time now) {
  auto& c = claims_[index];
  if (c.phase == ClaimPhase::kDeleted) return;  // already terminated
  Changed();
  if (c.instance) ec2_.TerminateInstance(*c.instance, now);
  if (c.instance && c.phase != ClaimPhase::kDeleted) {
    cluster::AddTo(&pool_usage_[c.nodepool], TypeCapacity(c.nodepool, c.type), -1);
    --pool_nodes_[c.nodepool];
    ++pool_usage_version_;
  }
  if (c.phase != ClaimPhase::kDeleted) Retire(index);
  SetPhase(index, ClaimPhase::kDeleted);
  c.deleted_at = now;
  // Nothing reads a terminated claim's requirements or requests again (the outputs take
  // its instance type options and pod count): a month of node churn keeps none of them.
  c.requirements = {};
  ResourceVec().swap(c.requests);
  if (c.node != cluster::kNone && !store_.node(c.node).deleted) {
    Count("karpenter_nodes_terminated_total",
          {{"nodepool", pools_[c.nodepool].spec->metadata.name}, {"zone", c.zone}});
    store_.DeleteNode(c.node);
  }
}

}  // namespace gputwin::karpenter
