// Patches on Kubernetes objects as `kubectl patch --type strategic|merge|json` and
// kustomize's `patches:` apply them, on the YAML tree before it is decoded:
// - strategic: apimachinery's strategic merge patch (pkg/util/strategicpatch). Lists with a
//   patch strategy in k8s.io/api (containers by name, env by name, ports by containerPort,
//   ...) merge by their key; the `$patch: replace|delete|merge` and
//   `$deleteFromPrimitiveList/<field>` directives apply. On custom resources (no Go struct
//   tags) every list is replaced, as kustomize does without an OpenAPI schema.
// - merge: JSON merge patch (RFC 7386): maps merge, null deletes, anything else replaces.
// - json: JSON patch (RFC 6902): add, remove, replace, move, copy and test at JSON pointers.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "core/errors.h"

namespace gputwin::api {

// Which objects a patch applies to, as kustomize's patch target: kind is required; an
// absent namespace or name matches every one.
struct PatchTarget {
  std::string kind, namespace_, name;
  bool has_namespace = false;
  std::string Describe() const;
};

struct ObjectPatch {
  SourceRef source;                // where the patch is written (a Sweep's variant)
  std::string type = "strategic";  // strategic | merge | json
  PatchTarget target;
  YAML::Node patch;  // a mapping (strategic, merge) or a list of operations (json)
};

// The patches one run applies while its inputs are decoded, and how many objects each met:
// a patch that meets none is an error (kustomize: "no matches for Id").
struct PatchSet {
  std::vector<ObjectPatch> patches;
  std::vector<int> matched;  // per patch
  // Throws InputError at the first patch that matched no object.
  void CheckAllMatched() const;
};

// Applies every patch of `set` whose target selects `object` (a mapping with apiVersion,
// kind and metadata), in order. Returns the last that applied, or null. Throws InputError naming
// the patch's source on a patch that cannot apply (a JSON patch path that does not exist, a failed
// test, a patch of the wrong shape).
const ObjectPatch* ApplyPatches(PatchSet* set, YAML::Node object);

// The three patch types on one object; `builtin` selects strategic merge's list strategies
// (false for custom resources). Throw std::invalid_argument with the reason.
void StrategicMergePatch(YAML::Node object, const YAML::Node& patch, const std::string& kind,
                         bool builtin);
YAML::Node JsonMergePatch(YAML::Node target, const YAML::Node& patch);
void JsonPatch(YAML::Node object, const YAML::Node& operations);

// Whether apiVersion names a group served by Kubernetes itself (core, apps, batch, ...),
// whose types carry patch strategies.
bool IsBuiltinApiVersion(const std::string& api_version);

}  // namespace gputwin::api
