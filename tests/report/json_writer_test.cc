// IndentedJsonWriter writes summary.json's large arrays without a tree; its text must be
// what nlohmann's dump(2) gives for the same values (the format summary.json documents),
// placed `depth` spaces deep as the streamed sections are. JsonTreeWriter must build the
// tree those calls describe.
#include "report/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

namespace gputwin::report {
namespace {

using Json = nlohmann::ordered_json;

// Replays a tree through a writer's calls, member by member and scalar by scalar.
template <class Writer>
void Replay(Writer& w, const Json& v) {
  if (v.is_object()) {
    w.BeginObject();
    for (auto it = v.begin(); it != v.end(); ++it) Replay(w.Key(it.key()), it.value());
    w.EndObject();
  } else if (v.is_array()) {
    w.BeginArray();
    for (const auto& e : v) Replay(w, e);
    w.EndArray();
  } else if (v.is_string()) {
    w.String(v.get<std::string>());
  } else if (v.is_null()) {
    w.Null();
  } else if (v.is_boolean()) {
    w.Bool(v.get<bool>());
  } else if (v.is_number_unsigned()) {
    w.UInt(v.get<uint64_t>());
  } else if (v.is_number_integer()) {
    w.Int(v.get<int64_t>());
  } else {
    w.Double(v.get<double>());
  }
}

// dump(2) with every line after the first indented by `depth`, as DumpIndented did.
std::string DumpAt(const Json& v, size_t depth) {
  std::string text = v.dump(2), out;
  for (char c : text) {
    out += c;
    if (c == '\n') out.append(depth, ' ');
  }
  return out;
}

Json Sample() {
  return Json{{"name", "ip-10-0-1-2.ec2.internal"},
              {"labels", Json{{"karpenter.sh/capacity-type", "spot"}, {"pool", "h100"}}},
              {"emptyObject", Json::object()},
              {"emptyArray", Json::array()},
              {"taints", Json::array({Json{{"key", "nvidia.com/gpu"}, {"effect", "NoSchedule"}}})},
              {"nested", Json::array({Json::array(), Json::array({1, 2}), Json::object()})},
              {"escapes", "quote \" backslash \\ tab \t newline \n bell \x07 del \x7f"},
              // Each escape alone in its string, and each as a key.
              {"one each", Json::array({"only \\ backslash", "only \" quote", "only \x01 control",
                                        "only \x7f del", "tilde ~ and space"})},
              {"key with \\ backslash", true},
              {"key with \" quote", true},
              {"utf8", "Zürich \xe2\x9c\x93"},
              {"ints", Json::array({0, -1, std::numeric_limits<int64_t>::min(),
                                    std::numeric_limits<int64_t>::max()})},
              {"unsigned", std::numeric_limits<uint64_t>::max()},
              {"doubles", Json::array({1.0, 0.1, -2.5, 1e300, 5e-324, 123456789012345678.0})},
              {"bools", Json::array({true, false})},
              {"null", nullptr}};
}

TEST(IndentedJsonWriter, WritesWhatDumpTwoWritesAtEachDepth) {
  for (size_t depth : {0, 2, 4}) {
    std::ostringstream out;
    {
      IndentedJsonWriter w(out, depth);
      Replay(w, Sample());
    }
    EXPECT_EQ(out.str(), DumpAt(Sample(), depth)) << "depth " << depth;
  }
}

TEST(IndentedJsonWriter, EmptyContainersAndScalarsAtTheTop) {
  for (const Json& v : {Json::object(), Json::array(), Json("x"), Json(nullptr), Json(3)}) {
    std::ostringstream out;
    {
      IndentedJsonWriter w(out, 4);
      Replay(w, v);
    }
    EXPECT_EQ(out.str(), v.dump(2));
  }
}

TEST(IndentedJsonWriter, NotFiniteIsNullAsInDump) {
  std::ostringstream out;
  {
    IndentedJsonWriter w(out, 0);
    w.BeginArray();
    w.Double(std::nan(""));
    w.Double(std::numeric_limits<double>::infinity());
    w.EndArray();
  }
  EXPECT_EQ(out.str(), "[\n  null,\n  null\n]");
}

TEST(IndentedJsonWriter, TreeValueInsideStreamedElements) {
  const Json inner{{"a", Json::array({1, Json{{"b", true}}})}};
  std::ostringstream out;
  {
    IndentedJsonWriter w(out, 2);
    w.BeginArray();
    w.BeginObject();
    w.Key("tree").Value(inner);
    w.EndObject();
    w.EndArray();
  }
  EXPECT_EQ(out.str(), DumpAt(Json::array({Json{{"tree", inner}}}), 2));
}

TEST(IndentedJsonWriter, InvalidUtf8IsRefusedAsDumpRefusesIt) {
  std::ostringstream out;
  IndentedJsonWriter w(out, 0);
  EXPECT_THROW(w.String("bad \xff byte"), nlohmann::json::type_error);
}

TEST(IndentedJsonWriter, FlushesLargeOutputInPieces) {
  // Past the 64 KiB buffer the text must still be whole and in order.
  Json big = Json::array();
  for (int i = 0; i < 20000; ++i) big.push_back(Json{{"i", i}, {"s", "value"}});
  std::ostringstream out;
  {
    IndentedJsonWriter w(out, 0);
    Replay(w, big);
  }
  EXPECT_EQ(out.str(), big.dump(2));
}

TEST(JsonTreeWriter, BuildsTheTreeTheCallsDescribe) {
  JsonTreeWriter w;
  Replay(w, Sample());
  const Json built = w.Take();
  EXPECT_EQ(built, Sample());
  EXPECT_EQ(built.dump(2), Sample().dump(2));  // the same member order too
}

}  // namespace
}  // namespace gputwin::report
