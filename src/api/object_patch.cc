// kubectl patch's three patch types on yaml-cpp trees. yaml-cpp assigns nodes by
// reference, so every value taken from a patch is cloned first: one patch applies to many
// objects and many runs, and must never change.
#include "api/object_patch.h"

#include <algorithm>
#include <stdexcept>

namespace gputwin::api {

namespace {

// The key of a mapping entry, without creating one (yaml-cpp's non-const operator[] adds).
YAML::Node Lookup(const YAML::Node& map, const std::string& key) {
  if (!map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& kv : map) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

bool Present(const YAML::Node& n) {
  return n.IsDefined();
}

std::string ScalarOr(const YAML::Node& n, const std::string& fallback = "") {
  return n.IsDefined() && n.IsScalar() ? n.Scalar() : fallback;
}

// Deep equality of two trees, scalars by their text (YAML leaves them untyped).
bool SameValue(const YAML::Node& a, const YAML::Node& b) {
  if (a.Type() != b.Type()) return false;
  switch (a.Type()) {
    case YAML::NodeType::Scalar:
      return a.Scalar() == b.Scalar();
    case YAML::NodeType::Sequence:
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (!SameValue(a[i], b[i])) return false;
      }
      return true;
    case YAML::NodeType::Map: {
      if (a.size() != b.size()) return false;
      for (const auto& kv : a) {
        if (!kv.first.IsScalar()) return false;
        const YAML::Node other = Lookup(b, kv.first.Scalar());
        if (!Present(other) || !SameValue(kv.second, other)) return false;
      }
      return true;
    }
    default:
      return true;  // null, undefined
  }
}

// ---- strategic merge patch ----------------------------------------------------------------

// k8s.io/api's `patchStrategy:"merge"` lists and their `patchMergeKey`s; "" for a list of
// scalars merged as a set (ObjectMeta.finalizers). Lists not here are replaced whole.
struct ListStrategy {
  bool merge = false;
  std::string key;
};

ListStrategy StrategyOf(const std::string& field, const std::string& kind) {
  static const std::pair<const char*, const char*> kByName[] = {
      {"containers", "name"},
      {"initContainers", "name"},
      {"ephemeralContainers", "name"},
      {"volumes", "name"},
      {"imagePullSecrets", "name"},
      {"hostAliases", "ip"},
      {"env", "name"},
      {"volumeMounts", "mountPath"},
      {"volumeDevices", "devicePath"},
      {"resourceClaims", "name"},
      {"schedulingGates", "name"},
      {"topologySpreadConstraints", "topologyKey"},
      {"ownerReferences", "uid"},
      {"resizePolicy", "resourceName"},
  };
  for (const auto& [name, key] : kByName) {
    if (field == name) return {true, key};
  }
  // ServicePort merges by port; ContainerPort by containerPort.
  if (field == "ports") return {true, kind == "Service" ? "port" : "containerPort"};
  if (field == "finalizers") return {true, ""};
  return {};
}

YAML::Node Copy(const YAML::Node& n) {
  return YAML::Clone(n);
}

bool IsDirectiveKey(const std::string& key) {
  return !key.empty() && key[0] == '$';
}

std::string PatchDirective(const YAML::Node& patch_map) {
  return ScalarOr(Lookup(patch_map, "$patch"));
}

void MergeMap(YAML::Node original, const YAML::Node& patch, const std::string& kind, bool builtin);

// A value of the patch for a key the original lacks: merged into an empty value of its
// shape, so that directives inside it are applied, not copied.
YAML::Node Fresh(const YAML::Node& patch_value, const std::string& field, const std::string& kind,
                 bool builtin) {
  if (patch_value.IsMap()) {
    YAML::Node empty(YAML::NodeType::Map);
    MergeMap(empty, patch_value, kind, builtin);
    return empty;
  }
  if (patch_value.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& item : patch_value) {
      if (item.IsMap() && !PatchDirective(item).empty()) continue;  // nothing to delete from
      out.push_back(Fresh(item, field, kind, builtin));
    }
    return out;
  }
  return Copy(patch_value);
}

YAML::Node MergeList(const YAML::Node& original, const YAML::Node& patch, const std::string& field,
                     const std::string& kind, bool builtin) {
  const ListStrategy s = builtin ? StrategyOf(field, kind) : ListStrategy{};
  if (!s.merge) return Fresh(patch, field, kind, builtin);
  if (s.key.empty()) {  // a set of scalars: the patch's values are added
    YAML::Node out = Copy(original);
    for (const auto& v : patch) {
      bool there = false;
      for (const auto& o : out) there = there || SameValue(o, v);
      if (!there) out.push_back(Copy(v));
    }
    return out;
  }
  // `- $patch: replace` in the list: the list becomes the patch's other items.
  for (const auto& item : patch) {
    if (item.IsMap() && PatchDirective(item) == "replace") {
      YAML::Node out(YAML::NodeType::Sequence);
      for (const auto& other : patch) {
        if (!(other.IsMap() && PatchDirective(other) == "replace"))
          out.push_back(Fresh(other, field, kind, builtin));
      }
      return out;
    }
  }
  std::vector<YAML::Node> items;
  for (const auto& o : original) items.push_back(Copy(o));
  for (const auto& item : patch) {
    if (!item.IsMap()) {
      throw std::invalid_argument(field + ": a list merged by " + s.key +
                                  " takes mappings, not a " +
                                  (item.IsSequence() ? "list" : "scalar"));
    }
    const YAML::Node key_node = Lookup(item, s.key);
    if (!Present(key_node) || !key_node.IsScalar()) {
      throw std::invalid_argument(field + ": an item without its merge key \"" + s.key +
                                  "\" (strategic merge patch merges " + field + " by " + s.key +
                                  ")");
    }
    const std::string key = key_node.Scalar();
    auto same = [&](const YAML::Node& o) { return ScalarOr(Lookup(o, s.key), "\x01") == key; };
    if (PatchDirective(item) == "delete") {
      items.erase(std::remove_if(items.begin(), items.end(), same), items.end());
      continue;
    }
    auto it = std::find_if(items.begin(), items.end(), same);
    if (it != items.end() && it->IsMap()) {
      MergeMap(*it, item, kind, builtin);
    } else {
      items.push_back(Fresh(item, field, kind, builtin));
    }
  }
  YAML::Node out(YAML::NodeType::Sequence);
  for (auto& i : items) out.push_back(i);
  return out;
}

void MergeMap(YAML::Node original, const YAML::Node& patch, const std::string& kind, bool builtin) {
  const std::string directive = PatchDirective(patch);
  if (directive == "replace" || directive == "delete") {
    YAML::Node replacement(YAML::NodeType::Map);
    if (directive == "replace") {
      for (const auto& kv : patch) {
        if (!IsDirectiveKey(kv.first.Scalar())) replacement[kv.first.Scalar()] = Copy(kv.second);
      }
    }
    original = replacement;
    return;
  }
  if (!directive.empty() && directive != "merge") {
    throw std::invalid_argument("$patch: \"" + directive +
                                "\" is not a directive (replace, delete or merge)");
  }
  if (const YAML::Node retain = Lookup(patch, "$retainKeys"); Present(retain)) {
    if (!retain.IsSequence()) throw std::invalid_argument("$retainKeys: expected a list of keys");
    std::vector<std::string> drop;
    for (const auto& kv : original) {
      bool keep = false;
      for (const auto& k : retain) keep = keep || ScalarOr(k) == kv.first.Scalar();
      if (!keep) drop.push_back(kv.first.Scalar());
    }
    for (const auto& k : drop) original.remove(k);
  }
  for (const auto& kv : patch) {
    const std::string key = kv.first.Scalar();
    if (key == "$patch" || key == "$retainKeys" || key.starts_with("$setElementOrder/")) continue;
    if (key.starts_with("$deleteFromPrimitiveList/")) {
      const std::string field = key.substr(std::string("$deleteFromPrimitiveList/").size());
      YAML::Node list = Lookup(original, field);
      if (!Present(list) || !list.IsSequence()) continue;
      YAML::Node kept(YAML::NodeType::Sequence);
      for (const auto& v : list) {
        bool gone = false;
        for (const auto& d : kv.second) gone = gone || SameValue(v, d);
        if (!gone) kept.push_back(Copy(v));
      }
      original[field] = kept;
      continue;
    }
    if (IsDirectiveKey(key)) {
      throw std::invalid_argument(key +
                                  ": not a strategic merge patch directive the twin knows "
                                  "($patch, $retainKeys, $deleteFromPrimitiveList/, "
                                  "$setElementOrder/)");
    }
    const YAML::Node value = kv.second;
    YAML::Node current = Lookup(original, key);
    if (value.IsNull()) {
      if (Present(current)) original.remove(key);
      continue;
    }
    if (value.IsMap() && PatchDirective(value) == "delete") {
      if (Present(current)) original.remove(key);
      continue;
    }
    if (Present(current) && current.IsMap() && value.IsMap()) {
      MergeMap(current, value, kind, builtin);
    } else if (Present(current) && current.IsSequence() && value.IsSequence()) {
      original[key] = MergeList(current, value, key, kind, builtin);
    } else {
      original[key] = Fresh(value, key, kind, builtin);
    }
  }
}

// ---- JSON patch ---------------------------------------------------------------------------

std::vector<std::string> ParsePointer(const std::string& pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer[0] != '/') {
    throw std::invalid_argument("\"" + pointer + "\" is not a JSON pointer (it starts with /)");
  }
  std::string token;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(token);
      token.clear();
    } else if (pointer[i] == '~') {
      if (i + 1 < pointer.size() && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
        token += pointer[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        throw std::invalid_argument("\"" + pointer + "\": ~ must be followed by 0 or 1");
      }
    } else {
      token += pointer[i];
    }
  }
  return tokens;
}

// An array index token: digits without a leading zero (RFC 6901).
bool ParseIndex(const std::string& token, size_t* index) {
  if (token.empty() || token.size() > 9 || (token.size() > 1 && token[0] == '0')) return false;
  size_t v = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  *index = v;
  return true;
}

YAML::Node ResolvePointer(const YAML::Node& root, const std::vector<std::string>& tokens,
                          size_t count, const std::string& pointer) {
  YAML::Node n = root;
  for (size_t i = 0; i < count; ++i) {
    const std::string& t = tokens[i];
    if (n.IsMap()) {
      YAML::Node next = Lookup(n, t);
      if (!Present(next)) throw std::invalid_argument(pointer + ": no member \"" + t + "\"");
      n.reset(next);  // rebinds the handle: `n = next` would assign into the tree
    } else if (n.IsSequence()) {
      size_t idx = 0;
      if (!ParseIndex(t, &idx) || idx >= n.size())
        throw std::invalid_argument(pointer + ": \"" + t + "\" is not an index of the list");
      YAML::Node next = n[idx];
      n.reset(next);
    } else {
      throw std::invalid_argument(pointer + ": \"" + t + "\" goes into a scalar");
    }
  }
  return n;
}

YAML::Node Get(const YAML::Node& root, const std::string& pointer) {
  const auto tokens = ParsePointer(pointer);
  return ResolvePointer(root, tokens, tokens.size(), pointer);
}

void Remove(YAML::Node root, const std::string& pointer) {
  const auto tokens = ParsePointer(pointer);
  if (tokens.empty()) throw std::invalid_argument("remove: the whole document cannot be removed");
  YAML::Node parent = ResolvePointer(root, tokens, tokens.size() - 1, pointer);
  const std::string& last = tokens.back();
  if (parent.IsMap()) {
    if (!Present(Lookup(parent, last)))
      throw std::invalid_argument(pointer + ": no member \"" + last + "\"");
    parent.remove(last);
  } else if (parent.IsSequence()) {
    size_t idx = 0;
    if (!ParseIndex(last, &idx) || idx >= parent.size())
      throw std::invalid_argument(pointer + ": \"" + last + "\" is not an index of the list");
    YAML::Node out(YAML::NodeType::Sequence);
    for (size_t i = 0; i < parent.size(); ++i) {
      if (i != idx) out.push_back(parent[i]);
    }
    parent = out;
  } else {
    throw std::invalid_argument(pointer + ": the parent is a scalar");
  }
}

void Add(YAML::Node root, const std::string& pointer, const YAML::Node& value, bool replace) {
  const auto tokens = ParsePointer(pointer);
  if (tokens.empty()) {
    root = Copy(value);
    return;
  }
  YAML::Node parent = ResolvePointer(root, tokens, tokens.size() - 1, pointer);
  const std::string& last = tokens.back();
  if (parent.IsMap()) {
    if (replace && !Present(Lookup(parent, last)))
      throw std::invalid_argument(pointer + ": no member \"" + last + "\" to replace");
    parent[last] = Copy(value);
  } else if (parent.IsSequence()) {
    size_t idx = parent.size();
    if (!(last == "-" && !replace) &&
        (!ParseIndex(last, &idx) || idx > parent.size() || (replace && idx == parent.size()))) {
      throw std::invalid_argument(pointer + ": \"" + last + "\" is not an index of the list");
    }
    YAML::Node out(YAML::NodeType::Sequence);
    for (size_t i = 0; i <= parent.size(); ++i) {
      if (i == idx) out.push_back(Copy(value));
      if (i < parent.size() && !(replace && i == idx)) out.push_back(parent[i]);
    }
    parent = out;
  } else {
    throw std::invalid_argument(pointer + ": the parent is a scalar");
  }
}

}  // namespace

std::string PatchTarget::Describe() const {
  std::string out = kind;
  if (has_namespace) out += "/" + namespace_;
  out += name.empty() ? "/*" : "/" + name;
  return out;
}

void PatchSet::CheckAllMatched() const {
  for (size_t i = 0; i < patches.size(); ++i) {
    if (i >= matched.size() || matched[i] == 0) {
      throw InputError(patches[i].source, "target",
                       "no object matches " + patches[i].target.Describe() +
                           " (kustomize: no matches for the patch's target)");
    }
  }
}

bool IsBuiltinApiVersion(const std::string& api_version) {
  const auto slash = api_version.find('/');
  if (slash == std::string::npos) return true;  // v1: the core group
  const std::string group = api_version.substr(0, slash);
  if (group.find('.') == std::string::npos) return true;  // apps, batch, policy, autoscaling
  return group.ends_with(".k8s.io") && !group.ends_with(".x-k8s.io");
}

void StrategicMergePatch(YAML::Node object, const YAML::Node& patch, const std::string& kind,
                         bool builtin) {
  if (!patch.IsMap()) throw std::invalid_argument("a strategic merge patch is a mapping");
  MergeMap(object, patch, kind, builtin);
}

YAML::Node JsonMergePatch(YAML::Node target, const YAML::Node& patch) {
  if (!patch.IsMap()) return Copy(patch);
  if (!target.IsMap()) target = YAML::Node(YAML::NodeType::Map);
  for (const auto& kv : patch) {
    const std::string key = kv.first.Scalar();
    if (kv.second.IsNull()) {
      if (Present(Lookup(target, key))) target.remove(key);
      continue;
    }
    YAML::Node current = Lookup(target, key);
    if (Present(current) && current.IsMap() && kv.second.IsMap()) {
      JsonMergePatch(current, kv.second);
    } else {
      target[key] = JsonMergePatch(YAML::Node(YAML::NodeType::Null), kv.second);
    }
  }
  return target;
}

void JsonPatch(YAML::Node object, const YAML::Node& operations) {
  if (!operations.IsSequence()) throw std::invalid_argument("a JSON patch is a list of operations");
  for (size_t i = 0; i < operations.size(); ++i) {
    const YAML::Node op = operations[i];
    const std::string where = "[" + std::to_string(i) + "]";
    if (!op.IsMap()) throw std::invalid_argument(where + ": an operation is a mapping");
    const std::string name = ScalarOr(Lookup(op, "op"));
    const YAML::Node path_node = Lookup(op, "path");
    if (!Present(path_node) || !path_node.IsScalar())
      throw std::invalid_argument(where + ": path is required");
    const std::string path = path_node.Scalar();
    const YAML::Node value = Lookup(op, "value");
    auto need_value = [&] {
      if (!Present(value)) throw std::invalid_argument(where + ": " + name + " needs a value");
    };
    auto from = [&] {
      const YAML::Node f = Lookup(op, "from");
      if (!Present(f) || !f.IsScalar()) throw std::invalid_argument(where + ": from is required");
      return f.Scalar();
    };
    try {
      if (name == "add") {
        need_value();
        Add(object, path, value, false);
      } else if (name == "remove") {
        Remove(object, path);
      } else if (name == "replace") {
        need_value();
        Add(object, path, value, true);
      } else if (name == "move") {
        const std::string f = from();
        if (path.starts_with(f + "/"))
          throw std::invalid_argument("from " + f + " is a prefix of path " + path);
        const YAML::Node moved = Copy(Get(object, f));
        Remove(object, f);
        Add(object, path, moved, false);
      } else if (name == "copy") {
        Add(object, path, Get(object, from()), false);
      } else if (name == "test") {
        need_value();
        if (!SameValue(Get(object, path), value))
          throw std::invalid_argument("test failed: " + path + " does not hold the value given");
      } else {
        throw std::invalid_argument("op: \"" + name +
                                    "\" is not one of add, remove, replace, move, copy, test");
      }
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(where + " " + name + ": " + e.what());
    }
  }
}

const ObjectPatch* ApplyPatches(PatchSet* set, YAML::Node object) {
  if (set == nullptr || set->patches.empty() || !object.IsMap()) return nullptr;
  set->matched.resize(set->patches.size(), 0);
  const std::string kind = ScalarOr(Lookup(object, "kind"));
  const YAML::Node meta = Lookup(object, "metadata");
  const std::string ns = ScalarOr(Lookup(meta, "namespace"));
  const std::string name = ScalarOr(Lookup(meta, "name"));
  const ObjectPatch* applied = nullptr;
  for (size_t i = 0; i < set->patches.size(); ++i) {
    const ObjectPatch& p = set->patches[i];
    if (p.target.kind != kind) continue;
    if (!p.target.name.empty() && p.target.name != name) continue;
    // An object without a namespace lands in "default".
    if (p.target.has_namespace && p.target.namespace_ != (ns.empty() ? "default" : ns)) continue;
    try {
      if (p.type == "json") {
        JsonPatch(object, p.patch);
      } else if (p.type == "merge") {
        JsonMergePatch(object, p.patch);
      } else {
        StrategicMergePatch(object, p.patch, kind,
                            IsBuiltinApiVersion(ScalarOr(Lookup(object, "apiVersion"))));
      }
    } catch (const std::invalid_argument& e) {
      throw InputError(
          p.source, "patch",
          "cannot apply to " + kind + " " + (ns.empty() ? "" : ns + "/") + name + ": " + e.what());
    }
    ++set->matched[i];
    applied = &p;
  }
  return applied;
}

}  // namespace gputwin::api
