// kueue_cluster_queue_weighted_share holds the exact dominant resource share since Kueue
// v0.15 (only status.fairSharing.weightedShare is rounded up). In the borrowing-limits
// scenario, while c3 runs team-c borrows 2 GPUs of cohort y, whose lendable GPUs are
// team-c's 4 and the 2 team-d lends (lendingLimit 2): 1000 × 2 / 6 = 333.33…; team-a
// borrows 2 of cohort x's 8: 1000 × 2 / 8 = 250. Kueue reports the metric only with fair
// sharing enabled (clusterqueue_controller.go: `if r.fairSharingEnabled`), so the test runs
// the scenario once with the Configuration's fairSharing and once without.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/simulation.h"
#include "telemetry/promql.h"

namespace gputwin {
namespace {

// The borrowing-limits scenario, with Kueue's fair sharing turned on or not.
std::unique_ptr<sim::Simulation> BorrowingLimits(bool fair_sharing) {
  const std::string src =
      std::string(GPUTWIN_SOURCE_DIR) + "/tests/scenarios/kueue_borrowing_limits.yaml";
  std::ifstream in(src);
  std::stringstream text;
  text << in.rdbuf();
  if (fair_sharing) {
    text << "\n---\napiVersion: config.kueue.x-k8s.io/v1beta1\nkind: Configuration\n"
            "fairSharing: {enable: true}\n";
  }
  const auto path =
      std::filesystem::temp_directory_path() /
      (fair_sharing ? "gputwin-weighted-share-fair.yaml" : "gputwin-weighted-share.yaml");
  std::ofstream(path) << text.str();
  auto s = sim::LoadScenario(path.string(), std::nullopt, Duration::Minutes(30));
  s->Run();
  return s;
}

TEST(KueueMetrics, WeightedShareIsExact) {
  auto s = BorrowingLimits(true);
  double team_a = -1, team_c = -1;
  for (auto sid :
       s->metrics().family(s->metrics().Find("kueue_cluster_queue_weighted_share")).series) {
    const auto& series = s->metrics().series(sid);
    ASSERT_FALSE(series.samples.empty());
    const double v = series.samples.back().second;
    if (series.labels.at("cluster_queue") == "team-a") team_a = v;
    if (series.labels.at("cluster_queue") == "team-c") team_c = v;
  }
  EXPECT_DOUBLE_EQ(team_c, 1000.0 * 2 / 6);
  EXPECT_DOUBLE_EQ(team_a, 250);
}

TEST(KueueMetrics, NoWeightedShareWithoutFairSharing) {
  auto s = BorrowingLimits(false);
  EXPECT_TRUE(
      s->metrics().family(s->metrics().Find("kueue_cluster_queue_weighted_share")).series.empty());
}

}  // namespace
}  // namespace gputwin
