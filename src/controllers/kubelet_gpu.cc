// The kubelet's GPU side: the device manager hands devices to containers at admission;
// GPU memory and compute shares decide whether and how fast a container runs.
#include <algorithm>
#include <cmath>
#include <set>

#include "controllers/kubelet.h"
#include "core/duration_cast.h"
#include "devices/allocation.h"

namespace gputwin::controllers {

using cluster::PodPhase;

bool Kubelet::AllocateDevices(PodId id) {
  auto& p = store_.pod(id);
  auto& node = store_.node(p.node);
  if (node.devices.empty()) return true;
  for (size_t r = 0; r < p.tmpl->requests.size(); ++r) {
    int64_t amount = p.tmpl->requests[r];
    const std::string& res = store_.resources().Name(r);
    if (amount == 0 || !res.starts_with("nvidia.com/")) continue;
    bool shared = std::any_of(node.devices.begin(), node.devices.end(),
                              [&](const auto& u) { return u.resource == res && u.replica >= 0; });
    std::string error;
    if (shared && amount > 1 && node.fail_requests_greater_than_one) {
      // The plugin's Allocate refuses; the kubelet rejects the pod (not rescheduled).
      error = "rpc error: code = Unknown desc = request for '" + res +
              "': maximum request size for shared resources is 1";
    } else {
      auto units = devices::AllocateUnits(&node, res, amount, id, &error);
      p.devices.insert(p.devices.end(), units.begin(), units.end());
    }
    if (!error.empty()) {
      ReleaseDevices(id);
      p.reason = "UnexpectedAdmissionError";
      p.message = "Allocate failed due to " + error + ", which is unexpected";
      store_.RecordEvent("Warning", "UnexpectedAdmissionError", "Pod", p.namespace_, p.name,
                         p.message, "kubelet");
      store_.SetPodPhase(id, PodPhase::kFailed);
      return false;
    }
  }
  return true;
}

void Kubelet::ReleaseDevices(PodId id) {
  auto& p = store_.pod(id);
  if (p.devices.empty() || p.node == cluster::kNone) return;
  auto& node = store_.node(p.node);
  for (uint32_t i : p.devices) {
    if (i < node.devices.size() && node.devices[i].pod == id) node.devices[i].pod = cluster::kNone;
  }
  p.devices.clear();
}

std::vector<Kubelet::GpuKey> Kubelet::KeysOf(PodId id) const {
  const auto& p = store_.pod(id);
  std::vector<GpuKey> keys;
  if (p.node == cluster::kNone) return keys;
  const auto& node = store_.node(p.node);
  for (uint32_t i : p.devices) {
    const auto& u = node.devices[i];
    GpuKey k{p.node, u.gpu, u.mig};
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  return keys;
}

bool Kubelet::GpuMemoryFits(PodId id, std::string* why) const {
  // gputwin.io/gpu-memory is what the pod uses on each GPU or MIG device it holds. Pods
  // time-sliced on one GPU share its memory: nothing isolates them.
  const auto& p = store_.pod(id);
  const int64_t mine = p.tmpl->behavior.gpu_memory;
  if (mine == 0) return true;
  const auto& node = store_.node(p.node);
  for (const auto& key : KeysOf(id)) {
    int64_t capacity_mib = 0;
    for (uint32_t i : p.devices) {
      const auto& u = node.devices[i];
      if (u.gpu == std::get<1>(key) && u.mig == std::get<2>(key)) capacity_mib = u.memory_mib;
    }
    if (capacity_mib == 0) continue;  // unknown model: memory not modelled
    int64_t used = mine;
    int holders = 1;
    auto it = gpu_pods_.find(key);
    if (it != gpu_pods_.end()) {
      for (PodId other : it->second) {
        if (other == id) continue;
        used += store_.pod(other).tmpl->behavior.gpu_memory;
        ++holders;
      }
    }
    const int64_t capacity = capacity_mib * 1024 * 1024;
    if (used > capacity) {
      std::string where = std::get<2>(key) >= 0 ? "MIG device " + std::to_string(std::get<1>(key)) +
                                                      "-" + std::to_string(std::get<2>(key))
                                                : "GPU " + std::to_string(std::get<1>(key));
      *why = "CUDA error: out of memory on " + where + " of " + node.name() + ": " +
             std::to_string(used >> 20) + " MiB wanted by " + std::to_string(holders) +
             " pod(s), " + std::to_string(capacity_mib) + " MiB there";
      return false;
    }
  }
  return true;
}

void Kubelet::JoinGpus(PodId id, Time now) {
  auto keys = KeysOf(id);
  for (const auto& k : keys) gpu_pods_[k].push_back(id);
  // Track the peak memory held on each device (the run's memory headroom).
  const auto& p = store_.pod(id);
  auto& node = store_.node(p.node);
  for (const auto& k : keys) {
    int64_t used = 0;
    for (PodId other : gpu_pods_[k]) used += store_.pod(other).tmpl->behavior.gpu_memory;
    int64_t size = 0;
    for (uint32_t d : p.devices) {
      const auto& u = node.devices[d];
      if (u.gpu == std::get<1>(k) && u.mig == std::get<2>(k)) size = u.memory_mib;
    }
    std::string name = std::get<2>(k) >= 0 ? "MIG-" + std::to_string(std::get<1>(k)) + "-" +
                                                 std::to_string(std::get<2>(k))
                                           : "GPU-" + std::to_string(std::get<1>(k));
    auto& peak = node.gpu_peak_memory[name];
    peak.first = std::max(peak.first, used >> 20);
    peak.second = size;
  }
  for (const auto& k : keys) Rebalance(k, now);
  if (keys.empty()) ScheduleExit(id, now);
}

void Kubelet::LeaveGpus(PodId id, Time now) {
  if (id >= progress_.size() || !progress_[id].running) return;
  // Bank the work done at the old rate before anything changes.
  Progress& pr = progress_[id];
  pr.work_left_ns -= static_cast<double>((now - pr.since).ns) * pr.rate;
  pr.since = now;
  pr.running = false;
  pr.exit_pending = false;
  if (id < exit_seq_.size()) ++exit_seq_[id];
  for (const auto& k : KeysOf(id)) {
    auto it = gpu_pods_.find(k);
    if (it == gpu_pods_.end()) continue;
    auto& v = it->second;
    v.erase(std::remove(v.begin(), v.end(), id), v.end());
    pod_key_rate_.erase({id, k});
    if (v.empty()) {
      gpu_pods_.erase(it);
    } else {
      Rebalance(k, now);
    }
  }
}

void Kubelet::Rebalance(const GpuKey& key, Time now) {
  auto it = gpu_pods_.find(key);
  if (it == gpu_pods_.end()) return;
  const auto pods = it->second;
  std::vector<double> need;
  for (PodId p : pods) need.push_back(store_.pod(p).tmpl->behavior.gpu_utilization);
  double capacity = 1.0;
  const auto& first = store_.pod(pods.front());
  for (uint32_t d : first.devices) {
    const auto& u = store_.node(first.node).devices[d];
    if (u.gpu == std::get<1>(key) && u.mig == std::get<2>(key)) capacity = u.compute;
  }
  auto rates = devices::FairShareRates(need, capacity);
  for (size_t i = 0; i < pods.size(); ++i) {
    PodId p = pods[i];
    pod_key_rate_[{p, key}] = rates[i];
    // A pod on several GPUs goes at the pace of its slowest one.
    double rate = 1;
    for (const auto& k : KeysOf(p)) {
      auto r = pod_key_rate_.find({p, k});
      if (r != pod_key_rate_.end()) rate = std::min(rate, r->second);
    }
    Progress& pr = progress_[p];
    pr.share = rate;
    const double paced = rate * GangFactor(p);
    if (pr.running && pr.rate == paced) continue;  // nothing changes for this pod
    pr.work_left_ns -= static_cast<double>((now - pr.since).ns) * pr.rate;
    pr.since = now;
    pr.rate = paced;
    pr.running = true;
    ScheduleExit(p, now);
  }
}

void Kubelet::ScheduleExit(PodId id, Time now) {
  const auto& p = store_.pod(id);
  if (!p.tmpl->behavior.run_time) return;
  if (exit_seq_.size() <= id) exit_seq_.resize(id + 1, 0);
  Progress& pr = progress_[id];
  if (pr.rate <= 0) {  // waiting for its gang: no exit until it advances again
    ++exit_seq_[id];
    pr.exit_pending = false;
    return;
  }
  double left = std::max(0.0, pr.work_left_ns) / pr.rate;
  Time at = now + SaturatingNs(std::round(left));
  // A timer already queued for the same instant keeps its place among same-time events.
  if (pr.exit_pending && pr.exit_at == at) return;
  ++exit_seq_[id];
  pr.exit_pending = true;
  pr.exit_at = at;
  At(at, Arg(kExit, exit_seq_[id], id));
}

}  // namespace gputwin::controllers
