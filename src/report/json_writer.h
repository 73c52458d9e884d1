// JSON text written straight from values, byte for byte as nlohmann's dump(2) of the same
// tree placed `depth` spaces deep: summary.json's largest arrays (a Karpenter month has tens
// of thousands of nodes and NodeClaims, a million-pod run hundreds of thousands of Jobs)
// without a tree, a dump and a re-indented copy per element.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace gputwin::report {

class IndentedJsonWriter {
 public:
  // `depth`: the indentation of the line the first value starts on.
  IndentedJsonWriter(std::ostream& out, size_t depth) : out_(out), depth_(depth) {}
  IndentedJsonWriter(const IndentedJsonWriter&) = delete;
  IndentedJsonWriter& operator=(const IndentedJsonWriter&) = delete;
  ~IndentedJsonWriter() { Flush(); }

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  // In an object, before each member's value.
  IndentedJsonWriter& Key(std::string_view key);

  void String(std::string_view s);
  void Null();
  void Bool(bool v);
  void Int(int64_t v);
  void UInt(uint64_t v);
  void Double(double v);  // nlohmann's form: shortest round trip, "1.0" for whole numbers
  // Any tree, as its dump(2) would be at this depth.
  void Value(const nlohmann::ordered_json& v);

  void Flush();

 private:
  void BeforeValue();
  void Open(char c);
  void Close(char c);
  void Newline();
  void Escaped(std::string_view s);
  void MaybeFlush() {
    if (buf_.size() >= kFlushAt) Flush();
  }

  static constexpr size_t kFlushAt = 1 << 16;
  std::ostream& out_;
  std::string buf_;
  size_t depth_;
  std::vector<bool> empty_;  // per open container: no member or element yet
  bool after_key_ = false;
};

// The same calls building a tree: for a section written both ways (an element of a
// streamed array that the HTML report also reads) from one function template.
class JsonTreeWriter {
 public:
  void BeginObject() { Open(nlohmann::ordered_json::object()); }
  void EndObject() { open_.pop_back(); }
  void BeginArray() { Open(nlohmann::ordered_json::array()); }
  void EndArray() { open_.pop_back(); }
  JsonTreeWriter& Key(std::string_view key) {
    key_ = key;
    return *this;
  }
  void String(std::string_view s) { Put(std::string(s)); }
  void Null() { Put(nullptr); }
  void Bool(bool v) { Put(v); }
  void Int(int64_t v) { Put(v); }
  void UInt(uint64_t v) { Put(v); }
  void Double(double v) { Put(v); }
  void Value(const nlohmann::ordered_json& v) { Put(v); }

  nlohmann::ordered_json Take() { return std::move(root_); }

 private:
  // (Pointers to the open containers stay valid: nothing is added beside an open one.)
  nlohmann::ordered_json* Put(nlohmann::ordered_json v) {
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    nlohmann::ordered_json& top = *open_.back();
    if (top.is_object()) return &(top[key_] = std::move(v));
    top.push_back(std::move(v));
    return &top.back();
  }
  void Open(nlohmann::ordered_json v) { open_.push_back(Put(std::move(v))); }

  nlohmann::ordered_json root_;
  std::vector<nlohmann::ordered_json*> open_;
  std::string key_;
};

}  // namespace gputwin::report
