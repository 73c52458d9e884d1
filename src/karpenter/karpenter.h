// Karpenter (kubernetes-sigs/karpenter v1.x with aws/karpenter-provider-aws) as one
// controller process on the virtual clock, like the real one: the provisioner (batches
// pods kube-scheduler marked Unschedulable, simulates scheduling onto existing, in-flight
// and new NodeClaims, creates NodeClaims), the NodeClaim lifecycle (launch through the
// cloud provider, registration, initialization), the disruption controller (emptiness,
// single-node consolidation, expiration, budgets), the interruption controller (spot
// warnings from the cloud's queue) and termination (drain, then terminate the instance).
// They share Karpenter's cluster state (the NodeClaims), as upstream.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/hash/hash.h"
#include "api/manifests.h"
#include "cloud/ec2.h"
#include "cluster/controller.h"
#include "core/random.h"
#include "karpenter/requirements.h"
#include "karpenter/sim_nodes.h"
#include "karpenter/topology.h"
#include "scheduler/framework.h"
#include "telemetry/registry.h"

namespace gputwin::karpenter {

using cluster::NodeId;
using cluster::PodId;
using cluster::ResourceVec;

struct NodePoolState {
  const api::NodePool* spec = nullptr;
  const api::EC2NodeClass* node_class = nullptr;  // nullptr: NodeClassReady=False
  Requirements requirements;  // spec requirements, template labels, karpenter.sh/nodepool
  std::vector<uint32_t> instance_types;  // catalog types compatible with `requirements`
  cloud::NodeOverhead overhead;
  ResourceVec daemon_overhead;  // requests of the DaemonSets that would run on its nodes
  std::string not_ready;        // why the NodePool is not Ready (its status condition)
  std::vector<ResourceVec> allocatable, capacity;  // by catalog type (empty: not a candidate)
};

enum class ClaimPhase : uint8_t { kLaunching, kLaunched, kRegistered, kInitialized, kDeleted };

struct NodeClaim {
  std::string name;  // <nodepool>-<n>
  uint32_t nodepool = 0;
  std::string reason = "provisioned";  // why it was created (the metric's reason label)
  Requirements requirements;
  std::vector<uint32_t> instance_types;  // candidates, cheapest first
  ResourceVec requests;                  // Σ pod requests + daemon overhead
  std::vector<PodId> pods;               // nominated when created
  ClaimPhase phase = ClaimPhase::kLaunching;
  std::optional<uint32_t> instance;  // cloud instance
  uint32_t type = 0;                 // launched instance type
  std::string zone;
  cloud::CapacityType capacity_type = cloud::CapacityType::kOnDemand;
  double price = 0;
  NodeId node = cluster::kNone;
  Time created_at{0}, launched_at = cluster::kNever, registered_at = cluster::kNever,
                      initialized_at = cluster::kNever, deleted_at = cluster::kNever;
  bool deleting = false;
  std::string disruption_reason;   // Empty, Underutilized, Expired, Interrupted, ...
  std::string launch_error;        // the CreateFleet error when the launch failed
  api::Labels labels;              // the Node's labels, from launch until it registers
  std::vector<uint32_t> replaces;  // consolidation: the claims this one replaces
  std::string registers_late;      // why its node will miss the registration TTL
  int32_t ami_version = 0;         // AMI releases published before its launch
  Time drifted_at = cluster::kNever;
  int32_t awaiting = 0;                   // replacements still to initialize before it goes
  std::string replaced_for;               // a replacement's disruption reason for what it replaces
  Time drain_deadline = cluster::kNever;  // deletion + the NodePool's terminationGracePeriod
  std::string drain_blocked;              // why the drain waits, while it does
};

// Why Karpenter cannot help a pending pod, and whether anything in the run can change it.
struct PodVerdict {
  std::string message;
  bool forever = false;   // nothing scheduled in the scenario will change it
  std::string nominated;  // the NodeClaim or node it was last nominated to
};

class Karpenter : public cluster::Controller {
 public:
  // `gpu_stack`: a device plugin DaemonSet or GPU Operator is in the manifests, so GPU
  // nodes can initialize.
  // Karpenter's metrics are declared in `metrics` and sampled every `metrics_interval`.
  Karpenter(cluster::Store* store, EventQueue* queue, const api::Manifests& m, cloud::Ec2* ec2,
            Diagnostics* diag, telemetry::Registry* metrics, Duration metrics_interval,
            bool gpu_stack);
  void Start();
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

  const std::vector<NodeClaim>& node_claims() const { return claims_; }
  const std::vector<NodePoolState>& node_pools() const { return pools_; }
  const PodVerdict* Verdict(PodId pod) const;
  uint64_t provisioning_passes() const { return passes_; }
  uint64_t scheduling_decisions() const { return decisions_; }
  // Fit lists a consolidation or provisioning pass took over from the one before
  // (CarryFits).
  uint64_t fits_carried() const { return fits_carried_; }
  // Of those, the ones carried on through a pass that did not ask for them (KeepFits).
  uint64_t fits_carried_idle() const { return fits_carried_idle_; }
  // Off: every pass makes its fit lists afresh (the differential test's reference).
  static inline bool carry_fits_between_passes = true;
  // On (tests): every carried list is also made afresh and compared; fits_mismatches()
  // counts those that differ.
  static inline bool verify_carried_fits = false;
  uint64_t fits_mismatches() const { return fits_mismatches_; }
  // Also on (tests): a pass that paired fewer unchanged nodes with the last pass's than
  // there are (CarryFits' walk) counts here; and how many nodes the walk found on one
  // side only (came or went between passes).
  uint64_t carry_unpaired() const { return carry_unpaired_; }
  // Off: every pass lists its nodes afresh (ExistingNodes) instead of patching the last
  // pass's list (ListNodes). How many passes patched theirs.
  static inline bool patch_node_lists = true;
  // On (tests): each disruption pass also checks every live claim's Consolidatable
  // against the one it tracks from events; consolidatable_mismatches() counts those that
  // differ.
  static inline bool verify_consolidatable = false;
  uint64_t consolidatable_mismatches() const { return consolidatable_mismatches_; }
  // With the same switch: live claims whose packed head (LiveHead) differs from their records.
  uint64_t live_head_mismatches() const { return heads_mismatches_; }
  uint64_t lists_patched() const { return lists_patched_; }
  // Carried entries MergeCarried moved to another index in bulk (a run after an edit).
  uint64_t entries_shifted() const { return entries_shifted_; }
  uint64_t carry_one_sided() const { return carry_one_sided_; }
  // The first NodeClaim or Node whose packed copy (claim_state_, node_cordoned_) differs
  // from its record, or that the nodes by name hold deleted (and not yet pruned) or at
  // another rank, named; empty when all agree. For tests.
  std::string PackedStateMismatch() const;
  // Consolidation simulations kept across passes (IsolatedSimsAt), and how often one was
  // reused. Off: every pass simulates afresh (the differential test's reference).
  static inline bool keep_isolated_sims = true;
  uint64_t isolated_reused() const { return isolated_reused_; }
  // Passes that found nothing changed since the last and reused its result (their pods
  // count as decisions too).
  uint64_t reused_passes() const { return reused_passes_; }
  const cloud::Ec2& ec2() const { return ec2_; }

  static constexpr Duration kBatchIdle = Duration::Seconds(1);
  static constexpr Duration kBatchMax = Duration::Seconds(10);
  static constexpr Duration kPodRequeue = Duration::Seconds(10);
  static constexpr Duration kUnavailableOfferingsTtl = Duration::Minutes(3);
  static constexpr Duration kDisruptionPoll = Duration::Seconds(10);
  static constexpr Duration kCommandValidation = Duration::Seconds(15);
  static constexpr size_t kMaxInstanceTypes = 600, kMaxFleetTypes = 60;
  static constexpr size_t kMaxMultiNodeCandidates = 100;
  static constexpr Duration kRegistrationTtl = Duration::Minutes(15);
  static constexpr Duration kEvictionRetry = Duration::Seconds(10);

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  enum Timer : uint64_t {
    kBatchCheck = 1,
    kPodRequeueTimer,
    kLaunched,
    kRegister,
    kStartupTaints,
    kExpire,
    kDisruption,
    kValidate,
    kSample,
    kLiveness,
    kAmiRelease,
    kDrain
  };
  static uint64_t Arg(Timer t, uint64_t payload) { return (uint64_t{t} << 56) | payload; }

  // The simulation's nodes and fit lists (sim_nodes.h).
  using SimNode = karpenter::SimNode;
  using SimNodes = karpenter::SimNodes;
  const std::vector<uint32_t>& FitsOf(SimNodes* nodes, PodId pod) const;
  // The same, for a pod no DaemonSet pins whose spec (the list's key) the caller knows: a
  // list already made is found without reading the pod.
  const std::vector<uint32_t>& FitsOf(SimNodes* nodes, PodId pod, const void* spec) const {
    if (auto it = nodes->fits.find(spec); it != nodes->fits.end()) return it->second.nodes;
    return FitsOf(nodes, pod);
  }
  // `carried`, the last pass's list for `pod`'s spec, in this pass's indices: the unchanged
  // nodes' verdicts kept, the new and changed ones (`recheck`) found again. `need` is the
  // spec's NeedRow.
  void MergeCarried(const SimNodes& nodes, const std::vector<uint32_t>& carried, PodId pod,
                    const ResourceVec& need, std::vector<uint32_t>* out) const;
  // Node k's verdict for `pod` before anything is placed: its free row, then the filters.
  bool FitsBeforePlacing(const SimNodes& nodes, uint32_t k, const ResourceVec& need,
                         PodId pod) const;
  // A list no pass asks for is dropped after this many (an hour of disruption polls).
  static constexpr uint32_t kMaxIdleCarries = 360;
  // A node's free resources (allocatable − used, pods included), `w` wide.
  static void FreeRow(const SimNode& n, size_t w, int64_t* row);
  void FillFree(SimNodes* nodes) const;
  using FitsCarry = karpenter::FitsCarry;
  // A simulation node's identity from pass to pass: its Node, or for a NodeClaim without
  // one yet, the claim. And what its verdicts read besides its free row: the Node's
  // labels, taints and cordon (node_version_), and whether it is taken at its instance
  // type's promise (not initialized). A launched NodeClaim's labels, taints and capacity
  // do not change until it gets its Node.
  static constexpr uint64_t kClaimEntry = uint64_t{1} << 32;
  static uint64_t EntryKey(const SimNode& n) {
    return n.node != cluster::kNone ? n.node : kClaimEntry | static_cast<uint32_t>(n.claim);
  }
  uint64_t EntryVersion(NodeId node, bool initialized) const {
    const uint64_t v = node < node_version_.size() ? node_version_[node] : 0;
    return v << 1 | (initialized ? 1 : 0);
  }
  // A node's verdict for a spec changes only with the node (its version: labels, taints,
  // cordon) or its free resources, so a consolidation or provisioning pass starts from the
  // last pass's fit lists and checks only the nodes that came or changed since (CarryFits),
  // then leaves its own for the next (KeepFits). The same lists as computed afresh.
  void CarryFits(SimNodes* nodes, FitsCarry* last);
  // A pass's nodes and carried fit lists: ExistingNodes and CarryFits, or, when the last
  // pass's list was kept, that list patched from the node log (PatchNodes): the nodes
  // the log names since, and those whose claims came into `exclude` or left it, listed
  // again; the rest, and their verdicts, kept. The same list, free rows and carried
  // verdicts as made afresh (VerifyListed checks, with verify_carried_fits).
  void ListNodes(SimNodes* d, FitsCarry* carry, const std::set<uint32_t>& exclude,
                 bool initialized_only);
  bool PatchNodes(SimNodes* d, FitsCarry* carry, const std::set<uint32_t>& exclude,
                  bool initialized_only);
  void VerifyListed(const SimNodes& d, const std::vector<SimNode>& was,
                    const std::set<uint32_t>& exclude, bool initialized_only) const;
  // How ExistingNodes lists a live node: not (its claim is deleting or excluded), among
  // the initialized, or after them (its claim has not initialized); written into `s`.
  enum class Listing : uint8_t { kNot, kInitialized, kStarting };
  Listing ListNode(NodeId n, const std::set<uint32_t>& exclude, SimNode* s) const;
  void UpdateNodesByName() const;  // nodes_by_name_ and name_rank_, as nodes come and go
  // The NodeClaims without a Node yet, after `starting`, all sorted by name (stable).
  void AppendInFlight(const std::set<uint32_t>& exclude, std::vector<SimNode>* starting) const;
  // The entries after the initialized ones, as ExistingNodes lists them, onto `out`.
  void ListStarting(const std::set<uint32_t>& exclude, std::vector<SimNode>* out) const;
  mutable std::vector<NodeId> starting_scratch_;
  // Nodes whose listing may have changed, in order: the Store's usage changes taken in,
  // Node events and NodeClaim flag changes (NoteNode); node_log_base_ is the position of
  // its first. A carry reads on from its cursor; what no carry will read is trimmed.
  std::vector<NodeId> node_log_;
  uint64_t node_log_base_ = 0;
  static constexpr size_t kNodeLogLimit = size_t{1} << 20;
  void NoteNode(NodeId n) {
    if (node_log_.size() >= kNodeLogLimit) DropNodeLog();  // the carries list afresh
    node_log_.push_back(n);
  }
  void DropNodeLog();
  void TrimNodeLog();
  std::vector<NodeId> patch_dirty_;
  std::vector<uint8_t> dirty_mark_;
  std::vector<uint32_t> patch_changed_, patch_removed_;
  std::vector<size_t> patch_insert_at_;
  std::vector<SimNode> patch_added_;
  uint64_t lists_patched_ = 0;
  uint64_t consolidatable_mismatches_ = 0;
  // Hands a pass's node list back for ExistingNodes to fill again (unless the spare is
  // already the larger: a pass that listed no nodes has nothing to give).
  struct ReturnNodes {
    const Karpenter* k;
    SimNodes* nodes;
    ~ReturnNodes() {
      if (nodes->nodes.capacity() > k->spare_nodes_.capacity()) {
        k->spare_nodes_ = std::move(nodes->nodes);
      }
    }
  };
  mutable std::vector<SimNode> spare_nodes_;
  mutable std::vector<int64_t> spare_free_;  // free rows a pass no longer needs, for the next
  void KeepFits(SimNodes* nodes, FitsCarry* last);
  mutable ResourceVec need_row_;                 // NeedRow's
  mutable std::vector<uint32_t> merge_scratch_;  // a merged list's memory, for the next
  // The simulation's pod order: CPU then memory descending, then oldest (queue.go
  // byCPUAndMemoryDescending).
  bool SchedulesBefore(PodId a, PodId b) const;
  struct NewClaim {
    uint32_t pool = 0;
    ResourceVec max_allocatable;           // over `types`: a quick reject
    const Requirements* base = nullptr;    // the NodePool's
    std::optional<Requirements> narrowed;  // base ∩ its pods', once a pod narrows it
    const Requirements& requirements() const { return narrowed ? *narrowed : *base; }
    std::vector<uint32_t> types;
    ResourceVec requests;
    std::vector<PodId> pods;
    std::string hostname;  // its hostname domain in the simulation (a placeholder)
  };
  struct Solution {
    std::vector<NewClaim> claims;
    std::map<PodId, const SimNode*> existing;  // pod → the node or in-flight claim it fits
    std::map<PodId, std::string> errors;       // pod → why not
    std::map<PodId, bool> forever;
  };

  // provisioner.cc
  void Trigger(Time now);
  void RequeuePods(Time now);
  // What a pass read, to tell whether its result still stands: the state version (bumped
  // by every watch event and every NodeClaim or command change) and its time (offerings
  // marked unavailable come back by the clock).
  struct PassMemo {
    uint64_t version = 0;
    Time at{0};
  };
  void Changed() { ++state_version_; }
  bool UnchangedSince(const std::optional<PassMemo>& memo, Time now) const;
  void Provision(Time now);
  bool Provisionable(PodId pod) const;
  // `existing` is read only: what the simulation places is kept aside, so one set of
  // nodes serves every consolidation candidate. Nodes of `exclude_claims` take no pods.
  // `for_consolidation`: the caller needs only whether every pod fits with at most one
  // new NodeClaim; the simulation stops at the first pod that does not, or a second
  // NodeClaim, and explains nothing (its errors are empty strings).
  Solution Solve(const std::vector<PodId>& pods, SimNodes* existing, Time now,
                 const std::set<uint32_t>& exclude_claims, bool for_consolidation = false);
  // `initialized_only`: only the initialized nodes (consolidation's destinations), without
  // the nodes and NodeClaims still starting.
  std::vector<SimNode> ExistingNodes(const std::set<uint32_t>& exclude_claims,
                                     bool initialized_only = false) const;
  // The topology groups of a pass (empty when no pod to place, nor any bound pod's
  // required anti-affinity, involves topology): their domains from the NodePools and the
  // existing nodes, and the bound pods they count (not `pods`, which are being placed).
  Topology BuildTopology(const std::vector<PodId>& pods, const SimNodes& existing,
                         const std::set<uint32_t>& exclude_claims) const;
  // Spread constraints or pod (anti-)affinity: where the pod goes depends on other pods.
  static bool HasTopology(const api::PodSpec& spec);
  bool InvolvesTopology(const std::vector<PodId>& pods) const;
  // kube-scheduler's node-local Filter plugins (NodeUnschedulable, TaintToleration with the
  // startup taints ignored until the node initializes, NodeAffinity, NodeResourcesFit), as
  // the simulation checks an existing or in-flight node. `placed`: what this simulation
  // already put on the node, as negative amounts (a NodeView delta).
  bool FitsNode(const SimNode& n, const ResourceVec& placed, PodId pod) const;
  // "" or why not; with `explain` false, any non-empty string (nothing is formatted).
  std::string CanAdd(NewClaim* c, PodId pod, const Requirements& pod_reqs, Time now,
                     bool explain = true) const;
  bool OfferingAvailable(const cloud::Offering& o, Time now) const;
  bool TypeHasOffering(uint32_t type, const Requirements& reqs, Time now) const;
  double TypePrice(uint32_t type, const Requirements& reqs, Time now) const;
  // Cheapest first by TypePrice (InstanceTypes.OrderByPrice), stable.
  void SortByPrice(std::vector<uint32_t>* types, const Requirements& reqs, Time now) const;
  const ResourceVec& TypeAllocatable(uint32_t pool, uint32_t type) const;
  const ResourceVec& TypeCapacity(uint32_t pool, uint32_t type) const;
  // Σ capacity of the NodePool's launched, undeleted NodeClaims (kept as they launch and
  // terminate), and how many there are.
  const ResourceVec& PoolUsage(uint32_t pool) const { return pool_usage_[pool]; }
  int64_t PoolNodes(uint32_t pool) const { return pool_nodes_[pool]; }
  // Each NodePool's limits less its nodes' capacity, as a scheduling simulation starts from
  // them: kept until a NodeClaim launches or terminates (pool_usage_version_), since every
  // consolidation pass runs thousands of simulations over the same figures.
  struct PoolLimits {
    uint64_t version = ~uint64_t{0};
    std::vector<ResourceVec> remaining;         // by pool, by resource: limit − usage
    std::vector<std::vector<bool>> limited;     // by pool, by resource: has a limit
    std::vector<std::optional<int64_t>> nodes;  // by pool: the `nodes` limit
  };
  const PoolLimits& CurrentPoolLimits();
  // By pool, what the `nodes` limit leaves once the claims of `exclude` are gone
  // (INT64_MAX without a `nodes` limit).
  std::vector<int64_t> NodesLeft(const PoolLimits& limits, const std::set<uint32_t>& exclude) const;
  // An instance type's capacity within what a NodePool's limits leave.
  static bool WithinLimits(const std::vector<bool>& limited, const ResourceVec& remaining,
                           const ResourceVec& capacity);
  uint32_t CreateClaim(NewClaim c, const std::string& reason, Time now);
  void ComputePools();

  // nodeclaim_lifecycle.cc
  bool Launch(uint32_t claim, Time now);
  void Register(uint32_t claim, Time now);
  void CheckInitialized(uint32_t claim, Time now);
  void DeleteClaim(uint32_t claim, const std::string& reason, Time now);
  void RegistrationTimedOut(uint32_t claim, Time now);
  // The termination controller's drain: evicts what PDBs allow, retries the rest every
  // 10 s (the eviction queue's longest backoff), forces it at the terminationGracePeriod,
  // then terminates the instance.
  // `instance_gone`: the cloud terminated the instance first; the rest is deleted.
  void Drain(uint32_t claim, Time now, bool instance_gone = false);
  bool BootsAlike(const NodeClaim& c) const;
  void FinishTermination(uint32_t claim, Time now);

  // disruption.cc
  void Disrupt(Time now);
  int64_t BudgetAvailable(uint32_t pool, const std::string& reason, Time now) const;
  std::vector<int64_t> BudgetsAvailable(const std::string& reason, Time now) const;  // by pool
  // What budgets count, by NodePool: initialized nodes, and nodes being disrupted.
  struct BudgetTally {
    std::vector<int64_t> total, disrupting;
  };
  BudgetTally TallyBudgets() const;
  std::vector<int64_t> BudgetsAvailable(const BudgetTally& tally, const std::string& reason,
                                        Time now) const;
  int64_t PoolBudget(uint32_t pool, const std::string& reason, Time now, int64_t total,
                     int64_t disrupting) const;
  bool Consolidatable(uint32_t claim, Time now) const;
  static bool DoNotDisrupt(const api::ObjectMeta& m);
  bool Disruptable(uint32_t claim);  // caches the pod templates' annotation
  // Single-node consolidation of a candidate none of whose pods fits on another node: its
  // simulation reads only its pods' templates (in order) and NodePool, each NodePool's
  // instance types within its limits and whether it may add a node, the DaemonSet
  // overheads, and which offerings are available. The simulations and the likenesses
  // that could not be consolidated are kept across passes while those hold.
  using Simulated = std::pair<std::vector<uint32_t>, uint32_t>;  // templates, NodePool
  using Likeness = std::tuple<Simulated, int, double>;           // + capacity type, price
  struct IsolatedSim {
    Solution solution;
    uint64_t decisions = 0;  // what the simulation added to decisions_, counted again
    uint64_t pass = 0;       // the last pass that counted them
  };
  struct IsolatedSims {
    std::vector<std::vector<uint32_t>> within;  // by pool: instance types within limits
    std::vector<int64_t> nodes_left;            // by pool: the `nodes` limit left
    std::vector<ResourceVec> overhead;          // by pool: DaemonSet overhead
    uint64_t unavailable_version = ~uint64_t{0};
    Time at{0};
    // Hashed: a candidate's lookup compared its template list with a tree's worth of keys
    // (3 % of the 10k-node month). Only found and inserted, never walked.
    std::unordered_map<Simulated, IsolatedSim, absl::Hash<Simulated>> sims;
    std::unordered_set<Likeness, absl::Hash<Likeness>> fruitless;
    uint64_t generation = 1;  // bumped when they are emptied (LiveHead::sim points in)
    // Multi-node prefixes none of whose pods fits outside the prefix, by their pods'
    // templates in the simulation's order and their candidates' NodePool, instance type,
    // capacity type and price, in order: whether they can be consolidated, and the
    // decisions the simulation counted.
    using Prefix =
        std::pair<std::vector<uint32_t>, std::vector<std::tuple<uint32_t, uint32_t, int, double>>>;
    std::unordered_map<Prefix, std::pair<bool, uint64_t>, absl::Hash<Prefix>> prefixes;
  };
  // The kept simulations, emptied first if what they read has changed since `isolated_.at`.
  IsolatedSims& IsolatedSimsAt(Time now);
  static constexpr size_t kMaxKeptSimulations = 50000;
  IsolatedSims isolated_;
  uint64_t unavailable_version_ = 0;  // bumped with every entry of unavailable_
  uint64_t consolidation_passes_ = 0;
  uint64_t isolated_reused_ = 0;
  // PodDisruptionBudgets: how many more evictions each allows now (disruption controller:
  // currentHealthy − desiredHealthy), from the live and Running pods of each template.
  void RefreshPdbAllowance();
  bool EvictionBlocked(PodId pod) const;  // a PDB allows none, or more than one covers it
  void CountPod(PodId pod);
  // Pods a drain moves: not a DaemonSet's, not finished, not deleted.
  static bool Reschedulable(const cluster::PodRecord& p);
  std::vector<PodId> ReschedulablePods(NodeId node) const;
  bool HasReschedulablePods(NodeId node) const;
  // `destinations`: the pass's initialized nodes, when the caller already has them.
  // `simulated`: the scheduling simulation's result for this candidate, when known.
  // Consolidate `candidates` (one: single-node; several: multi-node) by deleting them, or
  // replacing them with one cheaper NodeClaim (consolidation.go computeConsolidation).
  bool TryConsolidate(const std::vector<uint32_t>& candidates, Time now, bool execute,
                      SimNodes* destinations = nullptr, const Solution* simulated = nullptr);
  // Multi-node consolidation: the longest prefix (2..100) of the candidates that can be
  // consolidated, by binary search (multinodeconsolidation.go firstNConsolidationOption).
  // `kept`: prefixes whose simulation reads no other node are looked up there first.
  std::vector<uint32_t> MultiNodeConsolidation(const std::vector<uint32_t>& candidates, Time now,
                                               SimNodes* destinations, IsolatedSims* kept);
  void Validate(Time now);
  // Drift (disruption/drift.go): drifted nodes, by drift time, empty ones first and
  // together; else one whose pods all fit on initialized nodes or new NodeClaims, which
  // are launched first; it goes once they have all initialized. True: a command started.
  bool Drift(Time now);
  void ReleaseAmi(Time now);
  void MarkUnconsolidated(Time now) { cluster_state_ = now; }
  Time ConsolidationState(Time now);
  void OnInterruption(const cloud::InterruptionMessage& m, Time now);

  void Count(const std::string& name, telemetry::Labels labels, double v = 1);
  // karpenter_voluntary_disruption_decisions_total, as the disruption controller counts.
  void Decided(const std::string& decision, const std::string& reason,
               const std::string& consolidation_type) {
    Count("karpenter_voluntary_disruption_decisions_total",
          {{"decision", decision}, {"reason", reason}, {"consolidation_type", consolidation_type}});
  }
  void Sample(Time now);
  void SetVerdict(PodId pod, std::string message, bool forever, std::string nominated = "");

  const api::Manifests& manifests_;
  cloud::Ec2& ec2_;
  // The Filter plugins FitsNode runs, built once (their reasons are never read).
  scheduler::ReasonTable filter_reasons_;
  std::vector<std::unique_ptr<scheduler::Plugin>> filter_plugins_;
  std::vector<const scheduler::FilterPlugin*> filters_;
  // The first three read only the node's labels, taints and unschedulable flag and the pod's
  // node selector, required node affinity and tolerations: their verdict is kept per such
  // constraints and node until the node changes (consolidation asks it of every running
  // pod against every node, every pass).
  static constexpr size_t kStaticFilters = 3;
  struct StaticFits {
    std::vector<uint32_t> version;  // by NodeId: the node's version + 1 when known
    std::vector<uint8_t> passes;
  };
  static constexpr size_t kMaxConstraints = 1024;
  uint32_t ConstraintsOf(const cluster::PodTemplateInfo& t) const;
  mutable std::vector<uint32_t> constraints_of_template_;  // by template id
  mutable std::unordered_map<std::string, uint32_t> constraints_by_key_;
  mutable std::vector<StaticFits> static_fits_;  // by constraints
  std::vector<uint32_t> node_version_;           // by NodeId: bumped on every change
  // By NodeId, the Node's cordon (spec.unschedulable) as of its last change, -1 until read:
  // a pass lists thousands of nodes without reading their records.
  mutable std::vector<int8_t> node_cordoned_;
  FitsCarry fits_carry_;       // consolidation's, pass to pass
  FitsCarry provision_carry_;  // provisioning's, pass to pass
  mutable uint64_t fits_carried_ = 0, entries_shifted_ = 0;
  uint64_t fits_carried_idle_ = 0;
  mutable uint64_t fits_mismatches_ = 0;
  uint64_t carry_unpaired_ = 0, carry_one_sided_ = 0;
  // For verify_carried_fits: counts `list` if it is not the one made afresh for `pod`.
  void VerifyCarried(const SimNodes& nodes, const std::vector<uint32_t>& list, PodId pod) const;
  // A claim's node's index in a consolidation pass's destinations (listed by ListNodes
  // through fits_carry_, all initialized: its section), or -1.
  int32_t DestinationIndex(uint32_t claim) const {
    const NodeId n = claim_state_[claim].node;
    return n != cluster::kNone && n < fits_carry_.position.size() ? fits_carry_.position[n] : -1;
  }
  // The entries of `nodes` from `from` on, indexed by entry (set) or unindexed again:
  // CarryFits and PatchNodes pair the entries after the initialized ones through it.
  void IndexEntries(const std::vector<SimNode>& nodes, size_t from, bool set);
  int32_t IndexedEntry(uint64_t key) const;  // the index, or -1
  std::vector<int32_t> index_of_node_;       // IndexEntries': NodeId → index, or -1
  std::vector<int32_t> index_of_claim_;      // IndexEntries': claim → index, or -1
  std::vector<int32_t> carried_from_;        // scratch of CarryFits: index → last pass's, or -1
  Diagnostics* diag_;
  Duration metrics_interval_;
  std::vector<NodePoolState> pools_;
  bool scheduled_budgets_ = false;  // some NodePool has a budget with a cron schedule
  std::vector<ResourceVec> pool_usage_;
  uint64_t pool_usage_version_ = 0;  // bumped with pool_usage_ and pool_nodes_
  PoolLimits pool_limits_;
  std::vector<int64_t> pool_nodes_;
  std::vector<api::Labels> type_labels_;  // per catalog type
  std::vector<uint32_t> pool_order_;      // by weight desc, then name desc
  bool gpu_stack_ = false;
  std::set<PodId> pending_;  // provisionable pods
  RandomStream names_;
  std::vector<NodeClaim> claims_;
  std::vector<uint32_t> live_claims_;  // indices of the claims not deleted, ascending
  // Beside live_claims_, position for position: what the walks over every live claim each
  // disruption pass read of it (emptiness, the consolidation candidates, TallyBudgets), in
  // one array read in order. Read through claim_state_ and the memos by NodeId, each
  // claim cost three or four cache misses at 10,000 nodes. The ClaimState part is set
  // with it (SyncLiveHead); the pods' part (PodsHeadOf) at the start of each pass for the
  // claims whose Node saw a pod or Node event since (heads_stale_).
  struct LiveHead {
    uint32_t nodepool = 0;
    bool initialized = false, deleting = false, has_node = false;
    int8_t node_do_not_disrupt = -1;  // the Node's annotation; -1: not looked up yet
    bool reschedulable = false, pods_do_not_disrupt = false;
    double cost = 0;
    Time created_at = cluster::kNever;
    // Single-node consolidation found its likeness fruitless, through the kept simulation
    // `sim`, while the kept simulations were of `sims_generation` (0: not known; its pods
    // changing clears it): a later pass only counts the simulation's decisions again.
    uint64_t sims_generation = 0;
    IsolatedSim* sim = nullptr;
  };
  // The candidate at `head` (if any) found fruitless through `sim`.
  static void RememberFruitless(LiveHead* head, uint64_t generation, IsolatedSim* sim) {
    if (!head) return;
    head->sims_generation = generation;
    head->sim = sim;
  }
  std::vector<LiveHead> live_heads_;
  std::vector<uint32_t> heads_stale_;
  LiveHead* LiveHeadOf(uint32_t claim) {
    auto it = std::lower_bound(live_claims_.begin(), live_claims_.end(), claim);
    if (it == live_claims_.end() || *it != claim) return nullptr;
    return &live_heads_[static_cast<size_t>(it - live_claims_.begin())];
  }
  void SyncLiveHead(uint32_t claim);
  // The head's ClaimState part equals the claim's (the checks of RefreshLiveHeads and
  // PackedStateMismatch).
  struct ClaimState;
  static bool HeadHoldsState(const LiveHead& h, const ClaimState& s);
  void RefreshLiveHeads();
  // Disruptable for the live claim at position k, read from its head.
  bool DisruptableLive(size_t k);
  bool NodeDoNotDisrupt(NodeId node);
  uint64_t heads_mismatches_ = 0;
  // Those not initialized yet, ascending: the in-flight NodeClaims and starting nodes a
  // provisioning pass lists after the initialized nodes (a few of the live claims).
  std::set<uint32_t> starting_claims_;
  std::vector<uint32_t> retired_consolidatable_;  // deleted while Consolidatable
  // The live claims with drifted_at set, ascending: Drift's walk every pass (a NodeClaim
  // read per live claim cost 2 % of the 10k-node month where none had drifted).
  std::set<uint32_t> drifted_claims_;
  void Retire(uint32_t claim);  // the claim is deleted
  // The Store's live nodes by name (ties: by id, as a stable sort), kept up to date as
  // nodes come and go; nodes_seen_ is how many of the Store's node ids it has taken in.
  mutable std::vector<NodeId> nodes_by_name_;
  mutable NodeId nodes_seen_ = 0;
  // By NodeId, its position in nodes_by_name_, -1 once pruned (CarryFits' walk).
  mutable std::vector<int32_t> name_rank_;
  // Nodes the watch saw deleted since the last pruning of nodes_by_name_ (found there by
  // name_rank_: reading every node's record for its deleted flag cost a cache miss each).
  mutable std::vector<NodeId> deleted_unpruned_;
  // By NodeId: its NodeClaim (-1: not Karpenter's) and, for the walk over every node
  // each pass (ExistingNodes), the claim's deleting flag and whether it is initialized,
  // packed beside it (set with ClaimState, below).
  struct NodeClaimFlags {
    int32_t claim = -1;
    bool deleting = false;
    bool initialized = false;
  };
  std::vector<NodeClaimFlags> claim_of_node_;
  // What the walks over every node or claim read of a NodeClaim, packed by claim index
  // (a NodeClaim is over 500 bytes: a cache miss each at 10,000 nodes); set only through
  // SetPhase, MarkInitialized, MarkDeleting and SetClaimNode, with the fields.
  struct ClaimState {
    NodeId node = cluster::kNone;
    uint32_t nodepool = 0;
    ClaimPhase phase = ClaimPhase::kLaunching;
    bool deleting = false;
    Time initialized_at = cluster::kNever;
    Time created_at = cluster::kNever;  // (never changes)
  };
  std::vector<ClaimState> claim_state_;
  void SetPhase(uint32_t index, ClaimPhase phase) {
    claims_[index].phase = phase;
    claim_state_[index].phase = phase;
    SyncLiveHead(index);
    consolidation_touched_.push_back(index);
    if (phase == ClaimPhase::kInitialized || phase == ClaimPhase::kDeleted) {
      starting_claims_.erase(index);
    }
    if (const NodeId n = claim_state_[index].node; n != cluster::kNone) {
      claim_of_node_[n].initialized = phase == ClaimPhase::kInitialized;
      NoteNode(n);
    }
  }
  void MarkInitialized(uint32_t index, Time now) {
    SetPhase(index, ClaimPhase::kInitialized);
    claims_[index].initialized_at = now;
    claim_state_[index].initialized_at = now;
  }
  void MarkDeleting(uint32_t index) {
    claims_[index].deleting = true;
    claim_state_[index].deleting = true;
    SyncLiveHead(index);
    if (const NodeId n = claim_state_[index].node; n != cluster::kNone) {
      claim_of_node_[n].deleting = true;
      NoteNode(n);
    }
  }
  // Once per claim, when its Node registers (a Node's claim never changes).
  void SetClaimNode(uint32_t index, NodeId node) {
    claims_[index].node = node;
    const auto& c = claim_state_[index];
    claim_state_[index].node = node;
    if (claim_of_node_.size() <= node) claim_of_node_.resize(node + 1);
    claim_of_node_[node] = {static_cast<int32_t>(index), c.deleting,
                            c.phase == ClaimPhase::kInitialized};
    SyncLiveHead(index);
    heads_stale_.push_back(index);
    NoteNode(node);
    consolidation_touched_.push_back(index);
  }
  std::optional<uint32_t> ClaimOf(NodeId n) const {
    if (n >= claim_of_node_.size() || claim_of_node_[n].claim < 0) return std::nullopt;
    return static_cast<uint32_t>(claim_of_node_[n].claim);
  }
  std::map<uint32_t, uint32_t> claim_of_instance_;
  struct Unavailable {
    Time until{0};
    std::string code;  // the CreateFleet error or "SpotInterruption"
  };
  std::map<std::tuple<int, uint32_t, std::string>, Unavailable> unavailable_;  // ct, type, zone
  std::vector<Time> last_pod_event_;                                           // by NodeId
  mutable std::vector<int8_t> do_not_disrupt_;  // by pod template id: -1 not looked up yet
  // By node id, the same: a node's annotations are set when it registers and never change.
  std::vector<int8_t> node_do_not_disrupt_;
  // By NodeId, what every pass asks of a node's pods, as of its head's `version` (the
  // node's Store::UsageVersion: a node's pods change only with a bind or a release, and
  // both bump it).
  struct NodePods {
    std::vector<PodId> reschedulable_pods;  // in the node's order
    std::vector<const void*> specs;         // their specs (FitsOf's keys)
    // The reschedulable pods in the simulation's order (SchedulesBefore) and their
    // templates: SortedPodsOf fills them on first use.
    bool sorted = false;
    std::vector<PodId> sorted_pods;
    std::vector<uint32_t> sorted_templates;
  };
  // The part every pass reads of every node, packed apart from the lists: the walks over
  // thousands of claims each pass read 24 bytes a node, not the memo's 120.
  struct NodePodsHead {
    uint64_t version = ~uint64_t{0};
    double cost = 0;              // the reschedulable pods' disruption cost, in pod order
    bool reschedulable = false;   // a pod Karpenter would have to move
    bool do_not_disrupt = false;  // a pod with karpenter.sh/do-not-disrupt
    bool topology = false;        // a reschedulable pod has spread or pod (anti-)affinity
  };
  const NodePodsHead& PodsHeadOf(NodeId node) const;
  const NodePods& NodePodsOf(NodeId node) const;
  const NodePods& SortedPodsOf(NodeId node) const;
  mutable std::vector<NodePods> node_pods_;
  mutable std::vector<NodePodsHead> node_pods_head_;
  struct TemplatePods {
    std::string namespace_;
    const api::Labels* labels = nullptr;
    int64_t live = 0, running = 0;
    std::vector<uint32_t> pdbs;  // the PDBs selecting its pods
    bool matched = false;        // `pdbs` computed
  };
  std::vector<TemplatePods> template_pods_;  // by pod template id
  std::vector<uint8_t> pod_counted_;         // by PodId: bit 0 live, bit 1 running
  std::vector<int64_t> pdb_allowed_;         // by PDB
  std::vector<PodVerdict> verdicts_;
  std::vector<bool> has_verdict_;

  // Batching.
  bool batch_open_ = false;
  Time batch_start_{0}, last_trigger_{0};
  bool requeue_pending_ = false;
  bool disruption_scheduled_ = false;
  std::vector<cloud::InterruptionMessage> interruptions_;
  struct Command {
    std::vector<uint32_t> candidates;
    std::string reason;  // Empty | Underutilized
    bool replace = false;
  };
  std::vector<Command> pending_commands_;
  std::vector<Time> command_times_;
  Time cluster_state_{0};                      // last change that matters to consolidation
  std::optional<Time> consolidated_at_state_;  // a pass found nothing at this state
  std::vector<bool> was_consolidatable_;
  // Consolidatable moves only with a pod event on the claim's node, its phase or Node, or
  // the clock passing consolidateAfter since: each pass checks the claims touched since
  // the last (consolidation_touched_) and those whose time came (consolidatable_due_: a
  // min-heap, whose stale entries only check again), not every live claim.
  std::vector<uint32_t> consolidation_touched_;
  std::priority_queue<std::pair<Time, uint32_t>, std::vector<std::pair<Time, uint32_t>>,
                      std::greater<>>
      consolidatable_due_;
  // When claim `index` turns Consolidatable if nothing happens first (none: never).
  std::optional<Time> ConsolidatableAt(uint32_t index) const;
  std::set<uint32_t> in_command_;

  uint64_t passes_ = 0, decisions_ = 0, reused_passes_ = 0;
  uint64_t state_version_ = 0;
  std::optional<PassMemo> provision_memo_;
  std::vector<PodId> failed_pods_;              // the last simulated pass's unschedulable pods
  std::optional<PassMemo> emptiness_memo_;      // the last emptiness scan that found nothing
  std::vector<int64_t> emptiness_budgets_;      // and the Empty budgets it had
  std::optional<PassMemo> consolidation_memo_;  // the last single-node pass that found nothing
  std::vector<int64_t> consolidation_budgets_;  // and the budgets it had
  bool consolidation_constrained_ = false;      // and whether budgets held a candidate back
  size_t unschedulable_pods_ = 0;
  std::set<PodId> bound_anti_affinity_;  // bound pods with required pod anti-affinity
  telemetry::Registry& metrics_;
  telemetry::Registry::MetricId usage_, limit_, node_count_, unschedulable_count_;
  telemetry::Registry::SeriesId pod_startup_;
  int32_t ami_version_ = 0;  // AMI releases published so far
};

}  // namespace gputwin::karpenter
