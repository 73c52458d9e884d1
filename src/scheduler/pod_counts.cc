#include "scheduler/pod_counts.h"

#include <algorithm>
#include <unordered_map>

#include "cluster/store.h"

namespace gputwin::scheduler {

std::string PodMatcher::Key() const {
  if (nothing) return "nothing";
  std::string k = any_namespace ? "*" : "";
  for (const auto& ns : namespaces) k += ns + ",";
  k += "|";
  for (const auto& s : selectors) {
    for (const auto& [key, v] : s.match_labels) k += key + "=" + v + ";";
    for (const auto& e : s.match_expressions) {
      k += e.key + " " + e.op + " (";
      for (const auto& v : e.values) k += v + ",";
      k += ");";
    }
    k += "&";
  }
  return k;
}

bool PodMatcher::Matches(const std::string& ns, const api::Labels& labels) const {
  if (nothing) return false;
  if (!any_namespace && std::find(namespaces.begin(), namespaces.end(), ns) == namespaces.end()) {
    return false;
  }
  for (const auto& s : selectors) {
    if (!s.Matches(labels)) return false;
  }
  return true;
}

namespace {
std::string LabelAnchor(const std::string& key, const std::string& value) {
  std::string a = key;
  a += '\0';
  a += value;
  return a;
}
}  // namespace

void PodCounts::Index(uint32_t entry) {
  const PodMatcher& m = entries_[entry].m;
  if (m.nothing) return;  // selects no pod
  for (const auto& s : m.selectors) {
    if (!s.match_labels.empty()) {
      const auto& [key, value] = *s.match_labels.begin();
      by_label_[LabelAnchor(key, value)].push_back(entry);
      return;
    }
  }
  for (const auto& s : m.selectors) {
    for (const auto& e : s.match_expressions) {
      if (e.op == "In" && e.values.size() == 1) {
        by_label_[LabelAnchor(e.key, e.values[0])].push_back(entry);
        return;
      }
      if (e.op == "In" || e.op == "Exists") {
        by_label_key_[e.key].push_back(entry);
        return;
      }
    }
  }
  unanchored_.push_back(entry);
}

const std::vector<uint32_t>& PodCounts::MatchersOf(const cluster::PodRecord& p) {
  const uint32_t t = p.tmpl->id;
  if (by_template_.size() <= t) by_template_.resize(t + 1);
  TemplateMatches& tm = by_template_[t];
  if (tm.known == 0 && !entries_.empty()) {
    // A new template: the matchers anchored on its labels, and the unanchored ones.
    const auto& labels = p.tmpl->metadata.labels;
    auto take = [&](const std::vector<uint32_t>& list) {
      for (uint32_t k : list) {
        if (entries_[k].m.Matches(p.namespace_, labels)) tm.entries.push_back(k);
      }
    };
    take(unanchored_);
    for (const auto& [key, value] : labels) {
      if (auto it = by_label_.find(LabelAnchor(key, value)); it != by_label_.end()) {
        take(it->second);
      }
      if (auto it = by_label_key_.find(key); it != by_label_key_.end()) take(it->second);
    }
    std::sort(tm.entries.begin(), tm.entries.end());
    tm.known = static_cast<uint32_t>(entries_.size());
  }
  // Matchers registered since the template was last seen.
  for (; tm.known < entries_.size(); ++tm.known) {
    const PodMatcher& m = entries_[tm.known].m;
    if (!m.nothing && m.Matches(p.namespace_, p.tmpl->metadata.labels)) {
      tm.entries.push_back(tm.known);
    }
  }
  return tm.entries;
}

void PodCounts::Add(Entry& e, NodeId n, int64_t delta) {
  if (e.per_node.size() <= n) {
    e.per_node.resize(n + 1, 0);
    e.listed.resize(n + 1, 0);
  }
  e.per_node[n] += delta;
  if (e.per_node[n] > 0 && !e.listed[n]) {
    e.listed[n] = 1;
    e.nodes.insert(std::lower_bound(e.nodes.begin(), e.nodes.end(), n), n);
  }
}

uint32_t PodCounts::Register(const PodMatcher& m) {
  std::string key = m.Key();
  auto [it, added] = by_key_.emplace(key, static_cast<uint32_t>(entries_.size()));
  if (!added) return it->second;
  entries_.push_back(Entry{m, {}, {}, {}});
  Index(it->second);
  Entry& e = entries_.back();
  if (!m.nothing) {
    std::unordered_map<uint32_t, bool> by_template;  // the bound pods' templates
    for (NodeId n : store_.live_nodes()) {
      const auto& node = store_.node(n);
      for (cluster::PodId id : node.pods) {
        const auto& p = store_.pod(id);
        auto [known, first] = by_template.try_emplace(p.tmpl->id, false);
        if (first) known->second = m.Matches(p.namespace_, p.tmpl->metadata.labels);
        if (known->second) Add(e, n, 1);
      }
    }
  }
  return it->second;
}

void PodCounts::Update(const cluster::PodRecord& p, NodeId n, int64_t delta) {
  for (uint32_t k : MatchersOf(p)) Add(entries_[k], n, delta);
  const auto& spec = *p.tmpl->spec;
  if (!spec.pod_affinity && !spec.pod_anti_affinity) return;
  auto [it, added] = affinity_index_.emplace(p.tmpl->id, affinity_.size());
  if (added) affinity_.push_back(AffinityTemplate{p.tmpl, p.namespace_, {}, {}, 0});
  auto& a = affinity_[it->second];
  if (a.per_node.size() <= n) a.per_node.resize(n + 1, 0);
  if (a.per_node[n] == 0 && delta > 0 && !std::binary_search(a.nodes.begin(), a.nodes.end(), n)) {
    a.nodes.insert(std::lower_bound(a.nodes.begin(), a.nodes.end(), n), n);
  }
  a.per_node[n] += delta;
  a.total += delta;
}

}  // namespace gputwin::scheduler
