#include "core/go_regexp.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace gputwin::core {

namespace {

// regexp/syntax's ErrorCode strings, for RE2's codes.
const char* GoErrorCode(RE2::ErrorCode c) {
  switch (c) {
    case RE2::ErrorBadEscape:
      return "invalid escape sequence";
    case RE2::ErrorBadCharClass:
      return "invalid character class";
    case RE2::ErrorBadCharRange:
      return "invalid character class range";
    case RE2::ErrorMissingBracket:
      return "missing closing ]";
    case RE2::ErrorMissingParen:
      return "missing closing )";
    case RE2::ErrorUnexpectedParen:
      return "unexpected )";
    case RE2::ErrorTrailingBackslash:
      return "trailing backslash at end of expression";
    case RE2::ErrorRepeatArgument:
      return "missing argument to repetition operator";
    case RE2::ErrorRepeatSize:
      return "invalid repeat count";
    case RE2::ErrorRepeatOp:
      return "invalid nested repetition operator";
    case RE2::ErrorBadPerlOp:
      return "invalid or unsupported Perl syntax";
    case RE2::ErrorBadUTF8:
      return "invalid UTF-8";
    case RE2::ErrorBadNamedCapture:
      return "invalid named capture";
    case RE2::ErrorPatternTooLarge:
      return "expression too large";
    default:
      return "unexpected error";
  }
}

[[noreturn]] void Refuse(std::string_view code, std::string_view expr) {
  throw std::invalid_argument("error parsing regexp: " + std::string(code) + ": `" +
                              std::string(expr) + "`");
}

// Where Go and RE2 (2022) part: Go (1.22+) also reads (?<name>...), refuses \C (RE2's "any
// byte") and refuses nesting deeper than 1000 (regexp/syntax maxHeight, counted here by
// parentheses). The rest of the syntax is the same.
std::string ToRe2(std::string_view re) {
  std::string out;
  out.reserve(re.size() + 8);
  int depth = 0;
  bool in_class = false;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\' && i + 1 < re.size()) {
      if (re[i + 1] == 'Q') {  // \Q...\E is literal text, copied as it is
        const size_t end = re.find("\\E", i + 2);
        const size_t stop = end == std::string_view::npos ? re.size() : end + 2;
        out.append(re.substr(i, stop - i));
        i = stop - 1;
        continue;
      }
      if (re[i + 1] == 'C') Refuse("invalid escape sequence", "\\C");
      out += c;
      out += re[++i];
      continue;
    }
    if (in_class) {
      if (c == '[' && i + 1 < re.size() && re[i + 1] == ':') {
        // A POSIX class ("[:alpha:]") inside the class: its "]" does not close the class.
        const size_t end = re.find(":]", i + 2);
        if (end != std::string_view::npos) {
          out.append(re.substr(i, end + 2 - i));
          i = end + 1;
          continue;
        }
      }
      in_class = c != ']';
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < re.size() && re[i + 1] == '^') out += re[++i];
      if (i + 1 < re.size() && re[i + 1] == ']') out += re[++i];  // "[]a]": ] is a member
      continue;
    }
    if (c == '(') {
      if (++depth > 1000) Refuse("expression nests too deeply", re);
      if (re.substr(i, 3) == "(?<" && re.substr(i, 4) != "(?<=" && re.substr(i, 4) != "(?<!") {
        out += "(?P<";
        i += 2;
        continue;
      }
    } else if (c == ')') {
      --depth;
    }
    out += c;
  }
  return out;
}

}  // namespace

GoRegexp::GoRegexp(std::string_view pattern) {
  RE2::Options opt;
  opt.set_log_errors(false);
  auto re = std::make_shared<RE2>(ToRe2(pattern), opt);
  if (!re->ok()) Refuse(GoErrorCode(re->error_code()), re->error_arg());
  names_.assign(static_cast<size_t>(re->NumberOfCapturingGroups()) + 1, "");
  for (const auto& [name, index] : re->NamedCapturingGroups()) {
    names_[static_cast<size_t>(index)] = name;
  }
  re_ = std::move(re);
}

bool GoRegexp::MatchString(std::string_view s) const {
  return RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *re_);
}

int GoRegexp::NumSubexp() const {
  return re_->NumberOfCapturingGroups();
}

std::optional<std::string> GoRegexp::ExpandMatch(std::string_view s, std::string_view templ) const {
  std::vector<re2::StringPiece> groups(names_.size());
  if (!re_->Match(re2::StringPiece(s.data(), s.size()), 0, s.size(), RE2::UNANCHORED, groups.data(),
                  static_cast<int>(groups.size()))) {
    return std::nullopt;
  }
  auto group = [&](size_t k) {
    // An unmatched group expands to nothing (its StringPiece has no data).
    return k < groups.size() && groups[k].data()
               ? std::string_view(groups[k].data(), groups[k].size())
               : std::string_view();
  };
  // Go's Regexp.expand: $name or ${name}, a name being letters, digits and '_' (here ASCII
  // only); a name of digits without a leading zero is a group's index, any other a group's
  // name; $$ is '$'; a '$' with no valid name after it is kept as it is.
  auto is_name = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  std::string out;
  size_t i = 0;
  while (i < templ.size()) {
    const size_t dollar = templ.find('$', i);
    if (dollar == std::string_view::npos) break;
    out.append(templ.substr(i, dollar - i));
    i = dollar + 1;
    if (i < templ.size() && templ[i] == '$') {
      out += '$';
      ++i;
      continue;
    }
    const bool brace = i < templ.size() && templ[i] == '{';
    size_t j = brace ? i + 1 : i;
    const size_t name_start = j;
    while (j < templ.size() && is_name(templ[j])) ++j;
    const std::string_view name = templ.substr(name_start, j - name_start);
    if (name.empty() || (brace && (j >= templ.size() || templ[j] != '}'))) {
      out += '$';  // malformed: the '$' is raw text
      continue;
    }
    i = brace ? j + 1 : j;
    int64_t num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100'000'000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (name.size() > 1 && name[0] == '0') num = -1;
    if (num >= 0) {
      out.append(group(static_cast<size_t>(num)));
    } else {
      for (size_t k = 1; k < names_.size(); ++k) {
        if (names_[k] == name) {
          out.append(group(k));
          break;
        }
      }
    }
  }
  out.append(templ.substr(std::min(i, templ.size())));
  return out;
}

}  // namespace gputwin::core
