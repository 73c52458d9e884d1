// DefaultPreemption (pkg/scheduler/framework/plugins/defaultpreemption and
// framework/preemption): when a pod fits nowhere, find nodes where evicting lower-priority
// pods makes it fit, choose the victims a node needs (reprieving the most important pods
// that can stay), pick one node by upstream's criteria, evict its victims and nominate it.
#pragma once

#include <string>
#include <vector>

#include "scheduler/scheduler.h"

namespace gputwin::scheduler {

class Preemption {
 public:
  struct Result {
    NodeId nominated = cluster::kNone;
    std::string message;  // the PostFilter message ("preemption: ...") when none nominated
  };
  explicit Preemption(Scheduler* s) : s_(*s), store_(s->store_) {}
  // `resolvable[n]`: the node failed only on resources (Unschedulable), so eviction may help.
  Result Run(PodId pod, const std::vector<bool>& resolvable, Time now);

  static constexpr int64_t kMinCandidateNodesPercentage = 10;
  static constexpr int64_t kMinCandidateNodesAbsolute = 100;

 private:
  struct Candidate {
    NodeId node;
    std::vector<PodId> victims;
  };
  // selectVictimsOnNode; on failure fills `reason`.
  bool SelectVictims(PodId pod, NodeId node, std::vector<PodId>* victims, std::string* reason);
  size_t PickOne(const std::vector<Candidate>& candidates) const;

  Scheduler& s_;
  cluster::Store& store_;
};

}  // namespace gputwin::scheduler
