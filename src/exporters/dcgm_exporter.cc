#include "exporters/dcgm_exporter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace gputwin::exporters {
namespace {

using telemetry::Labels;
using telemetry::MetricType;

constexpr const char* kDcgmOwner = "dcgm-exporter";
// The driver of the measured H200 (../shared/data/h200-measured).
constexpr const char* kDriverVersion = "580.159.04";

struct Field {
  const char* name;
  MetricType type;
  const char* help;
};
// etc/default-counters.csv and dcp-metrics-included.csv of NVIDIA/dcgm-exporter.
constexpr Field kFields[] = {
    {"DCGM_FI_DEV_SM_CLOCK", MetricType::kGauge, "SM clock frequency (in MHz)."},
    {"DCGM_FI_DEV_MEM_CLOCK", MetricType::kGauge, "Memory clock frequency (in MHz)."},
    {"DCGM_FI_DEV_MEMORY_TEMP", MetricType::kGauge, "Memory temperature (in C)."},
    {"DCGM_FI_DEV_GPU_TEMP", MetricType::kGauge, "GPU temperature (in C)."},
    {"DCGM_FI_DEV_POWER_USAGE", MetricType::kGauge, "Power draw (in W)."},
    {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", MetricType::kCounter,
     "Total energy consumption since boot (in mJ)."},
    {"DCGM_FI_DEV_PCIE_REPLAY_COUNTER", MetricType::kCounter, "Total number of PCIe retries."},
    {"DCGM_FI_DEV_GPU_UTIL", MetricType::kGauge, "GPU utilization (in %)."},
    {"DCGM_FI_DEV_MEM_COPY_UTIL", MetricType::kGauge, "Memory utilization (in %)."},
    {"DCGM_FI_DEV_ENC_UTIL", MetricType::kGauge, "Encoder utilization (in %)."},
    {"DCGM_FI_DEV_DEC_UTIL", MetricType::kGauge, "Decoder utilization (in %)."},
    {"DCGM_FI_DEV_XID_ERRORS", MetricType::kGauge, "Value of the last XID error encountered."},
    {"DCGM_FI_DEV_FB_FREE", MetricType::kGauge, "Framebuffer memory free (in MiB)."},
    {"DCGM_FI_DEV_FB_USED", MetricType::kGauge, "Framebuffer memory used (in MiB)."},
    {"DCGM_FI_DEV_FB_RESERVED", MetricType::kGauge, "Framebuffer memory reserved (in MiB)."},
    {"DCGM_FI_PROF_GR_ENGINE_ACTIVE", MetricType::kGauge,
     "Ratio of time the graphics engine is active."},
    {"DCGM_FI_PROF_SM_ACTIVE", MetricType::kGauge,
     "The ratio of cycles an SM has at least 1 warp assigned."},
    {"DCGM_FI_PROF_SM_OCCUPANCY", MetricType::kGauge,
     "The ratio of number of warps resident on an SM."},
    {"DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", MetricType::kGauge,
     "Ratio of cycles the tensor (HMMA) pipe is active."},
    {"DCGM_FI_PROF_DRAM_ACTIVE", MetricType::kGauge,
     "Ratio of cycles the device memory interface is active sending or receiving data."},
};
enum FieldIndex {
  kSmClock,
  kMemClock,
  kMemoryTemp,
  kGpuTemp,
  kPower,
  kEnergy,
  kPcieReplay,
  kGpuUtil,
  kMemCopyUtil,
  kEncUtil,
  kDecUtil,
  kXid,
  kFbFree,
  kFbUsed,
  kFbReserved,
  kGrEngine,
  kSmActive,
  kSmOccupancy,
  kTensor,
  kDram,
  kFieldCount
};

// Published maximum SM (boost) and memory clocks, MHz (NVIDIA datasheets and nvidia-smi
// -q; the H200's as measured).
std::pair<double, double> Clocks(const std::string& model) {
  static const std::map<std::string, std::pair<double, double>> table = {
      {"H200-141GB", {1980, 3201}},
      {"H100-80GB", {1980, 2619}},
      {"H100-94GB", {1785, 2619}},
      {"A100-80GB", {1410, 1593}},
      {"A100-40GB", {1410, 1215}},
      {"A30", {1440, 1215}},
      {"A100-80GB-PCIe", {1410, 1512}},
      {"A100-40GB-PCIe", {1410, 1215}},
      {"H100-PCIe", {1755, 1593}},
      {"A10", {1695, 6251}},
      {"L4", {2040, 6251}},
      {"L40S", {2520, 9001}},
      {"A10G", {1710, 6251}},
      {"T4", {1590, 5001}},
      {"V100-16GB", {1530, 877}},
      {"V100-32GB", {1530, 877}},
  };
  auto it = table.find(model);
  return it == table.end() ? std::pair<double, double>{1500, 1500} : it->second;
}

// The H200 fit (README.md): idle 15 % of the board power; each unit of time with the
// memory interface busy adds A, with the tensor pipes at full rate B, scaled by board power.
constexpr double kIdleShare = 0.15, kDramWatts700 = 418.3, kTensorWatts700 = 1370.6;
constexpr double kClockPowerExponent = 2.5;  // dynamic power ~ f·V², V following f
// Steady temperature 33.8 °C + 0.038 °C/W on the H200 (50 °C at 427 W, 60 °C at 690 W);
// other boards reach the same temperature at their board power.
constexpr double kAmbientC = 33.8, kCPerWatt700 = 0.038, kThermalSeconds = 60;

constexpr int kInstanceFields[] = {kGrEngine, kSmActive, kSmOccupancy, kTensor,
                                   kDram,     kFbUsed,   kFbFree};

// A MIG instance's profile: from the mixed strategy's resource (nvidia.com/mig-1g.10gb) or
// the single strategy's product label (NVIDIA-A100-SXM4-80GB-MIG-1g.10gb).
std::string MigProfileOf(const cluster::NodeRecord& node, const cluster::DeviceUnit& u) {
  const std::string prefix = "nvidia.com/mig-";
  if (u.resource.starts_with(prefix)) return u.resource.substr(prefix.size());
  auto it = node.obj.metadata.labels.find("nvidia.com/gpu.product");
  if (it != node.obj.metadata.labels.end()) {
    const size_t at = it->second.find("-MIG-");
    if (at != std::string::npos) return it->second.substr(at + 5);
  }
  return "";
}

std::string Uuid(const std::string& node, int gpu) {
  // Deterministic per node and index (FNV-1a), in NVML's GPU-8-4-4-4-12 form.
  uint64_t h1 = 1469598103934665603ULL, h2 = 1099511628211ULL * 31;
  for (char c : node + "#" + std::to_string(gpu)) {
    h1 = (h1 ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    h2 = (h2 ^ static_cast<unsigned char>(c)) * 1469598103934665603ULL;
  }
  const std::string hex = fmt::format("{:016x}{:016x}", h1, h2);
  return "GPU-" + hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace

double GpuIdleWatts(const devices::GpuModel& gpu) {
  return kIdleShare * gpu.performance.tdp_watts;
}

double GpuMaxSmClock(const devices::GpuModel& gpu) {
  return Clocks(gpu.name).first;
}

GpuReadings GpuPower(const devices::GpuModel& gpu, const GpuActivity& a) {
  return GpuPower(gpu, a, GpuMaxSmClock(gpu));
}

GpuReadings GpuPower(const devices::GpuModel& gpu, const GpuActivity& a, double max_sm_clock) {
  const double tdp = gpu.performance.tdp_watts, scale = tdp / 700.0;
  const double idle = GpuIdleWatts(gpu);
  const double demand = idle + scale * (kDramWatts700 * a.dram + kTensorWatts700 * a.tensor);
  GpuReadings r;
  r.sm_clock_mhz = max_sm_clock;
  r.power_w = demand;
  if (demand > tdp) {
    // At the power limit the clock drops until the dynamic power fits.
    r.power_w = tdp;
    r.sm_clock_mhz *= std::pow((tdp - idle) / (demand - idle), 1.0 / kClockPowerExponent);
  }
  return r;
}

double GpuSteadyTemperature(const devices::GpuModel& gpu, double watts) {
  return kAmbientC + kCPerWatt700 * watts * 700.0 / gpu.performance.tdp_watts;
}

namespace {
// urfave/cli's boolean flag and environment forms: --flag, --flag=true; strconv.ParseBool.
bool TrueValue(const std::string& v) {
  return v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True";
}
bool FlagSet(const std::vector<std::string>& words, const std::string& flag) {
  bool on = false;
  for (const auto& w : words) {
    if (w == "--" + flag || w == "-" + flag) on = true;
    for (const char* dashes : {"--", "-"}) {
      const std::string prefix = dashes + flag + "=";
      if (w.starts_with(prefix)) on = TrueValue(w.substr(prefix.size()));
    }
  }
  return on;
}
bool EnvSet(const std::vector<std::pair<std::string, std::string>>& env, const char* name) {
  bool on = false;
  for (const auto& [k, v] : env) {
    if (k == name) on = TrueValue(v);
  }
  return on;
}
}  // namespace

DcgmExporterOptions DcgmExporterOptionsFrom(const api::Manifests& m) {
  DcgmExporterOptions o;
  if (m.gpu_operator && m.gpu_operator->dcgm_exporter_enabled) {
    o.virtual_gpus = FlagSet(m.gpu_operator->dcgm_exporter_args, "kubernetes-virtual-gpus") ||
                     EnvSet(m.gpu_operator->dcgm_exporter_env, "KUBERNETES_VIRTUAL_GPUS");
  }
  for (const auto& ds : m.daemon_sets) {
    for (const auto& c : ds.template_.spec.containers) {
      if (c.image.find("dcgm-exporter") == std::string::npos) continue;
      std::vector<std::string> words = c.command;
      words.insert(words.end(), c.args.begin(), c.args.end());
      o.virtual_gpus = o.virtual_gpus || FlagSet(words, "kubernetes-virtual-gpus") ||
                       EnvSet(c.env, "KUBERNETES_VIRTUAL_GPUS");
    }
  }
  return o;
}

bool DcgmExporterDeployed(const api::Manifests& m) {
  // The GPU Operator's ClusterPolicy runs it unless dcgmExporter.enabled is false.
  if (m.gpu_operator && m.gpu_operator->dcgm_exporter_enabled) return true;
  for (const auto& ds : m.daemon_sets) {
    for (const auto& c : ds.template_.spec.containers) {
      if (c.image.find("dcgm-exporter") != std::string::npos) return true;
    }
  }
  return false;
}

DcgmExporter::DcgmExporter(cluster::Store* store, EventQueue* queue, telemetry::Registry* metrics,
                           const devices::GpuModelTable* gpus, Duration interval,
                           DcgmExporterOptions options)
    : Controller(kDcgmOwner, store, queue, 0),
      metrics_(metrics),
      gpus_(gpus),
      interval_(interval),
      virtual_gpus_(options.virtual_gpus) {
  for (const auto& f : kFields) {
    telemetry::MetricDesc d;
    d.name = f.name;
    d.help = f.help;
    d.type = f.type;
    d.label_names = {"gpu",
                     "UUID",
                     "pci_bus_id",
                     "device",
                     "modelName",
                     "Hostname",
                     "DCGM_FI_DRIVER_VERSION",
                     "namespace",
                     "pod",
                     "container",
                     "instance",
                     "job"};
    metrics->Declare(kDcgmOwner, d);
  }
  metrics->SetRetention(kDcgmOwner, Duration::Hours(1));
}

void DcgmExporter::Start() {
  At(store_.now(), 0);
}

void DcgmExporter::OnTimer(Time now, uint64_t) {
  if (!enabled_) {
    if (!metrics_->exporters_wanted()) return;  // nobody reads these series
    enabled_ = true;
    last_ = now;
  }
  Scrape(now);
  After(interval_, 0);
}

void DcgmExporter::Scrape(Time now) {
  const double dt = (now - last_).seconds();
  last_ = now;
  for (auto& [key, g] : state_) g.live = false;
  for (cluster::NodeId n : store_.live_nodes()) {
    const auto& node = store_.node(n);
    if (node.devices.empty() || !node.kubelet_posting) continue;
    int32_t count = 0;
    for (const auto& u : node.devices) count = std::max(count, u.gpu + 1);
    if (!up_.contains(n))
      up_[n] = metrics_->Up(kDcgmOwner, "nvidia-dcgm-exporter", node.name() + ":9400");
    for (int32_t i = 0; i < count; ++i) {
      auto& g = state_[{n, i}];
      g.live = true;
      ScrapeGpu(n, i, g, now, dt);
    }
  }
  // Targets whose node went away, and their GPUs' series, end.
  for (auto it = up_.begin(); it != up_.end();) {
    const auto& node = store_.node(it->first);
    if (node.deleted || node.devices.empty() || !node.kubelet_posting) {
      metrics_->Retire(it->second, now);
      it = up_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = state_.begin(); it != state_.end();) {
    if (!it->second.live) {
      for (auto s : it->second.series) {
        if (s != kNoSeries) metrics_->Retire(s, now);
      }
      for (auto& [k, inst] : it->second.instances) {
        for (auto s : inst.series) metrics_->Retire(s, now);
      }
      for (auto& [k, series] : it->second.copies) {
        for (auto s : series) {
          if (s != kNoSeries) metrics_->Retire(s, now);
        }
      }
      it = state_.erase(it);
    } else {
      ++it;
    }
  }
  metrics_->Sample(kDcgmOwner, now, true);
}

void DcgmExporter::ScrapeGpu(cluster::NodeId n, int32_t index, Gpu& g, Time now, double dt) {
  const auto& node = store_.node(n);
  if (!g.model) {
    g.model = gpus_->Find(node.gpu_model);
    if (!g.model) return;
    g.max_sm_clock = GpuMaxSmClock(*g.model);
    g.mem_clock = Clocks(g.model->name).second;
  }
  const devices::GpuModel* model = g.model;
  const int64_t total = model->memory_mib;
  // One pod's activity over the interval, and the memory it holds.
  std::vector<std::pair<cluster::PodId, std::pair<double, double>>> seen;
  auto activity_of = [&](cluster::PodId id, int64_t* mib) {
    GpuActivity a;
    const auto& p = store_.pod(id);
    if (p.container_started == cluster::kNever || p.phase != cluster::PodPhase::kRunning) {
      return a;
    }
    if (p.gpu_activity_reported) {
      // A vLLM engine: its kernel and tensor time since the last scrape; the memory
      // interface busy 80 % of kernel time (76-84 % measured on the H200 in decode).
      std::pair<double, double> prev{0, 0};
      for (const auto& [pod, secs] : g.seen) {
        if (pod == id) prev = secs;
      }
      a.busy = dt > 0 ? (p.gpu_busy_seconds - prev.first) / dt : 0;
      a.tensor = dt > 0 ? (p.gpu_tensor_seconds - prev.second) / dt : 0;
      a.dram = 0.80 * a.busy;
      seen.push_back({id, {p.gpu_busy_seconds, p.gpu_tensor_seconds}});
      *mib += p.gpu_memory_mib;
    } else {
      // Other workloads: their declared utilisation (gputwin.io/gpu-utilization), with a
      // training-like mix of memory and tensor work (README.md).
      const double u = p.tmpl->behavior.gpu_utilization;
      a = GpuActivity{u, 0.6 * u, 0.5 * u};
      *mib += p.tmpl->behavior.gpu_memory / (1024 * 1024);
    }
    return a;
  };
  auto live = [&](cluster::PodId id) {
    return id != cluster::kNone && !store_.pod(id).deleted && !store_.pod(id).Terminal();
  };
  // Whole GPU: the pods on it, labelled with the holder of its first device unit
  // (time-sliced replicas: one pod for all, dcgm-exporter#307). MIG: per instance.
  GpuActivity a;
  int64_t used_mib = 0;
  cluster::PodId labelled = cluster::kNone;
  bool mig = false;
  std::vector<cluster::PodId> holders;
  std::map<int32_t, const cluster::DeviceUnit*> instances;
  for (const auto& u : node.devices) {
    if (u.gpu != index) continue;
    if (u.mig >= 0) {
      mig = true;
      if (!instances.count(u.mig) || (u.pod != cluster::kNone && live(u.pod)))
        instances[u.mig] = &u;
      continue;
    }
    if (!live(u.pod)) continue;
    if (std::find(holders.begin(), holders.end(), u.pod) == holders.end()) holders.push_back(u.pod);
    if (labelled == cluster::kNone) labelled = u.pod;
  }
  std::map<int32_t, std::pair<GpuActivity, int64_t>> per_instance;
  if (mig) {
    labelled = cluster::kNone;  // device-level series carry no pod
    for (const auto& [k, u] : instances) {
      int64_t mib = 0;
      const GpuActivity ia = live(u->pod) ? activity_of(u->pod, &mib) : GpuActivity{};
      per_instance[k] = {ia, std::min(mib, u->memory_mib)};
      // The instance's share of the GPU: its SMs for kernels, its memory slices for DRAM.
      a.busy += u->compute * ia.busy;
      a.tensor += u->compute * ia.tensor;
      a.dram += double(u->memory_mib) / double(total) * ia.dram;
      used_mib += std::min(mib, u->memory_mib);
    }
  } else {
    for (cluster::PodId id : holders) {
      const GpuActivity pa = activity_of(id, &used_mib);
      a.busy += pa.busy;
      a.dram += pa.dram;
      a.tensor += pa.tensor;
    }
  }
  g.seen = std::move(seen);
  a.busy = std::clamp(a.busy, 0.0, 1.0);
  a.dram = std::clamp(a.dram, 0.0, 1.0);
  a.tensor = std::clamp(a.tensor, 0.0, 1.0);
  const GpuReadings r = GpuPower(*model, a, g.max_sm_clock);
  const double steady = GpuSteadyTemperature(*model, r.power_w);
  if (g.temperature < 0) g.temperature = steady;
  g.temperature += (steady - g.temperature) * (1.0 - std::exp(-dt / kThermalSeconds));
  g.energy_mj += r.power_w * dt * 1000.0;
  const int64_t reserved = static_cast<int64_t>(std::llround(double(total) * 616.0 / 143771.0));
  used_mib = std::min(used_mib, total - reserved);
  // Labels are built only when series are (re)created: most scrapes just set values.
  auto base = [&]() -> Labels {
    return {{"gpu", std::to_string(index)},
            {"UUID", Uuid(node.name(), index)},
            {"pci_bus_id", fmt::format("00000000:{:02X}:00.0", 0x10 + index)},
            {"device", "nvidia" + std::to_string(index)},
            {"modelName",
             [&] {
               std::string t = model->product;
               std::replace(t.begin(), t.end(), '-', ' ');
               return t;
             }()},
            {"Hostname", node.name()},
            {"DCGM_FI_DRIVER_VERSION", kDriverVersion},
            // The scrape's target labels: the exporter pod on this node, port
            // 9400, and the job of the GPU Operator's ServiceMonitor.
            {"instance", node.name() + ":9400"},
            {"job", "nvidia-dcgm-exporter"}};
  };
  auto with_pod = [&](Labels l, cluster::PodId id) {
    if (id != cluster::kNone) {
      const auto& p = store_.pod(id);
      l["namespace"] = p.namespace_;
      l["pod"] = p.name;
      l["container"] =
          p.tmpl->spec->containers.empty() ? "" : p.tmpl->spec->containers.front().name;
    }
    return l;
  };
  // In MIG mode DCGM has no device-level utilisation and reports the profiling fields and
  // framebuffer per GPU instance.
  auto per_gpu_field = [&](int f) {
    return !mig || !(f == kGpuUtil || f == kMemCopyUtil || f == kGrEngine || f == kSmActive ||
                     f == kSmOccupancy || f == kTensor || f == kDram);
  };
  // --kubernetes-virtual-gpus (a whole GPU, not MIG): a copy of every field per container
  // holding a device unit of the GPU, a shared replica's index as `vgpu`; a GPU no pod
  // holds is left out (pkg/dcgmexporter/kubernetes.go keeps only the copies).
  std::vector<std::pair<cluster::PodId, int32_t>> sharing;
  const bool copies = virtual_gpus_ && !mig;
  if (copies) {
    for (const auto& u : node.devices) {
      if (u.gpu == index && u.mig < 0 && live(u.pod)) sharing.emplace_back(u.pod, u.replica);
    }
    std::sort(sharing.begin(), sharing.end());
    sharing.erase(std::unique(sharing.begin(), sharing.end()), sharing.end());
    for (auto it = g.copies.begin(); it != g.copies.end();) {
      if (std::binary_search(sharing.begin(), sharing.end(), it->first)) {
        ++it;
        continue;
      }
      for (auto sid : it->second) {
        if (sid != kNoSeries) metrics_->Retire(sid, now);
      }
      it = g.copies.erase(it);
    }
    for (const auto& key : sharing) {
      auto& series = g.copies[key];
      if (!series.empty()) continue;
      Labels l = with_pod(base(), key.first);
      if (key.second >= 0) l["vgpu"] = std::to_string(key.second);
      for (int f = 0; f < kFieldCount; ++f) {
        series.push_back(per_gpu_field(f) ? metrics_->At(metrics_->Find(kFields[f].name), l)
                                          : kNoSeries);
      }
    }
    labelled = cluster::kNone;
  }
  // Series, re-labelled when the pod holding the GPU changes.
  if (copies) {
    for (auto sid : g.series) {
      if (sid != kNoSeries) metrics_->Retire(sid, now);
    }
    g.series.clear();
  } else if (g.series.empty() || labelled != g.holder) {
    for (auto s : g.series) {
      if (s != kNoSeries) metrics_->Retire(s, now);
    }
    g.series.clear();
    g.holder = labelled;
    const Labels l = with_pod(base(), labelled);
    for (int f = 0; f < kFieldCount; ++f) {
      g.series.push_back(per_gpu_field(f) ? metrics_->At(metrics_->Find(kFields[f].name), l)
                                          : kNoSeries);
    }
  }
  const double mem_clock = g.mem_clock;
  double v[kFieldCount] = {};
  v[kSmClock] = std::round(r.sm_clock_mhz);
  v[kMemClock] = mem_clock;
  v[kGpuTemp] = std::round(g.temperature);
  v[kMemoryTemp] = std::round(g.temperature + 4);  // HBM runs a few degrees warmer
  v[kPower] = r.power_w;
  v[kEnergy] = std::round(g.energy_mj);
  v[kGpuUtil] = std::round(100 * a.busy);
  v[kMemCopyUtil] = std::round(100 * a.dram);
  v[kFbUsed] = double(used_mib);
  v[kFbReserved] = double(reserved);
  v[kFbFree] = double(total - reserved - used_mib);
  v[kGrEngine] = a.busy;
  v[kSmActive] = 0.9 * a.busy;      // kernels spread over (almost) every SM
  v[kSmOccupancy] = 0.25 * a.busy;  // a quarter of the warp slots resident: an assumption
  v[kTensor] = a.tensor;
  v[kDram] = a.dram;
  for (int f = 0; f < kFieldCount && !copies; ++f) {
    const auto s = g.series[static_cast<size_t>(f)];
    if (s != kNoSeries) metrics_->Set(s, v[f]);
  }
  for (const auto& [key, series] : g.copies) {
    for (int f = 0; f < kFieldCount; ++f) {
      const auto s = series[static_cast<size_t>(f)];
      if (s != kNoSeries) metrics_->Set(s, v[f]);
    }
  }
  // MIG instances: the profiling fields and framebuffer with GPU_I_PROFILE and GPU_I_ID and
  // the holding pod's labels.
  for (const auto& [k, u] : instances) {
    auto& inst = g.instances[k];
    const cluster::PodId holder = live(u->pod) ? u->pod : cluster::kNone;
    if (inst.series.empty() || inst.holder != holder) {
      for (auto s : inst.series) metrics_->Retire(s, now);
      inst.series.clear();
      inst.holder = holder;
      Labels l = with_pod(base(), holder);
      l["GPU_I_PROFILE"] = MigProfileOf(node, *u);
      l["GPU_I_ID"] = std::to_string(k);
      for (int f : kInstanceFields) {
        inst.series.push_back(metrics_->At(metrics_->Find(kFields[f].name), l));
      }
    }
    const auto& [ia, mib] = per_instance[k];
    const double busy = std::clamp(ia.busy, 0.0, 1.0);
    const double iv[] = {busy,
                         0.9 * busy,
                         0.25 * busy,
                         std::clamp(ia.tensor, 0.0, 1.0),
                         std::clamp(ia.dram, 0.0, 1.0),
                         double(mib),
                         double(u->memory_mib - mib)};
    for (size_t j = 0; j < inst.series.size(); ++j) metrics_->Set(inst.series[j], iv[j]);
  }
}

}  // namespace gputwin::exporters
