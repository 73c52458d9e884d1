// The store's admission, as the API server's plugins do it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <tuple>
#include <vector>

#include "cluster/store.h"
#include "kueue/workload.h"

namespace gputwin::cluster {
namespace {

using ::testing::HasSubstr;

api::PodSpec GpuSpec(int64_t gpus, const char* cpu = nullptr) {
  api::PodSpec spec;
  api::Container c;
  c.name = "trainer";
  c.resources.limits["nvidia.com/gpu"] = Quantity{gpus * 1000};
  c.resources.requests["nvidia.com/gpu"] = Quantity{gpus * 1000};
  if (cpu) c.resources.requests["cpu"] = *ParseQuantity(cpu, nullptr);
  spec.containers.push_back(c);
  return spec;
}

PodId Create(Store& s, const std::string& name, const api::PodSpec& spec, std::string* err,
             const std::string& ns = "team-a") {
  PodRecord rec;
  rec.namespace_ = ns;
  rec.name = name;
  api::ObjectMeta meta;
  rec.tmpl = s.MakeTemplate(meta, spec, ns);
  return s.CreatePod(std::move(rec), err);
}

// A node's requests by priority (what preemption's dry run frees by evicting every pod below
// a priority) follow its live pods: bind adds, completion and deletion take away, and a
// priority with no pod left has no bucket. Sums derived by hand from the pods below.
TEST(NodePriorityRequests, FollowBindCompletionAndDeletion) {
  Store s;
  s.AddNamespace("team-a");
  api::PriorityClass high;
  high.metadata.name = "high";
  high.value = 1000;
  s.AddPriorityClass(high);
  api::Node n;
  n.metadata.name = "n1";
  n.allocatable["cpu"] = Quantity{16000};
  n.allocatable["pods"] = Quantity{110'000};
  const NodeId node = s.AddNode(n);
  std::string err;
  api::PodSpec high_spec = GpuSpec(0, "2");
  high_spec.priority_class_name = "high";
  const PodId low1 = Create(s, "low-1", GpuSpec(0, "1"), &err);
  const PodId low2 = Create(s, "low-2", GpuSpec(0, "1"), &err);
  const PodId top = Create(s, "top", high_spec, &err);
  ASSERT_EQ(err, "");
  for (PodId p : {low1, low2, top}) s.BindPod(p, node);
  auto buckets = [&] {
    std::vector<std::tuple<int32_t, int64_t, int64_t, int64_t>> out;  // priority, pods, cpu, pods
    for (const auto& b : s.node(node).by_priority) {
      out.emplace_back(b.priority, b.pods, At(b.requests, kCpu), At(b.requests, kPods));
    }
    return out;
  };
  using B = std::tuple<int32_t, int64_t, int64_t, int64_t>;
  EXPECT_EQ(buckets(), (std::vector<B>{{0, 2, 2000, 2}, {1000, 1, 2000, 1}}));
  EXPECT_EQ(s.LowestPodPriority(node), 0);
  s.SetPodPhase(low1, PodPhase::kSucceeded);
  EXPECT_EQ(buckets(), (std::vector<B>{{0, 1, 1000, 1}, {1000, 1, 2000, 1}}));
  EXPECT_EQ(s.LowestPodPriority(node), 0);
  // The last pod of the lowest priority gone: the next priority up is the lowest.
  s.DeletePod(low2);
  EXPECT_EQ(buckets(), (std::vector<B>{{1000, 1, 2000, 1}}));
  EXPECT_EQ(s.LowestPodPriority(node), 1000);
  s.DeletePod(top);
  EXPECT_TRUE(buckets().empty());
  EXPECT_EQ(s.LowestPodPriority(node), std::numeric_limits<int32_t>::max());
}

// The usage log Karpenter patches its node lists from: every bind and release names its
// node, in order, once asked for (before that nothing is kept), and a take empties it.
TEST(UsageChanges, NameEachBindAndReleaseInOrderOnceRecorded) {
  Store s;
  s.AddNamespace("team-a");
  api::Node n;
  n.allocatable["cpu"] = Quantity{16000};
  n.allocatable["pods"] = Quantity{110'000};
  n.metadata.name = "a";
  const NodeId a = s.AddNode(n);
  n.metadata.name = "b";
  const NodeId b = s.AddNode(n);
  std::string err;
  const PodId p1 = Create(s, "p1", GpuSpec(0, "1"), &err);
  const PodId p2 = Create(s, "p2", GpuSpec(0, "1"), &err);
  const PodId p3 = Create(s, "p3", GpuSpec(0, "1"), &err);
  ASSERT_EQ(err, "");
  s.BindPod(p1, a);  // before recording: not logged
  s.RecordUsageChanges();
  s.BindPod(p2, b);
  s.BindPod(p3, a);
  s.DeletePod(p2);             // releases b
  std::vector<NodeId> log{7};  // appended to
  EXPECT_TRUE(s.TakeUsageChanges(&log));
  EXPECT_EQ(log, (std::vector<NodeId>{7, b, a, b}));
  log.clear();
  EXPECT_TRUE(s.TakeUsageChanges(&log));
  EXPECT_TRUE(log.empty());
}

// plugin/pkg/admission/resourcequota: "exceeded quota: <name>, requested: ..., used: ...,
// limited: ..." wrapped in the Forbidden error of the pod.
TEST(ResourceQuotaAdmission, RefusesPodsPastTheGpuQuota) {
  Store s;
  s.AddNamespace("team-a");
  api::ResourceQuota q;
  q.metadata.name = "gpu-quota";
  q.metadata.namespace_ = "team-a";
  q.hard["requests.nvidia.com/gpu"] = Quantity{4000};
  s.AddResourceQuota(q);
  std::string err;
  EXPECT_NE(Create(s, "a", GpuSpec(2), &err), kNone);
  EXPECT_NE(Create(s, "b", GpuSpec(2), &err), kNone);
  EXPECT_EQ(Create(s, "c", GpuSpec(2), &err), kNone);
  EXPECT_EQ(err,
            "pods \"c\" is forbidden: exceeded quota: gpu-quota, requested: "
            "requests.nvidia.com/gpu=2, used: requests.nvidia.com/gpu=4, limited: "
            "requests.nvidia.com/gpu=4");
  // Other namespaces are not limited; a finished pod frees its share.
  EXPECT_NE(Create(s, "d", GpuSpec(2), &err, "default"), kNone);
  s.SetPodPhase(0, PodPhase::kSucceeded);
  EXPECT_NE(Create(s, "c", GpuSpec(2), &err), kNone);
}

TEST(ResourceQuotaAdmission, CpuQuotaRequiresRequests) {
  Store s;
  s.AddNamespace("team-a");
  api::ResourceQuota q;
  q.metadata.name = "compute";
  q.metadata.namespace_ = "team-a";
  q.hard["requests.cpu"] = Quantity{10'000};
  s.AddResourceQuota(q);
  std::string err;
  EXPECT_EQ(Create(s, "a", GpuSpec(1), &err), kNone);
  EXPECT_EQ(
      err,
      "pods \"a\" is forbidden: failed quota: compute: must specify requests.cpu for: trainer");
  EXPECT_NE(Create(s, "b", GpuSpec(1, "500m"), &err), kNone);
}

TEST(LimitRanger, DefaultsRequestsAndChecksMax) {
  Store s;
  s.AddNamespace("team-a");
  api::LimitRange lr;
  lr.metadata.namespace_ = "team-a";
  api::LimitRangeItem item;
  item.type = "Container";
  item.default_requests["cpu"] = Quantity{250};
  item.default_limits["memory"] = *ParseQuantity("1Gi", nullptr);
  item.max["nvidia.com/gpu"] = Quantity{4000};
  lr.limits.push_back(item);
  s.AddLimitRange(lr);
  api::ObjectMeta meta;
  auto t = s.MakeTemplate(meta, GpuSpec(1), "team-a");
  EXPECT_EQ(At(t->requests, kCpu), 250);
  EXPECT_EQ(At(t->requests, kMemory), 1LL << 30);  // defaulted limit also sets the request
  EXPECT_THROW(s.MakeTemplate(meta, GpuSpec(8), "team-a"), InputError);
  // Another namespace has no LimitRange.
  auto other = s.MakeTemplate(meta, GpuSpec(1), "default");
  EXPECT_EQ(At(other->requests, kCpu), 0);
}

TEST(PriorityAdmission, ClassGlobalDefaultAndSystemClasses) {
  Store s;
  api::PriorityClass def;
  def.metadata.name = "batch";
  def.value = 50;
  def.global_default = true;
  s.AddPriorityClass(def);
  api::ObjectMeta meta;
  api::PodSpec spec = GpuSpec(1);
  EXPECT_EQ(s.MakeTemplate(meta, spec, "default")->priority, 50);
  spec.priority_class_name = "system-node-critical";
  EXPECT_EQ(s.MakeTemplate(meta, spec, "default")->priority, 2000001000);
  spec.priority_class_name = "gold";
  try {
    s.MakeTemplate(meta, spec, "default");
    FAIL() << "missing PriorityClass accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no PriorityClass with name gold was found"));
  }
}

TEST(DefaultTolerationSeconds, AddedUnlessAlreadyTolerated) {
  Store s;
  api::ObjectMeta meta;
  api::PodSpec spec = GpuSpec(1);
  auto t = s.MakeTemplate(meta, spec, "default");
  ASSERT_EQ(t->spec->tolerations.size(), 2u);
  EXPECT_EQ(t->spec->tolerations[0].key, "node.kubernetes.io/not-ready");
  EXPECT_EQ(*t->spec->tolerations[0].toleration_seconds, 300);
  spec.tolerations.push_back({"", "Exists", "", "", std::nullopt});  // tolerates everything
  EXPECT_EQ(s.MakeTemplate(meta, spec, "default")->spec->tolerations.size(), 1u);
}

// Templates with equal admitted specs share one (memory); any difference keeps them apart,
// including fields the intern table does not hash, and namespaces whose admission differs.
TEST(MakeTemplate, EqualSpecsAreSharedAndDifferentOnesNot) {
  Store s;
  api::LimitRange lr;
  lr.metadata.namespace_ = "limited";
  api::LimitRangeItem item;
  item.type = "Container";
  item.default_requests["cpu"] = *ParseQuantity("500m", nullptr);
  lr.limits.push_back(item);
  s.AddLimitRange(lr);
  api::ObjectMeta a, b;
  a.labels["job-name"] = "one";
  b.labels["job-name"] = "two";
  auto t1 = s.MakeTemplate(a, GpuSpec(8), "default");
  auto t2 = s.MakeTemplate(b, GpuSpec(8), "default");
  EXPECT_NE(t1->id, t2->id);
  EXPECT_EQ(t1->spec.get(), t2->spec.get());
  EXPECT_EQ(t2->metadata.labels.at("job-name"), "two");
  api::PodSpec never = GpuSpec(8);
  never.restart_policy = "Never";  // not hashed: found apart by ==
  auto t3 = s.MakeTemplate(a, never, "default");
  EXPECT_NE(t3->spec.get(), t1->spec.get());
  EXPECT_EQ(t3->spec->restart_policy, "Never");
  EXPECT_EQ(t1->spec->restart_policy, "Always");
  // The same input spec in a namespace whose LimitRange defaults a CPU request.
  auto t4 = s.MakeTemplate(a, GpuSpec(8), "limited");
  EXPECT_NE(t4->spec.get(), t1->spec.get());
  EXPECT_EQ(t4->spec->containers[0].resources.requests.at("cpu").milli, 500);
  EXPECT_EQ(t1->spec->containers[0].resources.requests.count("cpu"), 0u);
  // A spec no template holds any more is not kept alive by the table.
  std::weak_ptr<const api::PodSpec> gone = t3->spec;
  t3.reset();
  EXPECT_TRUE(gone.expired());
}

TEST(PodRequests, MaxOfInitContainersAndSumOfContainersPlusOverhead) {
  // resource.PodRequests: max(Σ containers, each init container) + overhead.
  Store s;
  api::PodSpec spec;
  for (const char* cpu : {"1", "2"}) {
    api::Container c;
    c.name = cpu;
    c.resources.requests["cpu"] = *ParseQuantity(cpu, nullptr);
    spec.containers.push_back(c);
  }
  api::Container init;
  init.name = "init";
  init.resources.requests["cpu"] = *ParseQuantity("4", nullptr);
  spec.init_containers.push_back(init);
  spec.overhead["cpu"] = *ParseQuantity("250m", nullptr);
  api::ObjectMeta meta;
  EXPECT_EQ(At(s.MakeTemplate(meta, spec, "default")->requests, kCpu), 4250);
}

TEST(Events, RepeatsAreAggregated) {
  Store s;
  s.RecordEvent("Warning", "FailedScheduling", "Pod", "default", "p", "0/1 nodes",
                "default-scheduler");
  s.set_now(Time{5});
  s.RecordEvent("Warning", "FailedScheduling", "Pod", "default", "p", "0/1 nodes",
                "default-scheduler");
  ASSERT_EQ(s.events().size(), 1u);
  EXPECT_EQ(s.events()[0].count, 2);
  EXPECT_EQ(s.events()[0].last_timestamp, Time{5});
}

// Past the cap, a new event is dropped but one already kept still counts its repeats; and
// events that differ only in their message are not aggregated.
TEST(Events, CapDropsNewEventsButKeepsCountingKeptOnes) {
  Store s;
  s.set_max_events(2);
  auto send = [&](const std::string& pod, const std::string& message) {
    s.RecordEvent("Warning", "FailedScheduling", "Pod", "default", pod, message,
                  "default-scheduler");
  };
  send("a", "0/1 nodes");
  send("a", "0/2 nodes");
  send("b", "0/1 nodes");  // a third: dropped
  send("a", "0/1 nodes");
  send("b", "0/1 nodes");  // still not kept
  ASSERT_EQ(s.events().size(), 2u);
  EXPECT_EQ(s.events()[0].message, "0/1 nodes");
  EXPECT_EQ(s.events()[0].count, 2);
  EXPECT_EQ(s.events()[1].message, "0/2 nodes");
  EXPECT_EQ(s.events()[1].count, 1);
  EXPECT_EQ(s.dropped_events(), 2u);
}

}  // namespace
}  // namespace gputwin::cluster

namespace gputwin::cluster {
namespace {

TEST(StorePhaseCounts, DeletedPodsAreNotCounted) {
  Store s;
  std::string err;
  PodId a = Create(s, "a", GpuSpec(0), &err, "default");
  PodId b = Create(s, "b", GpuSpec(0), &err, "default");
  s.SetPodPhase(a, PodPhase::kRunning);
  s.SetPodPhase(b, PodPhase::kRunning);
  EXPECT_EQ(s.CountPods(PodPhase::kRunning), 2u);
  s.DeletePod(a);
  EXPECT_EQ(s.CountPods(PodPhase::kRunning), 1u);
  s.DeletePod(a);  // deleting twice changes nothing
  EXPECT_EQ(s.CountPods(PodPhase::kRunning), 1u);
}

}  // namespace
}  // namespace gputwin::cluster

namespace gputwin::cluster {
namespace {

// k8s.io/component-helpers resource.PodRequests (AggregateContainerRequests), as the
// Kubernetes docs' sidecar example works it out: sidecars add to the app containers and
// to every init container after them; a plain init container only needs its own moment.
TEST(SidecarRequests, RestartableInitContainersRunBesideTheRest) {
  Store s;
  auto cpu = [](const char* v) {
    api::Container c = api::Container::Named("c", "busybox");
    c.resources.requests["cpu"] = *ParseQuantity(v, nullptr);
    return c;
  };
  api::ObjectMeta meta;
  const ResourceId cpu_id = s.resources().Find("cpu");
  // [sidecar 1, init 3] + app 1: max(1 + 1, max(1, 3 + 1)) = 4 CPUs.
  api::PodSpec a;
  a.containers.push_back(cpu("1"));
  a.init_containers.push_back(cpu("1"));
  a.init_containers.back().sidecar = true;
  a.init_containers.push_back(cpu("3"));
  EXPECT_EQ(At(s.MakeTemplate(meta, a, "default")->requests, cpu_id), 4000);
  // [init 3, sidecar 1] + app 1: the init container ran before the sidecar: max(2, 3) = 3.
  api::PodSpec b;
  b.containers.push_back(cpu("1"));
  b.init_containers.push_back(cpu("3"));
  b.init_containers.push_back(cpu("1"));
  b.init_containers.back().sidecar = true;
  EXPECT_EQ(At(s.MakeTemplate(meta, b, "default")->requests, cpu_id), 3000);
  // [sidecar 2] + app 1: 3 (without the sidecar rule the init container would count as 2).
  api::PodSpec c;
  c.containers.push_back(cpu("1"));
  c.init_containers.push_back(cpu("2"));
  c.init_containers.back().sidecar = true;
  EXPECT_EQ(At(s.MakeTemplate(meta, c, "default")->requests, cpu_id), 3000);
  // Kueue counts the same.
  EXPECT_EQ(kueue::PodRequests(a).at("cpu").milli, 4000);
  EXPECT_EQ(kueue::PodRequests(b).at("cpu").milli, 3000);
  EXPECT_EQ(kueue::PodRequests(c).at("cpu").milli, 3000);
}

// Karpenter's disruption budgets count a node that is not Ready as disrupting; the Store's
// tally of such nodes lets the walk skip every record while all are Ready. A repeated
// transition counts once, and Ready again takes the node out.
TEST(NodeReadyTally, CountsTransitionsOnce) {
  Store s;
  api::Node a, b;
  a.metadata.name = "a";
  b.metadata.name = "b";
  const NodeId na = s.AddNode(a), nb = s.AddNode(b);
  EXPECT_EQ(s.not_ready_nodes(), 0u);
  EXPECT_TRUE(s.node(na).ready);  // a new Node is Ready (the kubelet posts at once)
  s.SetNodeReady(na, false);
  s.SetNodeReady(na, false);
  s.SetNodeReady(nb, false);
  EXPECT_EQ(s.not_ready_nodes(), 2u);
  EXPECT_FALSE(s.node(na).ready);
  s.SetNodeReady(na, true);
  EXPECT_EQ(s.not_ready_nodes(), 1u);
  EXPECT_TRUE(s.node(na).ready);
}

// The label index (what a nodeSelector's walk and NodesWithLabel read) names the live nodes
// with a label's value, ascending: a relabelled node moves between values, the device
// plugin's labels join it, and a deleted node leaves it for good.
TEST(NodeLabelIndex, FollowsLabelsAndLeavesWithDeletedNodes) {
  Store s;
  std::vector<NodeId> ids;
  for (const char* name : {"a", "b", "c"}) {
    api::Node n;
    n.metadata.name = name;
    n.metadata.labels["pool"] = "gpu";
    ids.push_back(s.AddNode(n));
  }
  using V = std::vector<NodeId>;
  EXPECT_EQ(s.LabelIndex("pool", "gpu"), (V{ids[0], ids[1], ids[2]}));
  EXPECT_EQ(s.LabelIndex("kubernetes.io/hostname", "b"), (V{ids[1]}));
  s.SetNodeLabel(ids[0], "pool", "cpu");
  EXPECT_EQ(s.LabelIndex("pool", "gpu"), (V{ids[1], ids[2]}));
  EXPECT_EQ(s.LabelIndex("pool", "cpu"), (V{ids[0]}));
  s.SetNodeLabel(ids[0], "pool", "gpu");  // back, in id order
  EXPECT_EQ(s.NodesWithLabel("pool", "gpu"), (V{ids[0], ids[1], ids[2]}));
  EXPECT_TRUE(s.LabelIndex("pool", "cpu").empty());
  s.SetNodeDevices(ids[2], {{"nvidia.com/gpu", 8}}, {{"nvidia.com/gpu.present", "true"}}, {});
  EXPECT_EQ(s.LabelIndex("nvidia.com/gpu.present", "true"), (V{ids[2]}));
  const uint64_t version = s.label_index_version();
  s.DeleteNode(ids[1]);
  EXPECT_NE(s.label_index_version(), version);  // caches of the index see it go
  EXPECT_EQ(s.LabelIndex("pool", "gpu"), (V{ids[0], ids[2]}));
  EXPECT_TRUE(s.LabelIndex("kubernetes.io/hostname", "b").empty());
  // A label set on the deleted node is kept on it, out of the index.
  s.SetNodeLabel(ids[1], "pool", "spare");
  EXPECT_EQ(s.node(ids[1]).obj.metadata.labels.at("pool"), "spare");
  EXPECT_TRUE(s.LabelIndex("pool", "spare").empty());
  s.DeleteNode(ids[2]);
  EXPECT_TRUE(s.LabelIndex("nvidia.com/gpu.present", "true").empty());
  EXPECT_EQ(s.NodesWithLabel("pool", "gpu"), (V{ids[0]}));
}

}  // namespace
}  // namespace gputwin::cluster
