// kube-scheduler on the virtual clock: the scheduling queue, and one pod at a time through
// the profile's plugins (framework.h, plugins/): PreEnqueue, PreFilter and Filter over the
// nodes (percentageOfNodesToScore with the adaptive formula), PostFilter (DefaultPreemption)
// when none fits, PreScore, Score and NormalizeScore over the feasible ones, selectHost,
// Reserve and Bind; FailedScheduling messages in upstream's format.
#pragma once

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/types.h"
#include "cluster/controller.h"
#include "core/random.h"
#include "scheduler/framework.h"
#include "scheduler/free_blocks.h"
#include "scheduler/node_groups.h"
#include "scheduler/node_info.h"
#include "scheduler/pod_counts.h"
#include "scheduler/profile.h"
#include "scheduler/queue.h"
#include "scheduler/topology_values.h"

namespace gputwin::scheduler {

class NodeResourcesFit;
class DefaultPreemption;

// FitError.Error()'s body: "0/N nodes are available: <count reason>, ... ." with the
// "<count> <reason>" strings sorted as strings (sortReasonsHistogram).
std::string NodesAvailableMessage(size_t num_nodes,
                                  const std::vector<std::pair<std::string, int64_t>>& counts);

// numFeasibleNodesToFind (schedule_one.go).
int64_t NumFeasibleNodesToFind(int32_t percentage, int64_t num_all_nodes);

class Scheduler : public cluster::Controller {
 public:
  Scheduler(cluster::Store* store, EventQueue* queue, SchedulerConfig config, uint64_t seed);
  ~Scheduler() override;
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

  uint64_t scheduling_attempts() const { return attempts_; }
  uint64_t bound_pods() const { return binds_; }
  // On (tests): every FitError message the diagnosis memo gives is also made afresh over
  // every node; diagnosis_mismatches() counts those that differ (message, nodes preemption
  // may help, rejecting plugins). memo_with_nominations(): memo uses while pods were
  // nominated.
  static inline bool verify_diagnosis_memo = false;
  // On (tests): every filter walk first checks what is kept by order position against the
  // nodes (node_position_, the free rows, the views and nominated flags) and, where it
  // passes over blocks, the blocks' free capacity against the rows; order_row_mismatches()
  // counts what differs.
  static inline bool verify_order_rows = false;
  uint64_t order_row_mismatches() const { return order_row_mismatches_; }
  uint64_t free_block_checks() const { return free_block_checks_; }
  uint64_t diagnosis_mismatches() const { return diagnosis_mismatches_; }
  uint64_t diagnoses_reused() const { return diagnoses_reused_; }
  uint64_t diagnosis_slots_reused() const { return slots_reused_; }
  // The node change log restarts past twice the nodes, or twice this (tests lower it).
  static inline size_t change_log_floor = 64;
  uint64_t memo_with_nominations() const { return memo_with_nominations_; }
  // How many memos with no user are kept for their spec's next template (tests lower it
  // to exercise the recycling of freed memos); idle_diagnoses_resumed() counts memos taken
  // up again by a new template.
  static inline size_t idle_diagnoses_kept = 16;
  uint64_t idle_diagnoses_resumed() const { return idle_diagnoses_resumed_; }
  // The profile's PostFilter plugins (tests read DefaultPreemption's counters).
  const std::vector<PostFilterPlugin*>& post_filters() const { return post_filters_; }

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  friend class DefaultPreemption;
  static constexpr size_t kMaxGroupScores = 4;
  static constexpr uint16_t kPasses = 0xFFFF;

  struct FilterEntry {
    FilterPlugin* plugin;
    Plugin* owner;
    uint32_t index;                    // CycleState slot
    uint32_t node_events, pod_events;  // EventsToRegister: the actions that may help
  };
  struct ScoreEntry {
    ScorePlugin* plugin;
    uint32_t index;
    int64_t weight;
  };
  // The group-scoped part of the Filter and Score plugins for one template and one node
  // group: the first rejecting filter (by position in the profile) and the raw scores.
  struct GroupEval {
    bool evaluated = false;
    uint16_t failed_at = kPasses;  // position in filters_ of the first rejecting plugin
    Status status;
    std::array<int64_t, kMaxGroupScores> raw{};
  };
  // Failure memo: a pod of the same template failing against an unchanged cluster fails
  // the same way; the message is reused instead of scanning every node again. The
  // generation moves with every node change and every bind or freed pod, so it holds for
  // plugins whose verdicts read only nodes and the pods bound to them.
  struct FailureMemo {
    uint64_t generation = ~uint64_t{0};
    std::string message;
    uint64_t rejectors = 0;
  };
  // FitErrorMessage's memo for a template: the verdict per node (-1 − an index into `lists`
  // for an Unschedulable rejection, else Unresolvable reason id + 1, or 0), valid while the
  // node's NodeInfo version and group are unchanged; and the histogram over node_order_,
  // kept current from the nodes logged as changed since (node_change_log_) instead of a walk
  // over every node: nodes per reason list, per Unresolvable reason id and per rejecting
  // plugin, and the Unschedulable nodes.
  static constexpr uint16_t kUnresolvableList = 0xFFFF;
  struct DiagnosisMemo {
    // By node slot (diagnosis_slot_), one record each: a replay reads a node's fields
    // together (one cache miss where five arrays cost five, at thousands of nodes per
    // replay). A slot serves another node after its node is deleted: `node` tells whose.
    struct Verdict {
      uint32_t version = 0, group = ~uint32_t{0};
      uint32_t nominations = 0;  // the node's nominations_version_
      NodeId node = cluster::kNone;
      uint16_t plugin = kPasses;  // the rejecting plugin's position
      int64_t code = 0;
    };
    std::vector<Verdict> nodes;
    // Reason lists; one that ends in kUnresolvableList came with an Unresolvable status
    // (NodeResourcesFit's, over allocatable), its nodes out of preemption's reach.
    std::vector<std::vector<uint16_t>> lists;
    uint64_t epoch = 0;  // node_change_epoch_ of the counts; 0: none yet
    size_t log_pos = 0;
    std::vector<int64_t> per_list, reason_nodes, plugin_nodes;
    int64_t unschedulable_count = 0;
    std::vector<bool> unschedulable;
    // Moves (from Scheduler::unschedulable_versions_, unique across memos) whenever a bit
    // of `unschedulable` may have changed: PostFilter keeps its node list while it holds.
    uint64_t unschedulable_version = 0;
    std::vector<bool> counted;  // by NodeId: the node's verdict is in the counts
    std::string message;        // HistogramMessage of the counts, "" when they moved
    size_t message_nodes = 0;   // the node count the message names
  };
  // Memo of the weighted memo_scores sum by node, valid while the node's NodeInfo version
  // holds. Where every memo plugin scores by the pod's requests alone (ScoresByRequests),
  // templates with equal requests share one, kept after they go: each Job of a generator
  // makes a template of its own, whose memo otherwise started empty.
  struct ScoreMemo {
    uint32_t attempts = 0;  // cycles of its templates; the memo is made at the second
    std::vector<uint32_t> version;
    std::vector<int64_t> score;
  };
  struct TemplateCache {
    TemplateCache() = default;
    TemplateCache(const TemplateCache&) = delete;  // groups_of may point at own_groups
    TemplateCache& operator=(const TemplateCache&) = delete;
    bool built = false;
    FailureMemo failure;
    // Filter plugins by what their verdict depends on (Scope), positions in filters_.
    std::vector<uint16_t> group_filters, node_filters, cluster_filters;
    // A kNode filter other than NodeResourcesFit (NodeName, NodeAffinity on node names or a
    // DaemonSet's node, GPU-sharing devices): no group fast path, no diagnosis memo.
    bool other_node_filters = false;
    // Score plugins: group-scoped (raw kept in GroupEval), memoised per node version
    // (kNode without NormalizeScore, summed with weights), and per cycle (the rest).
    std::vector<uint16_t> group_scores, memo_scores, cycle_scores;
    const std::vector<std::pair<ResourceId, int64_t>>* requests = nullptr;
    // The last filter loop visited every node and found fewer than one in kFreeBlock.
    bool sparse_fit = false;
    // By node group: this template's, or (for a pod no DaemonSet pins) the one every
    // template with the same admitted spec shares, since the group-scoped plugins read
    // only the spec (SharedGroups). own_groups backs the former.
    std::vector<GroupEval>* groups_of = nullptr;
    std::vector<GroupEval> own_groups;
    const api::PodSpec* groups_spec = nullptr;  // the SharedGroups key held, or null
    std::vector<GroupEval>& groups() { return *groups_of; }
    uint32_t attempts = 0;
    // The memo_scores sum by node: one shared by requests where there is one, else this
    // template's own.
    ScoreMemo own_score;
    std::shared_ptr<ScoreMemo> shared_score;
    ScoreMemo& score() { return shared_score ? *shared_score : own_score; }
    // The shared diagnosis memo this template counts as a user of: its spec and
    // SharedDiagnosis::id (0: none).
    const api::PodSpec* diag_spec = nullptr;
    uint64_t diag_id = 0;
  };
  // A diagnosis memo shared by every template with the same admitted spec (interned by the
  // store): each verdict it keeps is a function of the spec and the node alone, so a new
  // Job's template starts from the counts its predecessors left. Freed with its last user.
  struct SharedDiagnosis {
    std::shared_ptr<const api::PodSpec> spec;  // keeps the key's spec alive
    uint64_t id = 0;
    uint32_t users = 0;  // template caches holding it
    DiagnosisMemo memo;
  };
  // Group verdicts and raw group scores shared by the templates of one interned spec (a
  // generator's Jobs): at 10,000 Karpenter nodes in ~800 groups, each new Job's template
  // evaluated every group again. Freed with its last user.
  struct SharedGroups {
    std::shared_ptr<const api::PodSpec> spec;  // keeps the key's spec alive
    uint32_t users = 0;
    std::vector<GroupEval> evals;
  };
  // The nodes that rejected the pod as Unschedulable (where preemption may help).
  struct Unschedulable {
    const std::vector<bool>* nodes = nullptr;
    int64_t count = 0;     // of node_order_'s nodes marked
    uint64_t version = 0;  // a memo's unschedulable_version; 0 for bits made afresh
  };
  struct Feasible {
    NodeId node;
    uint32_t group;  // its GroupEval holds the group-scoped raw scores
  };

  void BuildProfile();
  TemplateCache& CacheFor(const cluster::PodRecord& pod);
  NodeView ViewOf(NodeId n, const cluster::ResourceVec* delta) const;
  const GroupEval& GroupOf(const cluster::PodRecord& pod, TemplateCache& tc, uint32_t g) {
    auto& evals = tc.groups();
    if (g < evals.size() && evals[g].evaluated) return evals[g];
    return EvaluateGroup(pod, tc, g);
  }
  const GroupEval& EvaluateGroup(const cluster::PodRecord& pod, TemplateCache& tc, uint32_t g);
  // PreFilter of this cycle: the cluster-scoped filters that did not skip.
  void PreFilter(const cluster::PodRecord& pod, const TemplateCache& tc, CycleState* state);
  // The Filter plugins on node n in profile order (group ones from the memo, cluster ones
  // those active this cycle); the first rejection decides. `failed_at` gets the rejecting
  // plugin's position.
  Status RunFilters(const cluster::PodRecord& pod, TemplateCache& tc, const CycleState& state,
                    NodeId n, const cluster::ResourceVec* delta, uint16_t* failed_at);
  // RunFilterPluginsWithNominatedPods: pods nominated to n with at least this priority
  // count as placed there.
  Status FilterWithNominated(const cluster::PodRecord& pod, TemplateCache& tc,
                             const CycleState& state, NodeId n, uint16_t* failed_at);
  const cluster::ResourceVec* NominatedDelta(const cluster::PodRecord& pod, NodeId n,
                                             cluster::ResourceVec* buf) const;
  // Adds the memoised kNode scores of the feasible nodes to `totals`, scoring the misses.
  void AddMemoScores(const cluster::PodRecord& pod, TemplateCache& tc,
                     std::vector<int64_t>* totals);

  void ScheduleOne(PodId pod, Time now);
  // A daemon pod: NodeAffinity's PreFilterResult names its node (the DaemonSet controller's
  // metadata.name matchFields), so only that node is filtered.
  void ScheduleDaemonPod(PodId pod, TemplateCache& tc, CycleState& state, Time now);
  // The FitError's end: PostFilter (preemption) when the profile has it, then the failure.
  void FailScheduling(PodId pod, CycleState& state, const std::string& msg,
                      const Unschedulable& unschedulable, uint64_t rejectors, Time now);
  void Bind(PodId pod, NodeId node, Time now);
  // `rejectors`: the filter plugins (by position) that rejected the pod on some node.
  void RecordFailure(PodId pod, const std::string& message, Time now, uint64_t rejectors = 0);
  // FitErrorMessage's verdict on node n: the first rejecting plugin (`failed_at`) and every
  // reason of its rejection in `ids` (Diagnose, for several). `fast`: only
  // group filters and NodeResourcesFit apply, read from the memo and NodeInfo's rows.
  Status Diagnosis(const cluster::PodRecord& pod, TemplateCache& tc, const CycleState& state,
                   NodeId n, bool fast, uint16_t* failed_at, std::vector<uint16_t>* ids);
  std::string FitErrorMessage(const cluster::PodRecord& pod, TemplateCache& tc,
                              const CycleState& state, std::vector<bool>* scratch,
                              Unschedulable* unschedulable, uint64_t* rejectors);
  // FitErrorMessage without the memo: every node diagnosed.
  std::string FullFitErrorMessage(const cluster::PodRecord& pod, TemplateCache& tc,
                                  const CycleState& state, std::vector<bool>* scratch,
                                  Unschedulable* unschedulable, uint64_t* rejectors);
  // The memo path of FitErrorMessage: per-node verdicts and their histogram kept per
  // template, updated for the nodes that changed since the template's last failure.
  std::string MemoFitErrorMessage(const cluster::PodRecord& pod, TemplateCache& tc,
                                  const CycleState& state, Unschedulable* unschedulable,
                                  uint64_t* rejectors);
  // Adds (sign 1) or takes back (-1) a verdict of node n (its code and plugin) in the
  // template's counts.
  static void CountVerdict(DiagnosisMemo& d, NodeId n, int64_t code, uint16_t plugin, int sign);
  // A node's NodeInfo row changed: the free-capacity blocks and the change log learn it.
  void SyncNode(NodeId n);
  std::string HistogramMessage(size_t num_nodes, const std::vector<int64_t>& counts) const;
  void RebuildNodeOrder();
  // A cluster event: marks the parked pods a rejecting plugin's queueing hint says it may
  // help (moved at the next scheduling cycle, at this instant).
  void OnClusterEvent(const ClusterEvent& event, const EventObject& obj);
  // Whether a rejecting plugin's queueing hint says the event may help the pod.
  bool MayHelp(const ClusterEvent& event, const EventObject& obj, PodId pod,
               uint64_t rejectors) const;
  // A PreEnqueue plugin keeps the pod out of the queue (SchedulingGates).
  bool Gated(const cluster::PodRecord& pod) const;
  void Nominate(PodId pod, NodeId node);
  void ClearNomination(PodId pod);

  SchedulerConfig config_;
  RandomStream random_;
  SchedulingQueue queue_;
  NodeGroups groups_;
  NodeInfoCache info_;
  ReasonTable reasons_;
  // The profile's plugins (owned) and their extension points, in profile order.
  std::vector<std::unique_ptr<Plugin>> plugins_;
  std::vector<PreEnqueuePlugin*> pre_enqueue_;
  std::vector<FilterEntry> filters_;
  std::vector<ScoreEntry> scores_;
  std::vector<PostFilterPlugin*> post_filters_;
  std::vector<ReservePlugin*> reserve_;
  NodeResourcesFit* fit_ = nullptr;  // called inline in the hot loop
  std::unique_ptr<PodCounts> pod_counts_;
  std::unique_ptr<TopologyValues> topology_;
  std::vector<uint16_t> active_cluster_;  // this cycle's cluster filters that did not skip
  uint16_t fit_position_ = kPasses;       // its position in filters_
  bool node_affinity_filter_ = false;     // NodeAffinity filters (nodeSelector holds)
  uint16_t node_affinity_position_ = 0;   // its index in filters_
  std::vector<std::unique_ptr<TemplateCache>> template_cache_;  // by template id
  // Pods of each template waiting for a node (unbound, not ended). A template none waits
  // for any more gives its caches back at the next Reconcile: a month of Jobs leaves
  // hundreds of thousands of templates behind, each cache sized by the node groups.
  std::vector<uint32_t> waiting_of_template_;
  std::vector<uint32_t> waiting_template_;  // by PodId: the template it is counted under
  std::vector<uint32_t> release_;
  void NoteWaiting(const cluster::PodRecord& p, PodId id, bool waiting);
  void ReleaseTemplate(uint32_t tid);
  std::map<int32_t, int64_t> bound_priorities_;  // priority → pods running on nodes
  std::vector<bool> counted_;
  std::vector<bool> gated_;  // pods PreEnqueue keeps out of the queue
  // The pod in its scheduling cycle and the cluster events seen during it.
  PodId in_flight_ = cluster::kNone;
  std::vector<std::pair<ClusterEvent, EventObject>> in_flight_events_;
  std::vector<NodeId> node_order_;      // zone-interleaved, as the scheduler's NodeTree
  std::vector<int32_t> node_position_;  // NodeId → its index in node_order_, -1 if absent
  bool node_order_dirty_ = true;
  uint64_t node_order_version_ = 0;      // moves with every rebuild of node_order_
  uint64_t unschedulable_versions_ = 0;  // the last DiagnosisMemo::unschedulable_version given
  // A label index's live nodes by their place in node_order_ (a nodeSelector's walk),
  // kept while neither the index nor the order changes.
  struct PinnedOrder {
    uint64_t label_version = ~uint64_t{0}, order_version = ~uint64_t{0};
    std::vector<std::pair<int32_t, NodeId>> by_position;
  };
  std::unordered_map<const std::vector<NodeId>*, PinnedOrder> pinned_orders_;
  static constexpr size_t kMaxPinnedOrders = 4096;
  const std::vector<std::pair<int32_t, NodeId>>& PinnedByPosition(
      const std::vector<NodeId>& label_index);
  // RebuildNodeOrder's: each node's zone (an index into zone_names_, ~0 until looked up),
  // and its buffers (a zone's slot in this rebuild, the nodes of each slot).
  std::vector<uint32_t> node_zone_;
  std::vector<std::string> zone_names_;
  std::vector<int32_t> zone_slot_;
  std::vector<std::vector<NodeId>> zone_nodes_;
  size_t next_start_node_index_ = 0;
  std::vector<std::vector<PodId>> nominated_;  // per node
  size_t nominated_total_ = 0;
  // Per node, bumped when its nominated pods change: a diagnosis memo's verdict for a node
  // with nominated pods counts them (and is stale once they change).
  std::vector<uint32_t> nominations_version_;
  uint32_t NominationsVersion(NodeId n) const {
    return n < nominations_version_.size() ? nominations_version_[n] : 0;
  }
  void NominationsChanged(NodeId n);
  void LogNodeChange(NodeId n);
  mutable uint64_t diagnosis_mismatches_ = 0, memo_with_nominations_ = 0;
  Time next_flush_ = cluster::kNever;
  // Moves with every node change and every bind or freed pod (the failure memos' key).
  uint64_t cluster_generation_ = 0;
  uint64_t attempts_ = 0, binds_ = 0;
  size_t score_caches_ = 0;
  // Buffers of ScheduleOne, kept to spare an allocation per cycle.
  std::vector<Feasible> feasible_;
  std::vector<int64_t> totals_, column_;
  std::vector<NodeId> score_misses_;  // AddMemoScores' scratch
  std::vector<uint32_t> miss_at_;
  std::vector<int64_t> miss_scores_;
  // Diagnosis memos by spec, and their specs oldest first: beyond kMaxDiagnosisMemos the
  // oldest is dropped (each costs ~16 bytes per node).
  std::unordered_map<const api::PodSpec*, std::unique_ptr<SharedDiagnosis>> diagnoses_;
  std::unordered_map<const api::PodSpec*, std::unique_ptr<SharedGroups>> shared_groups_;
  // Score memos by the requests and memo plugins they were made for; all are dropped when
  // kMaxSharedScoreMemos is reached (a memo is a cache: made again on the next use).
  std::unordered_map<std::string, std::shared_ptr<ScoreMemo>> score_memos_;
  static constexpr size_t kMaxSharedScoreMemos = 64;
  std::deque<const api::PodSpec*> diagnosis_order_;
  uint64_t next_diagnosis_id_ = 1;
  void ReleaseDiagnosis(TemplateCache& tc);
  // Freed memos, kept for the next (their verdicts for nobody).
  std::vector<DiagnosisMemo> spare_diagnoses_;
  static constexpr size_t kSpareDiagnoses = 8;
  // Memos whose last user went, kept (oldest first) for the next
  // template with the same spec: a generator's next Job then fails through the memo from
  // its first attempt instead of a walk over every node. Past idle_diagnoses_kept the
  // oldest goes to spare_diagnoses_.
  std::deque<const api::PodSpec*> idle_diagnoses_;
  uint64_t diagnoses_reused_ = 0, idle_diagnoses_resumed_ = 0;
  // Frees the memo of `key` (it must be in diagnoses_): out of the order and the idle
  // list, its arrays to spare_diagnoses_ while there is room.
  void DropDiagnosis(const api::PodSpec* key);
  // Nodes whose NodeInfo row or nominations changed, added and deleted ones included, in
  // order; a template's diagnosis memo replays what it has not seen. Restarted (a new
  // epoch) when it grows past twice the nodes, where a full walk costs less than the replay.
  std::vector<NodeId> node_change_log_;
  uint64_t node_change_epoch_ = 1;
  // Diagnosis memos keep a verdict per node slot, not per NodeId: ids count every node ever
  // made (a month of Karpenter makes twenty times as many as are live, and each new memo
  // zeroed megabytes), slots only the nodes in the order. A deleted node's slot is given
  // again only after the log restarts: until then a memo replaying the log may still read
  // the node's verdict there to take it out of its counts (after, every memo counts afresh
  // from the order).
  std::vector<int32_t> diagnosis_slot_;  // by NodeId; -1: none
  std::vector<uint32_t> free_slots_, released_slots_;
  std::vector<NodeId> deleted_nodes_;  // since the last RebuildNodeOrder
  std::vector<bool> slot_released_;    // by NodeId
  uint32_t diagnosis_slots_ = 0;
  uint64_t slots_reused_ = 0;
  // The free rows (NodeInfoCache::free) of node_order_'s nodes by position, kept with
  // the order and SyncNode: the filter walk and the free-capacity blocks read them in
  // sequence, where rows by NodeId cost a cache miss per node (Karpenter's live nodes are
  // spread over every id ever made).
  std::vector<int64_t> order_free_;
  size_t order_stride_ = 0;
  const int64_t* OrderFree(size_t position) const { return &order_free_[position * order_stride_]; }
  // The rows (and views) from position `first` on; all of them when the stride changed.
  void FillOrderFree(size_t first = 0);
  std::vector<NodeId> order_scratch_;  // RebuildNodeOrder's new order
  // And each one's view (NodeGroups::ViewOf), with kNominatedBit set when pods are
  // nominated to it: what the filter walk reads of a node before its free row, in
  // sequence too, where by NodeId it took two cache misses (the node's group, its
  // nominated pods). Kept with the order, the node's group (OnWatch), its nominations
  // (NominationsChanged) and the views' ids (views_version).
  static constexpr uint32_t kNominatedBit = uint32_t{1} << 31;
  std::vector<uint32_t> order_views_;
  uint64_t order_views_version_ = ~uint64_t{0};
  uint32_t OrderViewKey(NodeId n) const {
    if (!groups_.Has(n)) return kNominatedBit;  // deleted, until the order is rebuilt
    const uint32_t key = groups_.ViewOf(n);
    return n < nominated_.size() && !nominated_[n].empty() ? key | kNominatedBit : key;
  }
  void FillOrderViews(size_t first = 0);
  void RefreshOrderView(NodeId n);
  void VerifyOrderRows();
  uint64_t order_row_mismatches_ = 0, free_block_checks_ = 0;
  // Blocks of node_order_ the filter loop may pass over (free_blocks.h).
  FreeCapacityBlocks free_blocks_;
  static constexpr size_t kFreeBlock = FreeCapacityBlocks::kSize;
  static constexpr size_t kMaxDiagnosisMemos = 512;
  static constexpr size_t kMaxScoreCaches = 256;
};

}  // namespace gputwin::scheduler
