// Requirement sets as Karpenter's pkg/scheduling/requirement(s).go define them, the cron
// budget windows, and the NodePool CRD's validation rules.
#include <gtest/gtest.h>

#include "api/manifests.h"
#include "karpenter/cron.h"
#include "karpenter/requirements.h"

namespace gputwin::karpenter {
namespace {

TEST(Requirement, GtIsGteOfTheNextInteger) {
  // requirement.go: Gt n is kept as Gte n+1; values compare as integers.
  Requirement gt = Requirement::FromOperator("Gt", {"4"});
  EXPECT_FALSE(gt.Has("4"));
  EXPECT_TRUE(gt.Has("5"));
  EXPECT_FALSE(gt.Has("abc"));
  Requirement lte = Requirement::FromOperator("Lte", {"8"});
  EXPECT_TRUE(gt.Intersect(lte).Has("8"));
  EXPECT_TRUE(Requirement::FromOperator("Gt", {"8"}).Intersect(lte).Empty());
}

TEST(Requirement, InterSectionOfInAndNotIn) {
  Requirement in = Requirement::In({"g5", "g6", "p4d"});
  Requirement not_in = Requirement::FromOperator("NotIn", {"p4d"});
  Requirement both = in.Intersect(not_in);
  EXPECT_TRUE(both.Has("g5"));
  EXPECT_FALSE(both.Has("p4d"));
  EXPECT_EQ(both.values.size(), 2u);
  EXPECT_TRUE(Requirement::In({"a"}).Intersect(Requirement::In({"b"})).Empty());
}

TEST(Requirements, UndefinedWellKnownLabelsAreCompatibleCustomOnesAreNot) {
  Requirements pool = Requirements::FromLabels({{"karpenter.sh/nodepool", "gpu"}});
  // A pod selecting a zone the NodePool leaves open: allowed (well-known label).
  EXPECT_EQ(
      pool.Compatible(Requirements::FromLabels({{"topology.kubernetes.io/zone", "us-east-1a"}})),
      "");
  // A custom label the NodePool does not define: no known values.
  EXPECT_NE(pool.Compatible(Requirements::FromLabels({{"team", "a"}})), "");
  // ... unless the pod only excludes values (NotIn).
  Requirements not_in;
  not_in.Add("team", Requirement::FromOperator("NotIn", {"a"}));
  EXPECT_EQ(pool.Compatible(not_in), "");
  // Conflicting values of a key both define.
  EXPECT_NE(pool.Compatible(Requirements::FromLabels({{"karpenter.sh/nodepool", "cpu"}})), "");
}

Time At(const char* rfc3339) {
  std::string err;
  return *ParseRFC3339(rfc3339, &err);
}

TEST(Cron, BudgetWindowIsActiveForItsDurationAfterEachFiring) {
  // "0 9 * * 1-5" for 8h: weekdays from 09:00 to before 17:00 UTC (Budget.IsActive: the
  // first hit after now − duration must not be after now; at 17:00 that is the next day's
  // 09:00). 2026-01-05 is a Monday.
  EXPECT_TRUE(CronWindowActive("0 9 * * 1-5", Duration::Hours(8), At("2026-01-05T09:00:00Z")));
  EXPECT_TRUE(CronWindowActive("0 9 * * 1-5", Duration::Hours(8), At("2026-01-05T12:00:00Z")));
  EXPECT_TRUE(CronWindowActive("0 9 * * 1-5", Duration::Hours(8), At("2026-01-05T16:59:59Z")));
  EXPECT_FALSE(CronWindowActive("0 9 * * 1-5", Duration::Hours(8), At("2026-01-05T17:00:00Z")));
  EXPECT_FALSE(CronWindowActive("0 9 * * 1-5", Duration::Hours(8), At("2026-01-05T17:01:00Z")));
  EXPECT_FALSE(CronWindowActive("0 9 * * 1-5", Duration::Hours(8), At("2026-01-04T12:00:00Z")));
  EXPECT_TRUE(CronWindowActive("@daily", Duration::Minutes(10), At("2026-03-01T00:05:00Z")));
  EXPECT_FALSE(CronWindowActive("*/30 * * * *", Duration::Minutes(10), At("2026-03-01T00:15:00Z")));
  EXPECT_NE(CronError("0 25 * * *"), "");
  EXPECT_NE(CronError("0 9 * *"), "");
  EXPECT_EQ(CronError("0 9 * * 1-5"), "");
}

void ExpectRejected(const std::string& spec, const std::string& message) {
  api::Manifests m;
  std::string yaml =
      "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {name: gpu}\n"
      "spec:\n" +
      spec;
  try {
    api::DecodeYaml(yaml, "nodepool.yaml", &m);
    ADD_FAILURE() << "accepted: " << spec;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nodepool.yaml:"), std::string::npos) << e.what();
  }
}

TEST(NodePoolValidation, CrdRules) {
  const std::string ref =
      "  template:\n    spec:\n      nodeClassRef: {group: karpenter.k8s.aws, kind: "
      "EC2NodeClass, name: default}\n";
  ExpectRejected(ref +
                     "      requirements: [{key: karpenter.k8s.aws/instance-gpu-names, "
                     "operator: In, values: [a100]}]\n",
                 "label domain \"karpenter.k8s.aws\" is restricted");
  ExpectRejected(
      ref + "      requirements: [{key: kubernetes.io/hostname, operator: In, values: [a]}]\n",
      "label \"kubernetes.io/hostname\" is restricted");
  ExpectRejected(ref + "      requirements: [{key: team, operator: In, values: []}]\n",
                 "must have a value defined");
  ExpectRejected(ref +
                     "      requirements: [{key: karpenter.k8s.aws/instance-gpu-count, "
                     "operator: Gt, values: [\"-1\"]}]\n",
                 "single positive integer");
  ExpectRejected("  disruption: {budgets: [{nodes: \"110%\"}]}\n" + ref, "should match");
  ExpectRejected("  disruption: {budgets: [{nodes: \"1\", schedule: \"@daily\"}]}\n" + ref,
                 "'schedule' must be set with 'duration'");
  ExpectRejected("  weight: 101\n" + ref, "weight");
}

}  // namespace
}  // namespace gputwin::karpenter
