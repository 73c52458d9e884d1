// Karpenter's requirement sets (kubernetes-sigs/karpenter pkg/scheduling/requirement.go,
// requirements.go): per label key a set of allowed values, possibly a complement ("any
// value but these"), with integer bounds for Gt/Lt/Gte/Lte (Gt n is kept as Gte n+1).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/karpenter_types.h"
#include "api/types.h"

namespace gputwin::karpenter {

struct Requirement {
  bool complement = false;  // true: every value except `values`
  std::set<std::string> values;
  std::optional<int64_t> gte, lte;
  std::optional<int32_t> min_values;

  static Requirement In(std::vector<std::string> v);
  static Requirement FromOperator(const std::string& op, const std::vector<std::string>& v);
  bool Has(const std::string& value) const;
  bool Empty() const;  // no value can satisfy it (DoesNotExist, or In ∅ after intersection)
  bool IsDoesNotExist() const { return !complement && values.empty() && !gte && !lte; }
  Requirement Intersect(const Requirement& other) const;
  // The single value an In requirement pins (for a node label), if any.
  std::optional<std::string> Single() const;
  std::string ToString(const std::string& key) const;  // "key In [a b]"
};

class Requirements {
 public:
  Requirements() = default;
  static Requirements FromNodePool(const std::vector<api::NodePoolRequirement>& reqs);
  // nodeSelector and one term of required node affinity.
  static Requirements FromPod(const api::PodSpec& spec, size_t affinity_term);
  static Requirements FromLabels(const api::Labels& labels);

  void Add(const std::string& key, const Requirement& r);  // intersects with an existing key
  const Requirement* Get(const std::string& key) const;
  const std::map<std::string, Requirement>& all() const { return reqs_; }
  // Keys present on both sides have a common value (Requirements.Intersects).
  // With explain false, a failure is the non-empty "x", built without formatting values
  // (consolidation's simulations discard the reason).
  std::string Intersects(const Requirements& other, bool explain = true) const;
  // Compatible (with AllowUndefinedWellKnownLabels): every key `incoming` constrains is
  // either satisfiable here, or undefined here and well-known, NotIn or DoesNotExist.
  // Returns "" or the reason, in Karpenter's words.
  std::string Compatible(const Requirements& incoming, bool explain = true) const;
  Requirements Intersect(const Requirements& other) const;
  Requirements Without(const std::string& key) const {
    Requirements out = *this;
    out.reqs_.erase(key);
    return out;
  }
  // Labels whose value is pinned to one value (NodeClaim labels).
  api::Labels SingleValued() const;
  std::string ToString() const;

 private:
  std::map<std::string, Requirement> reqs_;
};

}  // namespace gputwin::karpenter
