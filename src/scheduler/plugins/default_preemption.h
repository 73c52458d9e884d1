// DefaultPreemption (plugins/defaultpreemption and framework/preemption), the PostFilter
// plugin: when a pod fits nowhere, find nodes where evicting lower-priority pods makes it
// fit, choose the victims a node needs (reprieving the most important pods that can stay),
// pick one node by upstream's criteria, evict its victims and nominate it.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scheduler/framework.h"
#include "scheduler/scheduler.h"

namespace gputwin::scheduler {

class DefaultPreemption final : public Plugin, public PostFilterPlugin {
 public:
  explicit DefaultPreemption(Scheduler* s) : s_(*s), store_(s->store_) {}
  const char* Name() const override { return "DefaultPreemption"; }
  Result PostFilter(CycleState& state, PodId pod, const std::vector<bool>& unschedulable,
                    int64_t count, uint64_t version) override;

  // Tests: list the nodes afresh on every call and count where the kept list differs.
  static inline bool verify_potential_nodes = false;
  uint64_t potential_reused() const { return potential_reused_; }
  uint64_t potential_mismatches() const { return potential_mismatches_; }

  static constexpr int64_t kMinCandidateNodesPercentage = 10;
  static constexpr int64_t kMinCandidateNodesAbsolute = 100;

 private:
  struct Candidate {
    NodeId node;
    std::vector<PodId> victims;
  };
  // selectVictimsOnNode: every Filter plugin runs with the victims removed (their
  // resources freed, RemovePod for the plugins that count pods); on failure fills `reason`
  // (valid until the next call). The node must run a pod of lower priority than `pod`
  // (PostFilter counts the others without asking).
  bool SelectVictims(const CycleState& state, PodId pod, NodeId node, std::vector<PodId>* victims,
                     std::string_view* reason);
  size_t PickOne(const std::vector<Candidate>& candidates) const;
  // The nodes in order whose bit is set.
  void ListPotential(const std::vector<bool>& unschedulable, std::vector<NodeId>* out) const;

  Scheduler& s_;
  cluster::Store& store_;
  // With no lower priority running, the message depends only on the node count and how
  // many nodes preemption could help: the last one, by those two.
  std::pair<std::pair<size_t, int64_t>, std::string> no_victims_message_{{~size_t{0}, 0}, ""};
  // Lists of the nodes preemption may help, by the bits' version and the node order's: a
  // template failing again against a cluster whose verdicts did not move (the usual case
  // while a pending pod waits for capacity) walks no node for it. Eight, for templates
  // that fail in turn (the oldest replaced); bits without a version are listed into
  // `unversioned_`.
  struct PotentialNodes {
    uint64_t version = 0, order_version = 0;
    std::vector<NodeId> nodes;
  };
  static constexpr size_t kKeptPotential = 8;
  std::array<PotentialNodes, kKeptPotential> potential_;
  size_t potential_next_ = 0;  // the entry replaced next
  std::vector<NodeId> unversioned_;
  uint64_t potential_reused_ = 0, potential_mismatches_ = 0;
};

}  // namespace gputwin::scheduler
