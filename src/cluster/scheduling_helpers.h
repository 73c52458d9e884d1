// The predicates kube-scheduler, the DaemonSet controller and the taint-eviction
// controller share upstream (k8s.io/component-helpers/scheduling/corev1, core/v1
// toleration.go): toleration matching and node affinity.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/types.h"

namespace gputwin::cluster {

// Toleration.ToleratesTaint.
bool ToleratesTaint(const api::Toleration& t, const api::Taint& taint);
bool TaintToleratedBy(const api::Taint& taint, const std::vector<api::Toleration>& tolerations);
// The first taint with one of `effects` that no toleration tolerates, if any.
const api::Taint* FindUntoleratedTaint(const std::vector<api::Taint>& taints,
                                       const std::vector<api::Toleration>& tolerations,
                                       bool no_schedule, bool no_execute);

// corev1.Taint.ToString: key=value:effect, or key:effect without a value (Kueue's messages).
std::string TaintString(const api::Taint& t);

// labels.Requirement.Matches for a node selector requirement (In, NotIn, Exists,
// DoesNotExist, Gt, Lt).
bool MatchesRequirement(const api::NodeSelectorRequirement& r, const api::Labels& labels);
// A node selector term: expressions and fields ANDed; an empty term matches nothing.
bool MatchesTerm(const api::NodeSelectorTerm& term, const api::Labels& labels,
                 const std::string& node_name);
// spec.nodeSelector AND the required node affinity terms (ORed).
bool MatchesRequiredAffinity(const api::PodSpec& spec, const api::Labels& labels,
                             const std::string& node_name);

}  // namespace gputwin::cluster
