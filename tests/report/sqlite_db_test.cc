// `gputwin run --db FILE` (docs/db.md): the run as a SQLite database, opened with sqlite3
// and asked what a user would ask. Outcomes are derived by hand from the scenarios'
// comments: examples/kueue-two-teams (Jobs, Kueue, preemption) and
// examples/gpu-nodepools-spot (Jobs, Karpenter, spot interruption, a pod Pending forever).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kueue/kueue_controller.h"
#include "report/sqlite_db.h"
#include "report/summary.h"
#include "results/results.h"
#include "sim/simulation.h"
#include "tests/repo_scenario.h"
#include "tests/temp_dir.h"

namespace gputwin {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using Rows = std::vector<std::vector<std::string>>;

// A read-only connection; each value as text, NULL as "NULL".
class Db {
 public:
  explicit Db(const fs::path& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK)
        << path;
  }
  ~Db() { sqlite3_close(db_); }
  Rows Query(const std::string& sql, std::string* error = nullptr) const {
    Rows rows;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      Report(sql, error);
      return rows;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const auto* text = sqlite3_column_text(st, c);
        row.push_back(text ? reinterpret_cast<const char*>(text) : "NULL");
      }
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) Report(sql, error);
    sqlite3_finalize(st);
    return rows;
  }
  // The first column of the first row.
  std::string One(const std::string& sql) const {
    const Rows r = Query(sql);
    return r.empty() || r[0].empty() ? "<no row>" : r[0][0];
  }

 private:
  // An error goes to `error` when the caller asks for it, else fails the test.
  void Report(const std::string& sql, std::string* error) const {
    if (error) {
      *error = sqlite3_errmsg(db_);
    } else {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
    }
  }
  sqlite3* db_ = nullptr;
};

fs::path TempDir(const std::string& name) {
  return gputwin::test_support::FreshTempDir("db-" + name);
}

// Runs an example as `gputwin run SCENARIO --db FILE` would.
fs::path RunExample(const std::string& scenario, const std::string& name, bool spool = false) {
  auto sim = test_support::LoadRepoScenario(scenario);
  if (spool) sim->SpoolMetrics();
  sim->Run();
  const fs::path file = TempDir(name) / "run.db";
  report::WriteRunDatabase(file.string(), *sim, results::Compute(*sim));
  return file;
}

const std::string kKueueTwoTeams = "examples/kueue-two-teams/scenario.yaml";
const std::string kNodePoolsSpot = "examples/gpu-nodepools-spot/scenario.yaml";

// examples/kueue-two-teams: research's train-0 and train-1 (8 pods of 1 GPU, 4h each) and
// inference's 12 batch Jobs (1 pod of 2 GPUs, 30m); train-1 is preempted at 5m (its 8
// pods deleted) and readmitted at 2h25m1s.
TEST(RunDatabase, KueueTwoTeamsPodsJobsAndWorkloads) {
  const fs::path file = RunExample(kKueueTwoTeams, "kueue");
  Db db(file);
  EXPECT_EQ(db.One("SELECT scenario || ' ' || seed || ' ' || duration_seconds FROM run"),
            "kueue-two-teams 1 25200.0");
  EXPECT_EQ(db.One("SELECT schema_version FROM run"),
            std::to_string(report::kDatabaseSchemaVersion));
  EXPECT_EQ(db.One("PRAGMA user_version"), std::to_string(report::kDatabaseSchemaVersion));
  // 8 + 8 (train-1's second attempt) + 12 pods succeed; train-1's first 8 were deleted.
  EXPECT_EQ(db.Query("SELECT phase, COUNT(*) FROM pods GROUP BY phase ORDER BY phase"),
            (Rows{{"Deleted", "8"}, {"Succeeded", "28"}}));
  EXPECT_EQ(db.Query("SELECT namespace, SUM(gpus) FROM pods WHERE phase = 'Succeeded' "
                     "GROUP BY namespace ORDER BY namespace"),
            (Rows{{"inference", "24"}, {"research", "16"}}));
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM pods WHERE owner_kind = 'Job' AND owner_name = 'train-1' "
                   "AND deleted_at = 300"),
            "8");
  // GPU-hours: 16 GPUs × 4h of training plus 12 × 2 GPUs × 30m of inference = 76.
  EXPECT_EQ(db.One("SELECT ROUND(SUM(gpus * (COALESCE(finished_at, deleted_at, "
                   "(SELECT duration_seconds FROM run)) - scheduled_at)) / 3600, 2) FROM pods "
                   "WHERE phase = 'Succeeded'"),
            "76.0");
  // Every Job completes; train-1 at 6h25m1s.
  EXPECT_EQ(db.Query("SELECT condition, COUNT(*) FROM jobs GROUP BY condition"),
            (Rows{{"Complete", "14"}}));
  EXPECT_EQ(db.One("SELECT completion_time FROM jobs WHERE name = 'train-1'"), "23101.0");
  // Kueue: train-1 admitted at 0s, preempted once, pending from 5m to 2h25m1s.
  EXPECT_EQ(db.Query("SELECT cluster_queue, state, first_admitted_at, preemptions, wait_seconds "
                     "FROM workloads WHERE job = 'train-1'"),
            (Rows{{"research", "Finished", "0.0", "1", "8401.0"}}));
  EXPECT_EQ(db.Query("SELECT cluster_queue, COUNT(*), MAX(evictions) FROM workloads "
                     "GROUP BY cluster_queue ORDER BY cluster_queue"),
            (Rows{{"inference", "12", "0"}, {"research", "2", "1"}}));
  EXPECT_EQ(db.One("SELECT first_admitted_at FROM workloads WHERE job = 'batch-infer-0'"), "300.0");
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM workload_history h JOIN workloads w "
                   "ON w.id = h.workload_id WHERE w.job = 'train-1' AND h.type = 'Preempted'"),
            "1");
  // Workloads that waited over an hour: only research's train-1.
  EXPECT_EQ(db.Query("SELECT namespace, COUNT(*) FROM workloads WHERE wait_seconds > 3600 "
                     "GROUP BY namespace"),
            (Rows{{"research", "1"}}));
  // No Karpenter: the table is there and empty. Kueue's own series are there without
  // --metrics (the exporters do not run).
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM nodeclaims"), "0");
  EXPECT_EQ(db.One("SELECT metrics_scope FROM run"), "components");
  EXPECT_EQ(db.One("SELECT MAX(s.value) FROM metric_samples s JOIN metric_series m "
                   "ON m.id = s.series_id WHERE m.name = 'kueue_admitted_workloads_total' "
                   "AND json_extract(m.labels, '$.cluster_queue') = 'inference'"),
            "12.0");
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM metric_series WHERE name = 'kube_pod_info'"), "0");
  EXPECT_EQ(db.Query("SELECT name, allocatable_gpu, allocatable_cpu, ready FROM nodes "
                     "ORDER BY name"),
            (Rows{{"gpu-node-1", "8", "96.0", "1"}, {"gpu-node-2", "8", "96.0", "1"}}));
}

// With the spool on (--metrics or --metrics-tsdb), every scraped series is in the
// database, the exporters' included.
TEST(RunDatabase, SpooledRunHoldsEveryScrapedSeries) {
  const fs::path file = RunExample(kKueueTwoTeams, "spooled", /*spool=*/true);
  Db db(file);
  EXPECT_EQ(db.One("SELECT metrics_scope FROM run"), "all");
  EXPECT_NE(db.One("SELECT COUNT(*) FROM metric_series WHERE name = 'kube_pod_info'"), "0");
  EXPECT_NE(db.One("SELECT COUNT(*) FROM metric_series WHERE name LIKE 'kueue_%_bucket' "
                   "AND json_extract(labels, '$.le') = '+Inf'"),
            "0");
}

// examples/gpu-nodepools-spot: the A100 fine-tune stays Pending forever (no P spot quota),
// the pretraining Job completes after a g6e spot interruption at 3h, and consolidation
// replaces the three on-demand inference nodes.
TEST(RunDatabase, NodePoolsSpotNodeClaimsAndPendingPod) {
  const fs::path file = RunExample(kNodePoolsSpot, "spot");
  Db db(file);
  EXPECT_EQ(db.Query("SELECT phase, node, scheduled_at, wait_seconds FROM pods "
                     "WHERE owner_name = 'finetune-a100'"),
            (Rows{{"Pending", "NULL", "NULL", "NULL"}}));
  EXPECT_EQ(db.One("SELECT condition FROM jobs WHERE name = 'pretrain'"), "Complete");
  // Training: a g6e.48xlarge spot node interrupted at 3h, then its replacement; every P
  // offering is refused (no P spot quota), so the claims for the fine-tune never launch.
  // The replacement goes as Empty once the pretraining pod on it has finished.
  EXPECT_EQ(db.Query("SELECT instance_type, capacity_type, deleted_at, disruption_reason "
                     "FROM nodeclaims WHERE nodepool = 'training-spot' AND node IS NOT NULL "
                     "ORDER BY created_at LIMIT 1"),
            (Rows{{"g6e.48xlarge", "spot", "10800.0", "spot_interrupted"}}));
  EXPECT_EQ(
      db.Query(
          "SELECT c.instance_type, c.capacity_type, c.disruption_reason, "
          "c.deleted_at > p.finished_at FROM nodeclaims c JOIN pods p ON p.node = c.node "
          "WHERE c.nodepool = 'training-spot' AND c.created_at >= 10800 AND c.node IS NOT NULL"),
      (Rows{{"g6e.48xlarge", "spot", "Empty", "1"}}));
  EXPECT_NE(db.One("SELECT COUNT(*) FROM nodeclaims WHERE nodepool = 'training-spot' AND "
                   "instance_type IS NULL AND price_per_hour IS NULL AND "
                   "launch_error LIKE '%MaxSpotInstanceCountExceeded%'"),
            "0");
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM nodeclaims WHERE nodepool = 'inference-on-demand' "
                   "AND disruption_reason = 'Underutilized'"),
            "3");
  // Every launched NodeClaim became a node that has a price and a cost.
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM nodeclaims c JOIN nodes n ON n.name = c.node "
                   "WHERE n.nodepool = c.nodepool AND n.instance_type = c.instance_type "
                   "AND c.cost > 0 AND n.cost = c.cost"),
            db.One("SELECT COUNT(*) FROM nodeclaims WHERE node IS NOT NULL"));
  // The total cost is the nodes' (summary.json's cost.total, to the cent).
  EXPECT_NE(db.One("SELECT ROUND(SUM(cost), 2) FROM nodes"), "NULL");
  // The documented query: pods that waited over an hour, by namespace. Only the
  // fine-tune, never scheduled, waited (all day).
  EXPECT_EQ(db.Query("SELECT namespace, COUNT(*) AS pods FROM pods "
                     "WHERE COALESCE(scheduled_at, deleted_at, (SELECT duration_seconds FROM run)) "
                     "- created_at > 3600 GROUP BY namespace ORDER BY pods DESC"),
            (Rows{{"research", "1"}}));
  // Karpenter's FailedScheduling and Nominated events name the pods.
  EXPECT_NE(db.One("SELECT COUNT(*) FROM events WHERE involved_kind = 'Pod' "
                   "AND involved_namespace = 'research' AND source_component = 'karpenter'"),
            "0");
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Result {
  int code;
  std::string out;
};

Result Gputwin(const std::string& args) {
  const std::string cmd = std::string(GPUTWIN_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

TEST(RunDatabase, SameSeedGivesAByteIdenticalFile) {
  const fs::path dir = TempDir("rerun");
  const std::string scenario = std::string(GPUTWIN_SOURCE_DIR) + "/" + kKueueTwoTeams;
  for (const char* name : {"a.db", "b.db"}) {
    const Result r = Gputwin("run " + scenario + " --db " + (dir / name).string());
    ASSERT_EQ(r.code, 0) << r.out;
  }
  const std::string a = Slurp(dir / "a.db"), b = Slurp(dir / "b.db");
  EXPECT_GT(a.size(), 4096u);
  EXPECT_TRUE(a == b) << "the two databases differ";
  // Nothing but the two databases: no temporary, no journal left.
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++files;
    EXPECT_THAT(e.path().filename().string(), ::testing::EndsWith(".db"));
  }
  EXPECT_EQ(files, 2u);
}

TEST(RunDatabase, UnwritablePathIsRefusedBeforeTheRun) {
  const fs::path dir = TempDir("unwritable");
  std::ofstream(dir / "plain-file") << "x";
  const std::string scenario = std::string(GPUTWIN_SOURCE_DIR) + "/" + kKueueTwoTeams;
  // Its folder is a file.
  Result r = Gputwin("run " + scenario + " --db " + (dir / "plain-file" / "run.db").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("error: --db: "));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("Nodes")));  // no report: the run never started
  // It is a folder.
  r = Gputwin("run " + scenario + " --db " + dir.string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("is a folder, not a file"));
}

// A writer that fails leaves neither the file nor its temporary; the old file stays.
TEST(RunDatabase, FailedWriteLeavesTheOldFile) {
  const fs::path dir = TempDir("failed");
  std::ofstream(dir / "run.db") << "old";
  EXPECT_THROW(report::WritePathAtomically(dir.string(), "run.db",
                                           [](const std::string& tmp) {
                                             std::ofstream(tmp) << "half";
                                             std::ofstream(tmp + "-journal") << "j";
                                             throw std::runtime_error("disk full");
                                           }),
               std::runtime_error);
  EXPECT_EQ(Slurp(dir / "run.db"), "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

// docs/db.md's example queries: each ```sql block is one.
std::vector<std::string> DocumentedQueries(const std::string& doc) {
  std::vector<std::string> out;
  for (size_t at = doc.find("```sql\n"); at != std::string::npos;
       at = doc.find("```sql\n", at + 1)) {
    const size_t begin = at + 7;
    out.push_back(doc.substr(begin, doc.find("```", begin) - begin));
  }
  return out;
}

// docs/db.md: every column of every table is described, and every example query runs.
TEST(RunDatabase, DocumentedSchemaAndQueries) {
  const std::string doc = Slurp(std::string(GPUTWIN_SOURCE_DIR) + "/docs/db.md");
  ASSERT_FALSE(doc.empty());
  for (const auto& scenario : {kKueueTwoTeams, kNodePoolsSpot}) {
    const fs::path file = RunExample(scenario, "docs");
    Db db(file);
    for (const auto& t : db.Query("SELECT name FROM sqlite_master WHERE type = 'table'")) {
      const std::string table = t[0];
      const size_t at = doc.find("### `" + table + "`");
      ASSERT_NE(at, std::string::npos) << table << " has no section in docs/db.md";
      const std::string section = doc.substr(at, doc.find("\n### ", at + 1) - at);
      for (const auto& c : db.Query("SELECT name FROM pragma_table_info('" + table + "')")) {
        EXPECT_THAT(section, HasSubstr("| `" + c[0] + "` |")) << table << "." << c[0];
      }
    }
    const auto queries = DocumentedQueries(doc);
    EXPECT_GE(queries.size(), 5u);
    for (const auto& sql : queries) {
      std::string error;
      db.Query(sql, &error);
      EXPECT_EQ(error, "") << sql;
    }
  }
}

// The documented p50 of workloads' waits by ClusterQueue is summary.json's
// waitSecondsP50: tests/scenarios/kueue_fifo.yaml's StrictFIFO queue waits 3540 s.
TEST(RunDatabase, DocumentedWaitP50IsTheSummarys) {
  auto sim = sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/tests/scenarios/kueue_fifo.yaml",
                               std::nullopt, std::nullopt);
  sim->Run();
  const results::Results r = results::Compute(*sim);
  const fs::path file = TempDir("p50") / "run.db";
  report::WriteRunDatabase(file.string(), *sim, r);
  std::string p50;
  for (const auto& q : DocumentedQueries(Slurp(std::string(GPUTWIN_SOURCE_DIR) + "/docs/db.md"))) {
    if (q.find("wait_p50_seconds") != std::string::npos) p50 = q;
  }
  ASSERT_NE(p50, "");
  Rows want;
  const auto& queues = sim->kueue()->cache().cluster_queues();
  for (size_t i = 0; i < queues.size(); ++i) {
    want.push_back({queues[i].obj.metadata.name, "", std::to_string(r.cluster_queue_waits[i].p50)});
  }
  std::sort(want.begin(), want.end());
  Rows got = Db(file).Query(p50);
  for (auto& row : got) {
    row[1] = "";  // the count admitted: not in the summary
    row[2] = std::to_string(std::stod(row[2]));
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(want[1][2], std::to_string(3540.0));
}

}  // namespace
}  // namespace gputwin
