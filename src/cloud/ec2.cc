#include "cloud/ec2.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "core/duration_cast.h"
#include "core/glob.h"
#include "core/sha1.h"

namespace gputwin::cloud {
namespace {

// Spot price when the scenario gives none: on-demand less this fraction. An assumption
// (spot prices are per zone and move; AWS quotes "up to 90%" off), documented in
// docs/cloud.md; override per family or category with spec.cloud.spot.discount.
constexpr double kDefaultSpotDiscount = 0.6;

std::string Bucket(const std::string& category) {
  static const std::map<std::string, std::string> kByCategory = {
      {"g", "G and VT"}, {"gr", "G and VT"}, {"vt", "G and VT"}, {"p", "P"}, {"dl", "DL"},
      {"inf", "Inf"},    {"trn", "Trn"},     {"f", "F"},         {"x", "X"}, {"u", "High Memory"}};
  auto it = kByCategory.find(category);
  return it == kByCategory.end() ? "Standard (A, C, D, H, I, M, R, T, Z)" : it->second;
}

std::string ReadFile(const std::string& path, const SourceRef& where) {
  std::ifstream in(path);
  if (!in) throw InputError(where, "catalogs", "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

const char* CapacityTypeName(CapacityType c) {
  return c == CapacityType::kSpot ? "spot" : "on-demand";
}

std::string QuotaBucket(const InstanceType& t, CapacityType c) {
  std::string b = Bucket(t.category);
  return c == CapacityType::kSpot ? "All " + b + " Spot Instance Requests"
                                  : "Running On-Demand " + b + " instances";
}

const std::vector<std::string>& KnownQuotaBuckets() {
  static const std::vector<std::string> k = [] {
    std::vector<std::string> out;
    for (const char* b :
         {"Standard (A, C, D, H, I, M, R, T, Z)", "G and VT", "P", "DL", "Inf", "Trn", "F", "X"}) {
      out.push_back(std::string("Running On-Demand ") + b + " instances");
      out.push_back(std::string("All ") + b + " Spot Instance Requests");
    }
    out.push_back("Running On-Demand High Memory instances");
    return out;
  }();
  return k;
}

Ec2::Ec2(const api::CloudSpec& spec, uint64_t seed, EventQueue* queue, Time start,
         devices::GpuModelTable* models)
    : spec_(spec), queue_(*queue), start_(start), random_(seed, "cloud/ec2") {
  catalog_ = BuiltinCatalog();
  for (const auto& f : spec_.catalog_files) {
    catalog_.Merge(ParseCatalogCsv(ReadFile(f, spec_.source), f));
  }
  std::vector<InstanceType> extra;
  for (const auto& t : spec_.instance_types) {
    const InstanceType* base = catalog_.Find(t.name);
    InstanceType it = base ? *base : InstanceType{};
    it.source = t.source;
    it.name = t.name;
    DeriveNameParts(&it);
    if (!base && (t.vcpu <= 0 || t.memory_mib <= 0)) {
      throw InputError(t.source, "vcpu",
                       "instance type " + t.name +
                           " is not in the catalog: give vcpu and memory (and gpuCount, "
                           "gpuName, gpuMemory for a GPU type)");
    }
    if (t.vcpu > 0) it.vcpu = t.vcpu;
    if (t.memory_mib > 0) it.memory_mib = t.memory_mib;
    if (!base || t.max_pods != 110) it.max_pods = t.max_pods;
    if (t.gpu_count > 0) {
      it.gpu_count = t.gpu_count;
      it.gpu_name = t.gpu_name;
      it.gpu_memory_mib = t.gpu_memory_mib;
      it.gpu_model = GpuModelFor(t.gpu_name, t.gpu_memory_mib);
    }
    it.arch = t.arch;
    if (t.on_demand_price) it.on_demand_price[spec_.region] = *t.on_demand_price;
    if (t.spot_price) it.spot_price[spec_.region] = *t.spot_price;
    if (!t.zones.empty()) it.zones = t.zones;
    extra.push_back(std::move(it));
  }
  catalog_.Merge(std::move(extra));
  AddCatalogGpuModels(catalog_, models);

  zones_ = spec_.zones;
  if (zones_.empty()) {
    for (const char* z : {"a", "b", "c"}) zones_.push_back(spec_.region + z);
  }
  for (const auto& [bucket, vcpus] : spec_.quotas) {
    const auto& known = KnownQuotaBuckets();
    if (std::find(known.begin(), known.end(), bucket) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "\"" : ", \"") + k + "\"";
      throw InputError(spec_.source, "quotas." + bucket,
                       "unknown quota \"" + bucket + "\"; AWS's vCPU quotas are: " + list);
    }
    if (vcpus < 0) throw InputError(spec_.source, "quotas." + bucket, "must not be negative");
  }
  // Offerings: every zone of the region the type is offered in, on-demand where it has a
  // price, spot at its price or the discounted on-demand price.
  offerings_.resize(catalog_.types.size());
  bool any_price = false;
  for (uint32_t i = 0; i < catalog_.types.size(); ++i) {
    const auto& t = catalog_.types[i];
    auto od = t.on_demand_price.find(spec_.region);
    auto sp = t.spot_price.find(spec_.region);
    for (const auto& z : zones_) {
      if (!t.zones.empty() && std::find(t.zones.begin(), t.zones.end(), z) == t.zones.end()) {
        continue;
      }
      if (od != t.on_demand_price.end()) {
        offerings_[i].push_back({i, z, CapacityType::kOnDemand, od->second});
        any_price = true;
      }
      if (sp != t.spot_price.end()) {
        offerings_[i].push_back({i, z, CapacityType::kSpot, sp->second});
      } else if (od != t.on_demand_price.end()) {
        offerings_[i].push_back({i, z, CapacityType::kSpot, od->second * (1 - SpotDiscount(t))});
      }
    }
    std::stable_sort(offerings_[i].begin(), offerings_[i].end(),
                     [](const Offering& a, const Offering& b) { return a.price < b.price; });
  }
  if (!any_price) {
    throw InputError(spec_.source, "region",
                     "no instance type has an on-demand price in " + spec_.region +
                         " (the built-in catalog has us-east-1 and us-west-2): add "
                         "instanceTypes with onDemandPrice or a catalog");
  }
  for (size_t k = 0; k < spec_.capacity.size(); ++k) {
    const auto& c = spec_.capacity[k];
    bool any = std::any_of(catalog_.types.begin(), catalog_.types.end(), [&](const auto& t) {
      return Glob(c.instance_type.c_str(), t.name.c_str());
    });
    if (!any) {
      throw InputError(c.source, "instanceType",
                       "no instance type in the catalog matches \"" + c.instance_type + "\"");
    }
  }
  for (size_t k = 0; k < spec_.interruptions.size(); ++k) {
    queue_.Schedule(start_ + spec_.interruptions[k].at, this, (kScriptedInterruption << 60) | k);
  }
}

// The instance types DescribeInstanceTopology answers for (the EC2 API reference's list):
// three network layers, four for p6-b200. Where in the hierarchy an instance lands is not
// public: the twin fills each zone's bottom-layer nodes with 4 instances in launch order,
// 4 bottom nodes under each middle node, and one top node per zone (an assumption,
// docs/training.md). IDs look like EC2's (nn-<17 hex digits>).
std::vector<std::string> Ec2::NetworkNodes(const InstanceType& t, const std::string& zone) {
  static const std::set<std::string> kThree = {
      "hpc6a.48xlarge", "hpc6id.32xlarge", "hpc7a.12xlarge", "hpc7a.24xlarge", "hpc7a.48xlarge",
      "hpc7a.96xlarge", "hpc7g.4xlarge",   "hpc7g.8xlarge",  "hpc7g.16xlarge", "p3dn.24xlarge",
      "p4d.24xlarge",   "p4de.24xlarge",   "p5.48xlarge",    "p5e.48xlarge",   "p5en.48xlarge",
      "trn1.2xlarge",   "trn1.32xlarge",   "trn1n.32xlarge", "trn2.48xlarge",  "trn2u.48xlarge"};
  const bool four = t.name == "p6-b200.48xlarge";
  if (!four && !kThree.count(t.name)) return {};
  const int64_t k = topology_launches_[zone]++;
  const int layers = four ? 4 : 3;
  // Index of the node at each layer: the bottom holds 4 instances, each layer above 4 nodes.
  std::vector<int64_t> index(static_cast<size_t>(layers));
  index[static_cast<size_t>(layers - 1)] = k / 4;
  for (int l = layers - 2; l >= 1; --l)
    index[static_cast<size_t>(l)] = index[static_cast<size_t>(l + 1)] / 4;
  index[0] = 0;
  std::vector<std::string> out;
  for (int l = 0; l < layers; ++l) {
    const std::string h = Sha1Hex(region() + "/" + zone + "/" + std::to_string(l + 1) + "/" +
                                  std::to_string(index[static_cast<size_t>(l)]));
    out.push_back("nn-" + h.substr(0, 17));
  }
  return out;
}

double Ec2::SpotDiscount(const InstanceType& t) const {
  for (const auto& key : {t.family, t.category}) {
    if (auto it = spec_.spot_discount.find(key); it != spec_.spot_discount.end()) {
      return it->second;
    }
  }
  if (auto it = spec_.spot_discount.find("*"); it != spec_.spot_discount.end()) return it->second;
  return kDefaultSpotDiscount;
}

double Ec2::InterruptionRate(const InstanceType& t) const {
  for (const auto& key : {t.name, t.family, t.category}) {
    if (auto it = spec_.spot_interruption_rates.find(key);
        it != spec_.spot_interruption_rates.end()) {
      return it->second;
    }
  }
  return spec_.spot_interruption_rate_per_hour;
}

std::optional<double> Ec2::OnDemandPrice(uint32_t type) const {
  const auto& t = catalog_.types[type];
  auto it = t.on_demand_price.find(spec_.region);
  if (it == t.on_demand_price.end()) return std::nullopt;
  return it->second;
}

std::optional<FleetError> Ec2::Refuse(const Offering& o, Time now) const {
  const auto& t = catalog_.types[o.type];
  std::string bucket = QuotaBucket(t, o.capacity_type);
  if (auto q = spec_.quotas.find(bucket); q != spec_.quotas.end()) {
    auto used = bucket_vcpus_.find(bucket);
    int64_t running = used == bucket_vcpus_.end() ? 0 : used->second;
    if (running + t.vcpu > q->second) {
      if (o.capacity_type == CapacityType::kSpot) {
        return FleetError{o, "MaxSpotInstanceCountExceeded",
                          "Max spot instance count exceeded (quota \"" + bucket +
                              "\": " + std::to_string(q->second) + " vCPUs, " +
                              std::to_string(running) + " in use)"};
      }
      return FleetError{o, "VcpuLimitExceeded",
                        "You have requested more vCPU capacity than your current vCPU limit "
                        "of " +
                            std::to_string(q->second) +
                            " allows for the instance bucket that the specified instance type "
                            "belongs to (\"" +
                            bucket + "\", " + std::to_string(running) + " vCPUs in use)"};
    }
  }
  const Duration since = now - start_;
  for (const auto& c : spec_.capacity) {
    if (since < c.from || (c.until && since >= *c.until)) continue;
    if (!Glob(c.instance_type.c_str(), t.name.c_str()) || !Glob(c.zone.c_str(), o.zone.c_str()) ||
        (c.capacity_type != "*" && c.capacity_type != CapacityTypeName(o.capacity_type))) {
      continue;
    }
    int64_t running = 0;
    if (c.max_instances) {
      for (const auto& inst : instances_) {
        const auto& io = inst.offering;
        running += inst.running && io.type == o.type && io.zone == o.zone &&
                   io.capacity_type == o.capacity_type;
      }
      if (running < *c.max_instances) continue;
    }
    return FleetError{o, "InsufficientInstanceCapacity",
                      "We currently do not have sufficient " + t.name + " capacity (" +
                          CapacityTypeName(o.capacity_type) +
                          ") in the Availability Zone you "
                          "requested (" +
                          o.zone + ")"};
  }
  return std::nullopt;
}

Ec2::FleetResult Ec2::CreateFleet(const std::vector<Offering>& overrides, Time now) {
  FleetResult out;
  std::vector<Offering> order = overrides;
  std::stable_sort(order.begin(), order.end(), [&](const Offering& a, const Offering& b) {
    if (a.price != b.price) return a.price < b.price;
    const auto& an = catalog_.types[a.type].name;
    const auto& bn = catalog_.types[b.type].name;
    return an != bn ? an < bn : a.zone < b.zone;
  });
  for (const auto& o : order) {
    if (auto err = Refuse(o, now)) {
      out.errors.push_back(*err);
      continue;
    }
    Instance inst;
    char id[32];
    std::snprintf(id, sizeof id, "i-%017zx", instances_.size() + 1);
    inst.id = id;
    inst.offering = o;
    inst.launched_at = now;
    inst.network_nodes = NetworkNodes(catalog_.types[o.type], o.zone);
    uint32_t index = static_cast<uint32_t>(instances_.size());
    instances_.push_back(inst);
    const auto& t = catalog_.types[o.type];
    bucket_vcpus_[QuotaBucket(t, o.capacity_type)] += t.vcpu;
    if (o.capacity_type == CapacityType::kSpot) {
      double rate = InterruptionRate(t);
      if (rate > 0) {
        double hours = random_.Exponential(1.0 / rate);
        queue_.Schedule(now + SaturatingNs(hours * 3.6e12), this,
                        (kRandomInterruption << 60) | index);
      }
    }
    out.instance = index;
    return out;
  }
  return out;
}

void Ec2::TerminateInstance(uint32_t id, Time now) {
  auto& inst = instances_[id];
  if (!inst.running) return;
  inst.running = false;
  inst.terminated_at = now;
  const auto& t = catalog_.types[inst.offering.type];
  bucket_vcpus_[QuotaBucket(t, inst.offering.capacity_type)] -= t.vcpu;
}

void Ec2::Interrupt(uint32_t id, Time now) {
  auto& inst = instances_[id];
  if (!inst.running || inst.interruption_noticed) return;
  inst.interruption_noticed = true;
  if (consumer_) consumer_({"spot_interrupted", id});
  queue_.Schedule(now + kSpotNotice, this, (kReclaim << 60) | id);
}

void Ec2::OnEvent(Time now, uint64_t arg) {
  auto timer = static_cast<Timer>(arg >> 60);
  uint64_t payload = arg & ((uint64_t{1} << 60) - 1);
  switch (timer) {
    case kRandomInterruption:
      Interrupt(static_cast<uint32_t>(payload), now);
      break;
    case kScriptedInterruption: {
      const auto& s = spec_.interruptions[payload];
      for (uint32_t i = 0; i < instances_.size(); ++i) {
        const auto& inst = instances_[i];
        if (!inst.running || inst.interruption_noticed ||
            inst.offering.capacity_type != CapacityType::kSpot) {
          continue;
        }
        if (!s.node.empty() && !Glob(s.node.c_str(), inst.node_name.c_str())) continue;
        if (!s.instance_type.empty() &&
            !Glob(s.instance_type.c_str(), catalog_.types[inst.offering.type].name.c_str())) {
          continue;
        }
        Interrupt(i, now);
        break;
      }
      break;
    }
    case kReclaim: {
      auto id = static_cast<uint32_t>(payload);
      if (!instances_[id].running) break;
      TerminateInstance(id, now);
      if (consumer_) consumer_({"instance_terminated", id});
      break;
    }
  }
}

}  // namespace gputwin::cloud
