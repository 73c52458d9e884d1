// The proxies in front of the Services: the endpoints each one sees, how it picks one,
// what it retries and when it gives up (README.md, docs/serving.md).
#include <algorithm>
#include <cmath>

#include "core/duration_cast.h"
#include "serving/controller_parts.h"

namespace gputwin::serving {

using cluster::kNone;

void ServingController::ChangeEndpoints(uint32_t r, bool add, Time now) {
  const auto& p = store_.pod(replicas_[r]->pod);
  for (uint32_t t = 0; t < traffic_.size(); ++t) {
    auto& tr = *traffic_[t];
    if (tr.service < 0) continue;
    const auto& svc = manifests_.services[static_cast<size_t>(tr.service)];
    if (!Selects(svc, p)) continue;
    if (svc.publish_not_ready_addresses && !add && replicas_[r]->state != Replica::kDead) {
      continue;  // not-ready pods stay in the endpoints
    }
    const double at = Sec(now) + tr.spec->endpoint_delay.seconds();
    tr.pending.push_back({at, r, add});
    At(AtSec(at), Arg(kEndpoint, t));
  }
}

void ServingController::ApplyEndpoints(uint32_t t, Time now) {
  auto& tr = *traffic_[t];
  const double s = Sec(now);
  if (tr.pending.empty()) return;
  // ewma.lua's sync: a new endpoint starts at the old endpoints' average (of their stored
  // values, as upstream, brought up to date by finishing what they finished).
  double average = 0;
  const bool ewma = tr.balancer == Traffic::Balancer::kEwma;
  if (ewma && !tr.endpoints.empty()) {
    for (uint32_t r : tr.endpoints) {
      Active(r, s);
      average += r < tr.ewma.size() ? tr.ewma[r] : 0;
    }
    average /= double(tr.endpoints.size());
  }
  size_t kept = 0;
  for (size_t i = 0; i < tr.pending.size(); ++i) {
    const auto& c = tr.pending[i];
    if (c.at > s + 1e-9) {
      tr.pending[kept++] = c;
      continue;
    }
    auto it = std::find(tr.endpoints.begin(), tr.endpoints.end(), c.replica);
    if (c.add && it == tr.endpoints.end()) {
      tr.endpoints.push_back(c.replica);
      if (ewma) {
        tr.EwmaReset(c.replica, average, s);
      }
    }
    if (!c.add && it != tr.endpoints.end()) tr.endpoints.erase(it);
  }
  tr.pending.resize(kept);
}

// Requests in flight at a replica at `at` (its engine brought up to date first).
int64_t ServingController::Active(uint32_t r, double at) {
  auto& rep = *replicas_[r];
  // Only a step ending by `at` can finish requests (a stretch of decode steps ends at its
  // first finish), so an engine whose step is still under way is left as it is.
  if (rep.engine && rep.state != Replica::kDead && rep.engine->NextFinish() <= at) {
    rep.engine->AdvanceTo(at, rep.sink.get());
  }
  return rep.active;
}

uint32_t ServingController::Pick(Traffic& tr, const Request* retry, double now) {
  const auto& e = tr.endpoints;
  if (e.empty()) return kNone;
  auto tried = [&](uint32_t r) {
    if (!retry) return false;
    for (int i = 0; i < std::min<int>(retry->attempts, 4); ++i) {
      if (retry->tried[static_cast<size_t>(i)] == r) return true;
    }
    return false;
  };
  if (retry && tr.proxy == Traffic::Proxy::kNginx) {
    // NGINX passes the request to the next server in turn, skipping those it tried.
    for (size_t k = 0; k < e.size(); ++k) {
      const uint32_t r = e[tr.cursor++ % e.size()];
      if (!tried(r)) return r;
    }
    return kNone;
  }
  if (retry && tr.spec->previous_hosts) {
    // previous_hosts rejects a host already tried; selection is re-run once
    // (host_selection_retry_max_attempts), then the last pick stands.
    const uint32_t first = Pick(tr, nullptr, now);
    return tried(first) ? Pick(tr, nullptr, now) : first;
  }
  using Balancer = Traffic::Balancer;
  if (tr.balancer == Balancer::kRoundRobin) return e[tr.cursor++ % e.size()];
  if (tr.balancer == Balancer::kLeastRequest && e.size() > 1) {
    // Envoy's power of two choices: two independent draws; the second wins only with
    // strictly fewer active requests.
    const uint32_t a = e[tr.rng.Below(e.size())], b = e[tr.rng.Below(e.size())];
    return Active(b, now) < Active(a, now) ? b : a;
  }
  if (tr.balancer == Balancer::kEwma && e.size() > 1) {
    // ewma.lua: two distinct endpoints (a partial Fisher-Yates shuffle); the lower decayed
    // score wins, the first on a tie. Scores move only when requests finish.
    const size_t i = tr.rng.Below(e.size());
    size_t j = tr.rng.Below(e.size() - 1);
    if (j >= i) ++j;
    const uint32_t a = e[i], b = e[j];
    Active(a, now);
    Active(b, now);
    return tr.EwmaScore(b, now) < tr.EwmaScore(a, now) ? b : a;
  }
  return e[tr.rng.Below(e.size())];
}

void ServingController::Fail(Request q, uint32_t slot, Failure why, double at) {
  auto& tr = *traffic_[q.traffic];
  const auto& spec = *tr.spec;
  // The outcome of a retried attempt releases its hold on Envoy's circuit breaker.
  if (q.retry_armed) {
    --tr.active_retries;
    q.retry_armed = false;
  }
  // ingress-nginx's ewma learns from a request's first attempt, failed ones too (a refused
  // connection took no time: the endpoint looks fast).
  if (tr.balancer == Traffic::Balancer::kEwma && q.attempts == 1 && why != Failure::kNoEndpoints) {
    tr.EwmaUpdate(q.tried[0], why == Failure::kConnectionRefused ? 0 : at - q.arrival, at);
  }
  // Retry what the proxy may: a connection refused was never sent; a reset before the
  // response started is retried only when the conditions (and NGINX's rule against
  // passing on a POST once sent) allow. A streamed answer starts at once (its headers go
  // out before the first token), so it is never retried once vLLM took it.
  bool retry = false;
  if (why == Failure::kConnectionRefused || why == Failure::kResetBeforeResponse) {
    const bool refused = why == Failure::kConnectionRefused;
    if (tr.proxy == Traffic::Proxy::kEnvoy && q.attempts <= spec.num_retries) {
      for (const auto& c : spec.retry_on) {
        retry |= c == "reset" || c == "5xx" || c == "gateway-error" ||
                 (refused && (c == "connect-failure" || c == "refused-stream"));
      }
    } else if (tr.proxy == Traffic::Proxy::kNginx &&
               (spec.next_upstream_tries == 0 || q.attempts < spec.next_upstream_tries)) {
      const bool error = std::find(spec.next_upstream.begin(), spec.next_upstream.end(), "error") !=
                         spec.next_upstream.end();
      retry = error && (refused || spec.retry_non_idempotent);
    }
  }
  if (retry && tr.proxy == Traffic::Proxy::kEnvoy) {
    // The circuit breaker (ResourceManager retries().canCreate()): max_retries concurrent
    // retries, or the budget's share of the requests in flight; past it the request fails
    // (upstream_rq_retry_overflow).
    const double limit = spec.retry_budget_percent
                             ? std::max(double(spec.min_retry_concurrency),
                                        *spec.retry_budget_percent / 100.0 * double(tr.in_flight))
                             : double(spec.max_retries);
    if (double(tr.active_retries) >= limit) {
      ++stats_[q.traffic].retry_overflow;
      retry = false;
    } else {
      ++tr.active_retries;
      q.retry_armed = true;
    }
  }
  if (retry) {
    ++stats_[q.traffic].retried;
    double delay = 0;
    if (tr.proxy == Traffic::Proxy::kEnvoy) {
      // Fully jittered exponential back-off: U[0, 25 ms x 2^(n-1)), at most 250 ms.
      const double ceiling = std::min(0.250, 0.025 * double(1 << std::min(q.attempts - 1, 4)));
      delay = tr.rng.Uniform() * ceiling;
    }
    if (slot == kNone) slot = HoldRequest();
    requests_[slot] = q;
    At(store_.now() + SaturatingNs(delay * 1e9), Arg(kRetry, slot));
    return;
  }
  ++stats_[q.traffic].failed[static_cast<int>(why)];
  if (slot != kNone) free_requests_.push_back(slot);
}

uint32_t ServingController::HoldRequest() {
  if (!free_requests_.empty()) {
    const uint32_t id = free_requests_.back();
    free_requests_.pop_back();
    return id;
  }
  requests_.emplace_back();
  return static_cast<uint32_t>(requests_.size() - 1);
}

void ServingController::Arrive(uint32_t t, Time now) {
  auto& tr = *traffic_[t];
  const Arrival a = tr.next;
  tr.has_next = tr.source->Next(&tr.next);
  if (tr.has_next) At(AtSec(tr.next.at), Arg(kArrival, t));
  ApplyEndpoints(t, now);
  ++stats_[t].requests;
  Request q;
  q.arrival = a.at;
  q.prompt = a.prompt;
  q.output = a.output;
  q.traffic = t;
  Route(q, kNone, a.at);
}

// One attempt: the proxy picks an endpoint and connects. A first attempt holds no slot in
// requests_: its state travels in the engine's sequence (RequestTag).
void ServingController::Route(Request q, uint32_t slot, double at) {
  auto& tr = *traffic_[q.traffic];
  const uint32_t r = Pick(tr, q.attempts > 0 ? &q : nullptr, at);
  if (r == kNone) return Fail(q, slot, Failure::kNoEndpoints, at);
  if (q.attempts < 4) q.tried[q.attempts] = r;
  ++q.attempts;
  auto& rep = *replicas_[r];
  const bool accepting = rep.listening && rep.state != Replica::kDead && at < rep.sigterm_at;
  if (!accepting) return Fail(q, slot, Failure::kConnectionRefused, at);
  ++tr.in_flight;
  // A streamed answer's headers go out now: the retry's outcome is known.
  if (q.retry_armed && streamed_[q.traffic]) {
    --tr.active_retries;
    q.retry_armed = false;
  }
  if (slot != kNone) requests_[slot] = q;  // a retry keeps the hosts it tried
  rep.engine->AdvanceTo(at, rep.sink.get());
  rep.engine->Add(
      at, RequestTag{slot == kNone ? 0 : uint64_t{slot} + 1, q.arrival, q.output, q.traffic},
      q.prompt, q.output);
  ++rep.active;
  ScheduleWake(r);
}

}  // namespace gputwin::serving
