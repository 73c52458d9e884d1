// Decoders shared by several kinds: metadata, pod templates, selectors.
#pragma once

#include "api/types.h"
#include "api/yaml_reader.h"

namespace gputwin::api {

ObjectMeta DecodeMeta(YamlReader& obj, bool namespaced, bool require_name = true);
// Metadata inside a pod template (no name required).
ObjectMeta DecodeTemplateMeta(YamlReader& meta);
PodSpec DecodePodSpec(YamlReader& spec);
// A pod spec's `affinity`: nodeAffinity, podAffinity and podAntiAffinity into `out`.
void DecodeAffinity(YamlReader& aff, PodSpec* out);
PodTemplateSpec DecodePodTemplate(YamlReader& tmpl);
LabelSelector DecodeLabelSelector(YamlReader& sel);
TopologySpreadConstraint DecodeTopologySpreadConstraint(YamlReader& c);
std::vector<Taint> DecodeTaints(YamlReader& r, const std::string& key);
std::vector<Toleration> DecodeTolerations(YamlReader& r, const std::string& key);
// Fails with the API server's "Unsupported value" message unless `value` is allowed.
void CheckOneOf(YamlReader& r, const std::string& key, const std::string& value,
                std::initializer_list<const char*> allowed);
std::vector<NodeSelectorTerm> DecodeNodeSelectorTerms(YamlReader& r, const std::string& key);

}  // namespace gputwin::api
