// Topology-Aware Scheduling placement (pkg/cache/scheduler/tas_flavor_snapshot.go), checked
// against the expectations of Kueue's TestFindTopologyAssignments
// (pkg/cache/scheduler/tas_cache_test.go at HEAD ff69552e, default feature gates). Each test
// names the upstream case it ports; node capacities are upstream's allocatable minus the
// non-TAS pods of the case.
#include "kueue/tas_placement.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ostream>

namespace gputwin::kueue::tas {

void PrintTo(const TopologyAssignment& a, std::ostream* os) {
  *os << "{levels:";
  for (const auto& l : a.levels) *os << " " << l;
  *os << "; domains:";
  for (const auto& d : a.domains) {
    *os << " ";
    for (size_t i = 0; i < d.values.size(); ++i) *os << (i ? "/" : "") << d.values[i];
    *os << ":" << d.count;
  }
  *os << "}";
}

namespace {

using cluster::kCpu;
using cluster::kMemory;
using cluster::kPods;
using cluster::ResourceVec;

constexpr const char* kBlock = "cloud.com/topology-block";
constexpr const char* kRack = "cloud.com/topology-rack";
constexpr size_t kGpu = 4;
constexpr int64_t kGi = 1024LL * 1024 * 1024;

const std::vector<std::string> kResourceNames = {"cpu", "memory", "ephemeral-storage", "pods",
                                                 "example.com/gpu"};
const std::vector<std::string> kOneLevel = {kHostnameLabel};
const std::vector<std::string> kTwoLevels = {kBlock, kRack};
const std::vector<std::string> kThreeLevels = {kBlock, kRack, kHostnameLabel};

ResourceVec Free(int64_t cpu_milli, int64_t pods, int64_t memory = 0) {
  ResourceVec v(4, 0);
  v[kCpu] = cpu_milli;
  v[kMemory] = memory;
  v[kPods] = pods;
  return v;
}

// One pod's requests; pods:1 is added as Kueue does (resources.OnePodRequest).
ResourceVec PerPod(int64_t cpu_milli, int64_t memory = 0) {
  return Free(cpu_milli, 1, memory);
}

TopologyNode Node(std::vector<std::string> values, ResourceVec free, std::string excluded = "") {
  TopologyNode n;
  n.name = values.back();
  n.level_values = std::move(values);
  n.free = std::move(free);
  n.excluded = std::move(excluded);
  return n;
}

TopologyRequest Request(RequestMode mode, std::string level, int32_t count, ResourceVec per_pod) {
  TopologyRequest r;
  r.mode = mode;
  r.level = std::move(level);
  r.count = count;
  r.per_pod = std::move(per_pod);
  return r;
}
TopologyRequest Required(std::string level, int32_t count, ResourceVec per_pod) {
  return Request(RequestMode::kRequired, std::move(level), count, std::move(per_pod));
}
TopologyRequest Preferred(std::string level, int32_t count, ResourceVec per_pod) {
  return Request(RequestMode::kPreferred, std::move(level), count, std::move(per_pod));
}
TopologyRequest Unconstrained(int32_t count, ResourceVec per_pod) {
  return Request(RequestMode::kUnconstrained, "", count, std::move(per_pod));
}
TopologyRequest WithSlices(TopologyRequest r, std::string slice_level, int32_t slice_size) {
  r.slice_level = std::move(slice_level);
  r.slice_size = slice_size;
  return r;
}

// An assignment at the hostname level: {hostname, count}...
TopologyAssignment Hosts(std::vector<std::pair<std::string, int32_t>> domains) {
  TopologyAssignment a;
  a.levels = kOneLevel;
  for (auto& [host, count] : domains) a.domains.push_back({{host}, count});
  return a;
}
// An assignment over all levels of a topology without hostname.
TopologyAssignment Paths(std::vector<std::string> levels,
                         std::vector<std::pair<std::vector<std::string>, int32_t>> domains) {
  TopologyAssignment a;
  a.levels = std::move(levels);
  for (auto& [values, count] : domains) a.domains.push_back({values, count});
  return a;
}

std::vector<PlacementResult> Place(const std::vector<std::string>& levels,
                                   const std::vector<TopologyNode>& nodes,
                                   const std::vector<TopologyRequest>& requests) {
  return FindTopologyAssignments("default", levels, nodes, requests, kResourceNames);
}
PlacementResult PlaceOne(const std::vector<std::string>& levels,
                         const std::vector<TopologyNode>& nodes, const TopologyRequest& request) {
  return Place(levels, nodes, {request})[0];
}

void ExpectAssignment(const PlacementResult& got, const TopologyAssignment& want) {
  ASSERT_TRUE(got.assignment.has_value()) << got.reason;
  EXPECT_EQ(*got.assignment, want);
  EXPECT_EQ(got.reason, "");
}
void ExpectReason(const PlacementResult& got, const std::string& want) {
  EXPECT_FALSE(got.assignment.has_value());
  EXPECT_EQ(got.reason, want);
}

// upstream's defaultNodes: b1{r1{x3}, r2{x5, x1, x6}}, b2{r1{x2}, r2{x4}}, 1 cpu each but x4
// with 2 (x2 is named b2-r2-x2 but carries rack r1).
std::vector<TopologyNode> DefaultNodes(bool with_hostname) {
  auto v = [&](const char* b, const char* r, const char* x) {
    std::vector<std::string> values = {b, r};
    if (with_hostname) values.push_back(x);
    return values;
  };
  return {
      Node(v("b1", "r1", "x3"), Free(1000, 10, kGi)),
      Node(v("b1", "r2", "x5"), Free(1000, 10, kGi)),
      Node(v("b1", "r2", "x1"), Free(1000, 10, kGi)),
      Node(v("b1", "r2", "x6"), Free(1000, 10, kGi)),
      Node(v("b2", "r1", "x2"), Free(1000, 10, kGi)),
      Node(v("b2", "r2", "x4"), Free(2000, 40, 4 * kGi)),
  };
}

// upstream's scatteredNodes: b1{r1{x3: 4 cpu, x5: 1, x1: 1}}, b2{r1{x6: 2, x2: 1}}.
std::vector<TopologyNode> ScatteredNodes() {
  return {
      Node({"b1", "r1", "x3"}, Free(4000, 10, kGi)), Node({"b1", "r1", "x5"}, Free(1000, 10, kGi)),
      Node({"b1", "r1", "x1"}, Free(1000, 10, kGi)), Node({"b2", "r1", "x6"}, Free(2000, 10, kGi)),
      Node({"b2", "r1", "x2"}, Free(1000, 10, kGi)),
  };
}

// upstream's multipodNodeset: defaultNodes' shape with 10 cpu per node (20 on x4)
std::vector<TopologyNode> MultipodNodes(bool with_hostname) {
  auto v = [&](const char* b, const char* r, const char* x) {
    std::vector<std::string> values = {b, r};
    if (with_hostname) values.push_back(x);
    return values;
  };
  return {
      Node(v("b1", "r1", "x3"), Free(10000, 10, kGi)),
      Node(v("b1", "r2", "x5"), Free(10000, 10, kGi)),
      Node(v("b1", "r2", "x1"), Free(10000, 10, kGi)),
      Node(v("b1", "r2", "x6"), Free(10000, 10, kGi)),
      Node(v("b2", "r1", "x2"), Free(10000, 10, kGi)),
      Node(v("b2", "r2", "x4"), Free(20000, 40, 4 * kGi)),
  };
}

// --- case 1 ---------------------------------------------------------------------------------

TEST(TasPlacement, MinimizeRacksBeforeNodes) {
  // upstream: "minimize the number of used racks before optimizing the number of nodes; BestFit"
  const std::vector<TopologyNode> nodes = {
      Node({"b1", "r1", "x3"}, Free(2000, 10)), Node({"b1", "r2", "x5"}, Free(2000, 20)),
      Node({"b1", "r3", "x1"}, Free(1000, 10)), Node({"b1", "r3", "x6"}, Free(1000, 10)),
      Node({"b1", "r3", "x2"}, Free(1000, 10)), Node({"b1", "r3", "x4"}, Free(1000, 10)),
  };
  ExpectAssignment(PlaceOne(kThreeLevels, nodes, Required(kBlock, 4, PerPod(1000))),
                   Hosts({{"x1", 1}, {"x2", 1}, {"x4", 1}, {"x6", 1}}));
}

// --- case 2 ---------------------------------------------------------------------------------

TEST(TasPlacement, ChooseTheNodeThatFitsAllPods) {
  // upstream: "choose the node that can accommodate all Pods"
  const std::vector<TopologyNode> nodes = {
      Node({"b1", "r1", "x3"}, Free(2000, 10)),
      Node({"b1", "r1", "x5"}, Free(1000, 10)),
      Node({"b1", "r1", "x1"}, Free(1000, 10)),
  };
  ExpectAssignment(PlaceOne(kThreeLevels, nodes, Required(kBlock, 2, PerPod(1000))),
                   Hosts({{"x3", 2}}));
}

// --- case 3 ---------------------------------------------------------------------------------

TEST(TasPlacement, BlockPreferredFitsInTwoBlocks) {
  // upstream: "block preferred; Pods fit in 2 blocks; BestFit"
  const std::vector<TopologyNode> nodes = {
      Node({"b1"}, Free(2000, 20)),
      Node({"b2"}, Free(1000, 10)),
      Node({"b3"}, Free(4000, 40)),
  };
  ExpectAssignment(PlaceOne({kBlock}, nodes, Preferred(kBlock, 5, PerPod(1000))),
                   Paths({kBlock}, {{{"b2"}, 1}, {{"b3"}, 4}}));
}

// --- case 4: defaultNodes, levels [block, rack]; leaves are racks ------------------------------

TEST(TasPlacement, RackRequiredSinglePodFitsInARack) {
  // upstream: "rack required; single Pod fits in a rack; BestFit"
  ExpectAssignment(PlaceOne(kTwoLevels, DefaultNodes(false), Required(kRack, 1, PerPod(1000))),
                   Paths(kTwoLevels, {{{"b1", "r1"}, 1}}));
}

TEST(TasPlacement, RackRequiredMultiplePodsFitInSomeRacks) {
  // upstream: "rack required; multiple Pods fit in some racks; BestFit"
  ExpectAssignment(PlaceOne(kTwoLevels, DefaultNodes(false), Required(kRack, 2, PerPod(1000))),
                   Paths(kTwoLevels, {{{"b2", "r2"}, 2}}));
}

TEST(TasPlacement, RackRequiredMultiplePodsFitInARack) {
  // upstream: "rack required; multiple Pods fit in a rack; BestFit"
  ExpectAssignment(PlaceOne(kTwoLevels, DefaultNodes(false), Required(kRack, 3, PerPod(1000))),
                   Paths(kTwoLevels, {{{"b1", "r2"}, 3}}));
}

TEST(TasPlacement, RackRequiredTooManyPods) {
  // upstream: "rack required; too many pods to fit in any rack; BestFit"
  ExpectReason(PlaceOne(kTwoLevels, DefaultNodes(false), Required(kRack, 4, PerPod(1000))),
               R"(topology "default" allows to fit only 3 out of 4 pod(s))");
}

TEST(TasPlacement, BlockRequiredSinglePodFitsInABlockAndARack) {
  // upstream: "block required; single Pod fits in a block and a single rack; BestFit"
  ExpectAssignment(PlaceOne(kTwoLevels, DefaultNodes(false), Required(kBlock, 1, PerPod(1000))),
                   Paths(kTwoLevels, {{{"b2", "r1"}, 1}}));
}

TEST(TasPlacement, BlockRequiredPodsSpreadAcrossTwoRacks) {
  // upstream: "block required; Pods fit in a block spread across two racks; BestFit"
  ExpectAssignment(PlaceOne(kTwoLevels, DefaultNodes(false), Required(kBlock, 4, PerPod(1000))),
                   Paths(kTwoLevels, {{{"b1", "r1"}, 1}, {{"b1", "r2"}, 3}}));
}

TEST(TasPlacement, BlockRequiredTooManyPods) {
  // upstream: "block required; too many Pods to fit requested; BestFit"
  ExpectReason(PlaceOne(kTwoLevels, DefaultNodes(false), Required(kBlock, 5, PerPod(1000))),
               R"(topology "default" allows to fit only 4 out of 5 pod(s))");
}

TEST(TasPlacement, RackPreferredOnlyABlockFits) {
  // upstream: "rack preferred; but only block can accommodate the workload; BestFit"
  ExpectAssignment(PlaceOne(kTwoLevels, DefaultNodes(false), Preferred(kRack, 4, PerPod(1000))),
                   Paths(kTwoLevels, {{{"b1", "r1"}, 1}, {{"b1", "r2"}, 3}}));
}

TEST(TasPlacement, RackPreferredOnlyMultipleBlocksFit) {
  // upstream: "rack preferred; but only multiple blocks can accommodate the workload; BestFit"
  ExpectAssignment(PlaceOne(kTwoLevels, DefaultNodes(false), Preferred(kRack, 6, PerPod(1000))),
                   Paths(kTwoLevels, {{{"b1", "r1"}, 1}, {{"b1", "r2"}, 3}, {{"b2", "r2"}, 2}}));
}

TEST(TasPlacement, BlockPreferredOnlyMultipleBlocksFit) {
  // upstream: "block preferred; but only multiple blocks can accommodate the workload; BestFit"
  ExpectAssignment(PlaceOne(kTwoLevels, DefaultNodes(false), Preferred(kBlock, 6, PerPod(1000))),
                   Paths(kTwoLevels, {{{"b1", "r1"}, 1}, {{"b1", "r2"}, 3}, {{"b2", "r2"}, 2}}));
}

TEST(TasPlacement, BlockPreferredDoesNotFitTheTopology) {
  // upstream: "block preferred; but the workload cannot be accommodate in entire topology; BestFit"
  ExpectReason(PlaceOne(kTwoLevels, DefaultNodes(false), Preferred(kBlock, 10, PerPod(1000))),
               R"(topology "default" allows to fit only 7 out of 10 pod(s))");
}

TEST(TasPlacement, BlockRequiredPodThatCannotBeSplit) {
  // upstream: "block required; single Pod which cannot be split; BestFit"
  // Without a hostname level the leaves are racks, so "Total nodes" counts racks.
  ExpectReason(
      PlaceOne(kTwoLevels, DefaultNodes(false), Required(kBlock, 1, PerPod(4000))),
      R"(topology "default" doesn't allow to fit any of 1 pod(s). Total nodes: 4; excluded: resource "cpu": 4)");
}

TEST(TasPlacement, RackRequiredPodRequiringMemory) {
  // upstream: "rack required; single Pod requiring memory; BestFit" (pods allocatable limits)
  TopologyRequest r = Required(kRack, 4, PerPod(0, 1024));
  ExpectAssignment(PlaceOne(kTwoLevels, DefaultNodes(false), r),
                   Paths(kTwoLevels, {{{"b1", "r1"}, 4}}));
}

// --- three levels with hostname ---------------------------------------------------------------

TEST(TasPlacement, HostRequiredSinglePod) {
  // upstream: "host required; single Pod fits in the host; BestFit"
  ExpectAssignment(
      PlaceOne(kThreeLevels, DefaultNodes(true), Required(kHostnameLabel, 1, PerPod(1000))),
      Hosts({{"x3", 1}}));
}

// --- case 5: unconstrained uses LeastFreeCapacity at HEAD --------------------------------------

TEST(TasPlacement, UnconstrainedScattersOverLeastFreeHosts) {
  // upstream: "unconstrained; 6 pods fit into hosts scattered across the whole datacenter even
  // they could fit into single rack; BestFit" (the name is stale: TASProfileMixed is on, so the
  // expectation is LeastFreeCapacity's). v0.14 expected x3:4, x6:2.
  ExpectAssignment(PlaceOne(kThreeLevels, ScatteredNodes(), Unconstrained(6, PerPod(1000))),
                   Hosts({{"x1", 1}, {"x3", 1}, {"x5", 1}, {"x2", 1}, {"x6", 2}}));
}

TEST(TasPlacement, UnconstrainedSinglePod) {
  // upstream: "unconstrained; a single pod fits into each host; BestFit" and
  // "...; LeastFreeCapacity; TASProfileMixed"
  ExpectAssignment(PlaceOne(kThreeLevels, DefaultNodes(true), Unconstrained(1, PerPod(1000))),
                   Hosts({{"x3", 1}}));
}

// --- case 6: host slices ----------------------------------------------------------------------

TEST(TasPlacement, HostSlicesEvenNodes) {
  // upstream: "block required for podset; host required for slices; BestFit"
  const std::vector<TopologyNode> nodes = {
      Node({"b1", "r1", "x3"}, Free(3000, 10)),
      Node({"b1", "r1", "x5"}, Free(3000, 10)),
      Node({"b1", "r1", "x1"}, Free(3000, 10)),
  };
  ExpectAssignment(PlaceOne(kThreeLevels, nodes,
                            WithSlices(Required(kBlock, 6, PerPod(1000)), kHostnameLabel, 2)),
                   Hosts({{"x1", 2}, {"x3", 2}, {"x5", 2}}));
}

TEST(TasPlacement, HostSlicesMoreFreeSliceCapacityFirstThenTightFit) {
  // upstream: "block required for podset; host required for slices; prioritize more free slice
  // capacity first and then tight fit; BestFit"
  const std::vector<TopologyNode> nodes = {
      Node({"b1", "r1", "x3"}, Free(6000, 10)),
      Node({"b1", "r1", "x5"}, Free(5000, 10)),
      Node({"b1", "r1", "x1"}, Free(4000, 10)),
      Node({"b1", "r1", "x6"}, Free(2000, 10)),
  };
  ExpectAssignment(PlaceOne(kThreeLevels, nodes,
                            WithSlices(Required(kBlock, 12, PerPod(1000)), kHostnameLabel, 2)),
                   Hosts({{"x1", 4}, {"x3", 6}, {"x6", 2}}));
}

TEST(TasPlacement, HostSlicesTightFit) {
  // upstream: "block required for podset; host required for slices; select domains with tight
  // fit; BestFit"
  const std::vector<TopologyNode> nodes = {
      Node({"b1", "r1", "x3"}, Free(3000, 10)),
      Node({"b1", "r1", "x5"}, Free(2000, 10)),
      Node({"b1", "r1", "x1"}, Free(2000, 10)),
  };
  ExpectAssignment(PlaceOne(kThreeLevels, nodes,
                            WithSlices(Required(kBlock, 4, PerPod(1000)), kHostnameLabel, 2)),
                   Hosts({{"x1", 2}, {"x5", 2}}));
}

TEST(TasPlacement, HostSlicesOptimizeLastDomain) {
  // upstream: "block required for podset; host required for slices; optimize last domain; BestFit"
  const std::vector<TopologyNode> nodes = {
      Node({"b1", "r1", "x3"}, Free(4000, 10)),
      Node({"b1", "r1", "x5"}, Free(3000, 10)),
      Node({"b1", "r1", "x1"}, Free(2000, 10)),
  };
  ExpectAssignment(PlaceOne(kThreeLevels, nodes,
                            WithSlices(Required(kBlock, 6, PerPod(1000)), kHostnameLabel, 2)),
                   Hosts({{"x1", 2}, {"x3", 4}}));
}

TEST(TasPlacement, HostSlicesBlockPreferredUnbalancedBlocks) {
  // upstream: "block preferred for podset; host required for slices; 2 blocks with unbalanced
  // subdomains; BestFit"
  const std::vector<TopologyNode> nodes = {
      Node({"b1", "r1", "x3"}, Free(3000, 10)),
      Node({"b1", "r1", "x5"}, Free(3000, 10)),
      Node({"b1", "r1", "x1"}, Free(3000, 10)),
      Node({"b2", "r1", "x6"}, Free(6000, 10)),
  };
  ExpectAssignment(PlaceOne(kThreeLevels, nodes,
                            WithSlices(Preferred(kBlock, 12, PerPod(1000)), kHostnameLabel, 3)),
                   Hosts({{"x1", 3}, {"x3", 3}, {"x6", 6}}));
}

// --- case 7: rack slices ----------------------------------------------------------------------

TEST(TasPlacement, RackSlicesBlockRequired) {
  // upstream: "block required for podset; rack required for slices; BestFit"
  const std::vector<TopologyNode> nodes = {
      Node({"b1", "r1", "x3"}, Free(1000, 10)), Node({"b1", "r1", "x5"}, Free(1000, 10)),
      Node({"b1", "r2", "x1"}, Free(1000, 10)), Node({"b1", "r2", "x6"}, Free(1000, 10)),
      Node({"b1", "r2", "x2"}, Free(1000, 10)), Node({"b2", "r1", "x4"}, Free(1000, 10)),
      Node({"b2", "r1", "x7"}, Free(1000, 10)),
  };
  ExpectAssignment(
      PlaceOne(kThreeLevels, nodes, WithSlices(Required(kBlock, 4, PerPod(1000)), kRack, 2)),
      Hosts({{"x3", 1}, {"x5", 1}, {"x1", 1}, {"x2", 1}}));
}

TEST(TasPlacement, RackSlicesBlockPreferred) {
  // upstream: "block preferred for podset; rack required for slices; BestFit"
  ExpectAssignment(PlaceOne(kThreeLevels, DefaultNodes(true),
                            WithSlices(Preferred(kBlock, 4, PerPod(1000)), kRack, 2)),
                   Hosts({{"x1", 1}, {"x5", 1}, {"x4", 2}}));
}

TEST(TasPlacement, RackSlicesDoNotFitInRacks) {
  // upstream: "block required for podset; rack required for slices; podset fits in a block, but
  // slices do not fit in racks"
  const std::vector<TopologyNode> nodes = {
      Node({"b1", "r1", "x3"}, Free(2000, 10)),
      Node({"b1", "r2", "x5"}, Free(2000, 10)),
      Node({"b1", "r3", "x1"}, Free(2000, 10)),
  };
  ExpectReason(
      PlaceOne(kThreeLevels, nodes, WithSlices(Required(kBlock, 6, PerPod(1000)), kRack, 3)),
      R"(topology "default" doesn't allow to fit any of 2 slice(s))");
}

TEST(TasPlacement, RackSlicesOnlyOneOfTwoFits) {
  // upstream: "block required for podset; rack required for slices; only 1 out of 2 slices fit
  // the topology"
  const std::vector<TopologyNode> nodes = {
      Node({"b1", "r1", "x3"}, Free(3000, 10)),
      Node({"b1", "r2", "x5"}, Free(1000, 10)),
      Node({"b1", "r3", "x1"}, Free(1000, 10)),
      Node({"b1", "r4", "x6"}, Free(1000, 10)),
  };
  ExpectReason(
      PlaceOne(kThreeLevels, nodes, WithSlices(Required(kBlock, 6, PerPod(1000)), kRack, 3)),
      R"(topology "default" allows to fit only 1 out of 2 slice(s))");
}

TEST(TasPlacement, RackSlicesFitInOnlyOneBlock) {
  // upstream: "block required for podset; rack required for slices; podset fits in both blocks,
  // but slices fit in only one block"
  const std::vector<TopologyNode> nodes = {
      Node({"b1", "r1", "x3"}, Free(2000, 10)), Node({"b1", "r2", "x5"}, Free(2000, 10)),
      Node({"b1", "r3", "x1"}, Free(2000, 10)), Node({"b2", "r4", "x6"}, Free(3000, 10)),
      Node({"b2", "r5", "x2"}, Free(3000, 10)),
  };
  ExpectAssignment(
      PlaceOne(kThreeLevels, nodes, WithSlices(Required(kBlock, 6, PerPod(1000)), kRack, 3)),
      Hosts({{"x6", 3}, {"x2", 3}}));
}

TEST(TasPlacement, SliceOnlyRequests) {
  // upstream: "no topology for podset; host required for slices; BestFit"
  const std::vector<TopologyNode> even = {
      Node({"b1", "r1", "x3"}, Free(3000, 10)),
      Node({"b1", "r1", "x5"}, Free(3000, 10)),
      Node({"b1", "r1", "x1"}, Free(3000, 10)),
  };
  ExpectAssignment(
      PlaceOne(kThreeLevels, even, WithSlices(Unconstrained(6, PerPod(1000)), kHostnameLabel, 2)),
      Hosts({{"x1", 2}, {"x3", 2}, {"x5", 2}}));
  // upstream: "no topology for podset; host required for slices; multiple blocks; BestFit"
  ExpectAssignment(PlaceOne(kThreeLevels, ScatteredNodes(),
                            WithSlices(Unconstrained(6, PerPod(1000)), kHostnameLabel, 2)),
                   Hosts({{"x3", 4}, {"x6", 2}}));
  // upstream: "no topology for podset; rack required for slices; multiple blocks; BestFit"
  ExpectAssignment(PlaceOne(kThreeLevels, DefaultNodes(true),
                            WithSlices(Unconstrained(4, PerPod(1000)), kRack, 2)),
                   Hosts({{"x1", 1}, {"x5", 1}, {"x4", 2}}));
}

TEST(TasPlacement, SliceRequestValidation) {
  // upstream: "slice required topology level cannot be above the main required topology level"
  ExpectReason(PlaceOne(kThreeLevels, DefaultNodes(true),
                        WithSlices(Required(kHostnameLabel, 1, PerPod(1000)), kBlock, 1)),
               "podset slice topology cloud.com/topology-block is above the podset topology "
               "kubernetes.io/hostname");
  // upstream: "slice size is required when slice topology is requested"
  ExpectReason(PlaceOne(kThreeLevels, DefaultNodes(true),
                        WithSlices(Required(kBlock, 1, PerPod(1000)), kHostnameLabel, 0)),
               "slice topology requested, but slice size not provided");
  // upstream: "cannot request not existing slice topology"
  ExpectReason(
      PlaceOne(kThreeLevels, DefaultNodes(true),
               WithSlices(Required(kBlock, 1, PerPod(1000)), "not-existing-topology-level", 1)),
      "no requested topology level for slices: not-existing-topology-level");
  ExpectReason(PlaceOne(kTwoLevels, DefaultNodes(false), Required("no-such-level", 1, PerPod(1))),
               "no requested topology level: no-such-level");
}

// --- case 8: several PodSets with assumed usage ----------------------------------------------

TEST(TasPlacement, TwoPodSetsWithOverlappingDomain) {
  // upstream: "find topology assignment for two podsets with overlapping domain"
  const std::vector<TopologyNode> nodes = {
      Node({"b1"}, Free(2000, 10)),
      Node({"b2"}, Free(2000, 10)),
      Node({"b3"}, Free(2000, 10)),
  };
  auto got = Place({kBlock}, nodes,
                   {Preferred(kBlock, 3, PerPod(1000)), Preferred(kBlock, 3, PerPod(1000))});
  ASSERT_EQ(got.size(), 2u);
  ExpectAssignment(got[0], Paths({kBlock}, {{{"b1"}, 2}, {{"b2"}, 1}}));
  ExpectAssignment(got[1], Paths({kBlock}, {{{"b2"}, 1}, {{"b3"}, 2}}));
}

TEST(TasPlacement, TwoPodSetsRackRequiredDifferentRequests) {
  // upstream: "multiple podsets: rack required for both, different resource requests; BestFit"
  auto got = Place(kTwoLevels, MultipodNodes(false),
                   {Required(kRack, 2, PerPod(1000)), Required(kRack, 1, PerPod(0, 1024))});
  ExpectAssignment(got[0], Paths(kTwoLevels, {{{"b1", "r1"}, 2}}));
  ExpectAssignment(got[1], Paths(kTwoLevels, {{{"b1", "r1"}, 1}}));
}

TEST(TasPlacement, TwoPodSetsRequiredThenUnconstrained) {
  // upstream: "multiple podsets: block required for one, unconstrained for another;
  // TASProfileMixed"
  auto got = Place(kThreeLevels, MultipodNodes(true),
                   {Required(kBlock, 8, PerPod(1000)), Unconstrained(2, PerPod(1000))});
  ExpectAssignment(got[0], Hosts({{"x2", 8}}));
  ExpectAssignment(got[1], Hosts({{"x2", 2}}));
}

TEST(TasPlacement, TwoPodSetsAssumedPodsUsage) {
  // upstream: "multiple PodSets account assumed pod usage against allocatable pods; BestFit"
  const std::vector<TopologyNode> nodes = {Node({"x1"}, Free(2000, 1))};
  auto got =
      Place(kOneLevel, nodes,
            {Required(kHostnameLabel, 1, PerPod(1000)), Required(kHostnameLabel, 1, PerPod(1000))});
  ExpectAssignment(got[0], Hosts({{"x1", 1}}));
  ExpectReason(
      got[1],
      R"(topology "default" doesn't allow to fit any of 1 pod(s). Total nodes: 1; excluded: resource "pods": 1)");
}

TEST(TasPlacement, StateDoesNotLeakAcrossPodSets) {
  // upstream: "temporary state cleanup prevents leakage across PodSets" (the second PodSet's
  // nodeSelector matches no node)
  const std::vector<TopologyNode> nodes = {Node({"x1"}, Free(4000, 10, 4 * kGi)),
                                           Node({"x2"}, Free(4000, 10, 4 * kGi))};
  TopologyRequest second = Unconstrained(1, PerPod(1000, 1000));
  const std::vector<std::string> verdicts = {"nodeSelector", "nodeSelector"};
  second.excluded = verdicts;
  auto got = Place(kOneLevel, nodes, {Unconstrained(1, PerPod(1000, 1000)), second});
  ExpectAssignment(got[0], Hosts({{"x1", 1}}));
  ExpectReason(
      got[1],
      R"(topology "default" doesn't allow to fit any of 1 pod(s). Total nodes: 2; excluded: nodeSelector: 2)");
}

TEST(TasPlacement, PodSetsAfterAFailureAreNotAttempted) {
  // FindTopologyAssignmentsForFlavor returns at the first failing PodSet.
  const std::vector<TopologyNode> nodes = {Node({"x1"}, Free(1000, 10))};
  auto got =
      Place(kOneLevel, nodes,
            {Required(kHostnameLabel, 2, PerPod(1000)), Required(kHostnameLabel, 1, PerPod(1000))});
  ASSERT_EQ(got.size(), 2u);
  ExpectReason(got[0], R"(topology "default" allows to fit only 1 out of 2 pod(s))");
  EXPECT_FALSE(got[1].assignment.has_value());
  EXPECT_EQ(got[1].reason, "");
}

// --- case 9: failure messages -----------------------------------------------------------------

TEST(TasPlacement, DetailedFailureMessageWithExclusionStats) {
  // upstream: "detailed failure message with exclusion stats" (x1 tainted, x2 and x3 in zone-b,
  // x4 in zone-a with 100m cpu; nodeSelector zone=zone-a)
  const std::vector<TopologyNode> nodes = {
      Node({"x1"}, Free(1000, 10), R"(taint "key=value:NoSchedule")"),
      Node({"x2"}, Free(1000, 10), "nodeSelector"),
      Node({"x3"}, Free(2000, 10), "nodeSelector"),
      Node({"x4"}, Free(100, 10)),
  };
  ExpectReason(
      PlaceOne(kOneLevel, nodes, Required(kHostnameLabel, 1, PerPod(1000))),
      R"(topology "default" doesn't allow to fit any of 1 pod(s). Total nodes: 4; excluded: nodeSelector: 2, resource "cpu": 1, taint "key=value:NoSchedule": 1)");
}

TEST(TasPlacement, NonTasPodsUsePodsCapacity) {
  // upstream: "include usage from non-TAS pods; pod usage" (two running non-TAS pods on a node
  // with pods: 10 and no cpu)
  ResourceVec free(4, 0);
  free[kPods] = 10 - 2;
  ExpectReason(PlaceOne(kOneLevel, {Node({"x3"}, free)}, Required(kHostnameLabel, 9, PerPod(0))),
               R"(topology "default" allows to fit only 8 out of 9 pod(s))");
}

TEST(TasPlacement, NonTasPodsBlockTheOnlyNode) {
  // upstream: "include usage from running non-TAS pods, blocked assignment; BestFit"
  ExpectReason(
      PlaceOne(kOneLevel, {Node({"x3"}, Free(1000 - 600, 10 - 1, kGi))},
               Required(kHostnameLabel, 1, PerPod(600))),
      R"(topology "default" doesn't allow to fit any of 1 pod(s). Total nodes: 1; excluded: resource "cpu": 1)");
  // upstream: "include usage from running non-TAS pods, found free capacity on another node"
  ExpectAssignment(
      PlaceOne(kOneLevel,
               {Node({"x3"}, Free(1000 - 600, 10 - 1, kGi)), Node({"x5"}, Free(1000, 10, kGi))},
               Required(kHostnameLabel, 1, PerPod(600))),
      Hosts({{"x5", 1}}));
}

TEST(TasPlacement, LimitingResourceTieBreaksByName) {
  // upstream: "node allocatable capacity completely used by non-TAS pod; empty
  // remainingCapacity" (cpu and pods both exhausted: "cpu" < "pods")
  ExpectReason(
      PlaceOne(kOneLevel, {Node({"x3"}, Free(0, 0))}, Required(kHostnameLabel, 1, PerPod(100))),
      R"(topology "default" doesn't allow to fit any of 1 pod(s). Total nodes: 1; excluded: resource "cpu": 1)");
  // upstream: "resource exclusion picks most restrictive resource"
  ResourceVec free = Free(500, 10);
  free.push_back(0);  // example.com/gpu
  ResourceVec per_pod = PerPod(1000);
  per_pod.push_back(1);
  ASSERT_EQ(per_pod.size(), kGpu + 1);
  ExpectReason(
      PlaceOne(kOneLevel, {Node({"dual-shortage"}, free)}, Required(kHostnameLabel, 1, per_pod)),
      R"(topology "default" doesn't allow to fit any of 1 pod(s). Total nodes: 1; excluded: resource "cpu": 1)");
  // upstream: "no assignment as node does not have enough allocatable pods
  // (.status.allocatable['pods']); BestFit" (pods: 1, a 300m non-TAS pod runs there)
  ExpectReason(
      PlaceOne(kOneLevel, {Node({"x3"}, Free(1000 - 300, 1 - 1))},
               Required(kHostnameLabel, 1, PerPod(300))),
      R"(topology "default" doesn't allow to fit any of 1 pod(s). Total nodes: 1; excluded: resource "pods": 1)");
}

TEST(TasPlacement, UntoleratedTaint) {
  // upstream: "skip node which has untolerated taint; BestFit"
  ExpectReason(
      PlaceOne(kOneLevel,
               {Node({"x3"}, Free(1000, 10, kGi), R"(taint "example.com/gpu=present:NoSchedule")")},
               Required(kHostnameLabel, 1, PerPod(1000))),
      R"(topology "default" doesn't allow to fit any of 1 pod(s). Total nodes: 1; excluded: taint "example.com/gpu=present:NoSchedule": 1)");
}

TEST(TasPlacement, NoNodes) {
  // upstream: "no assignment as node is not ready; BestFit" / "...unschedulable; BestFit" (the
  // caller leaves such nodes out)
  ExpectReason(PlaceOne(kOneLevel, {}, Required(kHostnameLabel, 1, PerPod(1000))),
               "no topology domains at level: kubernetes.io/hostname");
  // upstream: "only nodes with matching levels are considered; no host label on node; BestFit"
  ExpectReason(PlaceOne(kThreeLevels, {Node({"b1", "r1"}, Free(1000, 10, kGi))},
                        Required(kRack, 1, PerPod(1000))),
               "no topology domains at level: cloud.com/topology-rack");
}

TEST(TasPlacement, StableTieBreakOnIdenticalNodes) {
  // upstream: "stable tie break on identical nodes: TASBalancedPlacement disabled" and
  // "...: reversed order, TASBalancedPlacement disabled"
  const TopologyNode x1 = Node({"b1", "r1", "x1"}, Free(1000, 10));
  const TopologyNode x2 = Node({"b1", "r1", "x2"}, Free(1000, 10));
  const TopologyRequest r = Required(kHostnameLabel, 1, PerPod(1000));
  ExpectAssignment(PlaceOne(kThreeLevels, {x2, x1}, r), Hosts({{"x1", 1}}));
  ExpectAssignment(PlaceOne(kThreeLevels, {x1, x2}, r), Hosts({{"x1", 1}}));
}

// --- behaviour of the model itself ------------------------------------------------------------

TEST(TasPlacement, AggregatedLeavesSumCapacityAndIgnoreFilters) {
  // Without a hostname level, nodes of one rack form one leaf: capacities add up before the
  // clamp at 0 (r2 holds 2 pods, not 3) and the per-node filter verdicts are not consulted
  // (r1 holds 4 pods, not 2).
  const std::vector<TopologyNode> nodes = {
      Node({"b1", "r1"}, Free(1500, 10), "nodeSelector"),
      Node({"b1", "r1"}, Free(2500, 10)),
      Node({"b1", "r2"}, Free(3000, 10)),
      Node({"b1", "r2"}, Free(-1000, 10)),
  };
  ExpectAssignment(PlaceOne(kTwoLevels, nodes, Required(kRack, 3, PerPod(1000))),
                   Paths(kTwoLevels, {{{"b1", "r1"}, 3}}));
  ExpectAssignment(PlaceOne(kTwoLevels, nodes, Required(kRack, 2, PerPod(1000))),
                   Paths(kTwoLevels, {{{"b1", "r2"}, 2}}));
  ExpectReason(PlaceOne(kTwoLevels, nodes, Required(kRack, 5, PerPod(1000))),
               R"(topology "default" allows to fit only 4 out of 5 pod(s))");
}

TEST(TasPlacement, LargeClusterStaysFast) {
  // 2,000 hosts in 10 blocks × 20 racks; every placement must account for all pods.
  std::vector<TopologyNode> nodes;
  for (int b = 0; b < 10; ++b) {
    for (int r = 0; r < 20; ++r) {
      for (int h = 0; h < 10; ++h) {
        const std::string host =
            "h" + std::to_string(b) + "-" + std::to_string(r) + "-" + std::to_string(h);
        nodes.push_back(Node({"b" + std::to_string(b), "r" + std::to_string(r), host},
                             Free(8000 - 1000 * ((b + r + h) % 5), 110)));
      }
    }
  }
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    const int32_t count = 10 + i % 90;
    auto got = Place(kThreeLevels, nodes,
                     {Required(kBlock, count, PerPod(1000)), Preferred(kRack, count, PerPod(1000)),
                      Unconstrained(count, PerPod(1000))});
    for (const auto& res : got) {
      ASSERT_TRUE(res.assignment.has_value()) << res.reason;
      int32_t sum = 0;
      for (const auto& d : res.assignment->domains) sum += d.count;
      EXPECT_EQ(sum, count);
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count(), 20);
}

// Podset groups: a leader PodSet of one pod placed with its workers (findTopologyAssignment
// with leaderTasPodSetRequests). The upstream cases list the leader first, as here.
TopologyRequest InGroup(TopologyRequest r) {
  r.group = "sameGroup";
  return r;
}
ResourceVec WithGpu(ResourceVec v, int64_t gpus) {
  v.resize(kGpu + 1, 0);
  v[kGpu] = gpus;
  return v;
}
TopologyAssignment Blocks(std::vector<std::pair<std::string, int32_t>> domains) {
  TopologyAssignment a;
  a.levels = {kBlock};
  for (auto& [b, count] : domains) a.domains.push_back({{b}, count});
  return a;
}

TEST(TasPlacementGroups, TwoPodSetsOfTheSameGroup) {
  // upstream: "find topology assignment for two podsets with the same group"
  const std::vector<std::string> levels = {kBlock};
  const std::vector<TopologyNode> nodes = {Node({"b1"}, WithGpu(Free(2000, 10, 2 * kGi), 2)),
                                           Node({"b2"}, WithGpu(Free(5000, 10), 4)),
                                           Node({"b3"}, WithGpu(Free(2000, 10), 2))};
  auto got = Place(levels, nodes,
                   {InGroup(Required(kBlock, 1, PerPod(1000))),
                    InGroup(Required(kBlock, 4, WithGpu(PerPod(1000), 1)))});
  ExpectAssignment(got[0], Blocks({{"b2", 1}}));
  ExpectAssignment(got[1], Blocks({{"b2", 4}}));
}

TEST(TasPlacementGroups, DomainsThatTightlyFitLeaderAndWorkers) {
  // upstream: "... with domains that can tightly fit leader and workers"
  const std::vector<std::string> levels = {kBlock};
  const std::vector<TopologyNode> nodes = {Node({"b1"}, WithGpu(Free(2000, 10), 2)),
                                           Node({"b2"}, WithGpu(Free(8000, 10), 8)),
                                           Node({"b3"}, WithGpu(Free(2000, 10), 2))};
  auto got = Place(levels, nodes,
                   {InGroup(Required(kBlock, 1, PerPod(1000))),
                    InGroup(Required(kBlock, 4, WithGpu(PerPod(1000), 2)))});
  ExpectAssignment(got[0], Blocks({{"b2", 1}}));
  ExpectAssignment(got[1], Blocks({{"b2", 4}}));
}

TEST(TasPlacementGroups, PlacingTheLeaderPreservesWorkerCapacity) {
  // upstream: "find topology assignment for grouped podsets preserves worker capacity when
  // placing leader": rack r1 {h1: 2 CPUs, h2: 4, h3: 3}; 4 workers of 2 CPUs need h1's 1,
  // h2's 2 and one on h3, whose spare CPU is where the leader goes.
  const std::vector<std::string> levels = {kRack, kHostnameLabel};
  const std::vector<TopologyNode> nodes = {Node({"r1", "h1"}, Free(2000, 10)),
                                           Node({"r1", "h2"}, Free(4000, 10)),
                                           Node({"r1", "h3"}, Free(3000, 10))};
  auto got =
      Place(levels, nodes,
            {InGroup(Required(kRack, 1, PerPod(1000))), InGroup(Required(kRack, 4, PerPod(2000)))});
  ExpectAssignment(got[0], Hosts({{"h3", 1}}));
  ExpectAssignment(got[1], Hosts({{"h1", 1}, {"h2", 2}, {"h3", 1}}));
}

TEST(TasPlacementGroups, SlicedWorkersKeepTheirCapacityBesideTheLeader) {
  // upstream: "find topology assignment for sliced grouped podsets preserves worker
  // capacity when placing leader"
  const std::vector<std::string> levels = {kRack, kHostnameLabel};
  const std::vector<TopologyNode> nodes = {Node({"r1", "h1"}, Free(2000, 10)),
                                           Node({"r1", "h2"}, Free(4000, 10)),
                                           Node({"r1", "h3"}, Free(3000, 10))};
  auto got = Place(levels, nodes,
                   {InGroup(Required(kRack, 1, PerPod(1000))),
                    InGroup(WithSlices(Required(kRack, 8, PerPod(1000)), kHostnameLabel, 2))});
  ExpectAssignment(got[0], Hosts({{"h3", 1}}));
  ExpectAssignment(got[1], Hosts({{"h1", 2}, {"h2", 4}, {"h3", 2}}));
}

TEST(TasPlacementGroups, PreferredGroupSpreadsAndKeepsCapacity) {
  // upstream: "find topology assignment for preferred grouped podsets preserves capacity
  // across domains"
  const std::vector<TopologyNode> nodes = {Node({"h1"}, Free(8000, 10)),
                                           Node({"h2"}, Free(3000, 10))};
  auto got = Place(kOneLevel, nodes,
                   {InGroup(Preferred(kHostnameLabel, 1, PerPod(1000))),
                    InGroup(Preferred(kHostnameLabel, 5, PerPod(2000)))});
  ExpectAssignment(got[0], Hosts({{"h2", 1}}));
  ExpectAssignment(got[1], Hosts({{"h1", 4}, {"h2", 1}}));
}

TEST(TasPlacementGroups, UnconstrainedGroupSpreadsLeaderAndWorker) {
  // upstream: "find topology assignment for unconstrained grouped podsets spreads leader
  // and worker across domains with TASProfileMixed"
  const std::vector<TopologyNode> nodes = {Node({"h1"}, Free(1000, 10)),
                                           Node({"h2"}, WithGpu(Free(0, 10), 1))};
  ResourceVec gpu_only(kGpu + 1, 0);
  gpu_only[kPods] = 1;
  gpu_only[kGpu] = 1;
  auto got = Place(kOneLevel, nodes,
                   {InGroup(Unconstrained(1, PerPod(1000))), InGroup(Unconstrained(1, gpu_only))});
  ExpectAssignment(got[0], Hosts({{"h1", 1}}));
  ExpectAssignment(got[1], Hosts({{"h2", 1}}));
}

TEST(TasPlacementGroups, SkipsADomainWhereOnlyWorkersFitWithoutTheLeader) {
  // upstream: "find topology assignment for grouped podsets skips domain where only workers
  // fit without leader": rack "small" {small-used: 2.8 CPUs less a 2.5 CPU pod, small-free:
  // 2.8} holds a 2.5 CPU worker or the leader, not both; rack "large" {6 CPUs} holds both.
  const std::vector<TopologyNode> nodes = {Node({"b1", "small", "small-used"}, Free(300, 9)),
                                           Node({"b1", "small", "small-free"}, Free(2800, 10)),
                                           Node({"b1", "large", "large-free"}, Free(6000, 10))};
  auto got =
      Place(kThreeLevels, nodes,
            {InGroup(Required(kRack, 1, PerPod(2500))), InGroup(Required(kRack, 1, PerPod(2500)))});
  ExpectAssignment(got[0], Hosts({{"large-free", 1}}));
  ExpectAssignment(got[1], Hosts({{"large-free", 1}}));
}

TEST(TasPlacementGroups, TheLargerPodSetIsTheWorkersWhateverTheOrder) {
  // findLeaderAndWorkers: the second PodSet is the leader unless it has more pods.
  const std::vector<std::string> levels = {kBlock};
  const std::vector<TopologyNode> nodes = {Node({"b1"}, WithGpu(Free(2000, 10, 2 * kGi), 2)),
                                           Node({"b2"}, WithGpu(Free(5000, 10), 4)),
                                           Node({"b3"}, WithGpu(Free(2000, 10), 2))};
  auto got = Place(levels, nodes,
                   {InGroup(Required(kBlock, 4, WithGpu(PerPod(1000), 1))),
                    InGroup(Required(kBlock, 1, PerPod(1000)))});
  ExpectAssignment(got[0], Blocks({{"b2", 4}}));
  ExpectAssignment(got[1], Blocks({{"b2", 1}}));
}

}  // namespace
}  // namespace gputwin::kueue::tas
