// ImageLocality against upstream's image_locality_test.go: sizes scaled by the share of
// nodes holding the image, clamped to [23 MB, 1000 MB × containers], mapped to [0, 100].
#include <gtest/gtest.h>

#include "scheduler/plugins/image_locality.h"
#include "tests/scheduler/plugin_harness.h"

namespace gputwin::scheduler::testing {
namespace {

constexpr int64_t kMb = 1024 * 1024;

api::ContainerImage Image(const std::string& name, int64_t mb) {
  return api::ContainerImage{{name}, mb * kMb};
}

api::PodSpec Containers(std::vector<std::string> images, std::vector<std::string> init = {}) {
  api::PodSpec spec;
  for (auto& i : images) spec.containers.push_back(api::Container::Named("c", i));
  for (auto& i : init) spec.init_containers.push_back(api::Container::Named("i", i));
  return spec;
}

TEST(ImageLocality, TwoNodes) {
  PluginHarness h;
  ImageLocality plugin(h.handle());
  auto n1 = h.AddNode("node1", {}, {}, {Image("gcr.io/40:v1", 40), Image("gcr.io/300:v1", 300)});
  auto n2 = h.AddNode("node2", {}, {}, {Image("gcr.io/250:v1", 250), Image("gcr.io/30:v1", 30)});
  // node1: 40 MB × ½ = 20 MB < 23 MB: 0; node2: 250 × ½ = 125: 100·(125−23)/(2000−23) = 5.
  auto p1 = h.AddPod("p1", {}, cluster::kNone, Containers({"gcr.io/40:v1", "gcr.io/250:v1"}));
  EXPECT_EQ(ScoreAll(h, plugin, p1, {n1, n2}),
            (std::map<std::string, int64_t>{{"node1", 0}, {"node2", 5}}));
  // node1 has both 40 and 300: (20 + 150 − 23)/1977 = 7.
  auto p2 = h.AddPod("p2", {}, cluster::kNone, Containers({"gcr.io/40:v1", "gcr.io/300:v1"}));
  EXPECT_EQ(ScoreAll(h, plugin, p2, {n1, n2}),
            (std::map<std::string, int64_t>{{"node1", 7}, {"node2", 0}}));
  // Init containers count: 300 on node1 (150 MB): 6; 30 on node2 (15 MB): 0.
  auto p3 = h.AddPod("p3", {}, cluster::kNone, Containers({"gcr.io/30:v1"}, {"gcr.io/300:v1"}));
  EXPECT_EQ(ScoreAll(h, plugin, p3, {n1, n2}),
            (std::map<std::string, int64_t>{{"node1", 6}, {"node2", 0}}));
}

TEST(ImageLocality, ThreeNodesSpread) {
  PluginHarness h;
  ImageLocality plugin(h.handle());
  auto n1 = h.AddNode("node1", {}, {}, {Image("gcr.io/600:v1", 600), Image("gcr.io/900:v1", 900)});
  auto n2 = h.AddNode(
      "node2", {}, {},
      {Image("gcr.io/300:v1", 300), Image("gcr.io/600:v1", 600), Image("gcr.io/900:v1", 900)});
  auto n3 = h.AddNode("node3", {});
  // 600 and 900 are on 2 of 3 nodes, 300 on 1: node1 400 + 600 = 1000 MB: 32;
  // node2 + 100 = 1100 MB: 36.
  auto p = h.AddPod("p", {}, cluster::kNone,
                    Containers({"gcr.io/600:v1", "gcr.io/300:v1", "gcr.io/900:v1"}));
  EXPECT_EQ(ScoreAll(h, plugin, p, {n1, n2, n3}),
            (std::map<std::string, int64_t>{{"node1", 32}, {"node2", 36}, {"node3", 0}}));
}

TEST(ImageLocality, NormalizedImageName) {
  EXPECT_EQ(ImageLocality::NormalizedImageName("gcr.io:5000/root"), "gcr.io:5000/root:latest");
  EXPECT_EQ(ImageLocality::NormalizedImageName("root:v1"), "root:v1");
  EXPECT_EQ(ImageLocality::NormalizedImageName("root@sha256:abc"), "root@sha256:abc");
}

}  // namespace
}  // namespace gputwin::scheduler::testing
