#include "scheduler/plugins/node_resources_fit.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cluster/store.h"
#include "scheduler/node_groups.h"
#include "scheduler/node_info.h"

namespace gputwin::scheduler {

namespace {

// part × kMaxNodeScore / whole for 0 ≤ part ≤ whole: in 128 bits only when the product could
// leave int64 (a node's allocatable near the int64 range), the plain path staying cheap.
int64_t Scaled(int64_t part, int64_t whole) {
  if (whole <= std::numeric_limits<int64_t>::max() / kMaxNodeScore) {
    return part * kMaxNodeScore / whole;
  }
  return static_cast<int64_t>(static_cast<__int128>(part) * kMaxNodeScore / whole);
}

bool IsScalarResource(const std::string& name) {
  return name != "cpu" && name != "memory" && name != "ephemeral-storage" && name != "pods";
}
}  // namespace

NodeResourcesFit::NodeResourcesFit(const Handle& handle, NodeResourcesFitArgs args,
                                   cluster::ResourceRegistry* reg)
    : handle_(handle), args_(std::move(args)), too_many_pods_(handle.reasons->Id("Too many pods")) {
  for (const auto& r : args_.resources) {
    scoring_ids_.push_back(reg->Id(r.name));
    scalar_.push_back(IsScalarResource(r.name));
  }
}

std::vector<ClusterEvent> NodeResourcesFit::EventsToRegister() const {
  return {{EventResource::kPod, kDelete}, {EventResource::kNode, kAdd | kUpdateNodeAllocatable}};
}

QueueingHint NodeResourcesFit::Hint(const ClusterEvent& event, const EventObject& obj,
                                    const cluster::PodRecord& pod) const {
  if (event.resource == EventResource::kPod) {
    // isSchedulableAfterPodEvent: a scheduled (or nominated) pod left, freeing room.
    const auto& gone = *obj.pod;
    return gone.Bound() || gone.nominated_node != cluster::kNone ? QueueingHint::kQueue
                                                                 : QueueingHint::kQueueSkip;
  }
  // isSchedulableAfterNodeChange: the pod fits the empty node and, for an update, some
  // resource it requests (or the pod count) grew.
  const auto& alloc = obj.node->allocatable;
  const auto& requests = RequestsOf(*pod.tmpl);
  if (cluster::At(alloc, cluster::kPods) < 1) return QueueingHint::kQueueSkip;
  for (const auto& [r, amount] : requests) {
    if (amount > cluster::At(alloc, r)) return QueueingHint::kQueueSkip;
  }
  if (!obj.old_node) return QueueingHint::kQueue;
  const auto& before = obj.old_node->allocatable;
  if (cluster::At(alloc, cluster::kPods) > cluster::At(before, cluster::kPods)) {
    return QueueingHint::kQueue;
  }
  for (const auto& [r, amount] : requests) {
    if (cluster::At(alloc, r) > cluster::At(before, r)) return QueueingHint::kQueue;
  }
  return QueueingHint::kQueueSkip;
}

const NodeResourcesFit::Requests& NodeResourcesFit::RequestsOf(
    const cluster::PodTemplateInfo& t) const {
  if (requests_.size() <= t.id) requests_.resize(t.id + 1);
  if (!requests_[t.id]) {
    requests_[t.id] = std::make_unique<Requests>();
    for (size_t r = 0; r < t.requests.size(); ++r) {
      if (t.requests[r] > 0 && r != cluster::kPods) {
        requests_[t.id]->emplace_back(static_cast<ResourceId>(r), t.requests[r]);
      }
    }
  }
  return *requests_[t.id];
}

bool NodeResourcesFit::Passes(const CycleState&, const cluster::PodRecord& pod,
                              const NodeView& node) const {
  if (node.Free(cluster::kPods) < 1) return false;
  for (const auto& [r, amount] : RequestsOf(*pod.tmpl)) {
    if (amount > node.Free(r)) return false;
  }
  return true;
}

Status NodeResourcesFit::Filter(const CycleState& state, const cluster::PodRecord& pod,
                                const NodeView& node) const {
  if (Passes(state, pod, node)) return {};
  std::vector<uint16_t> reasons;
  Diagnose(state, pod, node, &reasons);
  return ExceedsAllocatable(pod, node) ? Status::Unresolvable(reasons.front())
                                       : Status::Unschedulable(reasons.front());
}

bool NodeResourcesFit::ExceedsAllocatable(const cluster::PodRecord& pod,
                                          const NodeView& node) const {
  // ("Too many pods" never is: upstream leaves Unresolvable unset for the pod count.)
  for (const auto& [r, amount] : RequestsOf(*pod.tmpl)) {
    if (amount > (r < node.allocatable.size() ? node.allocatable[r] : 0)) return true;
  }
  return false;
}

void NodeResourcesFit::Diagnose(const CycleState&, const cluster::PodRecord& pod,
                                const NodeView& node, std::vector<uint16_t>* out) const {
  if (node.Free(cluster::kPods) < 1) out->push_back(too_many_pods_);
  for (const auto& [r, amount] : RequestsOf(*pod.tmpl)) {
    if (amount <= node.Free(r)) continue;
    if (insufficient_.size() <= r) insufficient_.resize(r + 1, 0xFFFF);
    if (insufficient_[r] == 0xFFFF) {
      insufficient_[r] = handle_.reasons->Id("Insufficient " + handle_.store->resources().Name(r));
    }
    out->push_back(insufficient_[r]);
  }
}

int64_t NodeResourcesFit::Score(const CycleState&, const cluster::PodRecord& pod,
                                const NodeView& node) const {
  return ScoreNode(*pod.tmpl, node.id);
}

bool NodeResourcesFit::AddNodeScores(const cluster::PodRecord& pod, std::span<const NodeId> nodes,
                                     int64_t weight, std::span<int64_t> out) const {
  for (size_t i = 0; i < nodes.size(); ++i) out[i] += weight * ScoreNode(*pod.tmpl, nodes[i]);
  return true;
}

int64_t NodeResourcesFit::ScoreNode(const cluster::PodTemplateInfo& t, NodeId n) const {
  const auto& info = *handle_.node_info;
  int64_t score = 0, weight_sum = 0;
  for (size_t i = 0; i < scoring_ids_.size(); ++i) {
    ResourceId r = scoring_ids_[i];
    int64_t weight = args_.resources[i].weight;
    int64_t alloc = info.Alloc(n, r), req;
    if (r == cluster::kCpu) {
      req = info.nonzero_cpu(n) + t.nonzero_cpu;
    } else if (r == cluster::kMemory) {
      req = info.nonzero_memory(n) + t.nonzero_memory;
    } else {
      int64_t pod_req = cluster::At(t.requests, r);
      if (pod_req == 0 && scalar_[i]) continue;
      req = info.Used(n, r) + pod_req;
    }
    if (alloc == 0) continue;
    int64_t s = 0;
    switch (args_.strategy) {
      case ScoringStrategy::kLeastAllocated:
        s = req > alloc ? 0 : Scaled(alloc - req, alloc);
        break;
      case ScoringStrategy::kMostAllocated:
        s = Scaled(std::min(req, alloc), alloc);
        break;
      case ScoringStrategy::kRequestedToCapacityRatio: {
        int64_t util =
            req > alloc ? 100 : static_cast<int64_t>(static_cast<__int128>(req) * 100 / alloc);
        const auto& shape = args_.shape;
        int64_t raw = shape.back().score;
        for (size_t k = 0; k < shape.size(); ++k) {
          if (util <= shape[k].utilization) {
            raw = k == 0
                      ? shape[0].score
                      : shape[k - 1].score + (shape[k].score - shape[k - 1].score) *
                                                 (util - shape[k - 1].utilization) /
                                                 (shape[k].utilization - shape[k - 1].utilization);
            break;
          }
        }
        s = raw * 10;          // MaxNodeScore / MaxCustomPriorityScore
        if (s <= 0) continue;  // zero scores leave the weights too
        break;
      }
    }
    score += s * weight;
    weight_sum += weight;
  }
  if (weight_sum == 0) return 0;
  if (args_.strategy == ScoringStrategy::kRequestedToCapacityRatio) {
    return static_cast<int64_t>(
        std::llround(static_cast<double>(score) / static_cast<double>(weight_sum)));
  }
  return score / weight_sum;
}

}  // namespace gputwin::scheduler
