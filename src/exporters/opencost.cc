#include "exporters/opencost.h"

#include <string>

#include "cloud/ec2.h"

namespace gputwin::exporters {
namespace {

using telemetry::Labels;

constexpr const char* kOpenCostOwner = "opencost";

// OpenCost's default prices (its pricing configs' CPU, RAM and GPU defaults): only their
// ratios matter, they split a node's price.
constexpr double kDefaultCpu = 0.031611, kDefaultRam = 0.004237, kDefaultGpu = 0.95;

const std::vector<std::string> kNodeLabels = {
    "instance", "node", "instance_type", "region", "provider_id", "arch", "uid"};
const std::vector<std::string> kContainerLabels = {"namespace", "pod",  "container",
                                                   "instance",  "node", "uid"};

// Help texts as OpenCost registers them (pkg/costmodel/metrics.go).
struct Family {
  const char* name;
  const char* help;
  bool node;
};
constexpr Family kFamilies[] = {
    {"node_cpu_hourly_cost", "node_cpu_hourly_cost hourly cost for each cpu on this node", true},
    {"node_ram_hourly_cost", "node_ram_hourly_cost hourly cost for each gb of ram on this node",
     true},
    {"node_gpu_hourly_cost", "node_gpu_hourly_cost hourly cost for each gpu on this node", true},
    {"node_gpu_count", "node_gpu_count count of gpu on this node", true},
    {"node_total_hourly_cost", "node_total_hourly_cost Total node cost per hour", true},
    {"kubecost_node_is_spot", "kubecost_node_is_spot Cloud provider info about node preemptibility",
     true},
    {"container_cpu_allocation",
     "container_cpu_allocation Percent of a single CPU used in a minute", false},
    {"container_memory_allocation_bytes", "container_memory_allocation_bytes Bytes of RAM used",
     false},
    {"container_gpu_allocation", "container_gpu_allocation GPU used", false},
};

double Request(const api::Container& c, const std::string& res) {
  // A limit without a request is the request (the API server's defaulting).
  for (const auto* list : {&c.resources.requests, &c.resources.limits}) {
    if (auto it = list->find(res); it != list->end()) {
      return res == "cpu" ? double(it->second.milli) / 1000.0 : double(it->second.Value());
    }
  }
  return 0;
}

}  // namespace

OpenCostRates SplitOpenCost(double price, double vcpu, double ram_gib, double gpus) {
  // costmodel.go GetNodeCost: a price with no CPU/RAM/GPU breakdown is shared in proportion
  // to the default rates, each counted in GiB of memory.
  const double cpu_to_ram = kDefaultCpu / kDefaultRam, gpu_to_ram = kDefaultGpu / kDefaultRam;
  const double ram_multiple = gpus * gpu_to_ram + vcpu * cpu_to_ram + ram_gib;
  OpenCostRates r;
  if (ram_multiple <= 0) return r;
  r.ram = price / ram_multiple;
  r.cpu = r.ram * cpu_to_ram;
  r.gpu = r.ram * gpu_to_ram;
  return r;
}

bool OpenCostDeployed(const api::Manifests& m) {
  auto runs = [](const api::PodSpec& spec) {
    for (const auto& c : spec.containers) {
      if (c.image.find("opencost/opencost") != std::string::npos ||
          c.image.find("kubecost-cost-model") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  for (const auto& d : m.deployments) {
    if (runs(d.template_.spec)) return true;
  }
  for (const auto& p : m.pods) {
    if (runs(p.spec)) return true;
  }
  return false;
}

OpenCost::OpenCost(cluster::Store* store, EventQueue* queue, telemetry::Registry* metrics,
                   const cloud::Ec2* ec2, Duration interval)
    : Controller(kOpenCostOwner, store, queue, 0),
      metrics_(metrics),
      pricing_(ec2),
      interval_(interval) {
  metrics->SetRetention(kOpenCostOwner, Duration::Hours(1));
  for (const auto& f : kFamilies) {
    telemetry::MetricDesc d;
    d.name = f.name;
    d.help = f.help;
    d.type = telemetry::MetricType::kGauge;
    d.label_names = f.node ? kNodeLabels : kContainerLabels;
    metrics->Declare(kOpenCostOwner, d);
  }
}

void OpenCost::Start() {
  At(store_.now(), 0);
}

void OpenCost::OnTimer(Time now, uint64_t) {
  if (!enabled_) {
    if (!metrics_->exporters_wanted()) return;
    enabled_ = true;
    metrics_->Up(kOpenCostOwner, "opencost", "opencost:9003");
  }
  Scrape(now);
  After(interval_, 0);
}

void OpenCost::Scrape(Time now) {
  ++scrape_;
  const auto gpu_res = store_.resources().Find("nvidia.com/gpu");
  // Labels are built only when a series is created: most scrapes just set values.
  auto set = [&](Tracked& t, size_t k, const char* family, auto&& labels, double v) {
    if (t.series.size() <= k) t.series.push_back(metrics_->At(metrics_->Find(family), labels()));
    metrics_->Set(t.series[k], v);
  };
  for (cluster::NodeId n : store_.live_nodes()) {
    const auto& node = store_.node(n);
    auto& t = nodes_[n];
    {
      // The price list is read once per node; GPUs appear when the device plugin registers.
      if (!t.priced) {
        t.price = pricing_.Price(node);
        t.priced = true;
      }
      const cost::NodePrice& price = t.price;
      // What OpenCost reads: the price list's vCPUs and GPUs when it knows the type, else the
      // node's capacity; memory from the node's capacity.
      auto capacity = [&](const char* res, cluster::ResourceId rid) {
        auto it = node.obj.capacity.find(res);
        if (it != node.obj.capacity.end()) {
          return std::string(res) == "cpu" ? double(it->second.milli) / 1000.0
                                           : double(it->second.Value());
        }
        const double v =
            rid < store_.resources().size() ? double(cluster::At(node.allocatable, rid)) : 0.0;
        return std::string(res) == "cpu" ? v / 1000.0 : v;
      };
      if (t.vcpu < 0) {
        t.vcpu = price.type ? price.type->vcpu : capacity("cpu", cluster::kCpu);
        t.ram_gib = capacity("memory", cluster::kMemory) / (1024.0 * 1024 * 1024);
      }
      const double vcpu = t.vcpu, ram_gib = t.ram_gib;
      // GPUs appear when the device plugin registers.
      double gpus = price.type ? price.type->gpu_count : 0;
      if (gpus == 0) gpus = node.gpu_count;
      if (gpus == 0) gpus = capacity("nvidia.com/gpu", gpu_res);
      const OpenCostRates r = SplitOpenCost(price.price, vcpu, ram_gib, gpus);
      auto l = [&]() -> Labels {
        std::string region = cost::NodeLabel(node, "topology.kubernetes.io/region");
        // A node the twin's cloud launched is in the scenario's region (EKS labels it so).
        if (region.empty() && node.obj.provider_id.starts_with("aws://")) {
          region = pricing_.region();
        }
        return {{"instance", node.name()},
                {"node", node.name()},
                {"instance_type", cost::NodeLabel(node, "node.kubernetes.io/instance-type")},
                {"region", region},
                {"provider_id", node.obj.provider_id},
                {"arch", cost::NodeLabel(node, "kubernetes.io/arch")},
                {"uid", node.obj.metadata.uid}};
      };
      set(t, 0, "node_cpu_hourly_cost", l, r.cpu);
      set(t, 1, "node_ram_hourly_cost", l, r.ram);
      set(t, 2, "node_gpu_hourly_cost", l, r.gpu);
      set(t, 3, "node_gpu_count", l, gpus);
      set(t, 4, "node_total_hourly_cost", l, vcpu * r.cpu + ram_gib * r.ram + gpus * r.gpu);
      set(t, 5, "kubecost_node_is_spot", l, price.spot ? 1 : 0);
    }
    t.seen = scrape_;
    // Containers of the pods running here (OpenCost drops the others' series).
    for (cluster::PodId id : node.pods) {
      const auto& p = store_.pod(id);
      if (p.phase != cluster::PodPhase::kRunning) continue;
      auto& pt = pods_[id];
      size_t k = 0;
      for (const auto& c : p.tmpl->spec->containers) {
        auto cl = [&]() -> Labels {
          return {{"namespace", p.namespace_}, {"pod", p.name},       {"container", c.name},
                  {"instance", node.name()},   {"node", node.name()}, {"uid", p.uid}};
        };
        // Allocation is max(request, usage); the twin has no CPU or memory usage.
        set(pt, k++, "container_cpu_allocation", cl, Request(c, "cpu"));
        set(pt, k++, "container_memory_allocation_bytes", cl, Request(c, "memory"));
        // Only containers that request GPUs get a GPU series; a time-sliced replica counts
        // as a whole GPU (OpenCost's virtual-GPU correction does not apply on this path).
        const double g = Request(c, "nvidia.com/gpu");
        if (g > 0) set(pt, k++, "container_gpu_allocation", cl, g);
      }
      pt.seen = scrape_;
    }
  }
  for (auto* tracked : {&nodes_, &pods_}) {
    for (auto it = tracked->begin(); it != tracked->end();) {
      if (it->second.seen == scrape_) {
        ++it;
        continue;
      }
      for (auto s : it->second.series) metrics_->Retire(s, now);
      it = tracked->erase(it);
    }
  }
  metrics_->Sample(kOpenCostOwner, now, true);
}

}  // namespace gputwin::exporters
