// gputwin.io/v1alpha1 Sweep (docs/sweep.md).
#include <charconv>
#include <filesystem>
#include <set>

#include "api/decode_core.h"
#include "api/decode_kinds.h"
#include "api/sweep_types.h"

namespace gputwin::api {
namespace {

// Axis and variant names become table columns, folder names and PromQL-like labels.
void CheckName(YamlReader& r, const std::string& key, const std::string& name) {
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) {
      r.Fail(key, "Invalid value: \"" + name +
                      "\": letters, digits, '-', '_' and '.' only (it names table columns)");
    }
  }
}

ObjectPatch DecodePatch(YamlReader& p) {
  ObjectPatch out;
  out.source = p.Where();
  out.type = p.String("type", "strategic");
  if (out.type != "strategic" && out.type != "merge" && out.type != "json") {
    p.Fail("type", "Unsupported value: \"" + out.type +
                       "\": supported values: \"strategic\", \"merge\", \"json\" (kubectl patch "
                       "--type)");
  }
  auto t = p.Object("target");
  if (!t) p.Fail("target", "Required value: the kind (and name) of the objects to patch");
  out.target.kind = t->RequiredString("kind");
  out.target.name = t->String("name");
  if (auto ns = t->OptString("namespace")) {
    out.target.namespace_ = *ns;
    out.target.has_namespace = true;
  }
  t->Ignore({"group", "version"});  // kustomize's; the kind decides here
  t->Finish();
  if (!p.Has("patch")) p.Fail("patch", "Required value");
  YAML::Node patch = p.Raw("patch");
  p.Ignore({"patch"});
  if (patch.IsScalar()) {
    // kustomize writes a patch as a YAML or JSON string (`patch: |-`).
    const auto docs = LoadAllDocuments(patch.Scalar(), p.file());
    if (docs.size() != 1) p.Fail("patch", "expected one YAML document in the patch text");
    patch.reset(docs.front());  // rebinds; `=` would overwrite the file's node
  }
  if (out.type == "json" ? !patch.IsSequence() : !patch.IsMap()) {
    p.Fail("patch", out.type == "json" ? "a JSON patch is a list of operations (op, path, value)"
                                       : "a " + out.type + " patch is a mapping");
  }
  out.patch = patch;
  p.Finish();
  return out;
}

// A bound: a number, a Go duration ("30m": seconds) or a percentage ("0.1%": a fraction).
double DecodeBound(YamlReader& o, const std::string& key) {
  const YAML::Node n = o.Raw(key);
  const std::string text = n.IsScalar() ? n.Scalar() : "";
  if (!text.empty() && text.back() == '%') {
    double v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, v);
    if (ec == std::errc() && ptr == text.data() + text.size() - 1) {
      o.Ignore({key.c_str()});
      return v / 100;
    }
  }
  double v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (!text.empty() && ec == std::errc() && ptr == text.data() + text.size()) {
    o.Ignore({key.c_str()});
    return v;
  }
  std::string err;
  if (auto d = ParseDuration(text, &err)) {
    o.Ignore({key.c_str()});
    return static_cast<double>(d->ns) / 1e9;
  }
  o.Fail(key, "\"" + text + "\" is not a number, a duration (30m) or a percentage (0.1%)");
}

// The patch with every "${value}" in its scalars replaced by `value` (a range axis).
YAML::Node WithValue(const YAML::Node& n, const std::string& value) {
  if (n.IsScalar()) {
    std::string text = n.Scalar();
    for (size_t at = text.find("${value}"); at != std::string::npos;
         at = text.find("${value}", at + value.size())) {
      text.replace(at, 8, value);
    }
    return YAML::Node(text);
  }
  if (n.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& item : n) out.push_back(WithValue(item, value));
    return out;
  }
  if (n.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& kv : n) out[WithValue(kv.first, value).Scalar()] = WithValue(kv.second, value);
    return out;
  }
  return YAML::Clone(n);
}

}  // namespace

void DecodeSweep(YamlReader& r, Manifests* out) {
  Sweep s;
  s.metadata = DecodeMeta(r, false);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  {
    namespace fs = std::filesystem;
    const std::string base = spec->RequiredString("scenario");
    s.scenario = fs::path(base).is_absolute()
                     ? base
                     : (fs::path(r.file()).parent_path() / base).lexically_normal().string();
    std::error_code ec;
    if (!fs::is_regular_file(s.scenario, ec)) {
      spec->Fail("scenario", "Not found: " + s.scenario + " (no such file)");
    }
  }
  if (auto d = spec->OptDuration("duration")) {
    if (d->ns <= 0) spec->Fail("duration", "must be positive");
    s.duration = *d;
  }
  if (spec->Has("seeds")) {
    const YAML::Node seeds = spec->Raw("seeds");
    spec->Ignore({"seeds"});
    if (!seeds.IsSequence() || seeds.size() == 0) {
      spec->Fail("seeds", "expected a non-empty list of seeds (whole numbers)");
    }
    std::set<uint64_t> seen;
    for (size_t i = 0; i < seeds.size(); ++i) {
      const std::string field = spec->FieldPath("seeds") + "[" + std::to_string(i) + "]";
      uint64_t v = 0;
      const std::string text = seeds[i].IsScalar() ? seeds[i].Scalar() : "";
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
        spec->FailAt(seeds[i], field,
                     "\"" + text + "\" is not a seed (a whole number from 0 to 2^64-1)");
      }
      if (!seen.insert(v).second) spec->FailAt(seeds[i], field, "Duplicate value: " + text);
      s.seeds.push_back(v);
    }
  }
  std::set<std::string> axis_names;
  for (auto& a : spec->ObjectList("axes")) {
    SweepAxis axis;
    axis.source = a.Where();
    axis.name = a.RequiredString("name");
    CheckName(a, "name", axis.name);
    if (!axis_names.insert(axis.name).second) {
      a.Fail("name", "Duplicate value: \"" + axis.name + "\"");
    }
    if (auto range = a.Object("range")) {
      if (a.Has("variants")) a.Fail("variants", "an axis has variants or a range, not both");
      constexpr int64_t kBound = 1'000'000'000'000;  // far from int64's edges
      const int64_t from = range->Int("from", -kBound, kBound).value_or(0);
      const auto to = range->Int("to", -kBound, kBound);
      const int64_t step = range->Int("step", 1, 1'000'000'000).value_or(1);
      if (!to) range->Fail("to", "Required value");
      if (*to < from) range->Fail("to", "must be at least from");
      if ((*to - from) / step >= 10'000) range->Fail("step", "more than 10,000 values");
      range->Finish();
      std::vector<ObjectPatch> templates;
      for (auto& p : a.ObjectList("patches")) templates.push_back(DecodePatch(p));
      if (templates.empty()) a.Fail("patches", "Required value: patches using ${value}");
      axis.integer = true;
      for (int64_t v = from; v <= *to; v += step) {
        SweepVariant variant;
        variant.source = axis.source;
        variant.name = std::to_string(v);
        for (const auto& t : templates) {
          ObjectPatch p = t;
          p.patch.reset(WithValue(t.patch, variant.name));  // `=` would write into t.patch
          variant.patches.push_back(std::move(p));
        }
        axis.variants.push_back(std::move(variant));
      }
    }
    std::set<std::string> variant_names;
    for (auto& v : a.ObjectList("variants")) {
      SweepVariant variant;
      variant.source = v.Where();
      variant.name = v.RequiredString("name");
      CheckName(v, "name", variant.name);
      if (!variant_names.insert(variant.name).second) {
        v.Fail("name", "Duplicate value: \"" + variant.name + "\"");
      }
      for (auto& p : v.ObjectList("patches")) variant.patches.push_back(DecodePatch(p));
      v.Finish();
      axis.variants.push_back(std::move(variant));
    }
    if (axis.variants.empty()) a.Fail("variants", "Required value: at least one variant");
    a.Finish();
    s.axes.push_back(std::move(axis));
  }
  if (s.axes.empty()) spec->Fail("axes", "Required value: at least one axis");
  for (auto& p : spec->ObjectList("points")) {
    SweepPoint point;
    point.source = p.Where();
    for (const auto& axis : s.axes) {
      const std::string v = p.RequiredString(axis.name);
      bool known = false;
      for (const auto& variant : axis.variants) known = known || variant.name == v;
      if (!known) p.Fail(axis.name, "\"" + v + "\" is not a variant of axis " + axis.name);
      point.variants[axis.name] = v;
    }
    p.Finish();
    s.points.push_back(std::move(point));
  }
  for (auto& o : spec->ObjectList("objectives")) {
    api::SweepObjective objective;
    objective.source = o.Where();
    objective.figure = o.RequiredString("figure");
    if (o.Has("max")) objective.max = DecodeBound(o, "max");
    if (o.Has("min")) objective.min = DecodeBound(o, "min");
    if (!objective.max && !objective.min) {
      o.Fail("max", "Required value: max or min (or both)");
    }
    o.Finish();
    s.objectives.push_back(std::move(objective));
  }
  s.minimize = spec->String("minimize", "cost");
  spec->Finish();
  r.Finish();
  out->sweeps.push_back(std::move(s));
}

}  // namespace gputwin::api
