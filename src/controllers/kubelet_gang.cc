// Gang pace: a distributed job's workers meet in every collective (all-reduce), so none
// advances while one is missing. Upstream has no such object; the pace follows from the
// workers' code (torch.distributed, NCCL), which the twin does not run.
#include <algorithm>
#include <cmath>

#include "controllers/kubelet.h"

namespace gputwin::controllers {

double Kubelet::GangFactor(PodId id) const {
  const uint32_t gang = store_.pod(id).gang;
  if (gang == cluster::kNone) return 1;
  auto it = gangs_.find(gang);
  return it != gangs_.end() && it->second.complete ? 1 : 0;
}

void Kubelet::TallyGang(uint32_t gang, GangState& g, Time now) {
  const double seconds = static_cast<double>((now - g.since).ns) / 1e9;
  g.since = now;
  if (g.running.empty() || seconds <= 0) return;
  double gpus = 0;
  for (PodId m : g.running) gpus += static_cast<double>(store_.pod(m).devices.size());
  auto& figures = store_.gang(gang);
  if (g.complete) {
    figures.advancing_gpu_seconds += gpus * seconds;
  } else {
    figures.waiting_gpu_seconds += gpus * seconds;
    figures.waiting_seconds += seconds;
  }
}

void Kubelet::Finish(Time end) {
  for (auto& [gang, g] : gangs_) TallyGang(gang, g, end);
}

void Kubelet::JoinGang(PodId id, Time now) {
  const uint32_t gang = store_.pod(id).gang;
  if (gang == cluster::kNone) return;
  GangState& g = gangs_[gang];
  if (std::find(g.running.begin(), g.running.end(), id) != g.running.end()) return;
  TallyGang(gang, g, now);
  g.running.push_back(id);
  const bool was = g.complete;
  g.complete = static_cast<int32_t>(g.running.size()) + g.succeeded >= store_.gang(gang).size;
  if (g.complete != was) SetGangPace(gang, now);
}

void Kubelet::LeaveGang(PodId id, Time now, bool succeeded) {
  const uint32_t gang = store_.pod(id).gang;
  if (gang == cluster::kNone) return;
  auto it = gangs_.find(gang);
  if (it == gangs_.end()) return;
  GangState& g = it->second;
  auto member = std::find(g.running.begin(), g.running.end(), id);
  if (member == g.running.end()) return;
  TallyGang(gang, g, now);
  g.running.erase(member);
  if (succeeded) ++g.succeeded;
  const bool was = g.complete;
  g.complete = static_cast<int32_t>(g.running.size()) + g.succeeded >= store_.gang(gang).size;
  if (!was || g.complete) return;
  // A worker is gone mid-run: the others fail their collectives and start again from the
  // last checkpoint they wrote (all of them at once: they advance together).
  const auto& lost_pod = store_.pod(id);
  for (PodId m : g.running) {
    Progress& pr = progress_[m];
    pr.work_left_ns -= static_cast<double>((now - pr.since).ns) * pr.rate;
    pr.since = now;
    const auto& b = store_.pod(m).tmpl->behavior;
    if (!b.run_time) continue;
    const double done = std::max(0.0, pr.total_ns - pr.work_left_ns);
    double kept = 0;
    if (b.checkpoint_interval) {
      const double cycle = static_cast<double>(b.checkpoint_interval->ns + b.checkpoint_cost.ns);
      kept = std::floor(done / cycle) * cycle;
    }
    const double lost = done - kept;
    if (lost <= 0) continue;
    pr.work_left_ns += lost;
    cluster::LostWork w;
    w.pod = m;
    w.at = now;
    w.seconds = lost / 1e9;
    w.gpu_seconds = w.seconds * static_cast<double>(store_.pod(m).devices.size());
    w.reason = "gang " + store_.gang(gang).name + " lost pod " + lost_pod.name +
               (lost_pod.message.empty() ? "" : " (" + lost_pod.message + ")") +
               ": back to the last checkpoint";
    store_.gang(gang).lost_gpu_seconds += w.gpu_seconds;
    lost_work_.push_back(std::move(w));
  }
  SetGangPace(gang, now);
}

void Kubelet::SetGangPace(uint32_t gang, Time now) {
  const GangState& g = gangs_[gang];
  const double factor = g.complete ? 1 : 0;
  for (PodId m : g.running) {
    Progress& pr = progress_[m];
    if (!pr.running) continue;  // joining now: its own start sets its rate
    const double paced = pr.share * factor;
    if (pr.rate == paced) continue;
    pr.work_left_ns -= static_cast<double>((now - pr.since).ns) * pr.rate;
    pr.since = now;
    pr.rate = paced;
    ScheduleExit(m, now);
  }
}

}  // namespace gputwin::controllers
