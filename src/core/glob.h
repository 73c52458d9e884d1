// Shell-style globs (* and ?) for naming pods in scenario actions and expectations.
#pragma once

namespace gputwin {

inline bool Glob(const char* p, const char* s) {
  for (; *p; ++p, ++s) {
    if (*p == '*') {
      for (const char* t = s;; ++t) {
        if (Glob(p + 1, t)) return true;
        if (!*t) return false;
      }
    }
    if (!*s || (*p != '?' && *p != *s)) return false;
  }
  return !*s;
}

}  // namespace gputwin
