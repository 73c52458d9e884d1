// The EC2 side of the world, as Karpenter's AWS provider meets it: offerings (instance type
// × zone × capacity type) with prices, CreateFleet with its per-override errors (account
// vCPU quotas per instance bucket, insufficient capacity), running instances, and spot
// interruption warnings delivered to an interruption queue (EventBridge → SQS upstream).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/scenario.h"
#include "cloud/catalog.h"
#include "core/event_queue.h"
#include "core/random.h"

namespace gputwin::cloud {

enum class CapacityType : uint8_t { kOnDemand, kSpot };
const char* CapacityTypeName(CapacityType c);  // "on-demand" | "spot"

struct Offering {
  uint32_t type = 0;  // index into the catalog
  std::string zone;
  CapacityType capacity_type = CapacityType::kOnDemand;
  double price = 0;  // USD per hour
};

struct FleetError {
  Offering offering;
  std::string code, message;
};

struct Instance {
  std::string id;  // i-0000000000000001
  Offering offering;
  Time launched_at{0}, terminated_at{0};
  bool running = true;
  bool interruption_noticed = false;
  std::string node_name;  // set when its Node registers
  // EC2 instance topology (DescribeInstanceTopology): its network node set, top layer first;
  // empty for instance types without one.
  std::vector<std::string> network_nodes;
};

// A message on the interruption queue.
struct InterruptionMessage {
  std::string kind;  // spot_interrupted | instance_terminated
  uint32_t instance = 0;
};

// The AWS vCPU quota ("bucket") an instance type counts against for a capacity type:
// "Running On-Demand P instances", "All G and VT Spot Instance Requests", ...
std::string QuotaBucket(const InstanceType& t, CapacityType c);
// Every bucket name AWS defines, for validating a scenario's quotas.
const std::vector<std::string>& KnownQuotaBuckets();

class Ec2 : public EventHandler {
 public:
  // Throws InputError for an unknown quota bucket, an unknown instance type in capacity or
  // interruptions, a region without prices.
  // The catalog's GPUs the run's table lacks are added to `models`.
  Ec2(const api::CloudSpec& spec, uint64_t seed, EventQueue* queue, Time start,
      devices::GpuModelTable* models);

  const Catalog& catalog() const { return catalog_; }
  const std::string& region() const { return spec_.region; }
  const std::vector<std::string>& zones() const { return zones_; }
  const api::CloudStartup& startup() const { return spec_.startup; }
  const std::vector<Duration>& ami_releases() const { return spec_.ami_releases; }
  // Every offering the region has for a type (both capacity types), price order.
  const std::vector<Offering>& OfferingsOf(uint32_t type) const { return offerings_[type]; }
  std::optional<double> OnDemandPrice(uint32_t type) const;
  // The scenario's vCPU quota for a bucket, if it sets one.
  std::optional<int64_t> Quota(const std::string& bucket) const {
    auto it = spec_.quotas.find(bucket);
    if (it == spec_.quotas.end()) return std::nullopt;
    return it->second;
  }

  // CreateFleet (Type=instant, TotalTargetCapacity=1): tries the overrides in the
  // allocation strategy's order (lowest-price for on-demand; the twin approximates spot's
  // price-capacity-optimized by lowest price too) and launches the first that succeeds;
  // every override tried before it fails with its own error.
  struct FleetResult {
    std::optional<uint32_t> instance;
    std::vector<FleetError> errors;
  };
  FleetResult CreateFleet(const std::vector<Offering>& overrides, Time now);
  void TerminateInstance(uint32_t instance, Time now);
  const Instance& instance(uint32_t id) const { return instances_[id]; }
  Instance& instance(uint32_t id) { return instances_[id]; }
  size_t instance_count() const { return instances_.size(); }

  // The interruption queue's consumer (Karpenter's interruption controller).
  void SetInterruptionQueue(std::function<void(const InterruptionMessage&)> consumer) {
    consumer_ = std::move(consumer);
  }

  void OnEvent(Time now, uint64_t arg) override;

  // Notice before a spot instance is reclaimed.
  static constexpr Duration kSpotNotice = Duration::Minutes(2);

 private:
  enum Timer : uint64_t { kRandomInterruption = 1, kScriptedInterruption = 2, kReclaim = 3 };
  std::optional<FleetError> Refuse(const Offering& o, Time now) const;
  double SpotDiscount(const InstanceType& t) const;
  double InterruptionRate(const InstanceType& t) const;
  void Interrupt(uint32_t instance, Time now);

  api::CloudSpec spec_;
  EventQueue& queue_;
  Time start_;
  Catalog catalog_;
  std::vector<std::string> zones_;
  std::vector<std::vector<Offering>> offerings_;  // per catalog type
  std::vector<Instance> instances_;
  std::map<std::string, int64_t> bucket_vcpus_;       // running vCPUs per quota bucket
  std::map<std::string, int64_t> topology_launches_;  // per zone: instances given a node set
  std::vector<std::string> NetworkNodes(const InstanceType& t, const std::string& zone);
  RandomStream random_;
  std::function<void(const InterruptionMessage&)> consumer_;
};

}  // namespace gputwin::cloud
