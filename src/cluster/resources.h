// Resources as dense vectors, in the units kube-scheduler compares: cpu in milli-cores,
// everything else in whole units (memory in bytes, nvidia.com/gpu in devices).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/types.h"

namespace gputwin::cluster {

using ResourceId = uint16_t;
inline constexpr ResourceId kCpu = 0, kMemory = 1, kEphemeralStorage = 2, kPods = 3;

class ResourceRegistry {
 public:
  ResourceRegistry();
  ResourceId Id(const std::string& name);  // registers on first use
  // The id of a known resource, or size() when the name was never seen.
  ResourceId Find(const std::string& name) const {
    auto it = ids_.find(name);
    return it == ids_.end() ? static_cast<ResourceId>(names_.size()) : it->second;
  }
  const std::string& Name(ResourceId id) const { return names_[id]; }
  size_t size() const { return names_.size(); }
  // Amount in scheduler units: MilliValue for cpu, Value (rounded up) for the rest.
  static int64_t Units(const std::string& name, Quantity q) {
    return name == "cpu" ? q.milli : q.Value();
  }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, ResourceId> ids_;
};

using ResourceVec = std::vector<int64_t>;

inline int64_t At(const ResourceVec& v, size_t i) {
  return i < v.size() ? v[i] : 0;
}
inline void AddTo(ResourceVec* into, const ResourceVec& v, int64_t sign = 1) {
  if (into->size() < v.size()) into->resize(v.size(), 0);
  for (size_t i = 0; i < v.size(); ++i) (*into)[i] += sign * v[i];
}

ResourceVec ToVec(const api::ResourceList& list, ResourceRegistry* reg);

// Default requests the scheduler assumes for scoring when a container sets none
// (schedutil.DefaultMilliCPURequest, DefaultMemoryRequest).
inline constexpr int64_t kDefaultMilliCpuRequest = 100;
inline constexpr int64_t kDefaultMemoryRequest = 200LL * 1024 * 1024;

}  // namespace gputwin::cluster
