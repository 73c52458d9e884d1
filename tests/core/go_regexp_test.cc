// Go's regexp semantics, from its documentation (pkg.go.dev/regexp, regexp/syntax) and
// Prometheus's label_replace examples (docs/querying/functions.md).
#include "core/go_regexp.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace gputwin::core {
namespace {

using ::testing::HasSubstr;

std::string CompileError(const std::string& re) {
  try {
    GoRegexp r(re);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "compiled";
}

TEST(GoRegexp, RefusesWhatGoRefusesInGoWords) {
  // regexp/syntax's Error: "error parsing regexp: <code>: `<expr>`".
  EXPECT_EQ(CompileError("a**"), "error parsing regexp: invalid nested repetition operator: `**`");
  EXPECT_EQ(CompileError("x{1001}"), "error parsing regexp: invalid repeat count: `{1001}`");
  EXPECT_EQ(CompileError("(a"), "error parsing regexp: missing closing ): `(a`");
  EXPECT_EQ(CompileError("a)"), "error parsing regexp: unexpected ): `a)`");
  EXPECT_EQ(CompileError("[z-a]"), "error parsing regexp: invalid character class range: `z-a`");
  EXPECT_EQ(CompileError("*"),
            "error parsing regexp: missing argument to repetition operator: `*`");
  // No backreferences, no \C, no lookbehind.
  EXPECT_EQ(CompileError("(a)\\1"), "error parsing regexp: invalid escape sequence: `\\1`");
  EXPECT_EQ(CompileError("\\C"), "error parsing regexp: invalid escape sequence: `\\C`");
  EXPECT_THAT(CompileError("(?<=a)b"), HasSubstr("invalid or unsupported Perl syntax"));
  // regexp/syntax's maxHeight: 1000 levels.
  const std::string deep = std::string(1001, '(') + "a" + std::string(1001, ')');
  EXPECT_THAT(CompileError(deep), HasSubstr("expression nests too deeply"));
  const std::string ok = std::string(100, '(') + "a" + std::string(100, ')');
  EXPECT_EQ(CompileError(ok), "compiled");
}

TEST(GoRegexp, ReadsGoSyntax) {
  EXPECT_TRUE(GoRegexp("^(?:gpu-[0-9]+)$").MatchString("gpu-12"));
  EXPECT_FALSE(GoRegexp("^(?:gpu-[0-9]+)$").MatchString("gpu-12x"));
  // MatchString finds the pattern anywhere, as JobSet's message patterns are read.
  EXPECT_TRUE(GoRegexp("index 0$").MatchString("matching FailJob rule at index 0"));
  EXPECT_FALSE(GoRegexp("some message").MatchString("some critical error with a message"));
  EXPECT_TRUE(GoRegexp("(?i)node .* not ready").MatchString("Node ip-10-0-1-2 NOT READY"));
  // Both named-group spellings (Go 1.22 reads (?<name>) too), Perl classes, \Q...\E.
  EXPECT_TRUE(GoRegexp("(?P<a>x)(?<b>y)").MatchString("xy"));
  EXPECT_TRUE(GoRegexp("^\\d+\\s\\w$").MatchString("42 a"));
  EXPECT_TRUE(GoRegexp("^\\Q(a)\\E$").MatchString("(a)"));
  // An escaped digit followed by more octal digits is an octal escape, not a backreference.
  EXPECT_TRUE(GoRegexp("^\\101$").MatchString("A"));
  // '[' inside a class and ']' first in a class are members.
  EXPECT_TRUE(GoRegexp("^[]a]+$").MatchString("]a]"));
  EXPECT_TRUE(GoRegexp("^[^]a]$").MatchString("b"));
  // A POSIX class inside a class does not end it: "(?<" there is three members, not a
  // named group.
  EXPECT_TRUE(GoRegexp("^[[:digit:](?<]+$").MatchString("1(?<"));
  EXPECT_FALSE(GoRegexp("^[[:digit:](?<]+$").MatchString("P"));
}

TEST(GoRegexp, MatchingIsLinearInTheInput) {
  // A backtracking engine tries 2^100 ways to split these a's before failing; RE2 runs
  // one pass. Under backtracking this test would not end.
  const std::string as(100, 'a');
  EXPECT_FALSE(GoRegexp("^(?s:(a*)*b)$").MatchString(as));
  EXPECT_FALSE(GoRegexp("^(?s:(a|aa)+b)$").MatchString(as));
  EXPECT_TRUE(GoRegexp("^(?s:(a|aa)+)$").MatchString(as));
}

TEST(GoRegexp, ExpandsTemplatesAsExpandString) {
  // Prometheus's documented example: service="a:c", regex "(.*):.*", replacement "$1".
  const GoRegexp service("^(?s:(.*):.*)$");
  EXPECT_EQ(service.ExpandMatch("a:c", "$1"), "a");
  EXPECT_EQ(service.ExpandMatch("ac", "$1"), std::nullopt);
  // ... and with named groups: "$name" from "(?P<name>.*):(?P<version>.*)".
  const GoRegexp named("^(?s:(?P<name>.*):(?P<version>.*))$");
  EXPECT_EQ(named.ExpandMatch("a:c", "$name"), "a");
  EXPECT_EQ(named.ExpandMatch("a:c", "${version}-${name}"), "c-a");
  // regexp.Expand's documentation: "$1x is equivalent to ${1x}, not ${1}x" (a group that
  // does not exist: nothing); "$10 is equivalent to ${10}"; "$$" is a literal '$'.
  const GoRegexp two("^(a)(b)$");
  EXPECT_EQ(two.ExpandMatch("ab", "$1x"), "");
  EXPECT_EQ(two.ExpandMatch("ab", "${1}x"), "ax");
  EXPECT_EQ(two.ExpandMatch("ab", "$10"), "");
  EXPECT_EQ(two.ExpandMatch("ab", "$$1"), "$1");
  // A '$' without a valid name after it is kept; an unclosed brace too.
  EXPECT_EQ(two.ExpandMatch("ab", "cost $ 5"), "cost $ 5");
  EXPECT_EQ(two.ExpandMatch("ab", "${1"), "${1");
  // Leading zeros make a name, not a number; $0 is the whole match.
  EXPECT_EQ(two.ExpandMatch("ab", "$01"), "");
  EXPECT_EQ(two.ExpandMatch("ab", "<$0>"), "<ab>");
  // A group that took no part in the match expands to nothing.
  EXPECT_EQ(GoRegexp("^(x)?(b)$").ExpandMatch("b", "[$1|$2]"), "[|b]");
}

}  // namespace
}  // namespace gputwin::core
