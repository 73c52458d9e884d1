// The metrics file against the real thing: a run's OpenMetrics output is backfilled with
// `promtool tsdb create-blocks-from openmetrics`, a real `prometheus` serves the blocks on
// 127.0.0.1, and instant and range queries through its HTTP API must give what the run
// recorded. Needs Debian's prometheus package (scripts/setup.sh installs it); skipped
// with a note without it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "sim/simulation.h"
#include "telemetry/openmetrics.h"
#include "telemetry/promql.h"
#include "telemetry/tsdb_block.h"

namespace gputwin {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

bool OnPath(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// A free port on 127.0.0.1 (bound, read, released).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t n = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// A plain HTTP/1.0 GET on 127.0.0.1; the body, or "" when the server is not there.
std::string HttpGet(int port, const std::string& target) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return "";
  }
  const std::string req = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::write(fd, req.data(), req.size()) < 0) {
    ::close(fd);
    return "";
  }
  std::string resp;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) resp.append(buf, size_t(n));
  ::close(fd);
  const size_t body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof(hex), "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// A prometheus server over a TSDB directory, stopped when this goes out of scope.
class PrometheusServer {
 public:
  PrometheusServer(const fs::path& tsdb, const fs::path& dir) : port_(FreePort()) {
    const fs::path config = dir / "prometheus.yml";
    std::ofstream(config) << "global: {}\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string log = (dir / "prometheus.log").string();
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
      const std::string cfg = "--config.file=" + config.string();
      const std::string path = "--storage.tsdb.path=" + tsdb.string();
      ::execlp("prometheus", "prometheus", cfg.c_str(), path.c_str(), listen.c_str(),
               "--storage.tsdb.retention.time=100y", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 300 && HttpGet(port_, "/-/ready").find("Ready") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~PrometheusServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  bool ready() const { return HttpGet(port_, "/-/ready").find("Ready") != std::string::npos; }
  Json Query(const std::string& q, Time at) const {
    return Json::parse(HttpGet(port_, "/api/v1/query?query=" + UrlEncode(q) +
                                          "&time=" + std::to_string(at.ns / 1'000'000'000)));
  }
  Json QueryRange(const std::string& q, Time from, Time to, int step_s) const {
    return Json::parse(HttpGet(port_, "/api/v1/query_range?query=" + UrlEncode(q) +
                                          "&start=" + std::to_string(from.ns / 1'000'000'000) +
                                          "&end=" + std::to_string(to.ns / 1'000'000'000) +
                                          "&step=" + std::to_string(step_s)));
  }

 private:
  int port_;
  pid_t pid_ = -1;
};

// What a Prometheus holding exactly the recorded samples returns for a plain selector at
// `at`: each series' latest sample at or before it, if within the 5-minute lookback.
std::map<telemetry::Labels, double> Expected(const telemetry::Registry& reg,
                                             const std::string& name, Time at) {
  std::map<telemetry::Labels, double> out;
  const auto& fam = reg.family(reg.Find(name));
  for (auto sid : fam.series) {
    const auto& s = reg.series(sid);
    const std::pair<Time, double>* last = nullptr;
    for (const auto& smp : s.samples) {
      if (smp.first > at) break;
      if (!std::isnan(smp.second)) last = &smp;
    }
    if (last && at - last->first <= Duration::Minutes(5)) out[s.labels] = last->second;
  }
  return out;
}

TEST(PrometheusRoundTrip, BackfilledMetricsQueryAsTheRunRecordedThem) {
  if (!OnPath("prometheus") || !OnPath("promtool")) {
    GTEST_SKIP() << "prometheus and promtool are not installed (Debian's prometheus package; "
                    "scripts/setup.sh installs it)";
  }
  const fs::path dir = fs::temp_directory_path() / ("gputwin-prom-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // Two hours of the spot-overflow example with a dcgm-exporter DaemonSet added: Karpenter's,
  // vLLM's, cAdvisor's, kube-state-metrics' and DCGM's series.
  const std::string example = std::string(GPUTWIN_SOURCE_DIR) + "/examples/serving-spot-overflow/";
  std::string text;
  {
    std::ifstream in(example + "scenario-on-demand-base.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const std::string manifests = "manifests: [cluster.yaml]";
  ASSERT_NE(text.find(manifests), std::string::npos);
  text.replace(text.find(manifests), manifests.size(),
               "manifests: [" + example + "cluster.yaml, dcgm.yaml]");
  std::ofstream(dir / "scenario.yaml") << text;
  std::ofstream(dir / "dcgm.yaml")
      << "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: dcgm-exporter, namespace: "
         "monitoring}\nspec:\n  selector: {matchLabels: {app: dcgm}}\n  template:\n    "
         "metadata: {labels: {app: dcgm}}\n    spec:\n      tolerations: [{operator: "
         "Exists}]\n      containers: [{name: exporter, image: "
         "\"nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04\"}]\n"
      // OpenCost, for the cost series.
      << "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: opencost, namespace: "
         "opencost}\nspec:\n  selector: {matchLabels: {app: opencost}}\n  template:\n    "
         "metadata: {labels: {app: opencost}}\n    spec:\n      containers: [{name: opencost, "
         "image: ghcr.io/opencost/opencost:1.113.0}]\n";
  auto sim = sim::LoadScenario((dir / "scenario.yaml").string(), std::nullopt, Duration::Hours(2));
  // The same samples both ways: OpenMetrics text for promtool, and a block written directly.
  const fs::path direct = dir / "direct";
  telemetry::TsdbBlockWriter block(direct.string(), sim->start(), sim->scenario().seed,
                                   &sim->mutable_metrics());
  sim->mutable_metrics().KeepQueryHistory(true);  // the twin's PromQL answers too
  sim->Run();
  const fs::path file = dir / "metrics.om";
  {
    std::ofstream out(file);
    telemetry::WriteOpenMetrics(out, sim->metrics());
  }
  block.Commit();
  const fs::path tsdb = dir / "tsdb";
  const std::string backfill = "promtool tsdb create-blocks-from openmetrics " + file.string() +
                               " " + tsdb.string() + " > " + (dir / "promtool.log").string() +
                               " 2>&1";
  ASSERT_EQ(std::system(backfill.c_str()), 0) << "promtool refused the file; see " << dir;
  PrometheusServer prom(tsdb, dir);
  ASSERT_TRUE(prom.ready()) << "prometheus did not start; see " << dir / "prometheus.log";

  const auto& reg = sim->metrics();
  const Time start = sim->start();
  // Instant queries at a few instants, on gauges and counters of three exporters.
  for (const char* name :
       {"vllm:num_requests_running", "vllm:kv_cache_usage_perc", "vllm:generation_tokens_total",
        "container_cpu_usage_seconds_total", "karpenter_nodes_created_total"}) {
    for (int minutes : {20, 61, 118}) {
      const Time at = start + Duration::Minutes(minutes);
      const auto want = Expected(reg, name, at);
      const Json got = prom.Query(name, at);
      ASSERT_EQ(got["status"], "success") << got.dump();
      std::map<telemetry::Labels, double> have;
      for (const auto& r : got["data"]["result"]) {
        telemetry::Labels l;
        for (const auto& [k, v] : r["metric"].items()) {
          if (k != "__name__") l[k] = v.get<std::string>();
        }
        have[l] = std::stod(r["value"][1].get<std::string>());
      }
      EXPECT_EQ(have, want) << name << " at +" << minutes << " min";
    }
  }
  // A range query of a sum, every minute of the second hour.
  const Json range = prom.QueryRange("sum(vllm:num_requests_running)", start + Duration::Hours(1),
                                     start + Duration::Hours(2), 60);
  ASSERT_EQ(range["status"], "success");
  ASSERT_EQ(range["data"]["result"].size(), 1u);
  const auto& values = range["data"]["result"][0]["values"];
  ASSERT_EQ(values.size(), 61u);
  for (size_t i = 0; i < values.size(); ++i) {
    const Time at = start + Duration::Hours(1) + Duration::Minutes(int64_t(i));
    double sum = 0;
    for (const auto& [l, v] : Expected(reg, "vllm:num_requests_running", at)) sum += v;
    EXPECT_DOUBLE_EQ(std::stod(values[i][1].get<std::string>()), sum) << "minute " << 60 + i;
  }
  // Histograms: counts, and a quantile as a dashboard asks it, against the twin's own
  // PromQL over the same samples. Queried between two scrapes: Prometheus 2.x (Debian's)
  // takes a sample exactly at a range's start, 3.x and the twin do not.
  for (const char* q :
       {"sum(vllm:time_to_first_token_seconds_count)",
        "histogram_quantile(0.9, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[5m])))",
        "sum(rate(container_cpu_usage_seconds_total[5m]))"}) {
    const Time at = start + Duration::Minutes(90) + Duration::Seconds(15);
    const Json got = prom.Query(q, at);
    ASSERT_EQ(got["status"], "success") << q;
    ASSERT_EQ(got["data"]["result"].size(), 1u) << q << ": " << got.dump();
    const double real = std::stod(got["data"]["result"][0]["value"][1].get<std::string>());
    const auto twin = telemetry::PromQuery::Parse(q).Evaluate(reg, at);
    ASSERT_EQ(twin.samples.size(), 1u) << q;
    EXPECT_NEAR(real, twin.samples[0].value, 1e-9 * std::max(1.0, std::fabs(real))) << q;
  }
  // A query at one instant, by the real Prometheus and by the twin's PromQL: the same
  // label sets and values (up to rounding); how many series the twin returned.
  const Time at = start + Duration::Minutes(100) + Duration::Seconds(15);
  // Labels with an empty value are no labels to Prometheus.
  auto normal = [](telemetry::Labels l) {
    std::erase_if(l, [](const auto& kv) { return kv.first == "__name__" || kv.second.empty(); });
    return l;
  };
  const PrometheusServer* server = &prom;
  auto same = [&](const std::string& q) -> size_t {
    const Json got = server->Query(q, at);
    EXPECT_EQ(got["status"], "success") << q << ": " << got.dump();
    std::map<telemetry::Labels, double> have, want;
    for (const auto& r : got["data"]["result"]) {
      telemetry::Labels l;
      for (const auto& [k, v] : r["metric"].items()) l[k] = v.get<std::string>();
      have[normal(l)] = std::stod(r["value"][1].get<std::string>());
    }
    for (auto& smp : telemetry::PromQuery::Parse(q).Evaluate(reg, at).samples) {
      want[normal(smp.labels)] = smp.value;
    }
    EXPECT_EQ(have.size(), want.size()) << q;
    for (const auto& [l, v] : want) {
      EXPECT_TRUE(have.count(l)) << q;
      if (have.count(l)) {
        EXPECT_NEAR(have.at(l), v, 1e-9 * std::max(1.0, std::fabs(v))) << q;
      }
    }
    return want.size();
  };
  auto battery = [&]() {
    // The DCGM dashboard's panels (Grafana 12239), with its $instance and $gpu on All.
    for (std::string q :
         {"DCGM_FI_DEV_GPU_TEMP{instance=~\"$instance\", gpu=~\"$gpu\"}",
          "avg(DCGM_FI_DEV_GPU_TEMP{instance=~\"$instance\", gpu=~\"$gpu\"})",
          "DCGM_FI_DEV_POWER_USAGE{instance=~\"$instance\", gpu=~\"$gpu\"}",
          "sum(DCGM_FI_DEV_POWER_USAGE{instance=~\"$instance\", gpu=~\"$gpu\"})",
          "DCGM_FI_DEV_SM_CLOCK{instance=~\"$instance\", gpu=~\"$gpu\"} * 1000000",
          "DCGM_FI_DEV_GPU_UTIL{instance=~\"$instance\", gpu=~\"$gpu\"}",
          "DCGM_FI_DEV_FB_USED{instance=~\"$instance\", gpu=~\"$gpu\"}",
          "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{instance=~\"$instance\", gpu=~\"$gpu\"}"}) {
      for (const char* var : {"$instance", "$gpu"}) {
        for (size_t pos = q.find(var); pos != std::string::npos; pos = q.find(var)) {
          q.replace(pos, std::string(var).size(), ".+");
        }
      }
      EXPECT_GT(same(q), 0u) << q;
    }
    // Vector matching, set operators and the functions alert rules use, on the same data.
    int answered = 0;
    for (const std::string q :
         {"DCGM_FI_DEV_GPU_UTIL < 50 and on(pod) kube_pod_status_phase{phase=\"Running\"} == 1",
          "DCGM_FI_DEV_GPU_UTIL unless on(pod) kube_pod_status_phase{phase=\"Running\"} == 1",
          "DCGM_FI_DEV_POWER_USAGE * on(Hostname) group_left(provider_id) "
          "label_replace(kube_node_info, \"Hostname\", \"$1\", \"node\", \"(.*)\")",
          "sum by (phase) (kube_pod_status_phase)", "changes(kube_pod_status_phase[30m])",
          "delta(DCGM_FI_DEV_GPU_TEMP[10m])", "vllm:num_requests_running offset 10m",
          "kube_deployment_spec_replicas - ignoring(job) kube_deployment_status_replicas_available",
          "absent(kube_pod_status_phase{pod=\"nobody\"})",
          "round(deriv(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION[10m]) / 1000)"}) {
      answered += same(q) > 0 ? 1 : 0;
    }
    EXPECT_GE(answered, 8);
    // gputwin's dashboard (grafana/dashboards/gputwin.json): every panel query answers the
    // same in Prometheus as in the twin; only the panels of Kueue and of alert rules, which
    // this run does not have, are empty (3 + 2 queries).
    std::ifstream dash_file(std::string(GPUTWIN_SOURCE_DIR) + "/grafana/dashboards/gputwin.json");
    const Json dash = Json::parse(dash_file);
    size_t queries = 0;
    std::vector<std::string> empty;
    for (const auto& panel : dash["panels"]) {
      for (const auto& target : panel["targets"]) {
        ++queries;
        const std::string q = target["expr"].get<std::string>();
        if (same(q) == 0) empty.push_back(q);
      }
    }
    EXPECT_EQ(queries, 20u);
    EXPECT_EQ(empty.size(), 5u) << ::testing::PrintToString(empty);
  };
  battery();
  // The block gputwin wrote itself, served as it is: the same answers.
  const fs::path direct_run = dir / "direct-server";
  fs::create_directories(direct_run);
  PrometheusServer from_block(direct, direct_run);
  ASSERT_TRUE(from_block.ready()) << "prometheus did not load the block; see "
                                  << direct_run / "prometheus.log";
  server = &from_block;
  battery();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gputwin
