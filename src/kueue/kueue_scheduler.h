// Kueue's scheduler (pkg/scheduler), named KueueScheduler so that it is never taken for
// kube-scheduler: the admission cycle over ClusterQueue heads, flavor assignment
// (flavorassigner), classic and fair-sharing preemption (preemption/), partial admission
// (podset_reducer) and the requeue rules of the queue manager. It decides; the Kueue
// controller (kueue_controller.h) carries the decisions out on Jobs.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "kueue/cache.h"

namespace gputwin::kueue {

// Flavor assignment modes, worst first (flavorassigner granularMode).
enum class FitMode : uint8_t { kNoFit, kNoCandidates, kPreempt, kReclaim, kFit };

struct Assignment {
  FitMode mode = FitMode::kFit;
  int borrowing = 0;  // height of the lowest cohort subtree the workload borrows from
  std::vector<PodSetAssignment> pod_sets;
  FrUsage usage;
  std::set<FrId> frs_need_preemption;
  std::string message;  // "couldn't assign flavors to pod set main: ..."
  std::string reason;   // QuotaReserved=False reason (Pending, NoMatchingFlavor, ...)
};

struct PreemptionTarget {
  WorkloadId wl;
  std::string reason;  // InClusterQueue, InCohortReclamation, InCohortFairSharing, ...
};

// What the scheduler asks of the Kueue controller.
class KueueSchedulerActions {
 public:
  virtual ~KueueSchedulerActions() = default;
  virtual void Admit(WorkloadId wl) = 0;
  virtual void Evict(WorkloadId victim, const std::string& reason,
                     const std::string& preemption_reason, const std::string& message) = 0;
  // Whether every admitted workload has PodsReady (waitForPodsReady.blockAdmission).
  virtual bool AllAdmittedPodsReady() const = 0;
  // Topology-Aware Scheduling over a flavor's nodes as they are now (the TAS cache):
  // the workload's PodSets `pod_sets` (indexes) with `counts` pods, in order.
  virtual std::vector<tas::PlacementResult> PlaceTopology(WorkloadId wl, int32_t flavor,
                                                          const std::vector<size_t>& pod_sets,
                                                          const std::vector<int32_t>& counts) {
    (void)wl, (void)flavor, (void)counts;
    return std::vector<tas::PlacementResult>(pod_sets.size(),
                                             {std::nullopt, "no topology information"});
  }
};

class KueueScheduler {
 public:
  KueueScheduler(Cache* cache, KueueSchedulerActions* actions)
      : cache_(*cache), actions_(*actions) {}

  // Runs cycles at this instant until one changes nothing (admission, eviction or a move
  // to inadmissible). Returns the number of cycles.
  int Schedule();
  uint64_t cycles() const { return cycles_; }

  // Exposed for tests.
  Assignment AssignFlavors(WorkloadId wl, const std::vector<int32_t>& counts);
  std::vector<PreemptionTarget> GetTargets(WorkloadId wl, const FrUsage& usage,
                                           const std::set<FrId>& frs_need_preemption);
  bool WorkloadFits(int32_t cq, const FrUsage& usage, bool allow_borrowing) const;
  // Usage of the workload in the quota tree, given its assignment.
  FrUsage UsageOf(WorkloadId wl, const std::vector<PodSetAssignment>& pod_sets);
  // The topology assignments of the PodSets whose flavor has a topology; false (with
  // Kueue's message in `a`) when one does not fit.
  bool AssignTopology(WorkloadId wl, Assignment* a);

 private:
  struct Entry {
    WorkloadId wl;
    int32_t cq;
    Assignment a;
    std::vector<PreemptionTarget> targets;
    bool namespace_mismatch = false;
    bool inactive = false;
  };
  enum class Requeue : uint8_t { kImmediate, kInadmissible, kPendingPreemption, kNone };

  Entry Nominate(WorkloadId wl);
  std::vector<size_t> ClassicalOrder(const std::vector<Entry>& entries) const;
  size_t NextFairSharing(const std::vector<Entry>& entries, const std::vector<bool>& done);
  FitMode FitsResourceQuota(WorkloadId wl, FrId fr, int64_t assumed, int64_t request, int* borrow,
                            std::string* status, std::string* reason);
  std::vector<PreemptionTarget> ClassicalTargets(WorkloadId wl, const FrUsage& usage,
                                                 const std::set<FrId>& frs);
  std::vector<PreemptionTarget> FairTargets(WorkloadId wl, const FrUsage& usage,
                                            const std::set<FrId>& frs);
  void FillBack(int32_t cq, const FrUsage& usage, bool allow_borrowing,
                std::vector<PreemptionTarget>* targets);
  bool CandidateLess(WorkloadId a, WorkloadId b, int32_t preemptor_cq) const;
  bool UsesAny(WorkloadId wl, const std::set<FrId>& frs) const;
  bool WithinNominalIn(int32_t node, const std::set<FrId>& frs) const;
  void RemoveWorkloadUsage(WorkloadId wl);
  void AddWorkloadUsage(WorkloadId wl);

  Cache& cache_;
  KueueSchedulerActions& actions_;
  uint64_t cycles_ = 0;
};

}  // namespace gputwin::kueue
