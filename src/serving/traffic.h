// Request arrivals to a served model: a Poisson process whose rate is constant, a ramp, or
// a diurnal curve (with bursts on top), or a replayed trace such as Azure's public LLM
// inference trace (2023), scaled in rate and looped. Prompt and answer lengths come from
// the trace or from distributions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/scenario.h"
#include "core/random.h"

namespace gputwin::serving {

struct TraceRequest {
  double offset = 0;  // seconds after the trace's first request
  int32_t prompt = 0, output = 0;
};

// Reads the Azure LLM inference trace CSV (TIMESTAMP,ContextTokens,GeneratedTokens);
// rows out of order, bad timestamps or negative counts are errors naming file:line.
std::vector<TraceRequest> ReadAzureLlmTrace(const std::string& file);

struct Arrival {
  double at = 0;  // seconds from the run's start
  int32_t prompt = 0, output = 0;
};

class TrafficSource {
 public:
  // `trace`: the trace's rows when the spec replays one (shared between sources).
  TrafficSource(const api::TrafficSpec& spec, uint64_t seed,
                std::shared_ptr<const std::vector<TraceRequest>> trace, double run_seconds);
  // The next arrival; false when the traffic has ended.
  bool Next(Arrival* out);
  // Requests per second at `t` (before bursts), for reports.
  double BaseRate(double t) const;

 private:
  double Rate(double t) const;  // with bursts
  double MaxRate() const;
  int32_t Draw(const api::TokenDistribution& d);

  const api::TrafficSpec& spec_;
  RandomStream rng_;
  std::shared_ptr<const std::vector<TraceRequest>> trace_;
  double end_ = 0;
  double t_ = 0;
  size_t trace_index_ = 0;
  double trace_loop_offset_ = 0;
};

}  // namespace gputwin::serving
