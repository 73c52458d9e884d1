#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <set>
#include <string>

#include "api/manifests.h"
#include "scheduler/queue.h"
#include "scheduler/scheduler.h"
#include "sim/simulation.h"

namespace gputwin::scheduler {
namespace {

// schedule_one.go numFeasibleNodesToFind: minFeasibleNodesToFind = 100,
// adaptive percentage 50 - nodes/125 with a floor of 5%.
TEST(NumFeasibleNodesToFind, UpstreamFormula) {
  EXPECT_EQ(NumFeasibleNodesToFind(0, 50), 50);
  EXPECT_EQ(NumFeasibleNodesToFind(0, 100), 100);    // 50% of 100 is 50, raised to 100
  EXPECT_EQ(NumFeasibleNodesToFind(0, 1000), 420);   // 50 - 8 = 42%
  EXPECT_EQ(NumFeasibleNodesToFind(0, 5000), 500);   // 50 - 40 = 10%
  EXPECT_EQ(NumFeasibleNodesToFind(0, 6000), 300);   // 50 - 48 = 2%, floor 5%
  EXPECT_EQ(NumFeasibleNodesToFind(0, 10000), 500);  // 5%
  EXPECT_EQ(NumFeasibleNodesToFind(30, 1000), 300);
  EXPECT_EQ(NumFeasibleNodesToFind(1, 1000), 100);
  EXPECT_EQ(NumFeasibleNodesToFind(100, 1000), 1000);
}

TEST(SchedulingQueue, PrioritySortThenTimestamp) {
  SchedulingQueue q(Duration::Seconds(1), Duration::Seconds(10));
  q.AddActive(0, 10, Time{100});
  q.AddActive(1, 50, Time{200});
  q.AddActive(2, 10, Time{50});
  q.AddActive(3, 50, Time{100});
  std::vector<cluster::PodId> order;
  cluster::PodId p;
  while (q.PopActive(&p)) order.push_back(p);
  EXPECT_EQ(order, (std::vector<cluster::PodId>{3, 1, 2, 0}));
}

TEST(SchedulingQueue, BackoffDoublesFromOneSecondToTen) {
  // podInitialBackoffSeconds 1, podMaxBackoffSeconds 10: 1s, 2s, 4s, 8s, 10s.
  SchedulingQueue q(Duration::Seconds(1), Duration::Seconds(10));
  Time t{0};
  cluster::PodId p;
  const int64_t want[] = {1, 2, 4, 8, 10, 10};
  for (int64_t expected : want) {
    q.AddUnschedulable(0, /*template_id=*/0, 0, t);
    q.MoveAllUnschedulable(t);  // a cluster event
    EXPECT_FALSE(q.PopActive(&p)) << "still backing off";
    Time next = q.FlushBackoff(t);
    EXPECT_EQ((next - t).ns, Duration::Seconds(expected).ns);
    EXPECT_EQ(q.FlushBackoff(next), cluster::kNever);
    ASSERT_TRUE(q.PopActive(&p));
    t = next;
  }
}

TEST(SchedulingQueue, UnschedulablePodsReturnAfterFiveMinutes) {
  SchedulingQueue q(Duration::Seconds(1), Duration::Seconds(10));
  q.AddUnschedulable(7, 0, 0, Time{0});
  cluster::PodId p;
  q.FlushUnschedulableLeftover(Time{0} + Duration::Minutes(4));
  EXPECT_FALSE(q.PopActive(&p));
  q.FlushUnschedulableLeftover(Time{0} + Duration::Minutes(5));
  ASSERT_TRUE(q.PopActive(&p));
  EXPECT_EQ(p, 7u);
}

TEST(SchedulingQueue, EventsMoveTheHeadOfEachTemplateLine) {
  SchedulingQueue q(Duration::Seconds(1), Duration::Seconds(10));
  for (cluster::PodId p = 0; p < 5; ++p) q.AddUnschedulable(p, p < 3 ? 0 : 1, 0, Time{0});
  EXPECT_EQ(q.unschedulable_count(), 5u);
  Time later = Time{0} + Duration::Minutes(1);
  q.MoveAllUnschedulable(later);
  std::vector<cluster::PodId> moved;
  cluster::PodId p;
  while (q.PopActive(&p)) moved.push_back(p);
  EXPECT_EQ(moved, (std::vector<cluster::PodId>{0, 3}));
  q.MoveNextOfTemplate(0, later);  // pod 0 bound: pod 1 gets its chance
  ASSERT_TRUE(q.PopActive(&p));
  EXPECT_EQ(p, 1u);
  EXPECT_EQ(q.unschedulable_count(), 2u);
}

}  // namespace
}  // namespace gputwin::scheduler

namespace gputwin::scheduler {
namespace {

// 300 nodes n000-n299 of 8 CPUs and 2 GPUs, but n070 and n250 with 8 GPUs.
std::string ThreeHundredNodes() {
  std::string y;
  for (int i = 0; i < 300; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "n%03d", i);
    const bool big = i == 70 || i == 250;
    y += std::string("---\n{apiVersion: v1, kind: Node, metadata: {name: ") + name +
         "}, status: {allocatable: {cpu: \"8\", memory: 32Gi, pods: \"110\", nvidia.com/gpu: \"" +
         (big ? "8" : "2") + "\"}}}\n";
  }
  return y;
}

// A pod that fits only two nodes among 300 (kube-scheduler walks the nodes from its
// rotating start index; the twin passes over blocks of nodes without room, which must not
// change which nodes are found). Every node has 2 GPUs but n070 and n250, which have 8;
// Jobs a, b and c ask 8 GPUs each for 30 minutes (c also 1 CPU), d 8 CPUs for 20 minutes. Derived
// by hand: a and b take n070 and n250; c fails on all 300 nodes ("Insufficient nvidia.com/gpu"); d
// runs on a 2-GPU node, so c's next attempts (the unschedulable pool is flushed after 5 minutes)
// also find that node short of CPU; when d ends at 20m, c is retried and the message loses the CPU
// count again; at 30m a and b end and c binds where one of them was.
std::unique_ptr<sim::Simulation> RunTwoNodesFit(Duration d) {
  std::string y = ThreeHundredNodes();
  auto job = [&](const char* name, const char* resources, const char* runtime) {
    y += std::string("---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: ") + name +
         "}\nspec:\n  template:\n    metadata: {annotations: {gputwin.io/run-time: " + runtime +
         "}}\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, resources: " +
         resources + "}]\n";
  };
  job("a", "{limits: {nvidia.com/gpu: 8}}", "30m");
  job("b", "{limits: {nvidia.com/gpu: 8}}", "30m");
  job("c", "{requests: {cpu: \"1\"}, limits: {nvidia.com/gpu: 8}}", "30m");
  job("d", "{requests: {cpu: \"8\"}}", "20m");
  api::Manifests m;
  api::DecodeYaml(y, "two-nodes-fit.yaml", &m);
  api::Scenario s;
  s.duration = d;
  auto sim = std::make_unique<sim::Simulation>(std::move(m), s);
  sim->Run();
  return sim;
}

const cluster::PodRecord& PodOfJob(const sim::Simulation& sim, const std::string& job) {
  for (cluster::PodId p = 0; p < sim.store().pod_count(); ++p) {
    if (sim.store().pod(p).name.rfind(job + "-", 0) == 0) return sim.store().pod(p);
  }
  ADD_FAILURE() << "no pod of Job " << job;
  return sim.store().pod(0);
}

TEST(Scheduler, NodesWithoutRoomAreSkippedWithoutChangingTheVerdicts) {
  auto node_of = [](const sim::Simulation& sim, const cluster::PodRecord& p) {
    return p.Bound() ? sim.store().node(p.node).name() : std::string("(none)");
  };
  {
    auto sim = RunTwoNodesFit(Duration::Minutes(15));
    std::set<std::string> big = {node_of(*sim, PodOfJob(*sim, "a")),
                                 node_of(*sim, PodOfJob(*sim, "b"))};
    EXPECT_EQ(big, (std::set<std::string>{"n070", "n250"}));
    const auto& c = PodOfJob(*sim, "c");
    EXPECT_FALSE(c.Bound());
    EXPECT_THAT(c.message, ::testing::HasSubstr("0/300 nodes are available: 1 Insufficient cpu, "
                                                "300 Insufficient nvidia.com/gpu."));
  }
  {
    auto sim = RunTwoNodesFit(Duration::Minutes(25));
    const auto& c = PodOfJob(*sim, "c");
    EXPECT_FALSE(c.Bound());
    EXPECT_THAT(c.message, ::testing::HasSubstr(
                               "0/300 nodes are available: 300 Insufficient nvidia.com/gpu."));
  }
  {
    auto sim = RunTwoNodesFit(Duration::Minutes(45));
    const std::string c = node_of(*sim, PodOfJob(*sim, "c"));
    EXPECT_TRUE(c == "n070" || c == "n250") << c;
  }
}

// Jobs of one generator share their admitted spec, and so kube-scheduler's FitError
// diagnosis memo: a new Job's first failure starts from the counts an earlier Job left,
// brought up to date with the nodes changed since, which must be what a walk over every
// node would count. The nodes of the test above; four Jobs `big` ask 8 GPUs and 1 CPU for
// 30 minutes (three at 0s, one at 8m), Job `cpu` 8 CPUs from 7m to 27m. Derived by hand: two
// of the three first bind on n070 and n250; the third fails on all 300 nodes at 0s and again
// when the unschedulable pool is flushed at 5m (the memo is made then); `cpu` cannot fit on
// n070 or n250 (7 CPUs left) and fills a 2-GPU node at 7m, which retries no one (a pod
// added frees nothing). So at 9m the Job of 8m, on its first attempt, sees that node short
// of CPU while the older waiting pod still shows its 5m message; after the next flushes both
// see it; after 27m (29m) the CPU count is gone from both; after 30m both bind where the
// first two were.
std::unique_ptr<sim::Simulation> RunSharedSpec(Duration d) {
  std::string y = ThreeHundredNodes();
  auto generator = [&](const char* name, const char* times, const char* resources,
                       const char* runtime) {
    y += std::string("  - name: ") + name + "\n    arrival: {type: fixed, times: " + times +
         "}\n    template:\n      apiVersion: batch/v1\n      kind: Job\n      spec:\n"
         "        template:\n          metadata: {annotations: {gputwin.io/run-time: " +
         runtime +
         "}}\n          spec:\n            restartPolicy: Never\n            containers: "
         "[{name: c, resources: " +
         resources + "}]\n";
  };
  y += "---\napiVersion: gputwin.io/v1alpha1\nkind: Scenario\nmetadata: {name: shared}\n"
       "spec:\n  duration: 1h\n  workloads:\n";
  generator("big", "[0s, 0s, 0s, 8m]", "{requests: {cpu: \"1\"}, limits: {nvidia.com/gpu: 8}}",
            "30m");
  generator("cpu", "[7m]", "{requests: {cpu: \"8\"}}", "20m");
  api::Manifests m;
  api::DecodeYaml(y, "shared-spec.yaml", &m);
  api::Scenario s = m.scenarios.front();
  m.scenarios.clear();
  s.duration = d;
  auto sim = std::make_unique<sim::Simulation>(std::move(m), s);
  sim->Run();
  return sim;
}

TEST(Scheduler, JobsOfOneSpecShareTheirDiagnosisAndKeepItsMessages) {
  const std::string short_of_cpu =
      "0/300 nodes are available: 1 Insufficient cpu, 300 Insufficient nvidia.com/gpu.";
  const std::string short_of_gpus = "0/300 nodes are available: 300 Insufficient nvidia.com/gpu.";
  auto waiting = [](const sim::Simulation& sim) {
    std::vector<const cluster::PodRecord*> out;
    for (cluster::PodId p = 0; p < sim.store().pod_count(); ++p) {
      const auto& pod = sim.store().pod(p);
      if (pod.name.rfind("big-", 0) == 0 && !pod.Bound()) out.push_back(&pod);
    }
    return out;
  };
  {
    auto sim = RunSharedSpec(Duration::Minutes(9));
    const auto& newest = PodOfJob(*sim, "big-3");
    ASSERT_EQ(newest.tmpl->spec.get(), PodOfJob(*sim, "big-0").tmpl->spec.get());
    auto w = waiting(*sim);
    ASSERT_EQ(w.size(), 2u);
    for (const auto* p : w) {
      EXPECT_THAT(p->message, ::testing::HasSubstr(p == &newest ? short_of_cpu : short_of_gpus))
          << p->name;
    }
  }
  for (int minutes : {20, 29}) {
    auto sim = RunSharedSpec(Duration::Minutes(minutes));
    auto w = waiting(*sim);
    ASSERT_EQ(w.size(), 2u);
    for (const auto* p : w) {
      EXPECT_THAT(p->message, ::testing::HasSubstr(minutes == 20 ? short_of_cpu : short_of_gpus))
          << p->name << " at " << minutes << "m";
    }
  }
  {
    auto sim = RunSharedSpec(Duration::Minutes(45));
    EXPECT_TRUE(waiting(*sim).empty());
    std::set<std::string> nodes;
    for (const char* j : {"big-0", "big-1", "big-2", "big-3"}) {
      const auto& p = PodOfJob(*sim, j);
      if (p.Bound()) nodes.insert(sim->store().node(p.node).name());
    }
    EXPECT_EQ(nodes, (std::set<std::string>{"n070", "n250"}));
  }
}

}  // namespace
}  // namespace gputwin::scheduler

namespace gputwin::scheduler {
namespace {

// kube-scheduler's rotating start (schedule_one.go findNodesThatPassFilters): a cycle stops
// once numFeasibleNodesToFind nodes pass (141 of 300: 50 - 300/125 = 47 %), and the next
// cycle starts `processed` nodes further, processed = the feasible nodes plus the nodes that
// failed before the walk stopped. 300 nodes n000-n299 in the NodeTree's order (one zone),
// the even ones labelled pool=a; n270 and n290 eight times larger than the rest (64 CPUs,
// 256Gi); Jobs x and y select pool=a and ask 1 CPU and 4Gi. Derived by hand: the first pod
// walks from n000 and stops at its 141st feasible node, n280 (processed 141 + 140 odd nodes
// = 281). Of what it found, n270 scores highest (LeastAllocated 98 against 87; the requests
// are in proportion, so BalancedAllocation ties), and it binds there. The second walks from
// n281: n282-n298 (9 nodes, n290 among them), then n000-n262 (132): n270 is not found, and
// it binds on n290. Had the start not moved, both would have found n270 first.
TEST(Scheduler, TheNextCycleStartsPastTheNodesTheLastOneProcessed) {
  std::string y;
  for (int i = 0; i < 300; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "n%03d", i);
    const bool big = i == 270 || i == 290;
    y += std::string("---\n{apiVersion: v1, kind: Node, metadata: {name: ") + name +
         (i % 2 == 0 ? ", labels: {pool: a}" : "") + "}, status: {allocatable: {cpu: \"" +
         (big ? "64" : "8") + "\", memory: " + (big ? "256Gi" : "32Gi") + ", pods: \"110\"}}}\n";
  }
  for (const char* job : {"x", "y"}) {
    y += std::string("---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: ") + job +
         "}\nspec:\n  template:\n    metadata: {annotations: {gputwin.io/run-time: 1h}}\n"
         "    spec:\n      restartPolicy: Never\n      nodeSelector: {pool: a}\n"
         "      containers: [{name: c, resources: {requests: {cpu: \"1\", memory: 4Gi}}}]\n";
  }
  api::Manifests m;
  api::DecodeYaml(y, "rotating-start.yaml", &m);
  api::Scenario s;
  s.duration = Duration::Minutes(10);
  sim::Simulation sim(std::move(m), s);
  sim.Run();
  std::set<std::string> nodes;
  for (const char* job : {"x", "y"}) {
    const auto& p = PodOfJob(sim, job);
    ASSERT_TRUE(p.Bound()) << job;
    nodes.insert(sim.store().node(p.node).name());
  }
  EXPECT_EQ(nodes, (std::set<std::string>{"n270", "n290"}));
}

}  // namespace
}  // namespace gputwin::scheduler
