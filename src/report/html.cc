#include "report/html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/time.h"

namespace gputwin::report {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

namespace {

// j[key] when it is an object, else an empty object (summary sections may be null).
const Json& Obj(const Json& j, const char* key) {
  static const Json kEmpty = Json::object();
  auto it = j.find(key);
  return it == j.end() || !it->is_object() ? kEmpty : *it;
}
const Json& Arr(const Json& j, const char* key) {
  static const Json kEmpty = Json::array();
  auto it = j.find(key);
  return it == j.end() || !it->is_array() ? kEmpty : *it;
}

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || !it->is_string() ? "" : it->get<std::string>();
}

// Seconds since the epoch of an RFC 3339 time, or `fallback` when absent.
double Seconds(const Json& j, const char* key, double fallback) {
  const std::string s = Str(j, key);
  if (s.empty()) return fallback;
  std::string error;
  auto t = ParseRFC3339(s, &error);
  return t ? static_cast<double>(t->ns) / 1e9 : fallback;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Adds `value` over [from, to) to the grid's cells (each cell is the instant at its start).
// Series are kept as differences (n + 1 cells) while intervals are added, so a million pods
// cost a million additions, and summed into values once (Values).
struct Grid {
  double t0, step;
  int n;
  std::vector<double> Series() const { return std::vector<double>(static_cast<size_t>(n) + 1, 0); }
  void Add(std::vector<double>* v, double from, double to, double value) const {
    if (to <= from) return;
    const int a = std::max(0, static_cast<int>(std::ceil((from - t0) / step - 1e-9)));
    const int b = std::min(n, static_cast<int>(std::ceil((to - t0) / step - 1e-9)));
    if (a >= b) return;
    (*v)[static_cast<size_t>(a)] += value;
    (*v)[static_cast<size_t>(b)] -= value;
  }
  std::vector<double> Values(std::vector<double> v) const {
    for (size_t i = 1; i < v.size(); ++i) v[i] += v[i - 1];
    v.resize(static_cast<size_t>(n));
    for (auto& x : v) x = std::round(x * 1e6) / 1e6;  // sums of prices: no float dust
    return v;
  }
};

}  // namespace

OJson Timelines(const Json& summary, int points) {
  const double t0 = Seconds(summary, "startTime", 0);
  const double t1 = Seconds(summary, "endTime", t0 + 1);
  const int n = std::max(2, std::min(points, static_cast<int>((t1 - t0) / 60) + 1));
  return TimelinesOn(summary, t1 - t0, n);
}

OJson TimelinesOn(const Json& summary, double seconds, int n) {
  const double t0 = Seconds(summary, "startTime", 0);
  const double t1 = t0 + seconds;
  const Grid g{t0, (t1 - t0) / (n - 1), n};
  std::vector<double> t(static_cast<size_t>(n)), pending = g.Series(), running = g.Series(),
                                                 capacity = g.Series(), allocated = g.Series(),
                                                 cost = g.Series();
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = std::round(t0 + g.step * i);
  const double end = t1 + g.step;  // still there at the end: counted at the last instant
  for (const auto& p : Arr(summary, "pods")) {
    const double created = Seconds(p, "createdAt", t0);
    const double gone = std::min(Seconds(p, "deletedAt", end), Seconds(p, "finishedAt", end));
    const double scheduled = Seconds(p, "scheduledAt", end);
    const double started = Seconds(p, "startedAt", end);
    g.Add(&pending, created, std::min(scheduled, gone), 1);
    g.Add(&running, started, gone, 1);
    const double gpus = p.value("gpus", 0.0);
    g.Add(&allocated, scheduled, gone, gpus);
  }
  std::map<std::string, std::vector<double>> nodes;
  for (const auto& node : Arr(summary, "nodes")) {
    const double from = Seconds(node, "createdAt", t0);
    const double to = Seconds(node, "deletedAt", end);
    const auto& labels = Obj(node, "labels");
    std::string type = labels.value("karpenter.sh/capacity-type", std::string("static"));
    auto& series = nodes[type];
    if (series.empty()) series = g.Series();
    g.Add(&series, from, to, 1);
    const auto& alloc = Obj(node, "allocatable");
    if (alloc.contains("nvidia.com/gpu")) {
      g.Add(&capacity, from, to, std::atof(alloc["nvidia.com/gpu"].get<std::string>().c_str()));
    } else if (node.contains("gpus") && node["gpus"].is_object()) {
      g.Add(&capacity, from, to, node["gpus"].value("count", 0));
    }
  }
  std::map<std::string, const Json*> node_by_name;
  for (const auto& nd : Arr(summary, "nodes")) node_by_name[Str(nd, "name")] = &nd;
  for (const auto& c : Arr(Obj(summary, "cost"), "nodes")) {
    auto it = node_by_name.find(Str(c, "name"));
    if (it == node_by_name.end()) continue;
    const Json* node = it->second;
    g.Add(&cost, Seconds(*node, "createdAt", t0), Seconds(*node, "deletedAt", end),
          c.value("pricePerHour", 0.0));
  }
  OJson out{{"t", t},
            {"pending", g.Values(pending)},
            {"running", g.Values(running)},
            {"gpuCapacity", g.Values(capacity)},
            {"gpuAllocated", g.Values(allocated)},
            {"costPerHour", g.Values(cost)}};
  OJson by_type = OJson::object();
  for (const auto& [type, series] : nodes) by_type[type] = g.Values(series);
  out["nodes"] = by_type;
  // Kueue: workloads pending (queued) and admitted per ClusterQueue, from their conditions.
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> queues;
  for (const auto& w : Arr(summary, "workloads")) {
    const std::string cq = Str(w, "clusterQueue");
    if (cq.empty()) continue;
    auto& [pend, adm] = queues[cq];
    if (pend.empty()) {
      pend = g.Series();
      adm = g.Series();
    }
    double pending_since = -1, admitted_since = -1;
    for (const auto& h : Arr(w, "history")) {
      const std::string type = Str(h, "type");
      const double at = Seconds(h, "time", t0);
      auto close = [&](double* since, std::vector<double>* v) {
        if (*since >= 0) g.Add(v, *since, at, 1);
        *since = -1;
      };
      if (type == "Created" || type == "Requeued" || type == "Activated") {
        if (pending_since < 0 && admitted_since < 0) pending_since = at;
      } else if (type == "QuotaReserved") {
        close(&pending_since, &pend);
        admitted_since = at;
      } else if (type == "Evicted") {
        close(&admitted_since, &adm);
      } else if (type == "Deactivated" || type == "Finished") {
        close(&pending_since, &pend);
        close(&admitted_since, &adm);
      }
    }
    if (pending_since >= 0) g.Add(&pend, pending_since, end, 1);
    if (admitted_since >= 0) g.Add(&adm, admitted_since, end, 1);
  }
  OJson kueue = OJson::object();
  for (const auto& [cq, series] : queues) {
    kueue[cq] = OJson{{"pending", g.Values(series.first)}, {"admitted", g.Values(series.second)}};
  }
  out["kueue"] = kueue;
  return out;
}

namespace {

constexpr const char* kStyle = R"css(
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#b8c0cc}main{padding:16px 24px;max-width:1400px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:0 0 16px;padding:12px 16px}
h2{font-size:16px;margin:0 0 8px}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #dde1e6;border-radius:6px;padding:8px 12px;min-width:140px}
.card b{display:block;font-size:20px}.card span{color:#5a6473;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:12px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eef0f3;padding:4px 6px;text-align:left;font-size:13px}
th{color:#5a6473;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.gantt{position:relative;height:18px;background:#f0f2f5;border-radius:3px}
.gantt div{position:absolute;top:2px;height:14px;border-radius:3px}
.setup{background:#f0b429}.ready{background:#2d8a5f}.spot.ready{background:#3b82c4}
.fail{color:#b42318}.pass{color:#2d8a5f}code{font-size:12px}
)css";

// The page's own script: draws every chart from the embedded data.
constexpr const char* kScript = R"js(
(function(){
  const data = JSON.parse(document.getElementById('gputwin-data').textContent);
  const tl = data.timelines;
  const palette = ['#3b82c4','#f0b429','#2d8a5f','#b42318','#7c3aed','#0e7490'];
  function chart(id, title, names, series, stacked) {
    const el = document.getElementById(id);
    if (!el) return;
    const opts = {title: title, width: Math.max(520, el.clientWidth - 8), height: 240,
      series: [{}].concat(names.map((n, i) => ({label: n, stroke: palette[i % palette.length],
        width: 1.5, fill: stacked ? palette[i % palette.length] + '33' : undefined}))),
      axes: [{}, {}], scales: {x: {time: true}}};
    new uPlot(opts, [tl.t].concat(series), el);
    el.dataset.rendered = String(series.length);
  }
  chart('chart-pods', 'Pods', ['Pending', 'Running'], [tl.pending, tl.running], false);
  chart('chart-gpus', 'GPUs', ['capacity', 'allocated'], [tl.gpuCapacity, tl.gpuAllocated], false);
  const types = Object.keys(tl.nodes);
  chart('chart-nodes', 'Nodes by capacity type', types, types.map(k => tl.nodes[k]), true);
  chart('chart-cost', 'Cost rate (USD per hour)', ['$/h'], [tl.costPerHour], true);
  const cqs = Object.keys(tl.kueue || {});
  if (cqs.length) {
    const names = [], series = [];
    cqs.forEach(q => { names.push(q + ' pending'); series.push(tl.kueue[q].pending);
                       names.push(q + ' admitted'); series.push(tl.kueue[q].admitted); });
    chart('chart-kueue', 'Kueue workloads per ClusterQueue', names, series, false);
  }
})();
)js";

std::string Money(double v) {
  return fmt::format("${:.2f}", v);
}

std::string Table(const std::vector<std::string>& head,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<table><tr>";
  for (const auto& h : head) out += "<th>" + Escape(h) + "</th>";
  out += "</tr>";
  for (const auto& r : rows) {
    out += "<tr>";
    for (size_t i = 0; i < r.size(); ++i) {
      const bool number =
          !r[i].empty() && (r[i][0] == '$' || std::isdigit(static_cast<unsigned char>(r[i][0])));
      out += std::string(number ? "<td class=n>" : "<td>") + Escape(r[i]) + "</td>";
    }
    out += "</tr>";
  }
  return out + "</table>";
}

}  // namespace

std::string RenderHtml(const Json& summary) {
  const auto& totals = Obj(summary, "totals");
  const auto& cost = Obj(summary, "cost");
  const double t0 = Seconds(summary, "startTime", 0);
  const double t1 = Seconds(summary, "endTime", t0 + 1);
  OJson data{{"scenario", Str(summary, "scenario")}, {"timelines", Timelines(summary)}};
  std::string json = data.dump();
  // Inside <script>, "</" would end the element early.
  for (size_t at = json.find("</"); at != std::string::npos; at = json.find("</", at + 2)) {
    json.replace(at, 2, "<\\/");
  }

  std::string body;
  // Overview.
  int fired = 0;
  if (const auto& al = Obj(summary, "alerts"); !al.empty()) {
    for (const auto& a : Arr(al, "alerts")) {
      fired += a.contains("firingAt") && !a["firingAt"].is_null() ? 1 : 0;
    }
  }
  int failed = 0;
  for (const auto& e : Arr(summary, "expectations")) {
    failed += e.value("passed", true) ? 0 : 1;
  }
  const auto& phases = Obj(totals, "podsByPhase");
  auto card = [](const std::string& value, const std::string& label) {
    return "<div class=card><b>" + Escape(value) + "</b><span>" + Escape(label) + "</span></div>";
  };
  body += "<section id=overview><h2>Overview</h2><div class=cards>";
  body += card(Money(cost.value("total", 0.0)), "cost of the run");
  body += card(fmt::format("{:.1f}", cost.value("gpuHours", 0.0)), "GPU-hours bought");
  body += card(fmt::format("{:.1f}", cost.value("allocatedGpuHours", 0.0)), "GPU-hours allocated");
  body += card(Money(cost.value("idleGpu", 0.0)), "idle GPU cost");
  body += card(fmt::format("{}", totals.value("pods", 0)), "pods");
  body += card(fmt::format("{}", phases.value("Pending", 0)), "Pending at the end");
  body += card(Money(cost.value("lostWorkCost", 0.0)), "work lost to evictions");
  body += card(fmt::format("{}", fired), "alerts fired");
  body += card(failed ? fmt::format("{} failed", failed) : "all passed", "expectations");
  body += "</div></section>";
  // Timelines.
  body +=
      "<section id=timelines><h2>Timelines</h2><div class=charts>"
      "<div id=chart-pods class=chart></div><div id=chart-gpus class=chart></div>"
      "<div id=chart-nodes class=chart></div><div id=chart-cost class=chart></div>" +
      std::string(Arr(summary, "workloads").empty() ? ""
                                                    : "<div id=chart-kueue class=chart></div>") +
      "</div></section>";
  // Pending explanations.
  const auto& reasons = Arr(summary, "pendingReasons");
  if (!reasons.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : reasons) {
      std::string pods;
      int shown = 0;
      for (const auto& p : Arr(r, "pods")) {
        if (shown++ == 5) {
          pods += ", ...";
          break;
        }
        pods += (pods.empty() ? "" : ", ") + p.get<std::string>();
      }
      rows.push_back({fmt::format("{}", r.value("count", 0)), Str(r, "message"), pods});
    }
    body +=
        "<section id=pending><h2>Why pods are Pending</h2>" +
        Table({"pods", "kube-scheduler / Karpenter / Kueue says", "pods (first 5)"}, rows) +
        "<p>For one pod's whole story: <code>gputwin explain OUT_DIR pod/NAMESPACE/NAME</code></p>"
        "</section>";
  }
  // Node Gantt: from creation to deletion, set-up until Ready.
  const auto& nodes = Arr(summary, "nodes");
  if (!nodes.empty()) {
    std::string rows;
    const double span = std::max(1.0, t1 - t0);
    for (const auto& n : nodes) {
      const double a = Seconds(n, "createdAt", t0), r = Seconds(n, "readyAt", a),
                   d = Seconds(n, "deletedAt", t1);
      const auto& labels = Obj(n, "labels");
      const std::string ct = labels.value("karpenter.sh/capacity-type", std::string(""));
      auto pct = [&](double x) { return 100.0 * (std::clamp(x, t0, t1) - t0) / span; };
      rows +=
          "<tr><td>" + Escape(Str(n, "name")) + "</td><td>" +
          Escape(labels.value("node.kubernetes.io/instance-type", std::string(""))) +
          (ct.empty() ? "" : " " + Escape(ct)) + "</td><td style='width:60%'><div class=gantt>" +
          fmt::format(
              "<div class=setup style='left:{:.3f}%;width:{:.3f}%' title='launch to Ready: {:.0f} "
              "s'></div>",
              pct(a), std::max(0.2, pct(r) - pct(a)), r - a) +
          fmt::format(
              "<div class='ready {}' style='left:{:.3f}%;width:{:.3f}%' title='Ready {}'></div>",
              ct, pct(r), std::max(0.2, pct(d) - pct(r)), Escape(Str(n, "readyAt"))) +
          "</div></td></tr>";
    }
    body +=
        "<section id=nodes><h2>Nodes</h2><table><tr><th>node</th><th>type</th><th>"
        "launch (yellow: until Ready) to deletion</th></tr>" +
        rows + "</table></section>";
  }
  // Cold starts and lost work.
  const auto& karpenter = Obj(summary, "karpenter");
  if (karpenter.is_object() && !Arr(karpenter, "coldStarts").empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : karpenter["coldStarts"]) {
      rows.push_back({Str(c, "pod"), Str(c, "instanceType"),
                      fmt::format("{:.0f}", c.value("waitingForDecisionSeconds", 0.0)),
                      fmt::format("{:.0f}", c.value("launchAndBootSeconds", 0.0)),
                      fmt::format("{:.0f}", c.value("gpuSetupSeconds", 0.0)),
                      fmt::format("{:.0f}", c.value("imagePullSeconds", 0.0)),
                      fmt::format("{:.0f}", c.value("totalSeconds", 0.0))});
    }
    body +=
        "<section id=cold-starts><h2>Cold starts (seconds)</h2>" +
        Table({"pod", "instance", "decision", "launch+boot", "GPU setup", "image pull", "total"},
              rows) +
        "</section>";
  }
  if (karpenter.is_object() && !Arr(karpenter, "lostWork").empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : karpenter["lostWork"]) {
      rows.push_back({Str(l, "pod"), Str(l, "at"),
                      fmt::format("{:.0f}", l.value("gpuSeconds", 0.0)), Str(l, "reason")});
    }
    body += "<section id=lost-work><h2>Interruptions and lost work</h2>" +
            Table({"pod", "at", "GPU-seconds lost", "why"}, rows) + "</section>";
  }
  // Cost tables.
  std::string cost_html;
  for (const auto& [key, title] :
       std::vector<std::pair<std::string, std::string>>{{"byNamespace", "namespace"},
                                                        {"byTeam", "team"},
                                                        {"byJob", "Job"},
                                                        {"byDeployment", "Deployment"}}) {
    const auto& m = Obj(cost, key.c_str());
    if (m.empty()) continue;
    std::vector<std::pair<std::string, double>> items;
    for (const auto& [k, v] : m.items()) items.emplace_back(k, v.get<double>());
    std::sort(items.begin(), items.end(), [](auto& a, auto& b) { return a.second > b.second; });
    std::vector<std::vector<std::string>> rows;
    for (const auto& [k, v] : items) rows.push_back({k, Money(v)});
    cost_html += "<div><h3>By " + title + "</h3>" + Table({title, "cost"}, rows) + "</div>";
  }
  if (!cost_html.empty()) {
    body += "<section id=cost><h2>Cost</h2><div class=charts>" + cost_html + "</div></section>";
  }

  std::string html =
      "<!doctype html><html lang=en><head><meta charset=utf-8><title>gputwin: " +
      Escape(Str(summary, "scenario")) + "</title><style>" + UplotCss() + kStyle +
      "</style></head><body><header><h1>" + Escape(Str(summary, "scenario")) + "</h1><p>" +
      Escape(Str(summary, "startTime")) + " to " + Escape(Str(summary, "endTime")) +
      fmt::format(", seed {}", summary.value("seed", 0)) + "</p></header><main>" + body +
      "</main><script type=application/json id=gputwin-data>" + json + "</script><script>" +
      UplotJs() + "</script><script>" + kScript + "</script></body></html>\n";
  return html;
}

namespace {

// The comparison page's script: the same charts, one series per run, on hours from start.
constexpr const char* kCompareScript = R"js(
(function(){
  const data = JSON.parse(document.getElementById('gputwin-data').textContent);
  const palette = ['#3b82c4','#f0b429','#2d8a5f','#b42318','#7c3aed','#0e7490'];
  function chart(id, title, key) {
    const el = document.getElementById(id);
    const opts = {title: title, width: Math.max(520, el.clientWidth - 8), height: 240,
      series: [{label: 'hours'}].concat(data.runs.map((r, i) => ({label: r.label,
        stroke: palette[i % palette.length], width: 1.5}))),
      scales: {x: {time: false}}, axes: [{label: 'hours from the start'}, {}]};
    new uPlot(opts, [data.hours].concat(data.runs.map(r => r.timelines[key])), el);
    el.dataset.rendered = String(data.runs.length);
  }
  chart('chart-pending', 'Pods Pending', 'pending');
  chart('chart-running', 'Pods Running', 'running');
  chart('chart-gpus', 'GPUs allocated', 'gpuAllocated');
  chart('chart-cost', 'Cost rate (USD per hour)', 'costPerHour');
})();
)js";

}  // namespace

std::string RenderComparison(const std::vector<std::pair<std::string, Json>>& runs) {
  double seconds = 1;
  for (const auto& [label, s] : runs) {
    seconds = std::max(seconds, Seconds(s, "endTime", 0) - Seconds(s, "startTime", 0));
  }
  const int n = std::max(2, std::min(480, static_cast<int>(seconds / 60) + 1));
  std::vector<double> hours(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    hours[static_cast<size_t>(i)] = std::round(seconds / (n - 1) * i / 36.0) / 100.0;
  }
  OJson data{{"hours", hours}, {"runs", OJson::array()}};
  std::vector<std::vector<std::string>> rows = {{"scenario"},
                                                {"cost of the run"},
                                                {"GPU-hours bought"},
                                                {"GPU-hours allocated"},
                                                {"idle GPU cost"},
                                                {"pods Pending at the end"},
                                                {"work lost to evictions"},
                                                {"expectations"}};
  std::vector<std::string> head = {""};
  for (const auto& [label, s] : runs) {
    data["runs"].push_back(OJson{{"label", label}, {"timelines", TimelinesOn(s, seconds, n)}});
    head.push_back(label);
    const auto& cost = Obj(s, "cost");
    int failed = 0;
    for (const auto& e : Arr(s, "expectations")) failed += e.value("passed", true) ? 0 : 1;
    rows[0].push_back(Str(s, "scenario"));
    rows[1].push_back(Money(cost.value("total", 0.0)));
    rows[2].push_back(fmt::format("{:.1f}", cost.value("gpuHours", 0.0)));
    rows[3].push_back(fmt::format("{:.1f}", cost.value("allocatedGpuHours", 0.0)));
    rows[4].push_back(Money(cost.value("idleGpu", 0.0)));
    rows[5].push_back(fmt::format("{}", Obj(Obj(s, "totals"), "podsByPhase").value("Pending", 0)));
    rows[6].push_back(Money(cost.value("lostWorkCost", 0.0)));
    rows[7].push_back(failed ? fmt::format("{} failed", failed) : "all passed");
  }
  std::string json = data.dump();
  for (size_t at = json.find("</"); at != std::string::npos; at = json.find("</", at + 2)) {
    json.replace(at, 2, "<\\/");
  }
  std::string body =
      "<section id=overview><h2>Side by side</h2>" + Table(head, rows) +
      "</section><section id=timelines><h2>Timelines, overlaid</h2><div class=charts>"
      "<div id=chart-pending class=chart></div><div id=chart-running class=chart></div>"
      "<div id=chart-gpus class=chart></div><div id=chart-cost class=chart></div>"
      "</div></section>";
  return "<!doctype html><html lang=en><head><meta charset=utf-8><title>gputwin: comparison"
         "</title><style>" +
         std::string(UplotCss()) + kStyle + "</style></head><body><header><h1>" +
         fmt::format("{} runs compared", runs.size()) + "</h1></header><main>" + body +
         "</main><script type=application/json id=gputwin-data>" + json + "</script><script>" +
         UplotJs() + "</script><script>" + kCompareScript + "</script></body></html>\n";
}

}  // namespace gputwin::report
