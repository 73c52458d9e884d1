#include "report/sqlite_db.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "cloud/ec2.h"
#include "core/errors.h"
#include "karpenter/karpenter.h"
#include "kueue/kueue_controller.h"
#include "report/kueue_report.h"
#include "report/summary.h"
#include "telemetry/openmetrics.h"
#include "telemetry/registry.h"

namespace gputwin::report {

namespace {

// docs/db.md describes every table and column; a test holds the two together.
constexpr const char* kSchema = R"sql(
CREATE TABLE run (
  scenario TEXT, seed TEXT, start_time TEXT, end_time TEXT, start_unix REAL,
  duration_seconds REAL, gputwin_version TEXT, schema_version INTEGER, pods INTEGER,
  nodes INTEGER, events INTEGER, events_dropped INTEGER, expectations_failed INTEGER,
  metrics_scope TEXT);
CREATE TABLE pods (
  id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, phase TEXT NOT NULL,
  node TEXT, owner_kind TEXT, owner_name TEXT, created_at REAL, scheduled_at REAL,
  started_at REAL, finished_at REAL, deleted_at REAL, wait_seconds REAL, reason TEXT,
  message TEXT, restart_count INTEGER, priority INTEGER, gpus INTEGER, cost REAL);
CREATE TABLE nodes (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, instance_type TEXT, capacity_type TEXT,
  nodepool TEXT, zone TEXT, gpu_model TEXT, gpus INTEGER, allocatable_cpu REAL,
  allocatable_memory INTEGER, allocatable_gpu INTEGER, unschedulable INTEGER, ready INTEGER,
  created_at REAL, ready_at REAL, deleted_at REAL, pods INTEGER, labels TEXT, taints TEXT,
  price_per_hour REAL, billed_hours REAL, cost REAL, gpu_hours REAL, allocated_gpu_hours REAL,
  idle_gpu_cost REAL);
CREATE TABLE events (
  id INTEGER PRIMARY KEY, first_timestamp REAL, last_timestamp REAL, count INTEGER,
  type TEXT, reason TEXT, involved_kind TEXT, involved_namespace TEXT, involved_name TEXT,
  message TEXT, source_component TEXT);
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, condition TEXT,
  suspended INTEGER, reason TEXT, message TEXT, start_time REAL, completion_time REAL,
  duration_seconds REAL, succeeded INTEGER, failed INTEGER, active INTEGER, deleted INTEGER);
CREATE TABLE workloads (
  id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, job TEXT, owner TEXT,
  local_queue TEXT, cluster_queue TEXT, priority INTEGER, priority_class_name TEXT,
  state TEXT, created_at REAL, first_admitted_at REAL, finished_at REAL, wait_seconds REAL,
  count INTEGER, admitted_count INTEGER, flavors TEXT, admissions INTEGER, evictions INTEGER,
  preemptions INTEGER, lost_gpu_seconds REAL, pending_reason TEXT, pending_message TEXT);
CREATE TABLE workload_history (
  workload_id INTEGER NOT NULL, time REAL, type TEXT, reason TEXT, message TEXT);
CREATE TABLE nodeclaims (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, nodepool TEXT, reason TEXT, instance_type TEXT,
  capacity_type TEXT, zone TEXT, price_per_hour REAL, node TEXT, created_at REAL,
  launched_at REAL, registered_at REAL, initialized_at REAL, deleted_at REAL,
  disruption_reason TEXT, drain_blocked TEXT, launch_error TEXT, pods INTEGER,
  instance_type_options INTEGER, cost REAL);
CREATE TABLE metric_series (id INTEGER PRIMARY KEY, name TEXT NOT NULL, labels TEXT NOT NULL);
CREATE TABLE metric_samples (
  series_id INTEGER NOT NULL, t REAL NOT NULL, value REAL,
  PRIMARY KEY (series_id, t)) WITHOUT ROWID;
)sql";

// Built after the rows are in: one sort per index instead of a B-tree update per row.
constexpr const char* kIndexes = R"sql(
CREATE INDEX pods_namespace ON pods(namespace, phase);
CREATE INDEX pods_phase ON pods(phase);
CREATE INDEX pods_node ON pods(node);
CREATE INDEX pods_owner ON pods(owner_kind, owner_name);
CREATE INDEX pods_created_at ON pods(created_at);
CREATE INDEX pods_wait_seconds ON pods(wait_seconds);
CREATE INDEX nodes_name ON nodes(name);
CREATE INDEX nodes_instance_type ON nodes(instance_type, capacity_type);
CREATE INDEX events_reason ON events(reason);
CREATE INDEX events_involved ON events(involved_kind, involved_namespace, involved_name);
CREATE INDEX events_first_timestamp ON events(first_timestamp);
CREATE INDEX jobs_namespace ON jobs(namespace, name);
CREATE INDEX jobs_condition ON jobs(condition);
CREATE INDEX workloads_cluster_queue ON workloads(cluster_queue, state);
CREATE INDEX workloads_namespace ON workloads(namespace, name);
CREATE INDEX workload_history_workload ON workload_history(workload_id);
CREATE INDEX nodeclaims_nodepool ON nodeclaims(nodepool);
CREATE INDEX nodeclaims_instance_type ON nodeclaims(instance_type, capacity_type);
CREATE INDEX metric_series_name ON metric_series(name);
)sql";

// One column value; text is bound without a copy (SQLITE_STATIC), so what it points to
// must outlive the row's insert, as temporaries in the insert's expression do.
struct Col {
  enum Kind : uint8_t { kNull, kInt, kReal, kText } kind = kNull;
  int64_t i = 0;
  double d = 0;
  std::string_view s;
  Col(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  Col(int64_t v) : kind(kInt), i(v) {}
  Col(int32_t v) : kind(kInt), i(v) {}
  Col(uint64_t v) : kind(kInt), i(static_cast<int64_t>(v)) {}
  Col(uint32_t v) : kind(kInt), i(v) {}
  Col(bool v) : kind(kInt), i(v ? 1 : 0) {}
  Col(double v) : kind(kReal), d(v) {}
  Col(std::string_view v) : kind(kText), s(v) {}
  Col(const std::string& v) : kind(kText), s(v) {}
  Col(const char* v) : kind(kText), s(v) {}
};

class Database {
 public:
  Database(const std::string& path, std::string label) : label_(std::move(label)) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      Fail("cannot open");
    }
  }
  ~Database() { sqlite3_close_v2(db_); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void Exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) Fail("");
  }
  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error(label_ + ": " + (what.empty() ? "" : what + ": ") +
                             (db_ ? sqlite3_errmsg(db_) : "out of memory"));
  }
  sqlite3* get() const { return db_; }
  void Close() {
    if (sqlite3_close(db_) != SQLITE_OK) Fail("cannot close");
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
  std::string label_;
};

// A prepared INSERT: one per table, reset after each row.
class Insert {
 public:
  Insert(Database& db, std::string table, int columns, const char* verb = "INSERT")
      : db_(db), table_(std::move(table)) {
    std::string sql = std::string(verb) + " INTO " + table_ + " VALUES (";
    for (int c = 0; c < columns; ++c) sql += c == 0 ? "?" : ",?";
    sql += ")";
    if (sqlite3_prepare_v3(db.get(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) !=
        SQLITE_OK) {
      db.Fail(table_);
    }
  }
  ~Insert() { sqlite3_finalize(stmt_); }
  Insert(const Insert&) = delete;
  Insert& operator=(const Insert&) = delete;

  void Row(std::initializer_list<Col> cols) {
    int i = 1;
    for (const Col& c : cols) {
      switch (c.kind) {
        case Col::kNull:
          sqlite3_bind_null(stmt_, i);
          break;
        case Col::kInt:
          sqlite3_bind_int64(stmt_, i, c.i);
          break;
        case Col::kReal:
          sqlite3_bind_double(stmt_, i, c.d);  // NaN is stored as NULL
          break;
        case Col::kText:
          sqlite3_bind_text(stmt_, i, c.s.data(), static_cast<int>(c.s.size()), SQLITE_STATIC);
          break;
      }
      ++i;
    }
    if (sqlite3_step(stmt_) != SQLITE_DONE) db_.Fail("insert into " + table_);
    sqlite3_reset(stmt_);
  }

 private:
  Database& db_;
  std::string table_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Writer {
 public:
  Writer(Database& db, const sim::Simulation& sim, const results::Results& r)
      : db_(db), sim_(sim), s_(sim.store()), r_(r), start_(sim.start()) {}

  void All() {
    Run();
    Pods();
    Nodes();
    Events();
    Jobs();
    Workloads();
    NodeClaims();
    Metrics();
  }

 private:
  // Seconds since the run's start; NULL for a time that never came.
  Col At(Time t) const {
    if (t == cluster::kNever) return nullptr;
    return static_cast<double>((t - start_).ns) / 1e9;
  }
  Col Cost(double v) const { return r_.cost.priced ? Col(v) : Col(nullptr); }
  static Col TextOrNull(const std::string& v) { return v.empty() ? Col(nullptr) : Col(v); }

  bool Spooled() const { return sim_.metrics().spool() != nullptr; }

  void Run() {
    Insert ins(db_, "run", 14);
    const auto& results = sim_.expectation_results();
    const int64_t failed =
        std::count_if(results.begin(), results.end(), [](const auto& x) { return !x.passed; });
    // Text: a seed goes to 2^64 - 1, past SQLite's integers.
    const std::string seed = std::to_string(sim_.scenario().seed);
    ins.Row({sim_.scenario().metadata.name, seed, FormatRFC3339(start_), FormatRFC3339(sim_.end()),
             static_cast<double>(start_.ns) / 1e9,
             static_cast<double>((sim_.end() - start_).ns) / 1e9, GPUTWIN_VERSION,
             kDatabaseSchemaVersion, uint64_t{s_.pod_count()}, uint64_t{s_.node_count()},
             uint64_t{s_.events().size()}, s_.dropped_events(), failed,
             Spooled() ? "all" : "components"});
  }

  void Pods() {
    Insert ins(db_, "pods", 19);
    for (cluster::PodId id = 0; id < s_.pod_count(); ++id) {
      const auto& p = s_.pod(id);
      std::pair<std::string, std::string> owner;
      const bool owned = p.owner.kind != cluster::OwnerKind::kNoOwner;
      if (owned) owner = s_.ControllerOf(p);
      const double pod_cost = id < r_.cost.pod_cost.size() ? r_.cost.pod_cost[id] : 0;
      ins.Row({id, p.namespace_, p.name, p.deleted ? "Deleted" : cluster::PhaseName(p.phase),
               p.Bound() ? Col(s_.node(p.node).name()) : Col(nullptr),
               owned ? Col(owner.first) : Col(nullptr), owned ? Col(owner.second) : Col(nullptr),
               At(p.created_at), At(p.scheduled_at), At(p.started_at), At(p.finished_at),
               At(p.deleted_at),
               p.scheduled_at == cluster::kNever
                   ? Col(nullptr)
                   : Col(static_cast<double>((p.scheduled_at - p.created_at).ns) / 1e9),
               p.reason, p.message, p.restart_count, p.tmpl->priority, PodGpus(s_, p),
               Cost(pod_cost)});
    }
  }

  void Nodes() {
    Insert ins(db_, "nodes", 25);
    for (cluster::NodeId id = 0; id < s_.node_count(); ++id) {
      const auto& n = s_.node(id);
      const auto& labels = n.obj.metadata.labels;
      auto label = [&](const char* key) -> Col {
        auto it = labels.find(key);
        return it == labels.end() ? Col(nullptr) : Col(it->second);
      };
      auto quantity = [&](const char* name) -> const Quantity* {
        auto it = n.obj.allocatable.find(name);
        return it == n.obj.allocatable.end() ? nullptr : &it->second;
      };
      const Quantity* cpu = quantity("cpu");
      const Quantity* memory = quantity("memory");
      const Quantity* gpu = quantity("nvidia.com/gpu");
      nlohmann::json taints = nlohmann::json::array();
      for (const auto& t : n.obj.taints) {
        nlohmann::json tj{{"key", t.key}, {"effect", t.effect}};
        if (!t.value.empty()) tj["value"] = t.value;
        taints.push_back(std::move(tj));
      }
      const std::string labels_json = nlohmann::json(labels).dump();
      const std::string taints_json = taints.dump();
      const cost::NodeCost* c = id < r_.cost.nodes.size() ? &r_.cost.nodes[id] : nullptr;
      auto money = [&](double cost::NodeCost::*field) {
        return c && r_.cost.priced ? Col(c->*field) : Col(nullptr);
      };
      ins.Row({id,
               n.name(),
               label("node.kubernetes.io/instance-type"),
               label("karpenter.sh/capacity-type"),
               label("karpenter.sh/nodepool"),
               label("topology.kubernetes.io/zone"),
               TextOrNull(n.gpu_model),
               n.gpu_count,
               cpu ? Col(static_cast<double>(cpu->milli) / 1000) : Col(nullptr),
               memory ? Col(memory->Value()) : Col(nullptr),
               gpu ? Col(gpu->Value()) : Col(0),
               n.obj.unschedulable,
               n.ready && !n.deleted,
               At(n.created_at),
               At(n.ready_at),
               At(n.deleted_at),
               uint64_t{n.pods.size()},
               labels_json,
               taints_json,
               money(&cost::NodeCost::price),
               money(&cost::NodeCost::hours),
               money(&cost::NodeCost::total),
               money(&cost::NodeCost::gpu_hours),
               money(&cost::NodeCost::allocated_gpu_hours),
               money(&cost::NodeCost::idle_gpu)});
    }
  }

  void Events() {
    Insert ins(db_, "events", 11);
    int64_t id = 0;
    for (const auto& e : s_.events()) {
      ins.Row({id++, At(e.first_timestamp), At(e.last_timestamp), e.count, e.type, e.reason, e.kind,
               TextOrNull(e.namespace_), e.name, e.message, e.source});
    }
  }

  void Jobs() {
    Insert ins(db_, "jobs", 14);
    int64_t id = 0;
    for (const auto& job : s_.jobs()) {
      const bool done = job.completion_time != cluster::kNever && job.start_time != cluster::kNever;
      ins.Row({id++, job.obj.metadata.namespace_, job.obj.metadata.name,
               job.condition.empty() ? "Active" : job.condition, job.obj.suspend,
               job.condition_reason, job.condition_message, At(job.start_time),
               At(job.completion_time),
               done ? Col(static_cast<double>((job.completion_time - job.start_time).ns) / 1e9)
                    : Col(nullptr),
               job.succeeded, job.failed, uint64_t{job.pods.size()}, job.deleted});
    }
  }

  void Workloads() {
    const auto* k = sim_.kueue();
    if (!k) return;
    Insert ins(db_, "workloads", 23);
    Insert history(db_, "workload_history", 5);
    const auto& c = k->cache();
    for (kueue::WorkloadId id = 0; id < c.workloads().size(); ++id) {
      const auto& w = c.wl(id);
      nlohmann::json flavors = nlohmann::json::object();
      for (const auto& ps : w.assignment) {
        for (const auto& [res, f] : ps.flavors) flavors[res] = f;
      }
      const std::string flavors_json = flavors.dump();
      const bool pending = w.phase == kueue::WorkloadPhase::kPending;
      const std::string pending_message = pending ? kueue::PendingMessage(w) : "";
      ins.Row({id,
               w.spec.namespace_,
               w.spec.name,
               w.owner == kueue::WorkloadOwner::kJob ? Col(s_.jobs()[w.job].obj.metadata.name)
                                                     : Col(nullptr),
               WorkloadOwner(sim_, w),
               w.spec.queue_name,
               w.cq >= 0 ? Col(c.cq(w.cq).obj.metadata.name) : Col(nullptr),
               w.spec.priority,
               w.spec.priority_class_name,
               WorkloadStateName(w.phase),
               At(w.created),
               w.ever_admitted ? At(w.first_admitted_at) : Col(nullptr),
               w.phase == kueue::WorkloadPhase::kFinished ? At(w.finished_at) : Col(nullptr),
               WorkloadWaitSeconds(sim_, w),
               w.spec.pod_sets.front().count,
               w.assignment.empty() ? Col(nullptr) : Col(w.assignment.front().count),
               flavors_json,
               w.admissions,
               w.evictions,
               w.preemptions,
               w.lost_gpu_seconds,
               pending ? Col(w.pending_reason) : Col(nullptr),
               pending ? Col(pending_message) : Col(nullptr)});
      for (const auto& h : w.history) history.Row({id, At(h.at), h.type, h.reason, h.message});
    }
  }

  void NodeClaims() {
    const auto* k = sim_.karpenter();
    if (!k) return;
    Insert ins(db_, "nodeclaims", 20);
    const auto& catalog = k->ec2().catalog();
    int64_t id = 0;
    for (const auto& c : k->node_claims()) {
      const bool node = c.node != cluster::kNone;
      ins.Row({id++,
               c.name,
               k->node_pools()[c.nodepool].spec->metadata.name,
               c.reason,
               c.instance ? Col(catalog.types[c.type].name) : Col(nullptr),
               c.instance ? Col(cloud::CapacityTypeName(c.capacity_type)) : Col(nullptr),
               TextOrNull(c.zone),
               c.instance ? Col(c.price) : Col(nullptr),
               node ? Col(s_.node(c.node).name()) : Col(nullptr),
               At(c.created_at),
               At(c.launched_at),
               At(c.registered_at),
               At(c.initialized_at),
               At(c.deleted_at),
               TextOrNull(c.disruption_reason),
               TextOrNull(c.drain_blocked),
               TextOrNull(c.launch_error),
               uint64_t{c.pods.size()},
               uint64_t{c.instance_types.size()},
               node && c.node < r_.cost.nodes.size() ? Cost(r_.cost.nodes[c.node].total)
                                                     : Col(nullptr)});
    }
  }

  // Every spooled stream when the run spools its samples (--metrics, --metrics-tsdb);
  // otherwise the counters and gauges of the components that keep every sample in
  // memory (Kueue, Karpenter, vLLM, KEDA...): the exporters do not run for --db alone.
  void Metrics() {
    Insert series(db_, "metric_series", 3);
    // A series scraped twice at one instant keeps its first sample, as the spool does.
    Insert samples(db_, "metric_samples", 3, "INSERT OR IGNORE");
    auto sample = [&](int64_t sid, Time t, double v) { samples.Row({sid, At(t), v}); };
    const auto& reg = sim_.metrics();
    int64_t sid = 0;
    if (const auto* spool = reg.spool()) {
      telemetry::ForEachSpooledStream(
          reg, [&](uint32_t stream, const std::string& name, const telemetry::Labels& labels,
                   const std::string& le) {
            nlohmann::json lj(labels);
            if (!le.empty()) lj["le"] = le;
            series.Row({sid, name, lj.dump()});
            spool->ForEach(stream, [&](Time at, double v) { sample(sid, at, v); });
            ++sid;
          });
      return;
    }
    // Families by name, series by labels, as the spooled order.
    std::vector<telemetry::Registry::SeriesId> ids;
    for (const auto& owner : reg.RecordingOwners()) {
      if (!reg.KeepsEverySample(owner)) continue;
      for (auto id : reg.Recorded(owner)) {
        if (!reg.series(id).samples.empty()) ids.push_back(id);
      }
    }
    std::sort(ids.begin(), ids.end(), [&](auto a, auto b) {
      const auto& x = reg.series(a);
      const auto& y = reg.series(b);
      const auto& xn = reg.family(x.family).desc.name;
      const auto& yn = reg.family(y.family).desc.name;
      return xn != yn ? xn < yn : x.labels != y.labels ? x.labels < y.labels : a < b;
    });
    for (auto id : ids) {
      const auto& x = reg.series(id);
      series.Row({sid, reg.family(x.family).desc.name, nlohmann::json(x.labels).dump()});
      for (const auto& [t, v] : x.samples) sample(sid, t, v);
      ++sid;
    }
  }

  Database& db_;
  const sim::Simulation& sim_;
  const cluster::Store& s_;
  const results::Results& r_;
  const Time start_;
};

std::filesystem::path Folder(const std::string& file) {
  const std::filesystem::path p(file);
  return p.parent_path().empty() ? std::filesystem::path(".") : p.parent_path();
}

}  // namespace

void CheckDatabasePath(const std::string& flag, const std::string& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw InputError(flag + ": " + file + " is a folder, not a file");
  }
  CheckOutputDir(flag, Folder(file).string());
}

void WriteRunDatabase(const std::string& file, const sim::Simulation& sim,
                      const results::Results& r) {
  WritePathAtomically(
      Folder(file).string(), std::filesystem::path(file).filename().string(),
      [&](const std::string& tmp) {
        std::error_code ec;
        std::filesystem::remove(tmp, ec);  // SQLite would add to an old file's tables
        Database db(tmp, file);
        // Nothing to roll back to: a failed write removes the temporary.
        db.Exec(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;"
            "PRAGMA cache_size=-16384;");
        db.Exec(("PRAGMA user_version=" + std::to_string(kDatabaseSchemaVersion)).c_str());
        db.Exec("BEGIN");
        db.Exec(kSchema);
        Writer(db, sim, r).All();
        db.Exec(kIndexes);
        db.Exec("COMMIT");
        db.Close();
      });
}

}  // namespace gputwin::report
