// Workload generators (fixed, Poisson and CSV arrivals of a Pod or a Job template) and the
// replay of an imported trace's pods at their arrival times.
#include <algorithm>
#include <cmath>

#include "core/duration_cast.h"
#include "sim/csv_arrivals.h"
#include "sim/drivers.h"
#include "sim/simulation.h"

namespace gputwin::sim {

void TraceReplay::OnEvent(Time, uint64_t arg) {
  const auto& a = arrivals_[arg];
  cluster::PodRecord rec;
  rec.namespace_ = a.namespace_;
  rec.name = a.name;
  rec.tmpl = a.tmpl;
  std::string error;
  if (sim_.store().CreatePod(std::move(rec), &error) == cluster::kNone) {
    sim_.store().RecordEvent("Warning", "FailedCreate", "Pod", a.namespace_, a.name, error,
                             "gputwin-trace");
  }
}

WorkloadGenerator::WorkloadGenerator(Simulation* sim, const api::WorkloadGenerator& spec)
    : sim_(*sim), spec_(spec), random_(sim->scenario_.seed, "workload/" + spec.name) {
  if (spec.arrival.type == "fixed") offsets_ = spec.arrival.times;
  if (spec.arrival.type == "csv") offsets_ = ReadCsvArrivals(spec);
  std::sort(offsets_.begin(), offsets_.end());
  if (spec.pod) {
    pod_template_ =
        sim->store_.MakeTemplate(spec.pod->metadata, spec.pod->spec, spec.pod->metadata.namespace_);
  }
}

void WorkloadGenerator::Start() {
  const Time base = sim_.scenario_.start_time + spec_.arrival.start;
  if (spec_.arrival.type == "poisson") {
    double mean_s = 3600.0 / spec_.arrival.rate_per_hour;
    sim_.queue_.Schedule(base + SaturatingNs(random_.Exponential(mean_s) * 1e9), this, 0);
  } else if (!offsets_.empty()) {
    sim_.queue_.Schedule(base + offsets_[0], this, 0);
  }
}

void WorkloadGenerator::OnEvent(Time now, uint64_t arg) {
  const auto& a = spec_.arrival;
  if ((a.count && created_ >= *a.count) || (a.stop && now > sim_.scenario_.start_time + *a.stop)) {
    return;
  }
  auto& store = sim_.store_;
  std::string name = spec_.name + "-" + std::to_string(created_);
  ++created_;
  if (spec_.pod) {
    cluster::PodRecord rec;
    rec.namespace_ = spec_.pod->metadata.namespace_;
    rec.name = name;
    rec.tmpl = pod_template_;
    rec.owner = {cluster::OwnerKind::kGenerator, 0};
    std::string error;
    if (store.CreatePod(std::move(rec), &error) == cluster::kNone) {
      store.RecordEvent("Warning", "FailedCreate", "Pod", spec_.pod->metadata.namespace_, name,
                        error, "gputwin-workload/" + spec_.name);
    }
  } else {
    api::Job job = *spec_.job;
    job.metadata.name = name;
    store.AddJob(std::move(job));
  }
  // The next arrival.
  uint64_t next = arg + 1;
  const Time base = sim_.scenario_.start_time + a.start;
  if (a.type == "poisson") {
    sim_.queue_.Schedule(now + SaturatingNs(random_.Exponential(3600.0 / a.rate_per_hour) * 1e9),
                         this, next);
  } else if (next < offsets_.size()) {
    sim_.queue_.Schedule(base + offsets_[next], this, next);
  }
}

}  // namespace gputwin::sim
