#include "workloads/alibaba_trace.h"

#include <charconv>
#include <fstream>
#include <map>

#include "core/csv.h"

namespace gputwin::workloads {
namespace {

// A CSV with a header row; fields are plain (the trace has no quoting).
class CsvReader {
 public:
  explicit CsvReader(const std::string& path) : path_(path), in_(path) {
    if (!in_) throw InputError(path + ": cannot read file");
    std::string header;
    if (!Next(&header)) throw InputError(path + ": empty file, expected a header row");
    columns_ = SplitCsvLine(header);
    for (size_t i = 0; i < columns_.size(); ++i) index_[columns_[i]] = i;
    header_line_ = line_;
  }
  void Require(std::initializer_list<const char*> names) const {
    for (const char* n : names) {
      if (!index_.count(n)) {
        throw InputError(SourceRef{path_, header_line_}, "",
                         std::string("missing column \"") + n + "\"");
      }
    }
  }
  bool Row() {
    std::string line;
    while (Next(&line)) {
      if (line.empty()) continue;
      cells_ = SplitCsvLine(line);
      if (cells_.size() != columns_.size()) {
        throw InputError(Where(), "",
                         "expected " + std::to_string(columns_.size()) + " fields, found " +
                             std::to_string(cells_.size()));
      }
      return true;
    }
    return false;
  }
  const std::string& Str(const char* col) const { return cells_[index_.at(col)]; }
  bool Has(const char* col) const { return index_.count(col) > 0; }
  int64_t Int(const char* col, int64_t min, int64_t max) const {
    const std::string& s = Str(col);
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) {
      throw InputError(Where(), col, "\"" + s + "\" is not an integer");
    }
    if (v < min || v > max) {
      throw InputError(Where(), col,
                       std::to_string(v) + " is out of range [" + std::to_string(min) + ", " +
                           std::to_string(max) + "]");
    }
    return v;
  }
  SourceRef Where() const { return SourceRef{path_, line_}; }

 private:
  bool Next(std::string* out) {
    if (!std::getline(in_, *out)) return false;
    ++line_;
    if (!out->empty() && out->back() == '\r') out->pop_back();
    return true;
  }
  std::string path_;
  std::ifstream in_;
  int line_ = 0, header_line_ = 0;
  std::vector<std::string> columns_, cells_;
  std::map<std::string, size_t> index_;
};

constexpr int64_t kMaxInt = INT64_MAX / 4;
// A node's memory is held in int64 milli-bytes: 8,796,093,022 MiB (8 PiB) at most.
constexpr int64_t kMaxMiB = INT64_MAX / (int64_t{1024} * 1024 * 1000);

}  // namespace

std::vector<TraceNode> LoadTraceNodes(const std::string& path) {
  CsvReader csv(path);
  csv.Require({"sn", "cpu_milli", "memory_mib", "gpu", "model"});
  std::vector<TraceNode> out;
  while (csv.Row()) {
    TraceNode n;
    n.source = csv.Where();
    n.name = csv.Str("sn");
    if (n.name.empty()) throw InputError(n.source, "sn", "empty node name");
    n.cpu_milli = csv.Int("cpu_milli", 0, kMaxInt);
    n.memory_mib = csv.Int("memory_mib", 0, kMaxMiB);
    n.gpus = static_cast<int32_t>(csv.Int("gpu", 0, 8));
    n.model = csv.Str("model");
    if (n.gpus > 0 && n.model.empty()) {
      throw InputError(n.source, "model", "a node with GPUs needs a GPU model");
    }
    out.push_back(std::move(n));
  }
  return out;
}

std::vector<TracePod> LoadTracePods(const std::string& path) {
  CsvReader csv(path);
  csv.Require({"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"});
  std::vector<TracePod> out;
  while (csv.Row()) {
    TracePod p;
    p.source = csv.Where();
    p.name = csv.Str("name");
    p.cpu_milli = csv.Int("cpu_milli", 0, kMaxInt);
    p.memory_mib = csv.Int("memory_mib", 0, kMaxMiB);
    p.num_gpu = static_cast<int32_t>(csv.Int("num_gpu", 0, 8));
    p.gpu_milli = static_cast<int32_t>(csv.Int("gpu_milli", 0, 1000));
    if (p.num_gpu > 1 && p.gpu_milli != 1000) {
      throw InputError(p.source, "gpu_milli",
                       "a pod asking for more than one GPU must take whole GPUs (1000)");
    }
    if (p.num_gpu > 0 && p.gpu_milli == 0) {
      throw InputError(p.source, "gpu_milli", "a GPU pod needs gpu_milli between 1 and 1000");
    }
    if (p.num_gpu == 0) p.gpu_milli = 0;
    p.gpu_spec = csv.Has("gpu_spec") ? csv.Str("gpu_spec") : "";
    p.qos = csv.Has("qos") ? csv.Str("qos") : "";
    p.phase = csv.Has("pod_phase") ? csv.Str("pod_phase") : "";
    // Times may be empty in the trace (never deleted or scheduled); otherwise seconds >= 0.
    auto time = [&](const char* col) -> int64_t {
      if (!csv.Has(col) || csv.Str(col).empty()) return -1;
      return csv.Int(col, 0, kMaxInt);
    };
    p.creation_time = time("creation_time");
    p.deletion_time = time("deletion_time");
    p.scheduled_time = time("scheduled_time");
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace gputwin::workloads
