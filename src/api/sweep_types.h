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
  // A range axis (`range: {from, to, step}`): its variants are the values in order, each
  // the axis's patches with ${value} replaced; `gputwin search` treats it as ordered.
  bool integer = false;
};

// One point of an explicit list: a variant name per axis.
struct SweepPoint {
  SourceRef source;
  std::map<std::string, std::string> variants;
};

// What a point must achieve: a headline figure's mean over the seeds at most `max` and/or
// at least `min` (seconds for *Seconds figures, a fraction for *Ratio ones).
struct SweepObjective {
  SourceRef source;
  std::string figure;
  std::optional<double> max, min;
};

struct Sweep {
  ObjectMeta metadata;
  std::string scenario;  // the base Scenario file (resolved path)
  std::vector<SweepAxis> axes;
  std::vector<SweepPoint> points;  // empty: every combination of the axes' variants
  std::vector<uint64_t> seeds;     // repetitions; empty: the scenario's own seed
  std::optional<Duration> duration;
  std::vector<SweepObjective> objectives;
  std::string minimize = "cost";  // the figure the best point has least of
};

}  // namespace gputwin::api
