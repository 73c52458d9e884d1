// Kueue's Topology-Aware Scheduling placement (pkg/cache/scheduler/tas_flavor_snapshot.go
// findTopologyAssignment and its helpers, tas_topology_tree.go newTopologyTree), as at
// Kueue HEAD (v0.20 development) with default feature gates: required and preferred
// requests use the BestFit profile, unconstrained (and implied, and slice-only) requests use
// LeastFreeCapacity (TASProfileMixed, on by default from 0.15).
//
// Modelled: the topology tree over the flavor's nodes (hostname leaves or aggregated leaves),
// per-leaf pod and slice capacity, the level search (required fails, preferred climbs to the
// first level where one domain fits, else spreads over the top level), the descent with the
// "optimize the last domain" best-fit step, podset slices (podset-slice-required-topology +
// slice size), several PodSets of one flavor with assumed usage, and upstream's failure
// messages with exclusion stats.
// Also podset groups: a leader PodSet (one pod) placed with its workers, each leaf able to
// hold it counted with and without it (podCountWithLeader), the leader's domain chosen so that
// the workers still fit (prioritizeLeaderDomain).
// Not modelled: multi-layer slice constraints,
// TASBalancedPlacement, preferred node affinity scores, node replacement, elastic workloads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cluster/resources.h"

namespace gputwin::kueue::tas {

inline constexpr const char* kHostnameLabel = "kubernetes.io/hostname";

// One Node of the flavor: already Ready, schedulable and matching the flavor's nodeLabels.
struct TopologyNode {
  std::string name;
  // The value of each Topology level's label, highest level first. A node whose list does not
  // have one value per level is dropped, as upstream drops nodes missing a level label.
  std::vector<std::string> level_values;
  // allocatable − non-TAS pods' requests (each such pod also takes pods:1) − admitted TAS
  // usage, in scheduler units (cpu milli). Missing entries count as 0; may be negative.
  cluster::ResourceVec free;
  // "" or the caller's filter verdict, used as the exclusion-stats label:
  // `taint "k=v:NoSchedule"`, `nodeSelector`, `affinity`. Consulted only when the lowest
  // level is kubernetes.io/hostname (upstream runs the node filters only then).
  std::string excluded;
};

enum class RequestMode { kRequired, kPreferred, kUnconstrained };

struct TopologyRequest {
  RequestMode mode = RequestMode::kUnconstrained;
  // The nodeLabel for required/preferred. Ignored for unconstrained, which uses the lowest
  // level, or the highest level when slices are requested (upstream's slice-only request).
  std::string level;
  std::string slice_level;  // podset-slice-required-topology, "" if none
  int32_t slice_size = 1;   // podset-slice-size (used only with slice_level)
  int32_t count = 0;        // pods in the PodSet
  // One pod's requests in scheduler units, INCLUDING pods:1 (index cluster::kPods).
  // Entries of 0 are ignored.
  cluster::ResourceVec per_pod;
  // Optional filter verdicts of this PodSet, one per entry of `nodes` (PodSets of a workload
  // may differ in nodeSelector, affinity and tolerations), kept alive by the caller (PodSets
  // of one template share them). Empty: TopologyNode::excluded.
  std::span<const std::string> excluded;
  // podset-group-name ("" for none): the two PodSets of a group are placed together, the
  // smaller (a LeaderWorkerSet's leader) with the larger, as leader and workers.
  std::string group;
};

struct TopologyDomainAssignment {
  std::vector<std::string> values;
  int32_t count = 0;
  friend bool operator==(const TopologyDomainAssignment&,
                         const TopologyDomainAssignment&) = default;
};

// Kueue v1beta1 shape: status.admission.podSetAssignments[].topologyAssignment.
struct TopologyAssignment {
  std::vector<std::string> levels;
  std::vector<TopologyDomainAssignment> domains;
  friend bool operator==(const TopologyAssignment&, const TopologyAssignment&) = default;
};

struct PlacementResult {
  std::optional<TopologyAssignment> assignment;
  std::string reason;  // upstream's failure reason when there is no assignment
};

// The topology tree over a flavor's nodes (newTopologyTree / addNode / initialize): the
// domains of each level in lexicographic order of their level values, so comparing two indices
// of a level is compareDomainLevelValues; the children of a domain are a contiguous range of
// the next level. It depends only on the nodes' level values, so a caller whose nodes keep
// their labels builds it once and places against it many times.
struct TopologyTree {
  struct Domain {
    int32_t child_begin = -1, child_end = -1;
  };
  size_t depth = 0;                          // number of levels
  bool hostname_leaves = false;              // isLowestLevelNode
  std::vector<std::vector<Domain>> domains;  // per level, lexicographic order
  std::vector<int32_t> leaf_node;            // per leaf: the node giving values and filters
  std::vector<int32_t> leaf_of_node;         // per node: its leaf, -1 when dropped

  size_t leaf_count() const { return leaf_node.size(); }
  static TopologyTree Build(const std::vector<std::string>& levels,
                            const std::vector<TopologyNode>& nodes);
};

// FindTopologyAssignmentsForFlavor: places the PodSets in order; each later PodSet sees the
// earlier ones' usage (assumedUsage). Returns one result per request. Like upstream, the
// search stops at the first PodSet that does not fit: the PodSets after it are not attempted
// and their results have neither an assignment nor a reason.
std::vector<PlacementResult> FindTopologyAssignments(
    const std::string& topology_name, const std::vector<std::string>& levels,
    const std::vector<TopologyNode>& nodes, const std::vector<TopologyRequest>& requests,
    // the name of each ResourceVec index, for `resource "cpu"` messages and tie-breaks
    const std::vector<std::string>& resource_names);
// The same over a tree built from these nodes' level values (only `free` and `excluded` may
// have changed since).
std::vector<PlacementResult> FindTopologyAssignments(
    const std::string& topology_name, const std::vector<std::string>& levels,
    const TopologyTree& tree, const std::vector<TopologyNode>& nodes,
    const std::vector<TopologyRequest>& requests, const std::vector<std::string>& resource_names);

}  // namespace gputwin::kueue::tas
