// Node label values by topology key, interned per key, so that the plugins that count
// pods per topology domain (PodTopologySpread, InterPodAffinity) index vectors instead of
// comparing strings. A node's values are looked up again after it changes.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/objects.h"

namespace gputwin::cluster {
class Store;
}

namespace gputwin::scheduler {

class TopologyValues {
 public:
  static constexpr int32_t kMissing = -1;
  explicit TopologyValues(const cluster::Store* store) : store_(*store) {}
  uint32_t KeyId(const std::string& key);
  const std::string& KeyName(uint32_t key) const { return keys_[key].name; }
  // The node's value of the key, interned; kMissing when the node lacks the label.
  int32_t Value(uint32_t key, cluster::NodeId n) {
    const Key& k = keys_[key];
    if (n < k.by_node.size() && k.by_node[n] != kUnknown) return k.by_node[n];
    return Lookup(key, n);
  }
  const std::string& ValueName(uint32_t key, int32_t value) const {
    return keys_[key].value_names[static_cast<size_t>(value)];
  }
  size_t ValueCount(uint32_t key) const { return keys_[key].value_names.size(); }
  // The node's labels may have changed (or it was deleted).
  void NodeChanged(cluster::NodeId n);

 private:
  static constexpr int32_t kUnknown = -2;
  int32_t Lookup(uint32_t key, cluster::NodeId n);
  struct Key {
    std::string name;
    std::vector<int32_t> by_node;
    std::unordered_map<std::string, int32_t> ids;
    std::vector<std::string> value_names;
  };
  const cluster::Store& store_;
  std::vector<Key> keys_;
  std::unordered_map<std::string, uint32_t> key_ids_;
};

}  // namespace gputwin::scheduler
