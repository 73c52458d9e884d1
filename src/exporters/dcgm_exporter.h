// NVIDIA's dcgm-exporter (its default counters and the profiling metrics users scale on),
// on the GPU nodes where it runs (its DaemonSet, or the GPU Operator's dcgmExporter), fed
// by a GPU physics model calibrated on a real H200 (README.md): utilisation is the share
// of time a kernel runs, power follows the memory and tensor work done up to the power
// limit (the SM clock drops above it), temperature follows power with a first-order lag,
// and the energy counter integrates power. Series carry the exporter's labels and the
// namespace/pod/container of the pod holding the GPU (honorLabels, as the GPU Operator's
// ServiceMonitor sets); a GPU time-sliced among pods is labelled with one of them
// (dcgm-exporter#307). Works only when the run's metrics are recorded.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/manifests.h"
#include "cluster/controller.h"
#include "devices/gpu_models.h"
#include "telemetry/registry.h"

namespace gputwin::exporters {

// The physics of one GPU over an interval: activity in, readings out.
struct GpuActivity {
  double busy = 0;    // fraction of time a kernel runs (0..1)
  double dram = 0;    // fraction of time the memory interface is busy
  double tensor = 0;  // fraction of time the tensor pipes are busy at full rate
};
struct GpuReadings {
  double power_w = 0, sm_clock_mhz = 0;
};
// Power demand and the clock the power limit leaves (README.md: the H200 fit).
GpuReadings GpuPower(const devices::GpuModel& gpu, const GpuActivity& a);
GpuReadings GpuPower(const devices::GpuModel& gpu, const GpuActivity& a, double max_sm_clock);
double GpuIdleWatts(const devices::GpuModel& gpu);
double GpuMaxSmClock(const devices::GpuModel& gpu);
// Steady-state GPU temperature (°C) at a power draw.
double GpuSteadyTemperature(const devices::GpuModel& gpu, double watts);

// Whether the manifests run dcgm-exporter (its DaemonSet, or a GPU Operator ClusterPolicy
// whose dcgmExporter is not disabled).
bool DcgmExporterDeployed(const api::Manifests& m);

struct DcgmExporterOptions {
  // --kubernetes-virtual-gpus (or KUBERNETES_VIRTUAL_GPUS=true): a copy of each GPU's
  // series per pod sharing it, labelled `vgpu`.
  bool virtual_gpus = false;
};
// The exporter's settings, from its DaemonSet's command, args and env or the ClusterPolicy's
// dcgmExporter.args and env.
DcgmExporterOptions DcgmExporterOptionsFrom(const api::Manifests& m);

class DcgmExporter : public cluster::Controller {
 public:
  DcgmExporter(cluster::Store* store, EventQueue* queue, telemetry::Registry* metrics,
               const devices::GpuModelTable* gpus, Duration interval,
               DcgmExporterOptions options = {});
  void Start();

 protected:
  void OnWatch(cluster::WatchKind, cluster::WatchOp, uint32_t) override {}
  void Reconcile(Time) override {}
  void OnTimer(Time now, uint64_t arg) override;

 private:
  using SeriesId = telemetry::Registry::SeriesId;
  static constexpr SeriesId kNoSeries = UINT32_MAX;  // a field DCGM does not report here
  struct Instance {
    cluster::PodId holder = cluster::kNone;
    std::vector<SeriesId> series;
  };
  struct Gpu {
    cluster::PodId holder = cluster::kNone;  // whose labels the series carry
    std::vector<SeriesId> series;            // one per metric, kNoSeries when not reported
    std::map<int32_t, Instance> instances;   // MIG
    // --kubernetes-virtual-gpus: the series of each (pod, shared replica) holding the GPU.
    std::map<std::pair<cluster::PodId, int32_t>, std::vector<SeriesId>> copies;
    double temperature = -1;  // °C; -1 before the first scrape
    double energy_mj = 0;
    // Per pod reporting its engine's time: busy and tensor seconds at the last scrape.
    std::vector<std::pair<cluster::PodId, std::pair<double, double>>> seen;
    const devices::GpuModel* model = nullptr;  // looked up once
    double max_sm_clock = 0, mem_clock = 0;
    bool live = false;
  };
  void Scrape(Time now);
  void ScrapeGpu(cluster::NodeId node, int32_t index, Gpu& g, Time now, double dt);

  telemetry::Registry* metrics_;
  const devices::GpuModelTable* gpus_;
  Duration interval_;
  bool virtual_gpus_ = false;
  bool enabled_ = false;
  Time last_{0};
  std::map<std::pair<cluster::NodeId, int32_t>, Gpu> state_;
  std::map<cluster::NodeId, SeriesId> up_;  // one target per node's exporter pod
};

}  // namespace gputwin::exporters
