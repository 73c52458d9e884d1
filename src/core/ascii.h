// ASCII character classes for parsers of Kubernetes and Go formats (no locale, unlike <cctype>).
#pragma once

namespace gputwin {

inline bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace gputwin
