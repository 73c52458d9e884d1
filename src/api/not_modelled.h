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

// Warns for each field of the table under `path` (the reader's place in a `kind` object)
// that the reader has, and marks it read.
void WarnNotModelled(YamlReader& r, const char* kind, const std::string& path);

}  // namespace gputwin::api
