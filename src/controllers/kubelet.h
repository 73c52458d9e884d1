// The kubelets of all nodes: start pods bound to their node (image pulls, then Running),
// end them after their gputwin.io/run-time with their gputwin.io/exit-code, restart
// containers per restartPolicy with CrashLoopBackOff (10s doubling, at most 5m, reset
// when the previous back-off is more than 10m old), and enforce a pod's activeDeadlineSeconds.
#pragma once

#include <map>
#include <tuple>
#include <unordered_map>

#include "cluster/controller.h"

namespace gputwin::controllers {

using cluster::Controller;
using cluster::NodeId;
using cluster::PodId;
using cluster::Store;
using cluster::WorkQueue;

struct KubeletConfig {
  // Image pull throughput when a node sets no gputwin.io/image-pull-bandwidth annotation.
  int64_t default_pull_bytes_per_second = 200LL * 1000 * 1000;
};

class Kubelet : public Controller {
 public:
  Kubelet(Store* store, EventQueue* queue, KubeletConfig config = {});
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

  // The end of the run: gangs still running add their last stretch to their figures.
  void Finish(Time end);

  // Work lost by pods deleted while running, in deletion order.
  const std::vector<cluster::LostWork>& lost_work() const { return lost_work_; }

  static constexpr Duration kInitialRestartBackoff = Duration::Seconds(10);
  static constexpr Duration kMaxRestartBackoff = Duration::Minutes(5);

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  enum Timer : uint64_t {
    kStart = 1,
    kExit = 2,
    kRestart = 3,
    kDeadline = 4,
    kAdmit = 5,
    kReady = 6
  };
  static uint64_t Arg(Timer t, uint32_t generation, PodId pod) {
    return (static_cast<uint64_t>(t) << 60) |
           (static_cast<uint64_t>(generation & 0xFFFFFFF) << 32) | pod;
  }
  void Admit(PodId pod, Time now);
  void StartContainer(PodId pod, Time now);
  void ContainerExited(PodId pod, Time now, int32_t exit_code, const std::string& message = "");

  // GPUs (kubelet_gpu.cc): device allocation at admission, GPU memory at container start,
  // and the compute share of pods time-sliced on one GPU, which sets how fast they finish.
  using GpuKey = std::tuple<NodeId, int32_t, int32_t>;  // node, GPU, MIG instance
  bool AllocateDevices(PodId pod);
  void ReleaseDevices(PodId pod);
  bool GpuMemoryFits(PodId pod, std::string* why) const;
  std::vector<GpuKey> KeysOf(PodId pod) const;
  void JoinGpus(PodId pod, Time now);
  void LeaveGpus(PodId pod, Time now);
  void Rebalance(const GpuKey& key, Time now);
  void ScheduleExit(PodId pod, Time now);
  struct Progress {
    bool running = false;
    double work_left_ns = 0;  // full-speed nanoseconds of run time left
    double rate = 1;          // progress per nanosecond now: share × the gang's pace
    double share = 1;         // the GPU compute share it gets (time-slicing, MIG)
    Time since{0};
    bool exit_pending = false;  // an exit timer is queued for `exit_at`
    Time exit_at{0};
    double total_ns = 0;           // work of this run, checkpoint writes included
    double remaining_real_ns = 0;  // the task's own work this run had to do
  };
  void RecordLostWork(PodId pod, Time now);

  // Gangs (kubelet_gang.cc): the pods of a distributed job advance only while all of them
  // run (or have succeeded); a member lost from a complete gang sends every other member
  // back to its last checkpoint, as workers restarted from it after an NCCL failure are.
  struct GangState {
    std::vector<PodId> running;
    int32_t succeeded = 0;
    bool complete = false;
    Time since{0};  // when the running set or pace last changed (the figures' clock)
  };
  // Adds the time since the last change to the gang's advancing or waiting figures.
  void TallyGang(uint32_t gang, GangState& g, Time now);
  double GangFactor(PodId pod) const;
  void JoinGang(PodId pod, Time now);
  void LeaveGang(PodId pod, Time now, bool succeeded);
  void SetGangPace(uint32_t gang, Time now);
  // A complete gang's pace over its placement (the network step-time model).
  double PlacementFactor(uint32_t gang);
  std::map<uint32_t, GangState> gangs_;
  std::string CheckpointKey(PodId pod) const;
  std::map<std::string, double> checkpointed_ns_;  // work saved in checkpoints, per task
  std::vector<cluster::LostWork> lost_work_;
  int64_t PullBandwidth(NodeId node) const;
  // Parks work for a node whose kubelet stopped posting; replayed when it posts again.
  bool Frozen(NodeId node, uint64_t work);

  KubeletConfig config_;
  std::vector<PodId> bound_;    // pods bound since the last reconcile
  std::vector<bool> admitted_;  // seen bound (queued for admission)
  std::vector<bool> started_;   // passed admission
  std::vector<Progress> progress_;
  std::vector<uint32_t> exit_seq_;  // invalidates exit timers when the rate changes
  // Hashed, never walked: a 10k-node platform has 80,000 GPUs, and an ordered map's lookups
  // at every container start and exit were 3 % of the run.
  struct GpuKeyHash {
    size_t operator()(const GpuKey& k) const {
      return Mix((uint64_t{std::get<0>(k)} << 32) ^
                 (static_cast<uint64_t>(static_cast<uint32_t>(std::get<1>(k))) << 16) ^
                 static_cast<uint32_t>(std::get<2>(k)));
    }
    size_t operator()(const std::pair<PodId, GpuKey>& k) const {
      return Mix((*this)(k.second) ^ (uint64_t{k.first} * 0x9e3779b97f4a7c15ULL));
    }
    static size_t Mix(uint64_t x) {  // splitmix64's finalizer
      x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
      x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
      return static_cast<size_t>(x ^ (x >> 31));
    }
  };
  std::unordered_map<GpuKey, std::vector<PodId>, GpuKeyHash> gpu_pods_;  // running pods per GPU/MIG
  std::unordered_map<std::pair<PodId, GpuKey>, double, GpuKeyHash> pod_key_rate_;
  std::vector<int32_t> backoff_steps_;  // CrashLoopBackOff steps per pod
  std::vector<Time> last_backoff_;
  std::vector<std::vector<uint64_t>> frozen_;  // per node
  std::vector<NodeId> thawed_;
};

}  // namespace gputwin::controllers
