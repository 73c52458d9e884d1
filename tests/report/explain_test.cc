// gputwin explain on finished runs of the examples: the chain an operator would piece
// together from events, Kueue's conditions and Karpenter's NodeClaims, in time order, as
// each example's README tells its story.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "core/errors.h"
#include "report/explain.h"
#include "report/summary.h"
#include "results/results.h"
#include "sim/simulation.h"
#include "tests/repo_scenario.h"

namespace gputwin {
namespace {

using ::testing::HasSubstr;

nlohmann::json RunSummary(const std::string& scenario) {
  auto sim = test_support::LoadRepoScenario(scenario);
  sim->Run();
  std::ostringstream out;
  report::WriteSummaryJson(out, *sim, results::Compute(*sim));
  return nlohmann::json::parse(out.str());
}

// The reasons of the chain, in order.
std::vector<std::string> Reasons(const nlohmann::ordered_json& e) {
  std::vector<std::string> out;
  for (const auto& s : e["chain"]) out.push_back(s["reason"].get<std::string>());
  return out;
}

TEST(Explain, QuickstartPendingPodNamesTheTaintAndTheToleration) {
  const auto summary = RunSummary("examples/quickstart/scenario.yaml");
  std::string pod;
  for (const auto& p : summary["pods"]) {
    if (p["phase"] == "Pending" && p["name"].get<std::string>().starts_with("inference-")) {
      pod = "pod/default/" + p["name"].get<std::string>();
    }
  }
  ASSERT_FALSE(pod.empty());
  const auto e = report::Explain(summary, pod);
  EXPECT_EQ(e["deployment"], "inference");
  EXPECT_EQ(Reasons(e), (std::vector<std::string>{"Created", "FailedScheduling"}));
  EXPECT_EQ(e["chain"][1]["component"], "default-scheduler");
  EXPECT_THAT(e["chain"][1]["message"].get<std::string>(),
              HasSubstr("had untolerated taint {nvidia.com/gpu: present}"));
  ASSERT_EQ(e["whatWouldChangeIt"].size(), 1u);
  EXPECT_THAT(e["whatWouldChangeIt"][0].get<std::string>(),
              HasSubstr("tolerations: [{key: nvidia.com/gpu, operator: Exists"));
  EXPECT_THAT(report::RenderExplain(e), HasSubstr("What would change it"));
  // kube-scheduler's verdict per Filter plugin: all 3 nodes rejected by TaintToleration;
  // the pod waited Unschedulable the whole 6 h run.
  ASSERT_EQ(e["scheduler"]["filterVerdicts"].size(), 1u);
  EXPECT_EQ(e["scheduler"]["filterVerdicts"][0]["plugin"], "TaintToleration");
  EXPECT_EQ(e["scheduler"]["filterVerdicts"][0]["nodes"], 3);
  EXPECT_EQ(e["waited"]["Unschedulable"], 6 * 3600.0);
}

TEST(Explain, SpotTrainingPodFromNominationToInterruption) {
  const auto summary = RunSummary("examples/gpu-nodepools-spot/scenario.yaml");
  std::string pod;
  for (const auto& p : summary["pods"]) {
    if (p["name"].get<std::string>().starts_with("pretrain-") && p["phase"] == "Deleted") {
      pod = "pod/research/" + p["name"].get<std::string>();
    }
  }
  ASSERT_FALSE(pod.empty());
  const auto e = report::Explain(summary, pod);
  const auto r = Reasons(e);
  // Karpenter nominates a NodeClaim, launches and registers it, kube-scheduler binds the
  // pod once the GPUs are advertised, and the scripted interruption at 3h evicts it.
  auto pos = [&](const std::string& reason) {
    return std::find(r.begin(), r.end(), reason) - r.begin();
  };
  EXPECT_LT(pos("Nominated"), pos("Launched"));
  EXPECT_LT(pos("Launched"), pos("Registered"));
  EXPECT_LT(pos("Registered"), pos("Scheduled"));
  EXPECT_LT(pos("Scheduled"), pos("Evicted"));
  EXPECT_LT(pos("Evicted"), static_cast<long>(r.size()));
  for (const auto& s : e["chain"]) {
    if (s["reason"] == "Evicted") {
      EXPECT_EQ(s["offset"].get<double>(), 3 * 3600.0);
    }
    if (s["reason"] == "NodeClaimCreated") {
      EXPECT_THAT(s["message"].get<std::string>(), HasSubstr("spot g6e.48xlarge"));
    }
  }
  EXPECT_TRUE(e.contains("coldStart"));
  // Where its wait went (README: 1 s to Karpenter's decision, then 1m42s of launch and boot
  // and 4m10s of GPU set-up on the nominated NodeClaim; the image is cached).
  EXPECT_EQ(e["waited"]["Unschedulable"], 1.0);
  EXPECT_EQ(e["waited"]["Nominated"], 102.0 + 250.0);
  // The NodePool allows families p4d, p5 and g6e; the types with the pod's 8 GPUs are
  // p4d.24xlarge, p5.48xlarge and g6e.48xlarge (the smaller g6e have 1-4); the g6e launched.
  ASSERT_EQ(e["nodeClaims"].size(), 1u);
  EXPECT_EQ(e["nodeClaims"][0]["nodePool"], "training-spot");
  EXPECT_EQ(e["nodeClaims"][0]["launched"], "g6e.48xlarge");
  EXPECT_EQ(e["nodeClaims"][0]["instanceTypeOptions"], 3);
}

TEST(Explain, KueueWorkloadByItsJobsNameAndUnknownObjects) {
  const auto summary = RunSummary("examples/kueue-two-teams/scenario.yaml");
  const auto e = report::Explain(summary, "workload/research/train-0");
  const auto r = Reasons(e);
  ASSERT_GE(r.size(), 3u);
  EXPECT_EQ(r[0], "Created");
  EXPECT_EQ(r[1], "QuotaReserved");
  EXPECT_EQ(r[2], "Admitted");
  EXPECT_THROW(report::Explain(summary, "pod/research/no-such-pod"), InputError);
  EXPECT_THROW(report::Explain(summary, "deployment/x"), InputError);
  EXPECT_THROW(report::Explain(summary, "pod/only-a-name"), InputError);
}

}  // namespace
}  // namespace gputwin

namespace gputwin {
namespace {

// Every Pending pod at the end of every example gets a chain and, when kube-scheduler
// called it Unschedulable, at least one change that would let it run.
TEST(Explain, EveryPendingPodOfEveryExample) {
  namespace fs = std::filesystem;
  int pending = 0;
  for (const auto& dir : fs::directory_iterator(fs::path(GPUTWIN_SOURCE_DIR) / "examples")) {
    for (const auto& f : fs::directory_iterator(dir.path())) {
      const std::string name = f.path().filename().string();
      if (!name.starts_with("scenario") || f.path().extension() != ".yaml") continue;
      const auto summary = RunSummary(fs::relative(f.path(), GPUTWIN_SOURCE_DIR).string());
      for (const auto& p : summary["pods"]) {
        if (p["phase"] != "Pending") continue;
        ++pending;
        const auto e = report::Explain(summary, "pod/" + p["namespace"].get<std::string>() + "/" +
                                                    p["name"].get<std::string>());
        EXPECT_FALSE(e["chain"].empty()) << name << " " << p["name"];
        if (p["reason"] == "Unschedulable") {
          EXPECT_TRUE(e.contains("whatWouldChangeIt"))
              << name << " " << p["name"] << ": " << p["message"];
        }
      }
    }
  }
  EXPECT_GT(pending, 0);
}

}  // namespace
}  // namespace gputwin

namespace gputwin {
namespace {

// A training operator's object: examples/distributed-training (README: without Kueue the
// resnet gang holds 16 GPUs waiting from 1m40s to 4h; with Kueue llama-ft is admitted at
// 1h1m41s and completes at 2h3m31s).
TEST(Explain, JobSetGangsWithAndWithoutKueue) {
  const auto stuck = RunSummary("examples/distributed-training/scenario-without-kueue.yaml");
  const auto e = report::Explain(stuck, "jobset/vision/resnet");
  EXPECT_NEAR(e["state"]["gpuHoursWaitingForGang"].get<double>(), 16.0 * (4 * 3600 - 100) / 3600,
              1e-3);
  ASSERT_TRUE(e.contains("whatWouldChangeIt"));
  EXPECT_THAT(e["whatWouldChangeIt"][0].get<std::string>(), HasSubstr("Kueue"));
  const auto queued = RunSummary("examples/distributed-training/scenario.yaml");
  const auto q = report::Explain(queued, "jobset/language/llama-ft");
  EXPECT_EQ(q["workload"], "jobset-llama-ft");
  const auto r = Reasons(q);
  auto pos = [&](const std::string& reason) {
    return std::find(r.begin(), r.end(), reason) - r.begin();
  };
  EXPECT_LT(pos("Admitted"), pos("AllJobsCompleted"));
  for (const auto& s : q["chain"]) {
    if (s["reason"] == "Admitted") {
      EXPECT_EQ(s["offset"].get<double>(), 3701.0);
    }
    if (s["reason"] == "AllJobsCompleted") {
      EXPECT_EQ(s["offset"].get<double>(), 7411.0);
    }
  }
  EXPECT_THROW(report::Explain(queued, "pytorchjob/vision/none"), InputError);
}

}  // namespace
}  // namespace gputwin
