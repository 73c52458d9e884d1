// gputwin lint: the sharp edges of GPU clusters found in the manifests alone, before
// anything runs. Each rule has an id, a severity and a page section in docs/lint.md.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/manifests.h"

namespace gputwin::lint {

enum class Severity { kNote = 0, kWarning = 1, kError = 2 };
const char* SeverityName(Severity s);  // note | warning | error (SARIF's levels)
bool ParseSeverity(const std::string& s, Severity* out);

struct Rule {
  const char* id;
  Severity severity;
  const char* title;  // one line: what is wrong
  const char* fix;    // one line: what to do
};
// Every rule, in docs/lint.md's order.
const std::vector<Rule>& Rules();
const Rule* FindRule(const std::string& id);

struct Finding {
  std::string rule;
  Severity severity = Severity::kWarning;
  SourceRef where;
  std::string object;  // Kind namespace/name
  std::string message;
};

// A lint configuration file (kind LintConfig): rules turned off, severities changed.
struct Config {
  std::vector<std::string> disable;
  std::map<std::string, Severity> severity;
};
// Throws InputError naming file, line and field.
Config LoadConfig(const std::string& path);

// Reads files for lint: what the API server would refuse is kept as a finding, not an
// error. Throws InputError for what cannot be read at all.
api::Manifests LoadForLint(const std::vector<std::string>& paths);

// Runs every enabled rule; findings sorted by file, line, column, rule. Objects annotated
// `gputwin.io/lint-ignore: "RULE[,RULE]: reason"` drop those rules' findings.
std::vector<Finding> Lint(const api::Manifests& m, const Config& config);

std::string FormatText(const std::vector<Finding>& findings);
std::string FormatJson(const std::vector<Finding>& findings);
// SARIF 2.1.0: one run, the rules that exist, a results array (empty when clean).
std::string FormatSarif(const std::vector<Finding>& findings, const std::string& version);

inline constexpr const char* kIgnoreAnnotation = "gputwin.io/lint-ignore";

}  // namespace gputwin::lint
