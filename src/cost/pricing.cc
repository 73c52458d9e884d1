#include "cost/pricing.h"

#include <cstdlib>

#include "cloud/ec2.h"

namespace gputwin::cost {

std::string NodeLabel(const cluster::NodeRecord& node, const char* key) {
  const auto& labels = node.obj.metadata.labels;
  auto it = labels.find(key);
  return it == labels.end() ? std::string() : it->second;
}

NodePricing::NodePricing(const cloud::Ec2* ec2) : ec2_(ec2) {
  if (ec2) {
    catalog_ = &ec2->catalog();
    region_ = ec2->region();
  } else {
    builtin_ = cloud::BuiltinCatalog();
    catalog_ = &builtin_;
    region_ = "us-east-1";
  }
}

NodePrice NodePricing::Price(const cluster::NodeRecord& node) const {
  NodePrice p;
  const std::string type_name = NodeLabel(node, "node.kubernetes.io/instance-type");
  if (!type_name.empty()) p.type = catalog_->Find(type_name);
  // Karpenter's label, else EKS managed node groups'.
  std::string ct = NodeLabel(node, "karpenter.sh/capacity-type");
  if (ct.empty()) ct = NodeLabel(node, "eks.amazonaws.com/capacityType") == "SPOT" ? "spot" : "";
  p.spot = ct == "spot";
  if (p.type) {
    if (auto it = p.type->on_demand_price.find(region_); it != p.type->on_demand_price.end()) {
      p.on_demand = it->second;
    }
  }
  const auto& ann = node.obj.metadata.annotations;
  if (auto a = ann.find("gputwin.io/price-per-hour"); a != ann.end()) {
    p.price = std::strtod(a->second.c_str(), nullptr);
    if (p.on_demand == 0) p.on_demand = p.price;
    return p;
  }
  p.price = p.on_demand;
  if (p.spot && p.type && ec2_) {
    // The spot price of its offering (type, zone), as the spot data feed bills it.
    const std::string zone = NodeLabel(node, "topology.kubernetes.io/zone");
    const auto idx = static_cast<uint32_t>(p.type - ec2_->catalog().types.data());
    for (const auto& o : ec2_->OfferingsOf(idx)) {
      if (o.capacity_type == cloud::CapacityType::kSpot && o.zone == zone) {
        p.price = o.price;
        break;
      }
    }
  }
  return p;
}

}  // namespace gputwin::cost
