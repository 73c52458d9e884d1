#include "scheduler/framework.h"

#include <algorithm>

namespace gputwin::scheduler {

uint16_t ReasonTable::Id(const std::string& reason) {
  auto [it, inserted] = ids_.emplace(reason, static_cast<uint16_t>(names_.size()));
  if (inserted) names_.push_back(reason);
  return it->second;
}

CycleState::CycleState(const CycleState& other) {
  *this = other;
}

CycleState& CycleState::operator=(const CycleState& other) {
  if (this == &other) return *this;
  slots_.clear();
  slots_.resize(other.slots_.size());
  for (size_t i = 0; i < other.slots_.size(); ++i) {
    if (other.slots_[i]) slots_[i] = other.slots_[i]->Clone();
  }
  return *this;
}

void DefaultNormalizeScore(bool reverse, std::vector<int64_t>* scores) {
  int64_t max = 0;
  for (int64_t s : *scores) max = std::max(max, s);
  if (max == 0) {
    if (reverse) std::fill(scores->begin(), scores->end(), kMaxNodeScore);
    return;
  }
  for (int64_t& s : *scores) {
    s = kMaxNodeScore * s / max;
    if (reverse) s = kMaxNodeScore - s;
  }
}

}  // namespace gputwin::scheduler
