// A cursor over one YAML mapping that knows its file, line and field path. It records
// which keys were read so that Finish() can warn about the ones nobody knows.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/types.h"
#include "core/errors.h"

namespace gputwin::api {

class YamlReader {
 public:
  // `line_offset`: for YAML embedded in another file (a ConfigMap value), the line of that
  // file where the embedded text starts, minus one.
  YamlReader(YAML::Node node, std::string file, std::string path, Diagnostics* diag,
             int line_offset = 0);

  SourceRef Where() const { return Where(node_); }
  SourceRef Where(const YAML::Node& n) const;
  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }
  Diagnostics* diagnostics() const { return diag_; }
  std::string FieldPath(const std::string& key) const;

  bool Has(const std::string& key) const;
  YAML::Node Raw(const std::string& key) const { return node_[key]; }
  // Scalars. Required ones throw when missing; optional ones return nullopt/defaults.
  std::string RequiredString(const std::string& key);
  std::string String(const std::string& key, const std::string& fallback = "");
  std::optional<std::string> OptString(const std::string& key);
  std::optional<int64_t> Int(const std::string& key, int64_t min = INT64_MIN,
                             int64_t max = INT64_MAX);
  std::optional<double> Double(const std::string& key);
  std::optional<bool> Bool(const std::string& key);
  std::optional<Quantity> OptQuantity(const std::string& key);
  std::optional<Duration> OptDuration(const std::string& key);
  std::vector<std::string> StringList(const std::string& key);
  Labels StringMap(const std::string& key);
  ResourceList Resources(const std::string& key);

  // Nested mapping (nullopt if absent or null) and list of mappings.
  std::optional<YamlReader> Object(const std::string& key);
  std::vector<YamlReader> ObjectList(const std::string& key);

  // Keys that exist upstream but the twin does not model: accepted silently.
  void Ignore(std::initializer_list<const char*> keys);
  // Warns (file:line: path.key: unknown field) for every key not read or ignored.
  void Finish();

  [[noreturn]] void Fail(const std::string& key, const std::string& what) const;
  [[noreturn]] void FailAt(const YAML::Node& n, const std::string& field,
                           const std::string& what) const;

 private:
  YAML::Node Get(const std::string& key);
  std::string Scalar(const YAML::Node& n, const std::string& key) const;

  YAML::Node node_;
  std::string file_, path_;
  Diagnostics* diag_;
  int line_offset_ = 0;
  std::set<std::string> seen_;
};

// Every document of `text` (named `file` in errors), as YAML::LoadAll reads them, or an
// InputError at the line where the YAML is malformed.
std::vector<YAML::Node> LoadAllDocuments(const std::string& text, const std::string& file);

// Parses a scalar as a Go duration; "what" names the field in the error.
Duration ParseDurationOrThrow(const YamlReader& r, const YAML::Node& n, const std::string& field,
                              const std::string& text);

}  // namespace gputwin::api
