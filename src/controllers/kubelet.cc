#include "controllers/kubelet.h"

#include <charconv>
#include <cmath>

namespace gputwin::controllers {

using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

Kubelet::Kubelet(Store* store, EventQueue* queue, KubeletConfig config)
    : Controller("kubelet", store, queue, cluster::Watches({WatchKind::kNode, WatchKind::kPod})),
      config_(config) {}

void Kubelet::OnWatch(WatchKind kind, WatchOp op, uint32_t id) {
  if (kind == WatchKind::kNode) {
    // A kubelet that posts again catches up on what happened while it was away.
    if (op != WatchOp::kDeleted && id < frozen_.size() && !frozen_[id].empty() &&
        store_.node(id).kubelet_posting) {
      thawed_.push_back(id);
      RequestReconcile();
    }
    return;
  }
  if (kind != WatchKind::kPod) return;
  auto& p = store_.pod(id);
  if (op == WatchOp::kDeleted || p.Terminal()) {
    if (op == WatchOp::kDeleted) ++p.run_generation;  // cancels pending timers of this pod
    bool was_running = id < progress_.size() && progress_[id].running && !p.Terminal();
    LeaveGpus(id, store_.now());
    LeaveGang(id, store_.now(), p.phase == PodPhase::kSucceeded);
    if (op == WatchOp::kDeleted && was_running) RecordLostWork(id, store_.now());
    ReleaseDevices(id);
    if (op == WatchOp::kDeleted) return;
  }
  if (p.Bound() && !p.Terminal() && (id >= admitted_.size() || !admitted_[id])) {
    if (admitted_.size() <= id) admitted_.resize(id + 1, false);
    admitted_[id] = true;
    bound_.push_back(id);
    RequestReconcile();
  }
}

int64_t Kubelet::PullBandwidth(NodeId n) const {
  const auto& ann = store_.node(n).obj.metadata.annotations;
  auto it = ann.find("gputwin.io/image-pull-bandwidth");
  if (it != ann.end()) {
    std::string err;
    if (auto q = ParseQuantity(it->second, &err); q && q->Value() > 0) return q->Value();
  }
  return config_.default_pull_bytes_per_second;
}

bool Kubelet::Frozen(NodeId node, uint64_t work) {
  if (store_.node(node).kubelet_posting) return false;
  if (frozen_.size() <= node) frozen_.resize(node + 1);
  frozen_[node].push_back(work);
  return true;
}

void Kubelet::Reconcile(Time now) {
  std::vector<NodeId> thawed;
  thawed.swap(thawed_);
  for (NodeId n : thawed) {
    std::vector<uint64_t> work;
    work.swap(frozen_[n]);
    for (uint64_t w : work) {
      if ((w >> 60) == kAdmit) {
        Admit(static_cast<PodId>(w & 0xFFFFFFFF), now);
      } else {
        OnTimer(now, w);
      }
    }
  }
  std::vector<PodId> pods;
  pods.swap(bound_);
  for (PodId p : pods) Admit(p, now);
}

void Kubelet::Admit(PodId id, Time now) {
  auto& p = store_.pod(id);
  if (p.deleted || p.Terminal()) return;
  if (Frozen(p.node, Arg(kAdmit, 0, id))) return;
  auto& node = store_.node(p.node);
  // Admission (lifecycle/predicate.go): a pod given to the node directly (spec.nodeName)
  // may not fit next to the pods the kubelet already admitted; it is rejected, not run.
  for (size_t r = 0; r < p.tmpl->requests.size(); ++r) {
    if (p.tmpl->requests[r] == 0) continue;
    int64_t used = 0;
    for (PodId other : node.pods) {
      if (other != id && other < started_.size() && started_[other]) {
        used += cluster::At(store_.pod(other).tmpl->requests, r);
      }
    }
    int64_t cap = cluster::At(node.allocatable, r);
    if (used + p.tmpl->requests[r] <= cap) continue;
    const std::string& res = store_.resources().Name(r);
    p.reason = "OutOf" + res;
    p.message = "Pod was rejected: Node didn't have enough resource: " + res +
                ", requested: " + std::to_string(p.tmpl->requests[r]) +
                ", used: " + std::to_string(used) + ", capacity: " + std::to_string(cap);
    store_.RecordEvent("Warning", p.reason, "Pod", p.namespace_, p.name, p.message, "kubelet");
    store_.SetPodPhase(id, PodPhase::kFailed);
    return;
  }
  if (!AllocateDevices(id)) return;
  if (started_.size() <= id) started_.resize(id + 1, false);
  started_[id] = true;
  const auto& b = p.tmpl->behavior;
  // Image pulls: images already on the node are not pulled again; an image another pod is
  // still pulling is waited for (the kubelet serialises pulls of one image).
  Duration pull{0};
  bool need_pull = false;
  Time ready = now;
  for (const auto& image : p.tmpl->images) {
    auto it = node.images.find(image);
    if (it == node.images.end()) {
      need_pull = true;
    } else if (it->second > ready) {
      ready = it->second;
    }
  }
  if (need_pull && b.image_size > 0) {
    int64_t bw = PullBandwidth(p.node);
    pull = Duration::Nanoseconds(
        static_cast<int64_t>(static_cast<double>(b.image_size) / static_cast<double>(bw) * 1e9));
    for (const auto& image : p.tmpl->images) {
      if (node.images.count(image)) continue;
      store_.RecordEvent("Normal", "Pulling", "Pod", p.namespace_, p.name,
                         "Pulling image \"" + image + "\"", "kubelet");
    }
  }
  for (const auto& image : p.tmpl->images) node.images.emplace(image, now + pull);
  if (now + pull > ready) ready = now + pull;
  if (p.tmpl->spec->active_deadline_seconds) {
    At(now + Duration::Seconds(*p.tmpl->spec->active_deadline_seconds),
       Arg(kDeadline, p.run_generation, id));
  }
  if (pull.ns > 0) {
    for (const auto& image : p.tmpl->images) {
      store_.RecordEvent("Normal", "Pulled", "Pod", p.namespace_, p.name,
                         "Successfully pulled image \"" + image + "\" in " + FormatDuration(pull),
                         "kubelet");
    }
  }
  if (ready > now) {
    At(ready, Arg(kStart, p.run_generation, id));
  } else {
    StartContainer(id, now);
  }
}

std::string Kubelet::CheckpointKey(PodId id) const {
  const auto& p = store_.pod(id);
  // A Job's task by the Job's name: a JobSet restart recreates its Jobs under their names
  // and the new pods resume from the old ones' checkpoints.
  if (p.owner.kind == cluster::OwnerKind::kJob) {
    const auto& job = store_.jobs()[p.owner.index].obj.metadata;
    return "job/" + job.namespace_ + "/" + job.name + "/" + std::to_string(p.completion_index);
  }
  return "pod/" + p.Key();
}

// A running pod was deleted: the work since its last completed checkpoint is lost; what
// the checkpoints hold is kept for the task's next pod.
void Kubelet::RecordLostWork(PodId id, Time now) {
  const auto& p = store_.pod(id);
  const auto& b = p.tmpl->behavior;
  if (!b.run_time || id >= progress_.size()) return;
  const Progress& pr = progress_[id];
  double done = std::max(0.0, pr.total_ns - pr.work_left_ns);
  double lost = done;
  if (b.checkpoint_interval) {
    double interval = static_cast<double>(b.checkpoint_interval->ns);
    double cycle = interval + static_cast<double>(b.checkpoint_cost.ns);
    double cycles = std::floor(done / cycle);
    double saved = std::min(pr.remaining_real_ns, cycles * interval);
    checkpointed_ns_[CheckpointKey(id)] += saved;
    lost = done - cycles * cycle;
  }
  if (lost <= 0) return;
  cluster::LostWork w;
  w.pod = id;
  w.at = now;
  w.seconds = lost / 1e9;
  w.gpu_seconds = w.seconds * static_cast<double>(p.devices.size());
  w.reason = p.message.empty() ? p.reason : p.message;
  if (p.gang != cluster::kNone) store_.gang(p.gang).lost_gpu_seconds += w.gpu_seconds;
  lost_work_.push_back(std::move(w));
}

void Kubelet::StartContainer(PodId id, Time now) {
  auto& p = store_.pod(id);
  if (p.deleted || p.Terminal()) return;
  if (p.started_at == cluster::kNever) p.started_at = now;
  p.container_started = now;
  p.reason.clear();
  // Readiness probes (prober worker): the first probe at or after initialDelaySeconds, on
  // the worker's periodSeconds ticks from the container's start, succeeds; the pod is Ready
  // once every probed container is. A model server's probe is its serving model's.
  Duration ready_after{0};
  bool probed = false;
  for (const auto& c : p.tmpl->spec->containers) {
    if (!c.readiness_probe) continue;
    probed = true;
    const int64_t period = std::max(c.readiness_probe->period_seconds, 1);
    const int64_t ticks =
        std::max<int64_t>(1, (c.readiness_probe->initial_delay_seconds + period - 1) / period);
    ready_after = std::max(ready_after, Duration::Seconds(ticks * period));
  }
  if (probed && !p.readiness_by_workload) {
    p.readiness_probed = true;
    p.ready_at = cluster::kNever;
    At(now + ready_after, Arg(kReady, p.run_generation, id));
  }
  store_.RecordEvent("Normal", "Started", "Pod", p.namespace_, p.name,
                     "Started container " + p.tmpl->spec->containers.front().name, "kubelet");
  if (p.phase == PodPhase::kRunning) {
    store_.UpdatePod(id);
  } else {
    store_.SetPodPhase(id, PodPhase::kRunning);
  }
  if (progress_.size() <= id) progress_.resize(id + 1);
  Progress& pr = progress_[id];
  pr.running = false;
  pr.exit_pending = false;
  pr.share = 1;
  pr.rate = 1;
  pr.since = now;
  const auto& b = p.tmpl->behavior;
  pr.work_left_ns = b.run_time ? static_cast<double>(b.run_time->ns) : 0;
  pr.remaining_real_ns = pr.work_left_ns;
  if (b.run_time && b.checkpoint_interval) {
    // Resume from the task's last checkpoint; every interval of work costs one write,
    // except at the very end.
    auto it = checkpointed_ns_.find(CheckpointKey(id));
    double saved = it == checkpointed_ns_.end() ? 0 : it->second;
    double left = std::max(0.0, static_cast<double>(b.run_time->ns) - saved);
    double interval = static_cast<double>(b.checkpoint_interval->ns);
    double writes = left > 0 ? std::ceil(left / interval) - 1 : 0;
    pr.remaining_real_ns = left;
    pr.work_left_ns = left + writes * static_cast<double>(b.checkpoint_cost.ns);
  }
  pr.total_ns = pr.work_left_ns;
  JoinGang(id, now);
  if (!p.devices.empty()) {
    std::string why;
    if (!GpuMemoryFits(id, &why)) {
      // The CUDA allocation that does not fit fails and the process exits (see docs).
      store_.RecordEvent("Warning", "GPUOutOfMemory", "Pod", p.namespace_, p.name, why, "kubelet");
      ContainerExited(id, now, 1, why);
      return;
    }
    JoinGpus(id, now);  // sets the rate and schedules the exit
    return;
  }
  pr.running = true;
  pr.rate = GangFactor(id);
  ScheduleExit(id, now);
}

void Kubelet::ContainerExited(PodId id, Time now, int32_t code, const std::string& message) {
  LeaveGpus(id, now);
  auto& p = store_.pod(id);
  if (!message.empty()) p.message = message;
  const std::string& policy = p.tmpl->spec->restart_policy;
  bool restart = policy == "Always" || (policy == "OnFailure" && code != 0);
  LeaveGang(id, now, !restart && code == 0);
  if (!restart) {
    p.exit_code = code;
    p.finished_at = now;
    p.reason = code == 0 ? "Completed" : "Error";
    store_.SetPodPhase(id, code == 0 ? PodPhase::kSucceeded : PodPhase::kFailed);
    return;
  }
  // CrashLoopBackOff (kubelet flowcontrol.Backoff): 10s doubling to 5m; the entry expires,
  // and the back-off starts again at 10s, when the last one is older than 2 × 5m.
  if (backoff_steps_.size() <= id) {
    backoff_steps_.resize(id + 1, 0);
    last_backoff_.resize(id + 1, cluster::kNever);
  }
  if (last_backoff_[id] == cluster::kNever || now - last_backoff_[id] > kMaxRestartBackoff * 2) {
    backoff_steps_[id] = 0;
  }
  last_backoff_[id] = now;
  int32_t n = backoff_steps_[id]++;
  Duration delay =
      std::min(kInitialRestartBackoff * (int64_t{1} << std::min(n, 10)), kMaxRestartBackoff);
  ++p.restart_count;
  p.reason = "CrashLoopBackOff";
  store_.RecordEvent(
      "Warning", "BackOff", "Pod", p.namespace_, p.name,
      "Back-off restarting failed container " + p.tmpl->spec->containers.front().name, "kubelet");
  store_.UpdatePod(id);
  At(now + delay, Arg(kRestart, p.run_generation, id));
}

void Kubelet::OnTimer(Time now, uint64_t arg) {
  auto timer = static_cast<Timer>(arg >> 60);
  uint32_t generation = static_cast<uint32_t>((arg >> 32) & 0xFFFFFFF);
  PodId id = static_cast<PodId>(arg & 0xFFFFFFFF);
  auto& p = store_.pod(id);
  if (p.deleted || p.Terminal()) return;
  if (timer == kExit) {
    if (id >= exit_seq_.size() || (exit_seq_[id] & 0xFFFFFFF) != generation) return;
  } else if ((p.run_generation & 0xFFFFFFF) != generation) {
    return;
  }
  if (Frozen(p.node, arg)) return;  // the node's kubelet is down: nothing reaches the API
  switch (timer) {
    case kStart:
    case kRestart:
      StartContainer(id, now);
      break;
    case kExit:
      if (id < progress_.size()) progress_[id].exit_pending = false;
      ContainerExited(id, now, p.tmpl->behavior.ExitCode(p.completion_index));
      break;
    case kAdmit:
      break;
    case kReady:
      if (p.readiness_by_workload || p.container_started == cluster::kNever) break;
      p.ready_at = now;
      store_.UpdatePod(id);
      break;
    case kDeadline:
      p.reason = "DeadlineExceeded";
      p.message = "Pod was active on the node longer than the specified deadline";
      p.exit_code = 143;  // the kubelet stops the containers
      p.exit_all_containers = true;
      store_.RecordEvent("Normal", "DeadlineExceeded", "Pod", p.namespace_, p.name, p.message,
                         "kubelet");
      store_.SetPodPhase(id, PodPhase::kFailed);
      break;
  }
}

}  // namespace gputwin::controllers
