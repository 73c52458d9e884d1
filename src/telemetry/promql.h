// A documented subset of PromQL, evaluated over the run's metric registry as a Prometheus
// server would over what it scraped (README.md: why it is written by hand, and what is
// in the subset). Used by KEDA's prometheus trigger and Prometheus Adapter-style queries.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/time.h"
#include "telemetry/registry.h"

namespace gputwin::telemetry {

struct PromSample {
  Labels labels;  // without __name__ once a function or operator applied
  double value = 0;
};

// The result of a query: an instant vector, or a scalar (one sample with no labels and
// `scalar` set).
struct PromResult {
  std::vector<PromSample> samples;
  bool scalar = false;
};

class PromQuery {
 public:
  // Parses `text`; throws std::invalid_argument with the position and what is not
  // supported.
  static PromQuery Parse(const std::string& text);
  PromResult Evaluate(const Registry& registry, Time at) const;
  ~PromQuery();
  PromQuery(PromQuery&&) noexcept;
  PromQuery& operator=(PromQuery&&) noexcept;

  struct Node;

 private:
  PromQuery() = default;
  std::unique_ptr<Node> root_;
};

}  // namespace gputwin::telemetry
