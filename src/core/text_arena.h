// TextArena: text kept for a whole run behind string_views. For records made by the
// million whose words come from a short list and whose messages are written once (a
// month's Workload condition history): a std::string each costs 32 bytes and, past 15
// characters, an allocation of its own; here a message costs its characters.
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace gputwin {

class TextArena {
 public:
  TextArena() = default;
  TextArena(const TextArena&) = delete;  // the views point into this arena's blocks
  TextArena& operator=(const TextArena&) = delete;
  // (The blocks stay where they are; the arena moved from is left empty.)
  TextArena(TextArena&& o) noexcept
      : blocks_(std::move(o.blocks_)),
        next_(std::exchange(o.next_, nullptr)),
        left_(std::exchange(o.left_, 0)),
        words_(std::move(o.words_)) {
    o.blocks_.clear();
    o.words_.clear();
  }
  TextArena& operator=(TextArena&& o) noexcept {
    if (this != &o) {
      blocks_ = std::move(o.blocks_);
      next_ = std::exchange(o.next_, nullptr);
      left_ = std::exchange(o.left_, 0);
      words_ = std::move(o.words_);
      o.blocks_.clear();
      o.words_.clear();
    }
    return *this;
  }

  // A copy of `s`, valid as long as the arena.
  std::string_view Keep(std::string_view s) {
    if (s.empty()) return {};
    if (s.size() > left_) {
      const size_t size = std::max(kBlock, s.size());
      blocks_.push_back(std::make_unique<char[]>(size));
      next_ = blocks_.back().get();
      left_ = size;
    }
    char* at = next_;
    std::memcpy(at, s.data(), s.size());
    next_ += s.size();
    left_ -= s.size();
    return {at, s.size()};
  }

  // The same, one copy for equal texts: for words from a short list.
  std::string_view Word(std::string_view s) {
    if (auto it = words_.find(s); it != words_.end()) return *it;
    return *words_.insert(Keep(s)).first;
  }

 private:
  static constexpr size_t kBlock = size_t{64} << 10;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  size_t left_ = 0;
  std::unordered_set<std::string_view> words_;
};

}  // namespace gputwin
