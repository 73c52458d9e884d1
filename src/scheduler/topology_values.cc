#include "scheduler/topology_values.h"

#include "cluster/store.h"

namespace gputwin::scheduler {

uint32_t TopologyValues::KeyId(const std::string& key) {
  auto [it, added] = key_ids_.emplace(key, static_cast<uint32_t>(keys_.size()));
  if (added) keys_.push_back(Key{key, {}, {}, {}});
  return it->second;
}

int32_t TopologyValues::Lookup(uint32_t key, cluster::NodeId n) {
  Key& k = keys_[key];
  if (k.by_node.size() <= n) k.by_node.resize(store_.node_count(), kUnknown);
  int32_t& v = k.by_node[n];
  if (v != kUnknown) return v;
  const auto& labels = store_.node(n).obj.metadata.labels;
  auto it = labels.find(k.name);
  if (it == labels.end()) {
    v = kMissing;
  } else {
    auto [id, added] = k.ids.emplace(it->second, static_cast<int32_t>(k.value_names.size()));
    if (added) k.value_names.push_back(it->second);
    v = id->second;
  }
  return v;
}

void TopologyValues::NodeChanged(cluster::NodeId n) {
  for (auto& k : keys_) {
    if (n < k.by_node.size()) k.by_node[n] = kUnknown;
  }
}

}  // namespace gputwin::scheduler
