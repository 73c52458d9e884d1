// gputwin's own kind gputwin.io/v1alpha1 Sweep (docs/sweep.md): a base scenario, axes of
// named variants given as patches on its objects, and the points to run.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/object_patch.h"
#include "api/types.h"

namespace gputwin::api {

struct SweepVariant {
  SourceRef source;
  std::string name;
  std::vector<ObjectPatch> patches;  // on the scenario's objects, the Scenario itself included
};

struct SweepAxis {
  SourceRef source;
  std::string name;
  std::vector<SweepVariant> variants;
};

// One point of an explicit list: a variant name per axis.
struct SweepPoint {
  SourceRef source;
  std::map<std::string, std::string> variants;
};

struct Sweep {
  ObjectMeta metadata;
  std::string scenario;  // the base Scenario file (resolved path)
  std::vector<SweepAxis> axes;
  std::vector<SweepPoint> points;  // empty: every combination of the axes' variants
  std::vector<uint64_t> seeds;     // repetitions; empty: the scenario's own seed
  std::optional<Duration> duration;
};

}  // namespace gputwin::api
