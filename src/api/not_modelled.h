// Fields the twin reads and knows change what the real cluster does, but does not model:
// one table (not_modelled.cc, listed in docs/not-modelled.md), so a manifest using one
// gets a warning with its file:line, what upstream would do and what the twin does instead.
#pragma once

#include <string>
#include <vector>

#include "api/yaml_reader.h"

namespace gputwin::api {

struct NotModelledField {
  const char* kind;      // Job, Pod (any pod template), ClusterQueue, ...
  const char* path;      // spec.podFailurePolicy
  const char* upstream;  // what the real system does with it
  const char* twin;      // what the twin does instead
};

const std::vector<NotModelledField>& NotModelledFields();

// Kinds the twin recognises but does not model (warned, with what upstream does), and
// kinds that change nothing the twin simulates (accepted silently and kept for lint).
struct NotModelledKind {
  const char* group;     // kueue.x-k8s.io ("" for the core group)
  const char* kind;      // AdmissionCheck
  const char* upstream;  // what the real system does with one
  const char* twin;      // what the twin does instead; nullptr: no effect, read silently
};

const std::vector<NotModelledKind>& NotModelledKinds();
// The entry for an apiVersion's group and a kind, or nullptr.
const NotModelledKind* FindNotModelledKind(const std::string& api_version, const std::string& kind);

// Warns for each field of the table under `path` (the reader's place in a `kind` object)
// that the reader has, and marks it read.
void WarnNotModelled(YamlReader& r, const char* kind, const std::string& path);

}  // namespace gputwin::api
