#include "scheduler/node_groups.h"

#include <charconv>
#include <string_view>

namespace gputwin::scheduler {

namespace {

// The parts of a view's key, appended in place.
void AppendAllocatable(std::string* key, const cluster::ResourceVec& allocatable) {
  char text[24];
  for (int64_t v : allocatable) {
    key->append(text, std::to_chars(text, text + sizeof text, v).ptr);
    *key += ',';
  }
  *key += '|';
}

void AppendLabel(std::string* key, const std::string& k, const std::string& v) {
  *key += k;
  *key += '=';
  *key += v;
  *key += '\x1f';
}

void AppendTaintsAndCordon(std::string* key, const std::vector<api::Taint>& taints,
                           bool unschedulable) {
  *key += '|';
  for (const auto& t : taints) {
    *key += t.key;
    *key += '=';
    *key += t.value;
    *key += ':';
    *key += t.effect;
    *key += '\x1f';
  }
  *key += unschedulable ? "|U" : "|S";
}

}  // namespace

// A hash of the fields a group shares (allocatable, labels but the hostname, taints,
// cordon); groups of equal hashes are then told apart by Matches.
uint64_t NodeGroups::HashOf(const cluster::NodeRecord& n) {
  uint64_t h = n.obj.unschedulable ? 1 : 2;
  auto mix = [&h](uint64_t v) { h ^= v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2); };
  const std::hash<std::string_view> text;
  for (int64_t v : n.allocatable) mix(static_cast<uint64_t>(v));
  mix(n.allocatable.size());
  for (const auto& [k, v] : n.obj.metadata.labels) {
    if (k == "kubernetes.io/hostname") continue;
    mix(text(k));
    mix(text(v));
  }
  for (const auto& t : n.obj.taints) {
    mix(text(t.key));
    mix(text(t.value));
    mix(text(t.effect));
  }
  return h;
}

// Whether the node belongs in the group: the same allocatable, labels but the hostname,
// taints and cordon.
bool NodeGroups::Matches(const cluster::NodeRecord& n, const NodeGroup& g) {
  if (n.obj.unschedulable != g.unschedulable || n.allocatable != g.allocatable ||
      n.obj.taints != g.taints) {
    return false;
  }
  auto it = g.labels.begin();
  for (const auto& [k, v] : n.obj.metadata.labels) {
    if (k == "kubernetes.io/hostname") continue;
    if (it == g.labels.end() || it->first != k || it->second != v) return false;
    ++it;
  }
  return it == g.labels.end();
}

bool NodeGroups::Assign(const cluster::Store& store, NodeId id) {
  if (node_group_.size() <= id) node_group_.resize(id + 1, cluster::kNone);
  const auto& n = store.node(id);
  // By a hash of the node's fields, the groups checked field by field: a Karpenter fleet
  // makes a group per node's network topology (no key text is built or kept for it).
  const uint64_t hash = one_hash ? 0 : HashOf(n);
  auto [it, inserted] = by_hash_.try_emplace(hash, static_cast<uint32_t>(groups_.size()));
  uint32_t g = cluster::kNone;
  if (!inserted) {
    for (uint32_t c = it->second; c != cluster::kNone; c = same_hash_[c]) {
      if (Matches(n, groups_[c])) {
        g = c;
        break;
      }
    }
  }
  if (g == cluster::kNone) {
    g = static_cast<uint32_t>(groups_.size());
    NodeGroup group;
    group.labels = n.obj.metadata.labels;
    group.labels.erase("kubernetes.io/hostname");
    group.taints = n.obj.taints;
    group.unschedulable = n.obj.unschedulable;
    group.allocatable = n.allocatable;
    groups_.push_back(std::move(group));
    same_hash_.push_back(inserted ? cluster::kNone : it->second);
    it->second = g;
  }
  if (view_of_group_.size() <= g) view_of_group_.resize(g + 1, cluster::kNone);
  if (view_of_group_[g] == cluster::kNone) KeyView(g);
  uint32_t old = node_group_[id];
  if (old == g) return false;
  if (old != cluster::kNone) --groups_[old].size;
  node_group_[id] = g;
  ++groups_[g].size;
  return true;
}

void NodeGroups::KeyView(uint32_t g) {
  const NodeGroup& group = groups_[g];
  std::string key;
  AppendAllocatable(&key, group.allocatable);
  for (const auto& [k, v] : group.labels) {
    if (keys_.count(k)) AppendLabel(&key, k, v);
  }
  AppendTaintsAndCordon(&key, group.taints, group.unschedulable);
  auto [it, inserted] = view_by_key_.emplace(std::move(key), view_source_.size());
  if (inserted) view_source_.push_back(g);
  view_of_group_[g] = it->second;
}

void NodeGroups::NoteKeys(const api::PodSpec& spec) {
  bool added = false;
  for (const auto& [k, v] : spec.node_selector) added |= keys_.insert(k).second;
  if (spec.node_affinity) {
    auto note = [&](const api::NodeSelectorTerm& term) {
      for (const auto& e : term.match_expressions) added |= keys_.insert(e.key).second;
    };
    if (spec.node_affinity->required) {
      for (const auto& term : *spec.node_affinity->required) note(term);
    }
    for (const auto& pref : spec.node_affinity->preferred) note(pref.preference);
  }
  if (!added) return;
  ++views_version_;
  view_by_key_.clear();
  for (uint32_t g = 0; g < groups_.size(); ++g) {
    view_of_group_[g] = cluster::kNone;
    if (groups_[g].size > 0) KeyView(g);
  }
}

void NodeGroups::Remove(NodeId id) {
  if (id >= node_group_.size() || node_group_[id] == cluster::kNone) return;
  --groups_[node_group_[id]].size;
  node_group_[id] = cluster::kNone;
}

}  // namespace gputwin::scheduler
