// kueue_cluster_queue_weighted_share holds the exact dominant resource share since Kueue
// v0.15 (only status.fairSharing.weightedShare is rounded up). In the borrowing-limits
// scenario, while c3 runs team-c borrows 2 GPUs of cohort y, whose lendable GPUs are
// team-c's 4 and the 2 team-d lends (lendingLimit 2): 1000 × 2 / 6 = 333.33…; team-a
// borrows 2 of cohort x's 8: 1000 × 2 / 8 = 250.
#include <gtest/gtest.h>

#include "sim/simulation.h"
#include "telemetry/promql.h"

namespace gputwin {
namespace {

TEST(KueueMetrics, WeightedShareIsExact) {
  auto s = sim::LoadScenario(
      std::string(GPUTWIN_SOURCE_DIR) + "/tests/scenarios/kueue_borrowing_limits.yaml",
      std::nullopt, Duration::Minutes(30));
  s->Run();
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

}  // namespace
}  // namespace gputwin
