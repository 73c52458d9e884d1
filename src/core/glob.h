// Shell-style globs (* and ?) for naming pods in scenario actions and expectations.
#pragma once

namespace gputwin {

// Iterative matching that backtracks only to the last star: O(|p| * |s|) at worst, where the
// recursive form was exponential in the number of stars.
inline bool Glob(const char* p, const char* s) {
  const char* star = nullptr;    // the last star seen in p
  const char* resume = nullptr;  // where in s that star's match ends so far
  while (*s) {
    if (*p == '*') {
      star = p++;
      resume = s;
    } else if (*p && (*p == '?' || *p == *s)) {
      ++p;
      ++s;
    } else if (star) {
      p = star + 1;  // let the last star take one more character
      s = ++resume;
    } else {
      return false;
    }
  }
  while (*p == '*') ++p;
  return !*p;
}

}  // namespace gputwin
