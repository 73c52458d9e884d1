#include "report/json_writer.h"

#include <array>
#include <charconv>

namespace gputwin::report {

void IndentedJsonWriter::Newline() {
  buf_ += '\n';
  buf_.append(depth_, ' ');
}

// A value in an array starts on its own line; after a key it follows the key.
void IndentedJsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (empty_.empty()) return;
  if (!empty_.back()) buf_ += ',';
  empty_.back() = false;
  Newline();
}

void IndentedJsonWriter::Open(char c) {
  BeforeValue();
  buf_ += c;
  empty_.push_back(true);
  depth_ += 2;
}

void IndentedJsonWriter::Close(char c) {
  depth_ -= 2;
  if (!empty_.back()) Newline();
  empty_.pop_back();
  buf_ += c;
  MaybeFlush();
}

IndentedJsonWriter& IndentedJsonWriter::Key(std::string_view key) {
  BeforeValue();
  Escaped(key);
  buf_ += ": ";
  after_key_ = true;
  return *this;
}

namespace {

// The bytes written as they are: printable ASCII but the quote and the backslash.
constexpr std::array<bool, 256> kPlainBytes = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x7f; ++c) plain[static_cast<size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();

}  // namespace

// Printable ASCII without a quote or backslash is written as it is; anything else goes
// through nlohmann (its escapes, and its error on invalid UTF-8).
void IndentedJsonWriter::Escaped(std::string_view s) {
  for (unsigned char c : s) {
    if (!kPlainBytes[c]) {
      buf_ += nlohmann::ordered_json(std::string(s)).dump();
      return;
    }
  }
  buf_ += '"';
  buf_ += s;
  buf_ += '"';
}

void IndentedJsonWriter::String(std::string_view s) {
  BeforeValue();
  Escaped(s);
  MaybeFlush();
}

void IndentedJsonWriter::Null() {
  BeforeValue();
  buf_ += "null";
}

void IndentedJsonWriter::Bool(bool v) {
  BeforeValue();
  buf_ += v ? "true" : "false";
}

void IndentedJsonWriter::Int(int64_t v) {
  BeforeValue();
  char text[24];
  const auto end = std::to_chars(text, text + sizeof text, v).ptr;
  buf_.append(text, end);
}

void IndentedJsonWriter::UInt(uint64_t v) {
  BeforeValue();
  char text[24];
  const auto end = std::to_chars(text, text + sizeof text, v).ptr;
  buf_.append(text, end);
}

void IndentedJsonWriter::Double(double v) {
  BeforeValue();
  buf_ += nlohmann::ordered_json(v).dump();
}

void IndentedJsonWriter::Value(const nlohmann::ordered_json& v) {
  BeforeValue();
  const std::string text = v.dump(2);
  size_t from = 0;
  for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', from)) {
    buf_.append(text, from, nl - from);
    Newline();
    from = nl + 1;
  }
  buf_.append(text, from, std::string::npos);
  MaybeFlush();
}

void IndentedJsonWriter::Flush() {
  out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
  buf_.clear();
}

}  // namespace gputwin::report
