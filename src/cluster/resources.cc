#include "cluster/resources.h"

namespace gputwin::cluster {

ResourceRegistry::ResourceRegistry() {
  for (const char* n : {"cpu", "memory", "ephemeral-storage", "pods"}) Id(n);
}

ResourceId ResourceRegistry::Id(const std::string& name) {
  auto it = ids_.find(name);
  if (it != ids_.end()) return it->second;
  auto id = static_cast<ResourceId>(names_.size());
  names_.push_back(name);
  ids_.emplace(name, id);
  return id;
}

ResourceVec ToVec(const api::ResourceList& list, ResourceRegistry* reg) {
  ResourceVec v;
  for (const auto& [name, q] : list) {
    ResourceId id = reg->Id(name);
    if (v.size() <= id) v.resize(id + 1, 0);
    v[id] = ResourceRegistry::Units(name, q);
  }
  return v;
}

}  // namespace gputwin::cluster
