// Errors in user input. Every one names the file, the line and the field, so the user can
// go straight to the mistake: "cluster.yaml:14: spec.replicas: \"two\" is not an integer".
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace gputwin {

struct SourceRef {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown (not part of Describe: messages name lines)
  std::string Describe() const { return line > 0 ? file + ":" + std::to_string(line) : file; }
  bool operator==(const SourceRef&) const = default;
};

class InputError : public std::runtime_error {
 public:
  InputError(const SourceRef& where, const std::string& field, const std::string& what)
      : std::runtime_error(where.Describe() + ": " + (field.empty() ? "" : field + ": ") + what) {}
  explicit InputError(const std::string& what) : std::runtime_error(what) {}
};

// Warnings gathered while reading input (unknown kinds and fields, ignored settings).
struct Diagnostics {
  std::vector<std::string> warnings;
  // `gputwin lint` reads leniently: what the API server would refuse (and `run` reports as
  // an error) is kept here, the object read on as if it were allowed, for lint to report.
  struct Rejection {
    SourceRef where;
    std::string field, message;
  };
  bool collect_rejections = false;
  std::vector<Rejection> rejections;
  void Warn(const SourceRef& where, const std::string& field, const std::string& what) {
    warnings.push_back(where.Describe() + ": " + (field.empty() ? "" : field + ": ") + what);
  }
};

}  // namespace gputwin
