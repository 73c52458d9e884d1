// kubectl patch's three types, checked against the upstream documents' own examples:
// RFC 7386 (JSON merge patch) Appendix A, RFC 6902 (JSON patch) Appendix A, and the
// Kubernetes task "Update API Objects in Place Using kubectl patch" (strategic merge).
#include "api/object_patch.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace gputwin::api {
namespace {

// A tree as canonical text: mappings sorted by key, scalars quoted (YAML keeps them untyped).
std::string Canon(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return "\"" + n.Scalar() + "\"";
    case YAML::NodeType::Sequence: {
      std::string out = "[";
      for (size_t i = 0; i < n.size(); ++i) out += (i ? "," : "") + Canon(n[i]);
      return out + "]";
    }
    case YAML::NodeType::Map: {
      std::map<std::string, std::string> sorted;
      for (const auto& kv : n) sorted[kv.first.Scalar()] = Canon(kv.second);
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : sorted) {
        out += (first ? "" : ",") + ("\"" + k + "\":" + v);
        first = false;
      }
      return out + "}";
    }
    default:
      return "null";
  }
}

std::string Merge(const std::string& target, const std::string& patch) {
  return Canon(JsonMergePatch(YAML::Load(target), YAML::Load(patch)));
}

// RFC 7386, Appendix A: every example whose target and result are objects.
TEST(JsonMergePatch, Rfc7386AppendixA) {
  EXPECT_EQ(Merge(R"({"a":"b"})", R"({"a":"c"})"), Canon(YAML::Load(R"({"a":"c"})")));
  EXPECT_EQ(Merge(R"({"a":"b"})", R"({"b":"c"})"), Canon(YAML::Load(R"({"a":"b","b":"c"})")));
  EXPECT_EQ(Merge(R"({"a":"b"})", R"({"a":null})"), "{}");
  EXPECT_EQ(Merge(R"({"a":"b","b":"c"})", R"({"a":null})"), Canon(YAML::Load(R"({"b":"c"})")));
  EXPECT_EQ(Merge(R"({"a":["b"]})", R"({"a":"c"})"), Canon(YAML::Load(R"({"a":"c"})")));
  EXPECT_EQ(Merge(R"({"a":"c"})", R"({"a":["b"]})"), Canon(YAML::Load(R"({"a":["b"]})")));
  EXPECT_EQ(Merge(R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})"),
            Canon(YAML::Load(R"({"a":{"b":"d"}})")));
  EXPECT_EQ(Merge(R"({"a":[{"b":"c"}]})", R"({"a":[1]})"), Canon(YAML::Load(R"({"a":[1]})")));
  EXPECT_EQ(Merge(R"({"e":null})", R"({"a":1})"), Canon(YAML::Load(R"({"e":null,"a":1})")));
  EXPECT_EQ(Merge(R"({})", R"({"a":{"bb":{"ccc":null}}})"),
            Canon(YAML::Load(R"({"a":{"bb":{}}})")));
}

std::string Patched(const std::string& doc, const std::string& ops) {
  YAML::Node d = YAML::Load(doc);
  JsonPatch(d, YAML::Load(ops));
  return Canon(d);
}

// RFC 6902, Appendix A.
TEST(JsonPatch, Rfc6902AppendixA) {
  // A.1 adding an object member; A.2 adding an array element.
  EXPECT_EQ(Patched(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])"),
            Canon(YAML::Load(R"({"baz":"qux","foo":"bar"})")));
  EXPECT_EQ(Patched(R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])"),
            Canon(YAML::Load(R"({"foo":["bar","qux","baz"]})")));
  // A.3 removing an object member; A.4 removing an array element.
  EXPECT_EQ(Patched(R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])"),
            Canon(YAML::Load(R"({"foo":"bar"})")));
  EXPECT_EQ(Patched(R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])"),
            Canon(YAML::Load(R"({"foo":["bar","baz"]})")));
  // A.5 replacing a value; A.6 moving a value; A.7 moving an array element.
  EXPECT_EQ(
      Patched(R"({"baz":"qux","foo":"bar"})", R"([{"op":"replace","path":"/baz","value":"boo"}])"),
      Canon(YAML::Load(R"({"baz":"boo","foo":"bar"})")));
  EXPECT_EQ(Patched(R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
                    R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])"),
            Canon(YAML::Load(R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})")));
  EXPECT_EQ(Patched(R"({"foo":["all","grass","cows","eat"]})",
                    R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])"),
            Canon(YAML::Load(R"({"foo":["all","cows","eat","grass"]})")));
  // A.8 a successful test; A.10 adding a nested member object.
  EXPECT_EQ(Patched(R"({"baz":"qux","foo":["a",2,"c"]})",
                    R"([{"op":"test","path":"/baz","value":"qux"},
                        {"op":"test","path":"/foo/1","value":2}])"),
            Canon(YAML::Load(R"({"baz":"qux","foo":["a",2,"c"]})")));
  EXPECT_EQ(
      Patched(R"({"foo":"bar"})", R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])"),
      Canon(YAML::Load(R"({"foo":"bar","child":{"grandchild":{}}})")));
  // A.14 ~ escape ordering; A.16 adding an array value with "-".
  EXPECT_EQ(Patched(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10}])"),
            Canon(YAML::Load(R"({"/":9,"~1":10})")));
  EXPECT_EQ(
      Patched(R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])"),
      Canon(YAML::Load(R"({"foo":["bar",["abc","def"]]})")));
}

TEST(JsonPatch, Rfc6902ErrorsAreRefused) {
  // A.9 a failed test; A.12 adding to a nonexistent target; A.13 an invalid op.
  EXPECT_THROW(Patched(R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])"),
               std::invalid_argument);
  EXPECT_THROW(Patched(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])"),
               std::invalid_argument);
  EXPECT_THROW(Patched(R"({"foo":"bar"})", R"([{"op":"frob","path":"/foo"}])"),
               std::invalid_argument);
  // Index past the end, and a replace of a member that does not exist.
  EXPECT_THROW(Patched(R"({"foo":["a"]})", R"([{"op":"add","path":"/foo/2","value":1}])"),
               std::invalid_argument);
  EXPECT_THROW(Patched(R"({"foo":"bar"})", R"([{"op":"replace","path":"/baz","value":1}])"),
               std::invalid_argument);
}

const char* kDeployment = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: patch-demo}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - {name: patch-demo-ctr, image: nginx}
      tolerations:
      - {effect: NoSchedule, key: dedicated, value: test-team}
)";

// The Kubernetes task's examples: a container added by strategic merge is merged into the
// list by name; the same patch as a JSON merge patch replaces the list; tolerations (no
// patch strategy in k8s.io/api) are replaced even by a strategic merge patch.
TEST(StrategicMergePatch, KubectlPatchTaskExamples) {
  YAML::Node d = YAML::Load(kDeployment);
  StrategicMergePatch(d, YAML::Load(R"(
spec:
  template:
    spec:
      containers:
      - {name: patch-demo-ctr-2, image: redis})"),
                      "Deployment", true);
  const YAML::Node c = d["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0]["name"].Scalar(), "patch-demo-ctr");
  EXPECT_EQ(c[1]["name"].Scalar(), "patch-demo-ctr-2");

  YAML::Node m = YAML::Load(kDeployment);
  JsonMergePatch(m,
                 YAML::Load(R"({spec: {template: {spec: {containers: [{name: x, image: y}]}}}})"));
  ASSERT_EQ(m["spec"]["template"]["spec"]["containers"].size(), 1u);
  EXPECT_EQ(m["spec"]["template"]["spec"]["containers"][0]["name"].Scalar(), "x");

  YAML::Node t = YAML::Load(kDeployment);
  StrategicMergePatch(t, YAML::Load(R"(
spec:
  template:
    spec:
      tolerations:
      - {effect: NoSchedule, key: disktype, value: ssd})"),
                      "Deployment", true);
  ASSERT_EQ(t["spec"]["template"]["spec"]["tolerations"].size(), 1u);
  EXPECT_EQ(t["spec"]["template"]["spec"]["tolerations"][0]["key"].Scalar(), "disktype");
  EXPECT_EQ(t["spec"]["replicas"].Scalar(), "2");  // untouched fields stay
}

TEST(StrategicMergePatch, MergeKeysAndDirectives) {
  YAML::Node d = YAML::Load(R"(
kind: Pod
metadata:
  name: p
  finalizers: [a, b]
  labels: {team: x, tier: y}
spec:
  containers:
  - name: c
    image: old
    env: [{name: A, value: "1"}, {name: B, value: "2"}]
    ports: [{containerPort: 80, name: http}]
  - name: sidecar
    image: s
)");
  StrategicMergePatch(d, YAML::Load(R"(
metadata:
  finalizers: [c]
  labels: {tier: null}
  $deleteFromPrimitiveList/finalizers: [a]
spec:
  containers:
  - name: c
    image: new
    env: [{name: B, value: "3"}, {name: C, value: "4"}]
    ports: [{containerPort: 80, protocol: TCP}]
  - name: sidecar
    $patch: delete
)"),
                      "Pod", true);
  EXPECT_EQ(Canon(d["metadata"]["finalizers"]), R"(["b","c"])");
  EXPECT_EQ(Canon(d["metadata"]["labels"]), R"({"team":"x"})");
  const YAML::Node c = d["spec"]["containers"];
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["image"].Scalar(), "new");
  EXPECT_EQ(Canon(c[0]["env"]),
            R"([{"name":"A","value":"1"},{"name":"B","value":"3"},{"name":"C","value":"4"}])");
  EXPECT_EQ(Canon(c[0]["ports"]), R"([{"containerPort":"80","name":"http","protocol":"TCP"}])");

  // `$patch: replace` on a mapping replaces it whole.
  StrategicMergePatch(d, YAML::Load(R"({metadata: {labels: {$patch: replace, only: z}}})"), "Pod",
                      true);
  EXPECT_EQ(Canon(d["metadata"]["labels"]), R"({"only":"z"})");
}

TEST(StrategicMergePatch, CustomResourcesReplaceLists) {
  // No Go struct tags for a CRD: kustomize (without a schema) replaces every list.
  YAML::Node d = YAML::Load(R"(
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: gpu}
spec:
  template:
    spec:
      requirements:
      - {key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand]}
  limits: {nvidia.com/gpu: "64"}
)");
  StrategicMergePatch(d, YAML::Load(R"(
spec:
  template:
    spec:
      requirements:
      - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
  limits: {nvidia.com/gpu: "32"}
)"),
                      "NodePool", IsBuiltinApiVersion("karpenter.sh/v1"));
  EXPECT_EQ(Canon(d["spec"]["template"]["spec"]["requirements"]),
            R"([{"key":"karpenter.sh/capacity-type","operator":"In","values":["on-demand"]}])");
  EXPECT_EQ(d["spec"]["limits"]["nvidia.com/gpu"].Scalar(), "32");
}

TEST(ObjectPatch, BuiltinGroups) {
  EXPECT_TRUE(IsBuiltinApiVersion("v1"));
  EXPECT_TRUE(IsBuiltinApiVersion("apps/v1"));
  EXPECT_TRUE(IsBuiltinApiVersion("scheduling.k8s.io/v1"));
  EXPECT_FALSE(IsBuiltinApiVersion("kueue.x-k8s.io/v1beta1"));
  EXPECT_FALSE(IsBuiltinApiVersion("karpenter.sh/v1"));
  EXPECT_FALSE(IsBuiltinApiVersion("keda.sh/v1alpha1"));
}

TEST(ObjectPatch, TargetsSelectByKindNamespaceAndName) {
  PatchSet set;
  ObjectPatch p;
  p.source = SourceRef{"sweep.yaml", 12};
  p.type = "merge";
  p.target = PatchTarget{"Job", "team-a", "train", true};
  p.patch = YAML::Load("{spec: {parallelism: 2}}");
  set.patches.push_back(p);
  YAML::Node other_ns = YAML::Load("{kind: Job, metadata: {name: train, namespace: b}, spec: {}}");
  EXPECT_EQ(ApplyPatches(&set, other_ns), nullptr);
  EXPECT_THROW(set.CheckAllMatched(), InputError);
  YAML::Node job = YAML::Load("{kind: Job, metadata: {name: train, namespace: team-a}, spec: {}}");
  EXPECT_NE(ApplyPatches(&set, job), nullptr);
  EXPECT_EQ(job["spec"]["parallelism"].Scalar(), "2");
  EXPECT_NO_THROW(set.CheckAllMatched());
  // The patch itself is never changed by applying it.
  EXPECT_EQ(Canon(set.patches[0].patch), R"({"spec":{"parallelism":"2"}})");

  // A JSON patch that cannot apply names the patch's line.
  set.patches[0].type = "json";
  set.patches[0].patch = YAML::Load("[{op: remove, path: /spec/missing}]");
  YAML::Node again = YAML::Load("{kind: Job, metadata: {name: train, namespace: team-a}}");
  try {
    ApplyPatches(&set, again);
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("sweep.yaml:12"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gputwin::api
