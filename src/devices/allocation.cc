#include "devices/allocation.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace gputwin::devices {

std::vector<uint32_t> AllocateUnits(cluster::NodeRecord* node, const std::string& resource,
                                    int64_t count, uint32_t pod, std::string* error) {
  std::vector<uint32_t> free;
  bool replicated = false;
  std::map<std::pair<int32_t, int32_t>, int> handed_out;  // physical unit → replicas in use
  for (uint32_t i = 0; i < node->devices.size(); ++i) {
    const auto& u = node->devices[i];
    if (u.resource != resource) continue;
    replicated |= u.replica >= 0;
    if (u.pod == cluster::kNone) {
      free.push_back(i);
    } else {
      handed_out[{u.gpu, u.mig}]++;
    }
  }
  if (static_cast<int64_t>(free.size()) < count) {
    *error = "requested number of devices unavailable for " + resource +
             ". Requested: " + std::to_string(count) +
             ", Available: " + std::to_string(free.size());
    return {};
  }
  std::vector<uint32_t> picked;
  if (!replicated) {
    picked.assign(free.begin(), free.begin() + count);
  } else {
    std::map<std::pair<int32_t, int32_t>, int> picked_here;
    for (int64_t k = 0; k < count; ++k) {
      auto best = free.end();
      for (auto it = free.begin(); it != free.end(); ++it) {
        const auto& u = node->devices[*it];
        auto key = std::make_pair(u.gpu, u.mig);
        if (best == free.end()) {
          best = it;
          continue;
        }
        const auto& b = node->devices[*best];
        auto bkey = std::make_pair(b.gpu, b.mig);
        int used = handed_out[key], bused = handed_out[bkey];
        if (used != bused) {
          if (used < bused) best = it;
        } else if (picked_here[key] < picked_here[bkey]) {
          best = it;
        }
      }
      const auto& u = node->devices[*best];
      handed_out[{u.gpu, u.mig}]++;
      picked_here[{u.gpu, u.mig}]++;
      picked.push_back(*best);
      free.erase(best);
    }
  }
  for (uint32_t i : picked) node->devices[i].pod = pod;
  return picked;
}

std::vector<double> FairShareRates(const std::vector<double>& utilization, double capacity) {
  const size_t n = utilization.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return utilization[a] < utilization[b]; });
  std::vector<double> rate(n, 1.0);
  double remaining = capacity;
  size_t left = n;
  for (size_t i : order) {
    double need = utilization[i];
    double share = remaining / static_cast<double>(left);
    double got = std::min(need, share);
    rate[i] = need > 0 ? got / need : 1.0;
    remaining -= got;
    --left;
  }
  return rate;
}

}  // namespace gputwin::devices
