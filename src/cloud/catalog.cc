#include "cloud/catalog.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <sstream>

#include "core/csv.h"
#include "devices/gpu_models.h"

namespace gputwin::cloud {
namespace {

Quantity Milli(int64_t m) {
  return Quantity{m};
}
Quantity Units(int64_t v) {
  return Quantity{v * 1000};
}
// Saturates: kube-reserved memory is 11 MiB a pod, past int64 milli-bytes for maxPods near
// INT32_MAX (a node that reserves it all has no memory left, as it should).
Quantity MiB(int64_t mib) {
  int64_t milli = 0;
  if (__builtin_mul_overflow(mib, int64_t{1024} * 1024 * 1000, &milli)) {
    milli = mib < 0 ? INT64_MIN : INT64_MAX;
  }
  return Quantity{milli};
}

// EKS AMI kube-reserved CPU: 6% of the first core, 1% of the second, 0.5% of the third
// and fourth, 0.25% of the rest (types.go cpu()). In closed form: a loop over the cores
// ran 2^31 times for a catalog row of that many.
int64_t KubeReservedMilliCpu(int32_t vcpu) {
  if (vcpu <= 0) return 0;
  double m = 60;
  if (vcpu >= 2) m += 10;
  m += 5.0 * std::clamp(vcpu - 2, 0, 2);
  m += 2.5 * std::max(vcpu - 4, 0);
  return static_cast<int64_t>(m);
}

}  // namespace

std::string GpuModelFor(const std::string& gpu_name, int64_t memory_mib) {
  static const std::map<std::string, std::vector<std::pair<int64_t, const char*>>> kKnown = {
      {"a100", {{40960, "A100-40GB"}, {81920, "A100-80GB"}}},
      {"h100", {{81920, "H100-80GB"}}},
      {"h200", {{144384, "H200-141GB"}}},
      {"l4", {{0, "L4"}}},
      {"l40s", {{0, "L40S"}}},
      {"a10g", {{0, "A10G"}}},
      {"t4", {{0, "T4"}}},
      {"v100", {{16384, "V100-16GB"}, {32768, "V100-32GB"}}},
  };
  if (auto it = kKnown.find(gpu_name); it != kKnown.end()) {
    for (const auto& [mem, model] : it->second) {
      if (mem == 0 || mem == memory_mib) return model;
    }
  }
  std::string name = gpu_name;
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

void AddCatalogGpuModels(const Catalog& catalog, devices::GpuModelTable* models) {
  for (const auto& t : catalog.types) {
    if (t.gpu_count <= 0 || models->Find(t.gpu_model)) continue;
    devices::GpuModel m;
    m.name = t.gpu_model;
    m.product = "NVIDIA-" + t.gpu_model;
    m.memory_mib = t.gpu_memory_mib;
    m.family = "unknown";
    std::string error;
    models->Add(m, &error);
  }
}

void DeriveNameParts(InstanceType* t) {
  auto dot = t->name.find('.');
  t->family = t->name.substr(0, dot);
  t->size = dot == std::string::npos ? "" : t->name.substr(dot + 1);
  size_t i = 0;
  while (i < t->family.size() && std::isalpha(static_cast<unsigned char>(t->family[i]))) ++i;
  t->category = t->family.substr(0, i);
  size_t j = i;
  while (j < t->family.size() && std::isdigit(static_cast<unsigned char>(t->family[j]))) ++j;
  t->generation = 0;
  if (j > i) {
    // std::stoi threw std::out_of_range, which named no file or line.
    const auto [p, ec] = std::from_chars(t->family.data() + i, t->family.data() + j, t->generation);
    if (ec != std::errc()) {
      throw InputError(t->source, "",
                       "Invalid value: \"" + t->name + "\": instance generation " +
                           t->family.substr(i, j - i) + " is out of range");
    }
  }
}

api::ResourceList InstanceType::Capacity(const NodeOverhead& o) const {
  api::ResourceList r;
  r["cpu"] = Units(vcpu);
  int64_t overhead = static_cast<int64_t>(std::ceil(static_cast<double>(memory_mib) * 0.075));
  // Graviton instances report less memory: Karpenter's published allocatable for every
  // arm64 type is 59 MiB below the amd64 arithmetic (the reference notes a 64 MiB
  // adjustment; the published figures are what the twin matches).
  if (arch == "arm64") overhead += 59;
  r["memory"] = MiB(memory_mib - overhead);
  r["pods"] = Units(Pods(o));
  // ephemeralStorage (pkg/providers/instancetype/types.go): with RAID0 the instance store's
  // total size in GB, else the root volume.
  r["ephemeral-storage"] = o.instance_store_raid0 && local_nvme_gb > 0
                               ? Quantity{local_nvme_gb * 1'000'000'000 * 1000}
                               : Quantity{o.root_volume_bytes * 1000};
  if (gpu_count > 0) r["nvidia.com/gpu"] = Units(gpu_count);
  if (efa > 0) r["vpc.amazonaws.com/efa"] = Units(efa);
  return r;
}

api::ResourceList InstanceType::Allocatable(const NodeOverhead& o) const {
  api::ResourceList r = Capacity(o);
  const int64_t nodefs = r["ephemeral-storage"].milli;
  api::ResourceList reserved = o.kube_reserved;
  if (!reserved.count("cpu")) reserved["cpu"] = Milli(KubeReservedMilliCpu(vcpu));
  if (!reserved.count("memory")) reserved["memory"] = MiB(11LL * max_pods + 255);
  if (!reserved.count("ephemeral-storage")) reserved["ephemeral-storage"] = Units(1LL << 30);
  for (const auto& [res, q] : o.system_reserved) r[res].milli -= q.milli;
  for (const auto& [res, q] : reserved) r[res].milli -= q.milli;
  r["memory"].milli -= MiB(100).milli;
  r["ephemeral-storage"].milli -= nodefs / 10;  // the eviction threshold: 10% of nodefs
  for (auto& [res, q] : r) q.milli = std::max<int64_t>(q.milli, 0);
  return r;
}

api::Labels InstanceType::Labels() const {
  api::Labels l;
  l["node.kubernetes.io/instance-type"] = name;
  l["kubernetes.io/arch"] = arch;
  l["kubernetes.io/os"] = "linux";
  const std::string p = "karpenter.k8s.aws/";
  l[p + "instance-category"] = category;
  l[p + "instance-family"] = family;
  l[p + "instance-generation"] = std::to_string(generation);
  l[p + "instance-size"] = size;
  l[p + "instance-cpu"] = std::to_string(vcpu);
  l[p + "instance-memory"] = std::to_string(memory_mib);
  l[p + "instance-hypervisor"] = size.find("metal") != std::string::npos ? "" : "nitro";
  if (gpu_count > 0) {
    l[p + "instance-gpu-name"] = gpu_name;
    l[p + "instance-gpu-manufacturer"] = "nvidia";
    l[p + "instance-gpu-count"] = std::to_string(gpu_count);
    l[p + "instance-gpu-memory"] = std::to_string(gpu_memory_mib);
  }
  return l;
}

const InstanceType* Catalog::Find(const std::string& name) const {
  auto it =
      std::lower_bound(types.begin(), types.end(), name,
                       [](const InstanceType& t, const std::string& n) { return t.name < n; });
  return it != types.end() && it->name == name ? &*it : nullptr;
}

void Catalog::Merge(std::vector<InstanceType> more) {
  for (auto& t : more) {
    auto it =
        std::lower_bound(types.begin(), types.end(), t.name,
                         [](const InstanceType& a, const std::string& n) { return a.name < n; });
    if (it != types.end() && it->name == t.name) {
      *it = std::move(t);
    } else {
      types.insert(it, std::move(t));
    }
  }
}

std::vector<InstanceType> ParseCatalogCsv(const std::string& text, const std::string& file) {
  std::vector<InstanceType> out;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto cells = SplitCsvLine(line);
    if (!cells.empty() && cells[0] == "instance_type") {
      header = cells;
      for (const auto& c : {"instance_type", "vcpu", "memory_mib"}) {
        if (std::find(header.begin(), header.end(), c) == header.end()) {
          throw InputError(SourceRef{file, line_no}, c, "missing catalog column");
        }
      }
      continue;
    }
    if (header.empty()) {
      throw InputError(SourceRef{file, line_no}, "", "catalog row before the header row");
    }
    auto get = [&](const std::string& col) -> std::string {
      auto it = std::find(header.begin(), header.end(), col);
      if (it == header.end()) return "";
      size_t i = static_cast<size_t>(it - header.begin());
      return i < cells.size() ? cells[i] : "";
    };
    // Whole-number columns have a bound (`max`) within their type and what a node's
    // quantities can hold, so the casts below and the arithmetic on nodes stay defined.
    auto num = [&](const std::string& col, double fallback, double max = HUGE_VAL) {
      std::string v = get(col);
      if (v.empty()) return fallback;
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(d >= 0) || !std::isfinite(d)) {
        throw InputError(SourceRef{file, line_no}, col,
                         "\"" + v + "\" is not a non-negative number");
      }
      if (d > max) {
        throw InputError(
            SourceRef{file, line_no}, col,
            "\"" + v + "\" is out of range [0, " + std::to_string(static_cast<int64_t>(max)) + "]");
      }
      return d;
    };
    constexpr double kInt32 = INT32_MAX;
    // MiB and GB held as int64 milli-units (and milli-bytes) on the node.
    constexpr double kMaxMiB = INT64_MAX / (int64_t{1024} * 1024 * 1000);
    constexpr double kMaxGB = INT64_MAX / 1'000'000'000'000;
    InstanceType t;
    t.source = SourceRef{file, line_no};
    t.name = get("instance_type");
    if (t.name.empty()) throw InputError(t.source, "instance_type", "Required value");
    DeriveNameParts(&t);
    t.arch = get("arch").empty() ? "amd64" : get("arch");
    t.vcpu = static_cast<int32_t>(num("vcpu", 0, kInt32));
    t.memory_mib = static_cast<int64_t>(num("memory_mib", 0, kMaxMiB));
    if (t.vcpu <= 0 || t.memory_mib <= 0) {
      throw InputError(t.source, "vcpu", "an instance type needs vcpu and memory_mib");
    }
    t.max_pods = static_cast<int32_t>(num("max_pods", 110, kInt32));
    t.gpu_count = static_cast<int32_t>(num("gpu_count", 0, 16));  // as gpuCount
    t.gpu_name = get("gpu_name");
    t.gpu_memory_mib = static_cast<int64_t>(num("gpu_memory_mib", 0, kMaxMiB));
    t.efa = static_cast<int32_t>(num("efa_interfaces", 0, kInt32));
    t.network_mbps = static_cast<int64_t>(num("network_bandwidth_mbps", 0, kMaxGB));
    t.local_nvme_gb = static_cast<int64_t>(num("local_nvme_gb", 0, kMaxGB));
    if (t.gpu_count > 0) t.gpu_model = GpuModelFor(t.gpu_name, t.gpu_memory_mib);
    // Price columns: od_price_<region with underscores>.
    for (const auto& col : header) {
      if (!col.starts_with("od_price_")) continue;
      std::string region = col.substr(9);
      std::replace(region.begin(), region.end(), '_', '-');
      if (!get(col).empty()) t.on_demand_price[region] = num(col, 0);
    }
    out.push_back(std::move(t));
  }
  return out;
}

Catalog BuiltinCatalog() {
  Catalog c;
  c.Merge(ParseCatalogCsv(BuiltinCatalogText(), "<built-in catalog>"));
  return c;
}

}  // namespace gputwin::cloud
