#include "cluster/scheduling_helpers.h"

#include <algorithm>
#include <charconv>

namespace gputwin::cluster {

bool ToleratesTaint(const api::Toleration& t, const api::Taint& taint) {
  if (!t.effect.empty() && t.effect != taint.effect) return false;
  if (!t.key.empty() && t.key != taint.key) return false;
  if (t.op == "Exists") return true;
  if (t.op == "Equal" || t.op.empty()) return t.value == taint.value;
  return false;
}

bool TaintToleratedBy(const api::Taint& taint, const std::vector<api::Toleration>& tolerations) {
  return std::any_of(tolerations.begin(), tolerations.end(),
                     [&](const api::Toleration& t) { return ToleratesTaint(t, taint); });
}

const api::Taint* FindUntoleratedTaint(const std::vector<api::Taint>& taints,
                                       const std::vector<api::Toleration>& tolerations,
                                       bool no_schedule, bool no_execute) {
  for (const auto& taint : taints) {
    bool relevant = (no_schedule && taint.effect == "NoSchedule") ||
                    (no_execute && taint.effect == "NoExecute");
    if (relevant && !TaintToleratedBy(taint, tolerations)) return &taint;
  }
  return nullptr;
}

namespace {
std::optional<int64_t> ParseInt(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}
}  // namespace

bool MatchesRequirement(const api::NodeSelectorRequirement& r, const api::Labels& labels) {
  auto it = labels.find(r.key);
  bool has = it != labels.end();
  if (r.op == "Exists") return has;
  if (r.op == "DoesNotExist") return !has;
  if (r.op == "In") {
    return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
  }
  if (r.op == "NotIn") {
    return !has || std::find(r.values.begin(), r.values.end(), it->second) == r.values.end();
  }
  if (r.op == "Gt" || r.op == "Lt") {
    if (!has || r.values.size() != 1) return false;
    auto lv = ParseInt(it->second);
    auto rv = ParseInt(r.values[0]);
    if (!lv || !rv) return false;
    return r.op == "Gt" ? *lv > *rv : *lv < *rv;
  }
  return false;
}

bool MatchesTerm(const api::NodeSelectorTerm& term, const api::Labels& labels,
                 const std::string& node_name) {
  if (term.match_expressions.empty() && term.match_fields.empty()) return false;
  for (const auto& r : term.match_expressions) {
    if (!MatchesRequirement(r, labels)) return false;
  }
  for (const auto& f : term.match_fields) {
    // Only metadata.name is a valid field; validation ensured one value.
    bool in = !f.values.empty() && f.values[0] == node_name;
    if ((f.op == "In") != in) return false;
  }
  return true;
}

bool MatchesRequiredAffinity(const api::PodSpec& spec, const api::Labels& labels,
                             const std::string& node_name) {
  for (const auto& [k, v] : spec.node_selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  if (spec.node_affinity && spec.node_affinity->required) {
    const auto& terms = *spec.node_affinity->required;
    return std::any_of(terms.begin(), terms.end(), [&](const api::NodeSelectorTerm& t) {
      return MatchesTerm(t, labels, node_name);
    });
  }
  return true;
}

std::string TaintString(const api::Taint& t) {
  return t.key + (t.value.empty() ? "" : "=" + t.value) + ":" + t.effect;
}

}  // namespace gputwin::cluster
