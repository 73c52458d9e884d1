// The scheduling simulation's view of the nodes, shared by provisioning and
// consolidation: one entry per node or NodeClaim, the fit lists per pod spec, and what a
// pass leaves for the next to carry on (CarryFits, PatchNodes in node_lists.cc and
// fit_lists.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/types.h"
#include "cluster/objects.h"
#include "cluster/resources.h"

namespace gputwin::karpenter {

using cluster::NodeId;
using cluster::PodId;
using cluster::ResourceVec;

// A node, in-flight NodeClaim or new NodeClaim as the scheduling simulation sees it.
// Pointers into the Store, the claims and the NodePools: built for every pass, so
// nothing is copied.
struct SimNode {
  NodeId node = cluster::kNone;
  int32_t claim = -1;  // existing claim index, or -1 for a node Karpenter does not own
  const std::string* name = nullptr;
  const api::Labels* labels = nullptr;  // the Node's, or the in-flight NodeClaim's
  const std::vector<api::Taint>* taints = nullptr;
  const std::vector<api::Taint>* ignored_taints = nullptr;  // startup taints, until initialized
  bool unschedulable = false;                               // cordoned
  bool initialized = true;  // (beside the other flag: 80 bytes, where a pass writes thousands)
  const ResourceVec* allocatable = nullptr;  // the Node's, or its instance type's
  const ResourceVec* used = nullptr;         // bound pods' requests, or daemon overhead
  // For CarryFits: the Node's Store::UsageVersion and EntryVersion.
  uint64_t usage = 0;
  uint64_t version = 0;
};
static_assert(sizeof(SimNode) <= 80);
// The nodes a simulation may place pods on and, per pod spec, the ones it fits on
// before the simulation places anything (found on first use). Placements only take room
// away, so no other node can take a pod of that spec: one list serves every simulation
// over these nodes (all consolidation candidates of a pass). Keyed by the interned spec:
// the filters read only its constraints and requests, and every Job of a generator
// shares one, where each has its own template.
struct SimNodes {
  std::vector<SimNode> nodes;
  struct Fits {
    std::vector<uint32_t> nodes;  // ascending indices into SimNodes::nodes
    // The key's spec, held so that the address stays its own while the list is carried
    // to the next pass; null for a daemon pod's list, which is not carried.
    std::shared_ptr<const api::PodSpec> spec;
    // One of the spec's pods, to check the new and changed nodes of a pass that carries
    // the list on without asking for it; and how many passes in a row did so.
    PodId pod = cluster::kNone;
    uint32_t idle = 0;
    // The spec's requests as a free row must hold them (NeedRow), for the merges that
    // carry the list on without reading a pod.
    ResourceVec need;
  };
  std::unordered_map<const void*, Fits> fits;
  // Free resources (allocatable − used, pods included) of every node, one row each:
  // a contiguous first filter for the fits lists.
  std::vector<int64_t> free;
  size_t width = 0;
  // The previous consolidation pass's lists (CarryFits), how its node indices map here
  // (-1: gone, or changed since), and the indices here whose verdicts must be found
  // again (new or changed nodes), ascending.
  std::unordered_map<const void*, Fits> carried;
  std::vector<int32_t> carried_to;
  std::vector<uint32_t> recheck;
  // Where PatchNodes made carried_to (runs_valid): the old indices [old_begin, old_end)
  // map to themselves + delta but for the changed ones (whose new indices are in
  // `recheck`), ascending; past the runs carried_to alone tells (MergeCarried copies a
  // run's entries in bulk instead of looking each up).
  struct CarryRun {
    uint32_t old_begin, old_end;
    int64_t delta;
  };
  std::vector<CarryRun> carry_runs;
  bool runs_valid = false;
};

// The last pass's nodes by entry (EntryKey), with their versions and free rows, and its
// fit lists (CarryFits, KeepFits). Consolidation and provisioning each keep their own.
struct FitsCarry {
  // The pass's nodes, read for their EntryKey, EntryVersion and Store::UsageVersion only
  // (moved here whole: copying those out cost every pass a walk of its nodes).
  std::vector<SimNode> nodes;
  std::vector<int64_t> free;
  size_t width = 0;
  std::unordered_map<const void*, SimNodes::Fits> lists;
  // For the next pass to patch `nodes` (ListNodes): how many initialized entries lead,
  // each one's index by NodeId (-1: not among them), the exclusion and kind the list
  // was made with, where it stands in node_log_, and where the Store's node records
  // were (the entries point into them). Patchable once KeepFits kept a listed list.
  size_t section = 0;
  std::vector<int32_t> position;
  std::set<uint32_t> exclude;
  bool initialized_only = false;
  bool listed = false, patchable = false;
  uint64_t cursor = 0;
  const void* records = nullptr;
};

}  // namespace gputwin::karpenter
