#include "karpenter/topology.h"

#include <algorithm>
#include <climits>

#include "cluster/scheduling_helpers.h"

namespace gputwin::karpenter {

namespace {

const char* const kHostname = "kubernetes.io/hostname";

std::string SelectorKey(const std::optional<api::LabelSelector>& s) {
  if (!s) return "nothing";
  std::string k;
  for (const auto& [key, v] : s->match_labels) k += key + "=" + v + ";";
  for (const auto& e : s->match_expressions) {
    k += e.key + " " + e.op + " (";
    for (const auto& v : e.values) k += v + ",";
    k += ");";
  }
  return k;
}

const char* TypeName(Topology::Type t) {
  switch (t) {
    case Topology::Type::kSpread:
      return "topology spread";
    case Topology::Type::kAffinity:
      return "pod affinity";
    case Topology::Type::kAntiAffinity:
      return "pod anti-affinity";
  }
  return "";
}

}  // namespace

// A pod (anti-)affinity term as a group (newForAffinities): the owner's namespace unless
// the term names namespaces or selects them ({}: every namespace).
Topology::Group Topology::TermGroup(Type type, const api::PodAffinityTerm& term,
                                    const std::string& owner_ns) {
  Group g;
  g.type = type;
  g.key = term.topology_key;
  g.max_skew = INT32_MAX;
  g.selector = term.label_selector;
  if (term.namespaces.empty() && !term.namespace_selector) {
    g.namespaces = {owner_ns};
  } else if (term.namespace_selector && term.namespace_selector->Empty()) {
    g.any_namespace = true;
  } else {
    g.namespaces = term.namespaces;
    std::sort(g.namespaces.begin(), g.namespaces.end());
  }
  return g;
}

bool Topology::Group::Selects(const cluster::PodRecord& p) const {
  if (!selector) return false;
  if (!any_namespace && !std::binary_search(namespaces.begin(), namespaces.end(), p.namespace_)) {
    return false;
  }
  return selector->Matches(p.tmpl->metadata.labels);
}

std::string Topology::Group::Hash() const {
  std::string h = std::to_string(static_cast<int>(type)) + "|" + key + "|" +
                  std::to_string(max_skew) + "|" + (inverse ? "inverse|" : "") +
                  (any_namespace ? "*" : "");
  for (const auto& ns : namespaces) h += ns + ",";
  h += "|" + SelectorKey(selector);
  // The node filter is part of a spread group's identity (topologynodefilter.go).
  if (honor_affinity || honor_taints) {
    h += "|filter:" + std::to_string(reinterpret_cast<uintptr_t>(filter_owner)) +
         (honor_affinity ? "a" : "") + (honor_taints ? "t" : "");
  }
  return h;
}

size_t Topology::Intern(Group g, const cluster::PodTemplateInfo* owner) {
  (void)owner;
  std::string h = g.Hash();
  auto [it, added] = by_hash_.emplace(h, groups_.size());
  if (added) {
    keys_.insert(g.key);
    groups_.push_back(std::move(g));
  }
  return it->second;
}

void Topology::AddPod(const cluster::PodRecord& pod) {
  const cluster::PodTemplateInfo* t = pod.tmpl.get();
  if (pods_.count(t)) return;
  PodTopology& pt = pods_[t];
  const auto& spec = *t->spec;
  const auto& labels = t->metadata.labels;
  // Spread constraints (newForTopologies); ScheduleAnyway ones are required until relaxed.
  std::vector<size_t> schedule_anyway;
  for (const auto& c : spec.topology_spread_constraints) {
    Group g;
    g.type = Type::kSpread;
    g.key = c.topology_key;
    g.max_skew = c.max_skew;
    g.min_domains = c.min_domains;
    g.namespaces = {pod.namespace_};
    if (c.label_selector) {
      api::LabelSelector sel = *c.label_selector;
      for (const auto& k : c.match_label_keys) {
        if (auto l = labels.find(k); l != labels.end()) {
          sel.match_expressions.push_back({k, "In", {l->second}});
        }
      }
      g.selector = sel;
    }
    g.honor_affinity = c.node_affinity_policy != "Ignore";
    g.honor_taints = c.node_taints_policy == "Honor";
    if (g.honor_affinity || g.honor_taints) g.filter_owner = t;
    size_t id = Intern(std::move(g), t);
    pt.groups.push_back(id);
    if (c.when_unsatisfiable == "ScheduleAnyway") schedule_anyway.push_back(id);
  }
  // Pod (anti-)affinity (newForAffinities): one group per term; preferred terms too.
  auto term_group = [&](Type type, const api::PodAffinityTerm& term) {
    return TermGroup(type, term, pod.namespace_);
  };
  std::vector<std::pair<int32_t, size_t>> preferred_affinity, preferred_anti;
  if (spec.pod_affinity) {
    for (const auto& term : spec.pod_affinity->required) {
      pt.groups.push_back(Intern(term_group(Type::kAffinity, term), t));
    }
    for (const auto& w : spec.pod_affinity->preferred) {
      size_t id = Intern(term_group(Type::kAffinity, w.term), t);
      pt.groups.push_back(id);
      preferred_affinity.emplace_back(w.weight, id);
    }
  }
  if (spec.pod_anti_affinity) {
    for (const auto& term : spec.pod_anti_affinity->required) {
      pt.groups.push_back(Intern(term_group(Type::kAntiAffinity, term), t));
      // The same term, seen from the pods it selects (inverse anti-affinity).
      Group inv = term_group(Type::kAntiAffinity, term);
      inv.inverse = true;
      pt.inverse.push_back(Intern(std::move(inv), t));
    }
    for (const auto& w : spec.pod_anti_affinity->preferred) {
      size_t id = Intern(term_group(Type::kAntiAffinity, w.term), t);
      pt.groups.push_back(id);
      preferred_anti.emplace_back(w.weight, id);
    }
  }
  // The relaxation order of preferences.go: preferred pod affinity, then anti-affinity
  // (heaviest first each), then ScheduleAnyway spreads in spec order.
  auto heaviest_first = [](std::vector<std::pair<int32_t, size_t>>* v) {
    std::stable_sort(v->begin(), v->end(), [](auto& a, auto& b) { return a.first > b.first; });
  };
  heaviest_first(&preferred_affinity);
  heaviest_first(&preferred_anti);
  for (const auto& [w, id] : preferred_affinity) pt.relaxable.push_back(id);
  for (const auto& [w, id] : preferred_anti) pt.relaxable.push_back(id);
  for (size_t id : schedule_anyway) pt.relaxable.push_back(id);
}

void Topology::AddBoundAntiAffinity(const cluster::PodRecord& pod, const api::Labels& node_labels) {
  const auto& spec = *pod.tmpl->spec;
  if (!spec.pod_anti_affinity) return;
  for (const auto& term : spec.pod_anti_affinity->required) {
    Group g = TermGroup(Type::kAntiAffinity, term, pod.namespace_);
    g.inverse = true;
    size_t id = Intern(std::move(g), pod.tmpl.get());
    auto it = node_labels.find(groups_[id].key);
    if (it != node_labels.end()) ++groups_[id].domains[it->second];
  }
}

void Topology::AddDomain(const std::string& key, const std::string& value) {
  for (auto& g : groups_) {
    if (g.key == key) g.domains.emplace(value, 0);
  }
}

bool Topology::FilterMatches(const Group& g, const api::Labels& labels,
                             const std::vector<api::Taint>& taints) const {
  if (!g.filter_owner) return true;
  const auto& spec = *g.filter_owner->spec;
  if (g.honor_affinity && !cluster::MatchesRequiredAffinity(spec, labels, "")) return false;
  return !g.honor_taints || !cluster::FindUntoleratedTaint(taints, spec.tolerations, true, true);
}

void Topology::CountBound(const cluster::PodRecord& pod, const api::Labels& node_labels,
                          const std::vector<api::Taint>& node_taints) {
  for (auto& g : groups_) {
    if (g.inverse || !g.Selects(pod) || !FilterMatches(g, node_labels, node_taints)) continue;
    auto it = node_labels.find(g.key);
    if (it != node_labels.end()) ++g.domains[it->second];
  }
}

const Topology::PodTopology* Topology::Of(const cluster::PodRecord& pod) const {
  auto it = pods_.find(pod.tmpl.get());
  return it == pods_.end() ? nullptr : &it->second;
}

bool Topology::Affects(const cluster::PodRecord& pod) const {
  if (groups_.empty()) return false;
  if (const auto* pt = Of(pod); pt && !pt->groups.empty()) return true;
  for (const auto& g : groups_) {
    if (g.inverse && g.Selects(pod)) return true;
  }
  return false;
}

std::string Topology::Next(const Group& g, const cluster::PodRecord& pod,
                           const Requirement* pod_domains, const Requirement* node_domains,
                           std::vector<std::string>* allowed) const {
  allowed->clear();
  auto count = [&](const std::string& d) {
    auto it = g.domains.find(d);
    return it == g.domains.end() ? 0 : it->second;
  };
  const bool hostname = g.key == kHostname;
  std::optional<std::string> pinned = node_domains ? node_domains->Single() : std::nullopt;
  const int32_t self = g.Selects(pod) ? 1 : 0;
  switch (g.type) {
    case Type::kSpread: {
      if (hostname && pinned) {
        // A node or NodeClaim is its own hostname domain; the minimum is taken as 0.
        if (count(*pinned) + self <= g.max_skew) allowed->push_back(*pinned);
        break;
      }
      int64_t min = INT32_MAX;
      int32_t supported = 0;
      if (hostname) {
        min = 0;
      } else {
        for (const auto& [d, c] : g.domains) {
          if (pod_domains && !pod_domains->Has(d)) continue;
          ++supported;
          min = std::min<int64_t>(min, c);
        }
        if (g.min_domains && supported < *g.min_domains) min = 0;
      }
      // The lowest-count domain that keeps the skew (ties: the first by name).
      std::optional<std::string> best;
      int64_t best_count = 0;
      for (const auto& [d, c] : g.domains) {
        if (node_domains && !node_domains->Has(d)) continue;
        const int64_t with = int64_t{c} + self;
        if (with - min > g.max_skew) continue;
        if (!best || with < best_count) {
          best = d;
          best_count = with;
        }
      }
      if (best) allowed->push_back(*best);
      break;
    }
    case Type::kAffinity: {
      auto usable = [&](const std::string& d) {
        return (!pod_domains || pod_domains->Has(d)) && (!node_domains || node_domains->Has(d));
      };
      for (const auto& [d, c] : g.domains) {
        if (c > 0 && usable(d)) allowed->push_back(d);
      }
      if (hostname && pinned) {
        allowed->clear();
        if (count(*pinned) > 0) allowed->push_back(*pinned);
      }
      if (allowed->empty() && self) {
        // The first pod of a self-affine group: any domain, when no domain the pod may use
        // holds a matching pod yet.
        bool any_match = false;
        for (const auto& [d, c] : g.domains) {
          any_match |= c > 0 && (!pod_domains || pod_domains->Has(d));
        }
        if (!any_match) {
          if (hostname && pinned) {
            allowed->push_back(*pinned);
          } else {
            for (const auto& [d, c] : g.domains) {
              if (usable(d)) {
                allowed->push_back(d);
                break;
              }
            }
          }
        }
      }
      break;
    }
    case Type::kAntiAffinity: {
      if (hostname && pinned) {
        if (count(*pinned) == 0) allowed->push_back(*pinned);
        break;
      }
      for (const auto& [d, c] : g.domains) {
        if (c == 0 && (!pod_domains || pod_domains->Has(d)) &&
            (!node_domains || node_domains->Has(d))) {
          allowed->push_back(d);
        }
      }
      break;
    }
  }
  if (!allowed->empty()) return "";
  // topologyError.Error(), its closing parenthesis missing as upstream's is.
  std::string counts;
  size_t shown = 0;
  for (const auto& [d, c] : g.domains) {
    if (shown++ == 25) {
      counts += " and " + std::to_string(g.domains.size() - 25) + " other(s)";
      break;
    }
    counts += (counts.empty() ? "" : ", ") + d + ": " + std::to_string(c);
  }
  auto req = [&](const Requirement* r) { return r ? r->ToString(g.key) : g.key + " Exists"; };
  return std::string("unsatisfiable topology constraint for ") + TypeName(g.type) +
         ", key=" + g.key + " (counts = " + counts + ", podDomains = " + req(pod_domains) +
         ", nodeDomains = " + req(node_domains);
}

std::string Topology::Restrict(const cluster::PodRecord& pod,
                               const karpenter::Requirements& pod_reqs,
                               const karpenter::Requirements& node_reqs, size_t relaxed,
                               karpenter::Requirements* out) const {
  *out = karpenter::Requirements();
  std::vector<size_t> matching;
  if (const auto* pt = Of(pod)) {
    const size_t dropped = std::min(relaxed, pt->relaxable.size());
    for (size_t id : pt->groups) {
      if (std::find(pt->relaxable.begin(), pt->relaxable.begin() + static_cast<long>(dropped),
                    id) != pt->relaxable.begin() + static_cast<long>(dropped)) {
        continue;
      }
      matching.push_back(id);
    }
  }
  for (size_t id = 0; id < groups_.size(); ++id) {
    if (groups_[id].inverse && groups_[id].Selects(pod)) matching.push_back(id);
  }
  std::vector<std::string> allowed;
  for (size_t id : matching) {
    const Group& g = groups_[id];
    std::string err = Next(g, pod, pod_reqs.Get(g.key), node_reqs.Get(g.key), &allowed);
    if (!err.empty()) return err;
    out->Add(g.key, Requirement::In(allowed));
  }
  return "";
}

void Topology::Record(const cluster::PodRecord& pod, const karpenter::Requirements& reqs,
                      const std::vector<api::Taint>& taints, size_t relaxed) {
  (void)relaxed;
  const api::Labels labels = reqs.SingleValued();
  for (auto& g : groups_) {
    if (g.inverse || !g.Selects(pod) || !FilterMatches(g, labels, taints)) continue;
    const Requirement* r = reqs.Get(g.key);
    if (!r || r->complement) continue;
    if (g.type == Type::kAntiAffinity) {
      for (const auto& v : r->values) ++g.domains[v];  // every domain it may end up in
    } else if (auto v = r->Single()) {
      ++g.domains[*v];
    }
  }
  if (const auto* pt = Of(pod)) {
    for (size_t id : pt->inverse) {
      const Requirement* r = reqs.Get(groups_[id].key);
      if (!r || r->complement) continue;
      for (const auto& v : r->values) ++groups_[id].domains[v];
    }
  }
}

}  // namespace gputwin::karpenter
