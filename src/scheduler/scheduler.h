// kube-scheduler on the virtual clock: the scheduling queue, one pod at a time through the
// framework's filter plugins (NodeUnschedulable, NodeName, TaintToleration, NodeAffinity,
// NodeResourcesFit) and score plugins (TaintToleration 3, NodeAffinity 2,
// NodeResourcesFit 1, NodeResourcesBalancedAllocation 1), percentageOfNodesToScore with the
// adaptive formula, DefaultPreemption, and FailedScheduling messages in upstream's format.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "cluster/controller.h"
#include "core/random.h"
#include "gpushare/gpushare.h"
#include "scheduler/node_groups.h"
#include "scheduler/node_info.h"
#include "scheduler/queue.h"

namespace gputwin::scheduler {

using cluster::NodeId;
using cluster::PodId;
using cluster::ResourceId;

enum class ScoringStrategy { kLeastAllocated, kMostAllocated, kRequestedToCapacityRatio };

struct SchedulerConfig {
  int32_t percentage_of_nodes_to_score = 0;  // 0: adaptive (50 - nodes/125, at least 5)
  Duration initial_backoff = Duration::Seconds(1), max_backoff = Duration::Seconds(10);
  ScoringStrategy strategy = ScoringStrategy::kLeastAllocated;
  std::vector<api::ScoringResource> scoring_resources = {{"cpu", 1}, {"memory", 1}};
  std::vector<api::UtilizationShapePoint> shape;
  // GPU-sharing score plugin (FGDScore, DotProductScore, GpuClusteringScore,
  // GpuPackingScore, BestFitScore, RandomScore) and its weight, when enabled.
  std::optional<gpushare::Policy> gpu_share_policy;
  int64_t gpu_share_weight = 0;
  int64_t weight_taint_toleration = 3, weight_node_affinity = 2, weight_fit = 1,
          weight_balanced = 1;

  static SchedulerConfig From(const api::KubeSchedulerConfiguration& c);
};

// FitError.Error()'s body: "0/N nodes are available: <count reason>, ... ." with the
// "<count> <reason>" strings sorted as strings (sortReasonsHistogram).
std::string NodesAvailableMessage(size_t num_nodes,
                                  const std::vector<std::pair<std::string, int64_t>>& counts);

// numFeasibleNodesToFind (schedule_one.go).
int64_t NumFeasibleNodesToFind(int32_t percentage, int64_t num_all_nodes);

class Scheduler : public cluster::Controller {
 public:
  Scheduler(cluster::Store* store, EventQueue* queue, SchedulerConfig config, uint64_t seed);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

  uint64_t scheduling_attempts() const { return attempts_; }
  uint64_t bound_pods() const { return binds_; }

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  friend class Preemption;
  // What one filter said about one node: pass, or the reason(s) and whether preemption
  // could help (Unschedulable) or not (UnschedulableAndUnresolvable).
  struct StaticEval {
    bool evaluated = false;
    uint16_t reason = 0;  // 0: passes; else reason id + 1
    int64_t taint_raw = 0, affinity_raw = 0;
  };
  struct TemplateCache {
    bool built = false;
    bool per_node = false;  // affinity on node names or hostnames: evaluate per node
    bool has_preferred = false;
    bool gpu_share = false;  // alibabacloud.com/gpu-milli: Open-Gpu-Share filters too
    std::vector<std::pair<ResourceId, int64_t>> requests;  // non-zero requests
    std::vector<StaticEval> groups;
    // Memo of the node-dependent score part (NodeResourcesFit + BalancedAllocation,
    // weighted), valid while the node's NodeInfo version is unchanged.
    uint32_t attempts = 0;
    std::vector<uint32_t> score_version;
    std::vector<int64_t> score;
    // Memo of FitErrorMessage's verdict per node (Filter's code, or -1 − an index into
    // diag_lists for a resource failure), valid while the node's NodeInfo version and
    // group are unchanged: a failing pod re-diagnoses only the nodes that changed.
    std::vector<uint32_t> diag_version, diag_group;
    std::vector<int64_t> diag_code;
    std::vector<std::vector<uint16_t>> diag_lists;  // distinct resource-failure reasons
  };
  struct Feasible {
    NodeId node;
    int64_t taint_raw, affinity_raw;
  };

  TemplateCache& CacheFor(const cluster::PodRecord& pod);
  StaticEval EvaluateStatic(const cluster::PodRecord& pod, const api::Labels& labels,
                            const std::vector<api::Taint>& taints, bool unschedulable,
                            const std::string& node_name);
  const StaticEval& GroupEval(const cluster::PodRecord& pod, TemplateCache& tc, uint32_t g) {
    if (g < tc.groups.size() && tc.groups[g].evaluated) return tc.groups[g];
    return EvaluateGroup(pod, tc, g);
  }
  const StaticEval& EvaluateGroup(const cluster::PodRecord& pod, TemplateCache& tc, uint32_t g);
  int64_t ResourceScore(const cluster::PodRecord& pod, TemplateCache& tc, NodeId n);
  // Filter: 0 if the node fits; else a static reason id + 1, or kResourceFailure.
  uint32_t Filter(const cluster::PodRecord& pod, TemplateCache& tc, NodeId n, StaticEval* eval);
  bool FitsResources(const cluster::PodRecord& pod, const TemplateCache& tc, NodeId n,
                     const cluster::ResourceVec* extra_free) const;
  void ResourceReasons(const cluster::PodRecord& pod, const TemplateCache& tc, NodeId n,
                       const cluster::ResourceVec* extra_free, std::vector<uint16_t>* out);
  const cluster::ResourceVec* NominatedFree(const cluster::PodRecord& pod, NodeId n,
                                            cluster::ResourceVec* buf) const;
  int64_t ScoreFit(const cluster::PodRecord& pod, NodeId n) const;
  int64_t ScoreBalanced(const cluster::PodRecord& pod, NodeId n) const;

  // GPU sharing (gpushare_plugin.cc).
  gpushare::GpuNode ShareNode(NodeId n) const;
  bool ShareFits(const cluster::PodRecord& pod, NodeId n) const;
  const std::vector<gpushare::TypicalPod>& TypicalSharePods();
  std::vector<int64_t> ShareScores(const cluster::PodRecord& pod, const std::vector<NodeId>& nodes);
  void ShareReserve(PodId pod, NodeId n);
  void ShareRelease(PodId pod);

  void ScheduleOne(PodId pod, Time now);
  void Bind(PodId pod, NodeId node, Time now);
  void RecordFailure(PodId pod, const std::string& message, Time now);
  std::string FitErrorMessage(const cluster::PodRecord& pod, TemplateCache& tc,
                              std::vector<bool>* resolvable);
  std::string HistogramMessage(size_t num_nodes, const std::vector<int64_t>& counts) const;
  void RebuildNodeOrder();
  uint16_t ReasonId(const std::string& reason);
  void Nominate(PodId pod, NodeId node);
  void ClearNomination(PodId pod);

  SchedulerConfig config_;
  RandomStream random_;
  SchedulingQueue queue_;
  NodeGroups groups_;
  std::vector<ResourceId> scoring_ids_;
  std::vector<bool> scalar_;  // per scoring resource: an extended (scalar) resource
  NodeInfoCache info_;
  std::vector<TemplateCache> template_cache_;
  std::vector<std::string> reasons_;
  std::vector<uint16_t> insufficient_ids_;       // per resource: "Insufficient <name>"
  std::map<int32_t, int64_t> bound_priorities_;  // priority → pods running on nodes
  std::vector<bool> counted_;
  std::map<std::string, uint16_t> reason_ids_;
  std::vector<NodeId> node_order_;  // zone-interleaved, as the scheduler's NodeTree
  bool node_order_dirty_ = true;
  std::vector<std::string> node_zone_;  // by NodeId, valid where node_zone_known_
  std::vector<bool> node_zone_known_;
  size_t next_start_node_index_ = 0;
  std::vector<std::vector<PodId>> nominated_;  // per node
  size_t nominated_total_ = 0;
  // Cluster events seen since the last cycle; they move unschedulable pods (queueing hints).
  bool move_all_ = false, move_for_resources_ = false;
  bool timer_armed_ = false;
  Time next_flush_ = cluster::kNever;
  // Failure memo: a pod of the same template failing against an unchanged cluster fails
  // the same way; the message is reused instead of scanning every node again.
  uint64_t cluster_generation_ = 0;
  std::vector<std::pair<uint64_t, std::string>> failure_memo_;  // per template
  uint64_t attempts_ = 0, binds_ = 0;
  std::vector<gpushare::TypicalPod> typical_;
  size_t typical_basis_ = 0;
  size_t share_pods_created_ = 0;
  size_t score_caches_ = 0;
  // Templates holding a diagnosis memo, oldest first; beyond kMaxDiagnosisMemos the oldest
  // gives its memo up (each costs ~16 bytes per node).
  std::deque<uint32_t> diagnosis_owners_;
  static constexpr size_t kMaxDiagnosisMemos = 512;
  static constexpr size_t kMaxScoreCaches = 256;
};

}  // namespace gputwin::scheduler
