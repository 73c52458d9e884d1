// summary.json's cronJobs: what `kubectl get cronjob` shows (schedule, suspend,
// lastScheduleTime) and how many Jobs the controller made, derived by hand for
// tests/scenarios/cronjob.yaml.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "report/summary.h"
#include "results/results.h"
#include "sim/simulation.h"

namespace gputwin {
namespace {

TEST(CronJobSummary, JobsMadeAndLastScheduleTime) {
  auto sim = sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/tests/scenarios/cronjob.yaml",
                               std::nullopt, std::nullopt);
  sim->Run();
  std::ostringstream out;
  report::WriteSummaryJson(out, *sim, results::Compute(*sim));
  const auto j = nlohmann::json::parse(out.str());
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& c : j.at("cronJobs")) by_name[c.at("name").get<std::string>()] = c;
  // every-10m: 0:10 .. 1:50 in a 1h55m run.
  EXPECT_EQ(by_name.at("every-10m").at("jobsCreated"), 11);
  EXPECT_EQ(by_name.at("every-10m").at("lastScheduleTime"), "2026-01-01T01:50:00Z");
  EXPECT_EQ(by_name.at("every-10m").at("jobsKept"), 3);  // successfulJobsHistoryLimit
  // forbid (25m runs): 0:10, 0:30 (at 0:35), 1:00, 1:20 (at 1:25), 1:50.
  EXPECT_EQ(by_name.at("forbid").at("jobsCreated"), 5);
  EXPECT_EQ(by_name.at("forbid").at("lastScheduleTime"), "2026-01-01T01:50:00Z");
  EXPECT_EQ(by_name.at("suspended").at("jobsCreated"), 0);
  EXPECT_TRUE(by_name.at("suspended").at("lastScheduleTime").is_null());
  EXPECT_EQ(by_name.at("suspended").at("suspend"), true);
}

}  // namespace
}  // namespace gputwin
