// Karpenter's topology in its scheduling simulation (pkg/controllers/provisioning/scheduling:
// topology.go, topologygroup.go, topologynodefilter.go): the pods' topology spread
// constraints and pod (anti-)affinity terms as groups that count matching pods per domain
// (a value of the group's key), and that narrow a node's or NodeClaim's requirements to the
// domains a pod may use there.
// - Spread: a domain passes while count + self − min ≤ maxSkew (min over the domains the
//   pod's own requirements allow; 0 when fewer than minDomains exist, and always 0 for
//   kubernetes.io/hostname); on an unpinned NodeClaim the lowest-count domain is chosen, so
//   a zone spread pins the zone before any instance type is looked at.
// - Affinity: a domain that holds a matching pod, or, for the first pod of a self-affine
//   group, any domain.
// - Anti-affinity: a domain without a matching pod; existing and pending pods' required
//   anti-affinity terms keep matching pods out of their domains too (inverse groups).
// Every new NodeClaim is a fresh hostname domain: hostname spread and anti-affinity give
// one NodeClaim per replica. ScheduleAnyway spreads and preferred terms start as required
// and are relaxed one at a time when a pod fits nowhere (preferences.go).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/objects.h"
#include "karpenter/requirements.h"

namespace gputwin::karpenter {

class Topology {
 public:
  enum class Type : uint8_t { kSpread, kAffinity, kAntiAffinity };

  struct Group {
    Type type = Type::kSpread;
    std::string key;
    int32_t max_skew = 0;
    std::optional<int32_t> min_domains;
    std::vector<std::string> namespaces;  // sorted; a pod in one of them may count
    bool any_namespace = false;
    std::optional<api::LabelSelector> selector;  // absent: selects no pod
    // The node filter of a spread group (nodeAffinityPolicy / nodeTaintsPolicy Honor): the
    // owner's node selection and tolerations.
    const cluster::PodTemplateInfo* filter_owner = nullptr;
    bool honor_affinity = false, honor_taints = false;
    std::map<std::string, int32_t> domains;  // domain → matching pods
    bool inverse = false;                    // an existing or pending pod's anti-affinity
    bool Selects(const cluster::PodRecord& p) const;
    std::string Hash() const;
  };

  // What makes a pod's place depend on topology: groups it owns (and which of them may
  // be relaxed), and whether inverse groups select it.
  struct PodTopology {
    std::vector<size_t> groups;     // owned groups
    std::vector<size_t> relaxable;  // owned groups from preferences (in relax order)
    std::vector<size_t> inverse;    // inverse groups created for its required anti terms
  };

  Topology() = default;
  bool empty() const { return groups_.empty(); }

  // Adds the groups of a pod to be placed (deduplicated by hash, as upstream).
  void AddPod(const cluster::PodRecord& pod);
  // An inverse group for each required anti-affinity term of a pod already bound to a
  // node with these labels.
  void AddBoundAntiAffinity(const cluster::PodRecord& pod, const api::Labels& node_labels);
  // Every group learns the domains a NodePool may launch into (its In values and its
  // instance types' offerings) and those of existing nodes.
  void AddDomain(const std::string& key, const std::string& value);
  const std::set<std::string>& Keys() const { return keys_; }
  // Counts a bound pod (not being placed in this pass) on a node with these labels.
  void CountBound(const cluster::PodRecord& pod, const api::Labels& node_labels,
                  const std::vector<api::Taint>& node_taints);

  const PodTopology* Of(const cluster::PodRecord& pod) const;
  // Whether the pod's place depends on topology at all.
  bool Affects(const cluster::PodRecord& pod) const;

  // AddRequirements: the domains the pod may use on a node or NodeClaim whose
  // requirements are `node_reqs`, as requirements to intersect with them; `relaxed` owned
  // groups are skipped. Returns "" or Karpenter's topology error.
  std::string Restrict(const cluster::PodRecord& pod, const karpenter::Requirements& pod_reqs,
                       const karpenter::Requirements& node_reqs, size_t relaxed,
                       karpenter::Requirements* out) const;
  // Record: the pod was placed where `reqs` hold.
  void Record(const cluster::PodRecord& pod, const karpenter::Requirements& reqs,
              const std::vector<api::Taint>& taints, size_t relaxed);

 private:
  static Group TermGroup(Type type, const api::PodAffinityTerm& term, const std::string& owner_ns);
  size_t Intern(Group g, const cluster::PodTemplateInfo* owner);
  std::string Next(const Group& g, const cluster::PodRecord& pod, const Requirement* pod_domains,
                   const Requirement* node_domains, std::vector<std::string>* allowed) const;
  bool FilterMatches(const Group& g, const api::Labels& labels,
                     const std::vector<api::Taint>& taints) const;

  std::vector<Group> groups_;
  std::map<std::string, size_t> by_hash_;
  std::map<const cluster::PodTemplateInfo*, PodTopology> pods_;
  std::set<std::string> keys_;
};

}  // namespace gputwin::karpenter
