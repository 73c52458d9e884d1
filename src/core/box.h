// Box<T>: a T kept on the heap, with value semantics (copies are deep). For large members
// of records kept for a whole run whose content is dropped once it is read no more (a
// finished Job's pod template): an empty box costs a pointer, and reads of it see a
// default T, as reads of the cleared member did.
#pragma once

#include <memory>
#include <utility>

namespace gputwin {

template <typename T>
class Box {
 public:
  Box() = default;
  Box(T v) : p_(std::make_unique<T>(std::move(v))) {}  // NOLINT(google-explicit-constructor)
  Box(const Box& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  Box& operator=(T v) {
    p_ = std::make_unique<T>(std::move(v));
    return *this;
  }
  ~Box() = default;

  const T& operator*() const { return p_ ? *p_ : Empty(); }
  const T* operator->() const { return &**this; }
  // Writing through an empty box fills it first.
  T& operator*() {
    if (!p_) p_ = std::make_unique<T>();
    return *p_;
  }
  T* operator->() { return &**this; }
  // Empties the box: its content's memory is freed; reads see a default T again.
  void reset() { p_.reset(); }

 private:
  static const T& Empty() {
    static const T kEmpty{};
    return kEmpty;
  }
  std::unique_ptr<T> p_;
};

}  // namespace gputwin
