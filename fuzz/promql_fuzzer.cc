// The PromQL subset (telemetry/promql.h): parsing, and evaluating what parses over a tiny
// registry (a gauge, a counter and a histogram of two pods, one with a long name, scraped every 30
// s for 5 minutes, one series going stale). A query is either answered or refused with
// std::invalid_argument, as KEDA's trigger and the rule manager expect; anything else is a
// finding.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "telemetry/promql.h"

namespace {

using namespace gputwin;
using namespace gputwin::telemetry;

const Time kT0{1767225600LL * 1'000'000'000};

const Registry& TinyRegistry() {
  static const Registry* reg = [] {
    auto* r = new Registry;
    MetricDesc g;
    g.name = "vllm:num_requests_waiting";
    g.label_names = {"pod", "namespace"};
    r->Declare("x", g);
    MetricDesc c;
    c.name = "vllm:generation_tokens_total";
    c.type = MetricType::kCounter;
    c.label_names = {"pod", "namespace"};
    r->Declare("x", c);
    MetricDesc h;
    h.name = "vllm:time_to_first_token_seconds";
    h.type = MetricType::kHistogram;
    h.label_names = {"pod", "namespace"};
    h.buckets = {0.1, 0.5, 2.5};
    r->Declare("x", h);
    const auto gw = r->Find(g.name), ct = r->Find(c.name), ht = r->Find(h.name);
    // Pod names run to 63 characters and more: a regular expression that backtracks
    // exponentially shows here.
    const Labels a = {{"pod", "a"}, {"namespace", "ml"}},
                 b = {{"pod", std::string(61, 'a') + "-0"}, {"namespace", "ml"}};
    for (int t = 0; t <= 300; t += 30) {
      r->Set(r->At(gw, a), t % 7);
      if (t <= 150) r->Set(r->At(gw, b), 5);
      if (t == 150) r->Retire(r->At(gw, b), kT0 + Duration::Seconds(t));
      r->Set(r->At(ct, a), t < 200 ? t * 3 : t - 200);  // a counter reset
      r->Observe(r->At(ht, a), 0.01 * t);
      r->Sample("x", kT0 + Duration::Seconds(t));
    }
    return r;
  }();
  return *reg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::optional<PromQuery> query;
  try {
    query.emplace(PromQuery::Parse(text));
  } catch (const std::invalid_argument&) {
    return 0;
  }
  for (int at : {0, 150, 300, 900}) {
    try {
      query->Evaluate(TinyRegistry(), kT0 + Duration::Seconds(at));
    } catch (const std::invalid_argument&) {
      return 0;
    }
  }
  return 0;
}
