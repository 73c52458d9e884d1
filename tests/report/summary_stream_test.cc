// summary.json is written piece by piece (report/summary.cc: the head member by member,
// large sections element by element, pods and events one per line) so that no whole text
// of it is held. Without per-pod and per-event detail, the file must still be exactly what
// nlohmann's dump(2) of its own content gives: the format the schema documents, whatever
// path each section took.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "report/summary.h"
#include "results/results.h"
#include "sim/simulation.h"
#include "tests/repo_scenario.h"

namespace gputwin {
namespace {

void ExpectDumpTwoOfItsContent(const std::string& scenario) {
  auto sim = test_support::LoadRepoScenario(scenario);
  sim->Run();
  const results::Results res = results::Compute(*sim);
  std::ostringstream streamed;
  report::WriteSummaryJson(streamed, *sim, res, report::Detail::kSummary);
  const auto parsed = nlohmann::ordered_json::parse(streamed.str());
  // Large sections took the element-by-element path (a Karpenter run's nodes and claims).
  ASSERT_GT(parsed.at("nodes").size(), 0u);
  EXPECT_EQ(streamed.str(), parsed.dump(2) + "\n") << scenario;
  // The head handed in (as the CLI does) writes the same bytes as the one computed inside.
  const report::Json head = report::SummaryHead(*sim, res);
  std::ostringstream given;
  report::WriteSummaryJson(given, *sim, res, report::Detail::kSummary, &head);
  EXPECT_EQ(given.str(), streamed.str()) << scenario;
}

TEST(SummaryStream, IsDumpTwoOfItsContentForStaticNodes) {
  ExpectDumpTwoOfItsContent("examples/quickstart/scenario.yaml");
}

TEST(SummaryStream, IsDumpTwoOfItsContentForKarpenterNodes) {
  ExpectDumpTwoOfItsContent("examples/gpu-nodepools-spot/scenario.yaml");
}

}  // namespace
}  // namespace gputwin
