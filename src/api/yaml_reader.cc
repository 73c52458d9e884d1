#include "api/yaml_reader.h"

#include <yaml-cpp/eventhandler.h>

#include <charconv>
#include <cmath>
#include <sstream>

namespace gputwin::api {

YamlReader::YamlReader(YAML::Node node, std::string file, std::string path, Diagnostics* diag,
                       int line_offset)
    : node_(std::move(node)),
      file_(std::move(file)),
      path_(std::move(path)),
      diag_(diag),
      line_offset_(line_offset) {
  if (!node_.IsMap()) FailAt(node_, path_, "expected a mapping");
}

SourceRef YamlReader::Where(const YAML::Node& n) const {
  auto mark = n.Mark();
  if (mark.line < 0) return SourceRef{file_, 0};
  return SourceRef{file_, mark.line + 1 + line_offset_, mark.column + 1};
}

std::string YamlReader::FieldPath(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void YamlReader::Fail(const std::string& key, const std::string& what) const {
  YAML::Node n = node_[key];
  FailAt(n && n.Mark().line >= 0 ? n : node_, FieldPath(key), what);
}

void YamlReader::FailAt(const YAML::Node& n, const std::string& field,
                        const std::string& what) const {
  throw InputError(Where(n), field, what);
}

bool YamlReader::Has(const std::string& key) const {
  YAML::Node n = node_[key];
  return n.IsDefined() && !n.IsNull();
}

YAML::Node YamlReader::Get(const std::string& key) {
  seen_.insert(key);
  YAML::Node n = node_[key];
  if (!n.IsDefined() || n.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
  return n;
}

std::string YamlReader::Scalar(const YAML::Node& n, const std::string& key) const {
  if (!n.IsScalar())
    FailAt(n, FieldPath(key),
           "expected a string, got a " + std::string(n.IsMap() ? "mapping" : "list"));
  return n.Scalar();
}

std::string YamlReader::RequiredString(const std::string& key) {
  YAML::Node n = Get(key);
  if (!n.IsDefined()) FailAt(node_, FieldPath(key), "Required value");
  std::string v = Scalar(n, key);
  if (v.empty()) FailAt(n, FieldPath(key), "Required value");
  return v;
}

std::string YamlReader::String(const std::string& key, const std::string& fallback) {
  YAML::Node n = Get(key);
  return n.IsDefined() ? Scalar(n, key) : fallback;
}

std::optional<std::string> YamlReader::OptString(const std::string& key) {
  YAML::Node n = Get(key);
  if (!n.IsDefined()) return std::nullopt;
  return Scalar(n, key);
}

std::optional<int64_t> YamlReader::Int(const std::string& key, int64_t min, int64_t max) {
  YAML::Node n = Get(key);
  if (!n.IsDefined()) return std::nullopt;
  std::string s = Scalar(n, key);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    FailAt(n, FieldPath(key), "\"" + s + "\" is not an integer");
  }
  if (v < min) FailAt(n, FieldPath(key), "must be greater than or equal to " + std::to_string(min));
  if (v > max) FailAt(n, FieldPath(key), "must be less than or equal to " + std::to_string(max));
  return v;
}

std::optional<double> YamlReader::Double(const std::string& key) {
  YAML::Node n = Get(key);
  if (!n.IsDefined()) return std::nullopt;
  std::string s = Scalar(n, key);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) {
    FailAt(n, FieldPath(key), "\"" + s + "\" is not a number");
  }
  return v;
}

std::optional<bool> YamlReader::Bool(const std::string& key) {
  YAML::Node n = Get(key);
  if (!n.IsDefined()) return std::nullopt;
  std::string s = Scalar(n, key);
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  FailAt(n, FieldPath(key), "\"" + s + "\" is not a boolean");
}

std::optional<Quantity> YamlReader::OptQuantity(const std::string& key) {
  YAML::Node n = Get(key);
  if (!n.IsDefined()) return std::nullopt;
  std::string s = Scalar(n, key), err;
  auto q = ParseQuantity(s, &err);
  if (!q) FailAt(n, FieldPath(key), "\"" + s + "\" is not a quantity: " + err);
  return q;
}

Duration ParseDurationOrThrow(const YamlReader& r, const YAML::Node& n, const std::string& field,
                              const std::string& text) {
  std::string err;
  auto d = ParseDuration(text, &err);
  if (!d) r.FailAt(n, field, "\"" + text + "\" is not a duration: " + err);
  return *d;
}

std::optional<Duration> YamlReader::OptDuration(const std::string& key) {
  YAML::Node n = Get(key);
  if (!n.IsDefined()) return std::nullopt;
  return ParseDurationOrThrow(*this, n, FieldPath(key), Scalar(n, key));
}

std::vector<std::string> YamlReader::StringList(const std::string& key) {
  YAML::Node n = Get(key);
  std::vector<std::string> out;
  if (!n.IsDefined()) return out;
  if (!n.IsSequence()) FailAt(n, FieldPath(key), "expected a list");
  for (size_t i = 0; i < n.size(); ++i) {
    out.push_back(Scalar(n[i], key + "[" + std::to_string(i) + "]"));
  }
  return out;
}

Labels YamlReader::StringMap(const std::string& key) {
  YAML::Node n = Get(key);
  Labels out;
  if (!n.IsDefined()) return out;
  if (!n.IsMap()) FailAt(n, FieldPath(key), "expected a mapping");
  for (const auto& kv : n) {
    std::string k = kv.first.Scalar();
    if (kv.second.IsNull()) {
      out[k] = "";
      continue;
    }
    if (!kv.second.IsScalar()) FailAt(kv.second, FieldPath(key) + "." + k, "expected a string");
    out[k] = kv.second.Scalar();
  }
  return out;
}

ResourceList YamlReader::Resources(const std::string& key) {
  YAML::Node n = Get(key);
  ResourceList out;
  if (!n.IsDefined()) return out;
  if (!n.IsMap()) FailAt(n, FieldPath(key), "expected a mapping of resource names to quantities");
  for (const auto& kv : n) {
    std::string name = kv.first.Scalar();
    std::string field = FieldPath(key) + "." + name;
    if (!kv.second.IsScalar()) FailAt(kv.second, field, "expected a quantity");
    std::string err, text = kv.second.Scalar();
    auto q = ParseQuantity(text, &err);
    if (!q) FailAt(kv.second, field, "\"" + text + "\" is not a quantity: " + err);
    out[name] = *q;
  }
  return out;
}

std::optional<YamlReader> YamlReader::Object(const std::string& key) {
  YAML::Node n = Get(key);
  if (!n.IsDefined()) return std::nullopt;
  if (!n.IsMap()) FailAt(n, FieldPath(key), "expected a mapping");
  return YamlReader(n, file_, FieldPath(key), diag_, line_offset_);
}

std::vector<YamlReader> YamlReader::ObjectList(const std::string& key) {
  YAML::Node n = Get(key);
  std::vector<YamlReader> out;
  if (!n.IsDefined()) return out;
  if (!n.IsSequence()) FailAt(n, FieldPath(key), "expected a list");
  for (size_t i = 0; i < n.size(); ++i) {
    std::string p = FieldPath(key) + "[" + std::to_string(i) + "]";
    if (!n[i].IsMap()) FailAt(n[i], p, "expected a mapping");
    out.emplace_back(n[i], file_, p, diag_, line_offset_);
  }
  return out;
}

void YamlReader::Ignore(std::initializer_list<const char*> keys) {
  for (const char* k : keys) seen_.insert(k);
}

void YamlReader::Finish() {
  if (!diag_) return;
  for (const auto& kv : node_) {
    std::string k = kv.first.Scalar();
    if (!seen_.count(k)) diag_->Warn(Where(kv.first), FieldPath(k), "unknown field, ignored");
  }
}

namespace {

// Records where each document starts.
class DocumentStarts : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  YAML::Mark start;
};

}  // namespace

std::vector<YAML::Node> LoadAllDocuments(const std::string& text, const std::string& file) {
  try {
    // yaml-cpp 0.7's LoadAll loops forever, growing, on a token no node can start with (a
    // "," where a document begins: jbeder/yaml-cpp#1040, fixed upstream by #1319): its
    // parser reports an empty document there again and again without moving on. A pass
    // over the events first stops at the second document starting where the last did.
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentStarts starts;
    int last = -1;
    while (parser.HandleNextDocument(starts)) {
      if (starts.start.pos <= last) {
        // go-yaml's words for the same input (kubectl apply -f).
        throw InputError(SourceRef{file, starts.start.line + 1}, "",
                         "malformed YAML: did not find expected node content");
      }
      last = starts.start.pos;
    }
    return YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp's depth guard (a few hundred levels) says only "bad file" of a string.
    const std::string why = e.msg == "bad file"
                                ? "nested deeper than the reader allows (a few hundred levels; "
                                  "no Kubernetes object needs that many)"
                                : e.msg;
    throw InputError(SourceRef{file, e.mark.line >= 0 ? e.mark.line + 1 : 0}, "",
                     "malformed YAML: " + why);
  }
}

}  // namespace gputwin::api
