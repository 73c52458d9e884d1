// The built-in catalog and Karpenter's allocatable arithmetic
// (aws/karpenter-provider-aws pkg/providers/instancetype/types.go).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cloud/catalog.h"
#include "cloud/ec2.h"

namespace gputwin::cloud {
namespace {

int64_t MiBOf(const api::ResourceList& r, const char* name) {
  return r.at(name).Value() / (1024 * 1024);
}

TEST(Catalog, G5XlargeAsKarpenterComputesIt) {
  Catalog c = BuiltinCatalog();
  const InstanceType* t = c.Find("g5.xlarge");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->family, "g5");
  EXPECT_EQ(t->category, "g");
  EXPECT_EQ(t->generation, 5);
  EXPECT_EQ(t->size, "xlarge");
  EXPECT_EQ(t->gpu_model, "A10G");
  // 4 vCPU: kube-reserved 60m + 10m + 5m + 5m = 80m → 3920m.
  auto a = t->Allocatable();
  EXPECT_EQ(a.at("cpu").milli, 3920);
  // 16384 MiB − ceil(7.5%) = 15155; − (11 × 58 + 255) − 100 eviction = 14162 MiB.
  EXPECT_EQ(MiBOf(a, "memory"), 14162);
  EXPECT_EQ(a.at("nvidia.com/gpu").Value(), 1);
  EXPECT_EQ(a.at("pods").Value(), 58);
  // 20Gi root volume − 1Gi kube-reserved − 10% eviction = 17Gi.
  EXPECT_EQ(a.at("ephemeral-storage").Value(), 17LL << 30);
  auto labels = t->Labels();
  EXPECT_EQ(labels["karpenter.k8s.aws/instance-gpu-name"], "a10g");
  EXPECT_EQ(labels["karpenter.k8s.aws/instance-gpu-memory"], "22888");
  EXPECT_EQ(labels["karpenter.k8s.aws/instance-family"], "g5");
}

TEST(Catalog, NameParts) {
  InstanceType t;
  t.name = "p6-b200.48xlarge";
  DeriveNameParts(&t);
  EXPECT_EQ(t.family, "p6-b200");
  EXPECT_EQ(t.category, "p");
  EXPECT_EQ(t.generation, 6);
  t.name = "gr6.4xlarge";
  DeriveNameParts(&t);
  EXPECT_EQ(t.category, "gr");
}

// Every GPU type's allocatable equals what Karpenter's generated docs list
// (../shared/data/catalog/aws-gpu-instances.csv, karpenter_alloc_* columns).
TEST(Catalog, AllocatableMatchesKarpenterDocsForEveryType) {
  std::string path =
      std::string(GPUTWIN_SOURCE_DIR) + "/../shared/data/catalog/aws-gpu-instances.csv";
  std::ifstream in(path);
  if (!in) GTEST_SKIP() << "shared data not present: " << path;
  Catalog c = BuiltinCatalog();
  std::string line;
  std::getline(in, line);
  int checked = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (char ch : line) {
      if (ch == '"')
        quoted = !quoted;
      else if (ch == ',' && !quoted)
        cells.push_back(cell), cell.clear();
      else
        cell += ch;
    }
    cells.push_back(cell);
    const InstanceType* t = c.Find(cells[0]);
    if (!t) continue;  // AMD, Habana, fractional: not in the twin's catalog
    auto a = t->Allocatable();
    EXPECT_EQ(a.at("cpu").milli, std::stoll(cells[20])) << t->name;
    EXPECT_EQ(MiBOf(a, "memory"), std::stoll(cells[21])) << t->name;
    ++checked;
  }
  EXPECT_EQ(checked, 63);
}

TEST(Ec2, QuotaBuckets) {
  Catalog c = BuiltinCatalog();
  EXPECT_EQ(QuotaBucket(*c.Find("p4d.24xlarge"), CapacityType::kOnDemand),
            "Running On-Demand P instances");
  EXPECT_EQ(QuotaBucket(*c.Find("g6e.xlarge"), CapacityType::kSpot),
            "All G and VT Spot Instance Requests");
  EXPECT_EQ(QuotaBucket(*c.Find("m6i.large"), CapacityType::kOnDemand),
            "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances");
}

TEST(Ec2, VcpuQuotaRefusesTheLaunchThatWouldExceedIt) {
  api::CloudSpec spec;
  spec.quotas["Running On-Demand P instances"] = 96;  // one p4d.24xlarge
  EventQueue q;
  devices::GpuModelTable models;
  Ec2 ec2(spec, 1, &q, Time{0}, &models);
  uint32_t p4d =
      static_cast<uint32_t>(ec2.catalog().Find("p4d.24xlarge") - ec2.catalog().types.data());
  Offering od{p4d, "us-east-1a", CapacityType::kOnDemand, 21.957642};
  auto first = ec2.CreateFleet({od}, Time{0});
  ASSERT_TRUE(first.instance.has_value());
  auto second = ec2.CreateFleet({od}, Time{0});
  EXPECT_FALSE(second.instance.has_value());
  ASSERT_EQ(second.errors.size(), 1u);
  EXPECT_EQ(second.errors[0].code, "VcpuLimitExceeded");
  ec2.TerminateInstance(*first.instance, Time{0});
  EXPECT_TRUE(ec2.CreateFleet({od}, Time{0}).instance.has_value());
}

// EC2 instance topology: three network nodes per p5 instance (DescribeInstanceTopology's
// supported types), none for a g5. The twin's placement: 4 instances per bottom-layer node
// in a zone, 4 of those per middle node, one top node per zone.
TEST(Ec2, InstanceTopologyForSupportedTypes) {
  api::CloudSpec spec;
  spec.region = "us-east-1";
  EventQueue q;
  devices::GpuModelTable models;
  Ec2 ec2(spec, 1, &q, Time{0}, &models);
  auto index = [&](const char* name) {
    return static_cast<uint32_t>(ec2.catalog().Find(name) - ec2.catalog().types.data());
  };
  Offering p5{index("p5.48xlarge"), "us-east-1a", CapacityType::kOnDemand, 55.04};
  std::vector<std::vector<std::string>> nodes;
  for (int i = 0; i < 17; ++i) {
    auto r = ec2.CreateFleet({p5}, Time{0});
    ASSERT_TRUE(r.instance.has_value());
    nodes.push_back(ec2.instance(*r.instance).network_nodes);
    ASSERT_EQ(nodes.back().size(), 3u);
    EXPECT_EQ(nodes.back()[0].size(), 20u);  // nn- and 17 hex digits
  }
  EXPECT_EQ(nodes[0], nodes[3]);          // one bottom node for the first four
  EXPECT_NE(nodes[3][2], nodes[4][2]);    // the fifth under the next one
  EXPECT_EQ(nodes[3][1], nodes[4][1]);    // same middle node
  EXPECT_NE(nodes[15][1], nodes[16][1]);  // the 17th under the next middle node
  EXPECT_EQ(nodes[0][0], nodes[16][0]);   // one top node per zone
  Offering other_zone = p5;
  other_zone.zone = "us-east-1b";
  auto b = ec2.CreateFleet({other_zone}, Time{0});
  EXPECT_NE(ec2.instance(*b.instance).network_nodes[0], nodes[0][0]);
  Offering g5{index("g5.xlarge"), "us-east-1a", CapacityType::kOnDemand, 1.006};
  auto g = ec2.CreateFleet({g5}, Time{0});
  EXPECT_TRUE(ec2.instance(*g.instance).network_nodes.empty());
}

TEST(Ec2, UnknownQuotaIsAnError) {
  api::CloudSpec spec;
  spec.quotas["Running On-Demand GPU instances"] = 8;
  EventQueue q;
  devices::GpuModelTable models;
  EXPECT_THROW(Ec2(spec, 1, &q, Time{0}, &models), InputError);
}

TEST(Ec2, SpotPriceDefaultsToDiscountedOnDemand) {
  api::CloudSpec spec;
  spec.spot_discount["g5"] = 0.7;
  EventQueue q;
  devices::GpuModelTable models;
  Ec2 ec2(spec, 1, &q, Time{0}, &models);
  uint32_t g5 = static_cast<uint32_t>(ec2.catalog().Find("g5.xlarge") - ec2.catalog().types.data());
  const auto& offers = ec2.OfferingsOf(g5);
  ASSERT_EQ(offers.size(), 6u);  // 3 zones × 2 capacity types
  EXPECT_EQ(offers[0].capacity_type, CapacityType::kSpot);
  EXPECT_NEAR(offers[0].price, 1.006 * 0.3, 1e-9);
}

}  // namespace
}  // namespace gputwin::cloud
