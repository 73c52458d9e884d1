// What a node costs per hour, read off the Node object as a cost tool does (OpenCost's
// cloud provider): the `gputwin.io/price-per-hour` annotation, else its instance type,
// capacity type and zone in the cloud's price list (the run's EC2 catalog, or the built-in
// one when the run has no cloud), in the scenario's region.
#pragma once

#include <string>

#include "cloud/catalog.h"
#include "cluster/objects.h"

namespace gputwin::cloud {
class Ec2;
}

namespace gputwin::cost {

struct NodePrice {
  double price = 0;      // USD per hour paid (0: not priced)
  double on_demand = 0;  // what the same node costs on demand
  bool spot = false;
  const cloud::InstanceType* type = nullptr;  // its catalog entry, when known
};

class NodePricing {
 public:
  explicit NodePricing(const cloud::Ec2* ec2);
  NodePrice Price(const cluster::NodeRecord& node) const;
  const std::string& region() const { return region_; }

 private:
  const cloud::Ec2* ec2_;
  cloud::Catalog builtin_;
  const cloud::Catalog* catalog_;
  std::string region_;
};

// A node label, or "" when absent.
std::string NodeLabel(const cluster::NodeRecord& node, const char* key);

}  // namespace gputwin::cost
