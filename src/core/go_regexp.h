// Go's regexp package (RE2 syntax), the dialect of every regular expression the modelled
// stack reads: Prometheus label matchers and label_replace, JobSet's failure message
// patterns. Compiled by RE2 (Debian's libre2), whose syntax Go's copies and whose matching
// is linear in the input, so no pattern can backtrack for minutes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace gputwin::core {

class GoRegexp {
 public:
  // Compiles as Go's regexp.Compile. Throws std::invalid_argument with Go's message,
  // "error parsing regexp: <code>: `<expr>`".
  explicit GoRegexp(std::string_view pattern);

  // regexp.MatchString: a match anywhere in s (anchor the pattern for a full match).
  bool MatchString(std::string_view s) const;

  // FindStringSubmatchIndex followed by ExpandString: the template expanded with the
  // leftmost match's groups, or nullopt when nothing matches.
  std::optional<std::string> ExpandMatch(std::string_view s, std::string_view templ) const;

  int NumSubexp() const;

 private:
  std::shared_ptr<const re2::RE2> re_;
  std::vector<std::string> names_;  // group names by index; "" for unnamed
};

}  // namespace gputwin::core
