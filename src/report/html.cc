#include "report/html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "report/summary_fields.h"
#include "report/timelines.h"

namespace gputwin::report {

// nlohmann::json (keys sorted); not named Json, summary.h's report::Json is ordered_json.
using SortedJson = nlohmann::json;
using OJson = nlohmann::ordered_json;

namespace {

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

}  // namespace

namespace {

constexpr const char* kStyle = R"css(
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#b8c0cc}main{padding:16px 24px;max-width:1400px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:0 0 16px;padding:12px 16px}
h2{font-size:16px;margin:0 0 8px}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #dde1e6;border-radius:6px;padding:8px 12px;min-width:140px}
.card b{display:block;font-size:20px}.card span{color:#5a6473;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:12px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eef0f3;padding:4px 6px;text-align:left;font-size:13px}
th{color:#5a6473;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.gantt{position:relative;height:18px;background:#f0f2f5;border-radius:3px}
.gantt div{position:absolute;top:2px;height:14px;border-radius:3px}
.boot{background:#9aa5b4}.setup{background:#f0b429}.ready{background:#2d8a5f}.spot.ready{background:#3b82c4}
.legend span{display:inline-block;width:12px;height:10px;border-radius:2px;margin:0 4px 0 10px}
.fail{color:#b42318}.pass{color:#2d8a5f}code{font-size:12px}
)css";

// The page's own script: draws every chart that has data from the embedded timelines,
// each in its own div (id chart-...) under #charts.
constexpr const char* kScript = R"js(
(function(){
  const data = JSON.parse(document.getElementById('gputwin-data').textContent);
  const tl = data.timelines;
  const palette = ['#3b82c4','#f0b429','#2d8a5f','#b42318','#7c3aed','#0e7490','#c2410c','#64748b'];
  const holder = document.getElementById('charts');
  function chart(id, title, lines, yLabel) {
    if (!lines.length) return;
    const el = document.createElement('div');
    el.id = id;
    el.className = 'chart';
    holder.appendChild(el);
    const opts = {title: title, width: Math.max(520, el.clientWidth - 8), height: 240,
      // Lines of one group (a ClusterQueue, a GPU model) share a colour.
      series: [{}].concat(lines.map((l, i) => {
        const c = palette[(l.group === undefined ? i : l.group) % palette.length];
        return {label: l.name, stroke: c, width: 1.5, dash: l.dash ? [6, 4] : undefined,
                fill: l.fill ? c + '22' : undefined}; })),
      axes: [{}, {label: yLabel || '', size: 70}], scales: {x: {time: true}}};
    new uPlot(opts, [tl.t].concat(lines.map(l => l.data)), el);
    el.dataset.rendered = String(lines.length);
  }
  const obj = (o) => o || {};
  chart('chart-pods', 'Pods', [{name: 'Pending', data: tl.pending}, {name: 'Running', data: tl.running}], 'pods');
  const order = ['Queued', 'SchedulingGated', 'Unschedulable', 'Nominated', 'ContainerCreating'];
  const why = Object.keys(obj(tl.waiting)).sort((a, b) => order.indexOf(a) - order.indexOf(b));
  chart('chart-waiting', 'Pending pods by why they wait',
        why.map(k => ({name: k, data: tl.waiting[k], fill: true})), 'pods');
  const models = Object.keys(obj(tl.gpusByModel));
  chart('chart-gpus', 'GPU devices by model: capacity (dashed) and allocated',
        models.flatMap((m, g) => [{name: m + ' capacity', data: tl.gpusByModel[m].capacity, dash: true, group: g},
                                  {name: m + ' allocated', data: tl.gpusByModel[m].allocated, fill: true, group: g}]), 'devices');
  const pools = Object.keys(obj(tl.nodesByNodePool));
  chart('chart-nodes', 'Nodes by NodePool and capacity type',
        pools.map(k => ({name: k, data: tl.nodesByNodePool[k], fill: true})), 'nodes');
  chart('chart-cost', 'Cost rate', [{name: 'USD per hour', data: tl.costPerHour, fill: true}], 'USD/h');
  const cqs = Object.keys(obj(tl.kueue));
  chart('chart-kueue', 'Kueue workloads per ClusterQueue: pending (dashed) and admitted',
        cqs.filter(q => tl.kueue[q].pending).flatMap((q, g) => [
          {name: q + ' pending', data: tl.kueue[q].pending, dash: true, group: g},
          {name: q + ' admitted', data: tl.kueue[q].admitted, group: g}]), 'workloads');
  chart('chart-kueue-usage', 'GPUs admitted per ClusterQueue against its nominal quota (dashed)',
        cqs.filter(q => tl.kueue[q].gpusAdmitted).flatMap((q, g) => [
          {name: q + ' admitted', data: tl.kueue[q].gpusAdmitted, fill: true, group: g}].concat(
          tl.kueue[q].gpuNominalQuota ? [{name: q + ' nominal quota', data: tl.kueue[q].gpuNominalQuota, dash: true, group: g}] : [])), 'GPUs');
  const shared = cqs.filter(q => tl.kueue[q].weightedShare && tl.kueue[q].weightedShare.some(v => v > 0));
  chart('chart-kueue-share', 'Weighted share per ClusterQueue (fair sharing)',
        shared.map(q => ({name: q, data: tl.kueue[q].weightedShare})), 'share');
  Object.keys(obj(tl.serving)).forEach((name, i) => {
    const sv = tl.serving[name];
    chart('chart-replicas-' + i, 'Serving replicas: ' + name,
          [{name: 'ready', data: sv.ready, fill: true}, {name: 'all', data: sv.replicas, dash: true}], 'pods');
    chart('chart-ttft-' + i, 'Time to first token: ' + name + ' (worst minute per point)',
          [['p50', sv.ttftP50], ['p95', sv.ttftP95], ['p99', sv.ttftP99]].map(([n, d]) => ({name: n, data: d})), 'seconds');
  });
  const alerts = Object.keys(obj(tl.alerts));
  chart('chart-alerts', 'Alerts firing', alerts.map(a => ({name: a, data: tl.alerts[a], fill: true})), 'alerts');
})();
)js";

// 1234567.8 as "1,234,567.80" (with `decimals` digits after the point).
std::string Grouped(double v, int decimals) {
  std::string digits = fmt::format("{:.{}f}", std::fabs(v), decimals);
  const size_t point = decimals > 0 ? digits.find('.') : digits.size();
  std::string whole = digits.substr(0, point), grouped;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
    grouped += whole[i];
  }
  return (v < 0 ? "-" : "") + grouped + digits.substr(point);
}

std::string Money(double v) {
  return "$" + Grouped(v, 2);
}

// A duration for a card: "850 ms", "42 s", "7.5 min", "3.2 h".
std::string FormatSeconds(double s) {
  if (s < 1) return fmt::format("{:.0f} ms", s * 1000);
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 7200) return fmt::format("{:.1f} min", s / 60);
  return fmt::format("{:.1f} h", s / 3600);
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

std::string RenderHtml(const SortedJson& summary) {
  return RenderHtml(summary, PodSpans::FromSummary(summary));
}

std::string RenderHtml(const SortedJson& summary, const PodSpans& spans) {
  const auto& totals = Obj(summary, "totals");
  const auto& cost = Obj(summary, "cost");
  const double t0 = Seconds(summary, "startTime", 0);
  const double t1 = Seconds(summary, "endTime", t0 + 1);
  OJson data{{"scenario", Str(summary, "scenario")}, {"timelines", Timelines(summary, spans)}};
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
  body += card(Grouped(cost.value("gpuHours", 0.0), 1), "GPU-hours bought");
  body += card(Grouped(cost.value("allocatedGpuHours", 0.0), 1), "GPU-hours allocated");
  body += card(Money(cost.value("idleGpu", 0.0)), "idle GPU cost");
  const double bought = cost.value("gpuHours", 0.0);
  if (bought > 0) {
    body += card(fmt::format("{:.0f} %", 100 * cost.value("allocatedGpuHours", 0.0) / bought),
                 "of GPU-hours allocated");
  }
  body += card(Grouped(totals.value("pods", 0), 0), "pods");
  // Waits: how long pods stayed unbound (those never bound count until the end).
  std::vector<double> waits;
  waits.reserve(spans.spans.size());
  for (const auto& p : spans.spans) {
    const double created = PodSpans::Or(p.created, t0);
    const double until = std::min(
        {PodSpans::Or(p.scheduled, t1), PodSpans::Or(p.deleted, t1), PodSpans::Or(p.finished, t1)});
    waits.push_back(std::max(0.0, until - created));
  }
  if (!waits.empty()) {
    const size_t rank = static_cast<size_t>(std::ceil(0.95 * static_cast<double>(waits.size())));
    std::nth_element(waits.begin(), waits.begin() + static_cast<ptrdiff_t>(rank - 1), waits.end());
    body += card(FormatSeconds(waits[rank - 1]), "pod wait, p95 (to bound)");
  }
  for (const auto& sv : Arr(Obj(summary, "serving"), "services")) {
    const auto& ttft = Obj(sv, "ttftSeconds");
    body += card(FormatSeconds(ttft.value("p95", 0.0)), "TTFT p95, " + Str(sv, "traffic"));
    body +=
        card(fmt::format("{}", sv.value("failed", 0)), "requests failed, " + Str(sv, "traffic"));
  }
  body += card(fmt::format("{}", phases.value("Pending", 0)), "Pending at the end");
  body += card(Money(cost.value("lostWorkCost", 0.0)), "work lost to evictions");
  body += card(fmt::format("{}", fired), "alerts fired");
  body += card(failed ? fmt::format("{} failed", failed) : "all passed", "expectations");
  body += "</div></section>";
  // Timelines.
  body += "<section id=timelines><h2>Timelines</h2><div class=charts id=charts></div></section>";
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
  // Node Gantt: a NodeClaim's launch and boot, GPU set-up until initialized, the node's
  // life, and why it went; static nodes from creation (set-up until Ready).
  // (The run's report keeps only these rows of summary.json's nodes: the count is the spans'.)
  const auto& nodes = Arr(summary, "nodes");
  if (!spans.nodes.empty()) {
    std::map<std::string, const SortedJson*> claim_of;
    int failed_claims = 0;
    for (const auto& c : Arr(Obj(summary, "karpenter"), "nodeClaims")) {
      if (c.contains("node") && c["node"].is_string()) claim_of[c["node"].get<std::string>()] = &c;
      if (!Str(c, "launchError").empty()) ++failed_claims;
    }
    constexpr size_t kMaxRows = kGanttNodeRows;
    std::string rows;
    const double span = std::max(1.0, t1 - t0);
    auto pct = [&](double x) { return 100.0 * (std::clamp(x, t0, t1) - t0) / span; };
    auto bar = [&](const char* cls, double from, double to, const std::string& title) {
      if (to < from) to = from;
      return fmt::format("<div class='{}' style='left:{:.3f}%;width:{:.3f}%' title='{}'></div>",
                         cls, pct(from), std::max(0.2, pct(to) - pct(from)), Escape(title));
    };
    for (size_t i = 0; i < nodes.size() && i < kMaxRows; ++i) {
      const auto& n = nodes[i];
      const std::string name = Str(n, "name");
      const auto& labels = Obj(n, "labels");
      const std::string ct = labels.value("karpenter.sh/capacity-type", std::string(""));
      const double created = Seconds(n, "createdAt", t0), deleted = Seconds(n, "deletedAt", t1);
      std::string bars, why = Str(n, "deletedAt").empty() ? "" : "deleted";
      auto claim = claim_of.find(name);
      if (claim != claim_of.end()) {
        const SortedJson& c = *claim->second;
        const double launched = Seconds(c, "createdAt", created);
        const double registered = Seconds(c, "registeredAt", created);
        const double initialized = Seconds(c, "initializedAt", deleted);
        bars += bar("boot", launched, registered,
                    fmt::format("NodeClaim {} launched; registered after {:.0f} s", Str(c, "name"),
                                registered - launched));
        bars += bar("setup", registered, initialized,
                    fmt::format("registered to initialized (GPU stack, device plugin): {:.0f} s",
                                initialized - registered));
        bars += bar(("ready " + ct).c_str(), initialized, deleted,
                    "initialized " + Str(c, "initializedAt"));
        if (const std::string r = Str(c, "disruptionReason"); !r.empty()) why = r;
        if (const std::string b = Str(c, "drainBlocked"); !b.empty())
          why += " (drain blocked: " + b + ")";
      } else {
        const double ready = Seconds(n, "readyAt", deleted);
        bars += bar("setup", created, ready,
                    fmt::format("created to Ready: {:.0f} s", ready - created));
        bars += bar(("ready " + ct).c_str(), ready, deleted, "Ready " + Str(n, "readyAt"));
      }
      rows += "<tr><td>" + Escape(name) + "</td><td>" +
              Escape(labels.value("node.kubernetes.io/instance-type", std::string(""))) +
              (ct.empty() ? "" : " " + Escape(ct)) +
              "</td><td style='width:55%'><div class=gantt>" + bars + "</div></td><td>" +
              Escape(why) + "</td></tr>";
    }
    std::string note;
    if (spans.nodes.size() > kMaxRows) {
      note = fmt::format("<p>The first {} of {} nodes, by creation; summary.json has them all.</p>",
                         kMaxRows, spans.nodes.size());
    }
    if (failed_claims > 0) {
      note += fmt::format(
          "<p>{} NodeClaims failed to launch (no node; see <code>karpenter.nodeClaims[].launchError"
          "</code>).</p>",
          failed_claims);
    }
    body +=
        "<section id=nodes><h2>Nodes</h2><p class=legend><span class=boot></span> launch and "
        "boot <span class=setup></span> GPU set-up until initialized <span class=ready></span> "
        "in service <span class='ready spot'></span> in service (spot)</p><table><tr><th>node"
        "</th><th>type</th><th>timeline</th><th>why it went</th></tr>" +
        rows + "</table>" + note + "</section>";
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
  // Distributed training: each gang's useful, waiting and lost GPU-hours.
  {
    std::vector<std::vector<std::string>> rows;
    auto add = [&](const SortedJson& j, const char* kind, const std::string& state) {
      rows.push_back({Str(j, "namespace") + "/" + Str(j, "name"), kind,
                      state.empty() ? "Active" : state,
                      fmt::format("{:.1f}", j.value("gpuHoursAdvancing", 0.0)),
                      fmt::format("{:.1f}", j.value("gpuHoursWaitingForGang", 0.0)),
                      FormatSeconds(j.value("secondsWaitingForGang", 0.0)),
                      fmt::format("{:.1f}", j.value("gpuHoursLost", 0.0))});
    };
    for (const auto& js : Arr(summary, "jobSets")) add(js, "JobSet", Str(js, "terminalState"));
    for (const auto& pj : Arr(summary, "pyTorchJobs")) add(pj, "PyTorchJob", Str(pj, "condition"));
    for (const auto& rj : Arr(summary, "rayJobs"))
      add(rj, "RayJob", Str(rj, "jobDeploymentStatus"));
    if (!rows.empty()) {
      body += "<section id=training><h2>Distributed training: GPU-hours of each gang</h2>" +
              Table({"job", "kind", "state", "advancing", "waiting for a full gang", "waited",
                     "lost to restarts"},
                    rows) +
              "<p>A gang advances only while all its pods run; while one is missing the "
              "others hold their GPUs and wait.</p></section>";
    }
  }
  // Model servers: where each replica's minutes went from creation to Ready.
  if (const auto& replicas = Arr(Obj(summary, "serving"), "replicas"); !replicas.empty()) {
    std::vector<std::vector<std::string>> rows;
    auto num = [](const SortedJson& r, const char* key) { return r.value(key, 0.0); };
    for (const auto& r : replicas) {
      if (!r.contains("ready")) {
        rows.push_back({Str(r, "pod"), Str(r, "node"), "", "", "", "", "", Str(r, "failure")});
        continue;
      }
      const double created = num(r, "created");
      rows.push_back(
          {Str(r, "pod"), Str(r, "node") + " " + Str(r, "gpu"),
           fmt::format("{:.0f}", num(r, "scheduled") - created),
           fmt::format("{:.0f}", num(r, "imagePullSeconds")),
           fmt::format("{:.1f} ({})", num(r, "weightLoadSeconds"), Str(r, "weightSource")),
           fmt::format("{:.0f}", num(r, "warmupSeconds")),
           fmt::format("{:.0f}", num(r, "ready") - created),
           fmt::format("{}", r.value("requests", 0))});
      if (rows.size() == 1000) break;
    }
    body +=
        "<section id=serving-cold-starts><h2>Model server replicas: created to Ready (seconds)"
        "</h2>" +
        Table({"pod", "node", "to scheduled", "image pull", "weights (source)", "warm-up",
               "to Ready", "requests served"},
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
    std::stable_sort(items.begin(), items.end(),
                     [](auto& a, auto& b) { return a.second > b.second; });
    // The costliest 50: a month of a big platform has a hundred thousand Jobs.
    constexpr size_t kMaxRows = 50;
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < items.size() && i < kMaxRows; ++i) {
      rows.push_back({items[i].first, Money(items[i].second)});
    }
    std::string more;
    if (items.size() > kMaxRows) {
      double rest = 0;
      for (size_t i = kMaxRows; i < items.size(); ++i) rest += items[i].second;
      more = fmt::format(
          "<p>and {} more, {} together (summary.json's <code>cost.{}</code> "
          "has them all)</p>",
          items.size() - kMaxRows, Money(rest), key);
    }
    cost_html += "<div><h3>By " + title + "</h3>" + Table({title, "cost"}, rows) + more + "</div>";
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
  const holder = document.getElementById('charts');
  function chart(id, title, pick) {
    const series = data.runs.map(r => pick(r.timelines));
    if (series.some(s => !s)) return;  // drawn only when every run has it
    const el = document.createElement('div');
    el.id = id;
    el.className = 'chart';
    holder.appendChild(el);
    const opts = {title: title, width: Math.max(520, el.clientWidth - 8), height: 240,
      series: [{label: 'hours'}].concat(data.runs.map((r, i) => ({label: r.label,
        stroke: palette[i % palette.length], width: 1.5}))),
      scales: {x: {time: false}}, axes: [{label: 'hours from the start'}, {}]};
    new uPlot(opts, [data.hours].concat(series), el);
    el.dataset.rendered = String(series.length);
  }
  // The first traffic stream of a run that serves a model.
  const served = t => { const k = Object.keys(t.serving || {}); return k.length ? t.serving[k[0]] : {}; };
  chart('chart-pending', 'Pods Pending', t => t.pending);
  chart('chart-running', 'Pods Running', t => t.running);
  chart('chart-gpus', 'GPU devices allocated', t => t.gpuAllocated);
  chart('chart-cost', 'Cost rate (USD per hour)', t => t.costPerHour);
  chart('chart-ready', 'Ready serving replicas', t => served(t).ready);
  chart('chart-ttft', 'TTFT p95, seconds (worst minute per point)', t => served(t).ttftP95);
})();
)js";

}  // namespace

std::string RenderComparison(const std::vector<std::pair<std::string, SortedJson>>& runs) {
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
                                                {"expectations"},
                                                {"TTFT p95 (first traffic stream)"},
                                                {"requests failed (first traffic stream)"}};
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
    const auto& services = Arr(Obj(s, "serving"), "services");
    const SortedJson first = services.empty() ? SortedJson::object() : services[0];
    rows[8].push_back(
        services.empty() ? "" : FormatSeconds(Obj(first, "ttftSeconds").value("p95", 0.0)));
    rows[9].push_back(services.empty() ? "" : fmt::format("{}", first.value("failed", 0)));
  }
  if (std::all_of(rows[8].begin() + 1, rows[8].end(), [](const auto& c) { return c.empty(); })) {
    rows.resize(8);  // no run serves a model
  }
  std::string json = data.dump();
  for (size_t at = json.find("</"); at != std::string::npos; at = json.find("</", at + 2)) {
    json.replace(at, 2, "<\\/");
  }
  std::string body = "<section id=overview><h2>Side by side</h2>" + Table(head, rows) +
                     "</section><section id=timelines><h2>Timelines, overlaid</h2>"
                     "<div class=charts id=charts></div></section>";
  return "<!doctype html><html lang=en><head><meta charset=utf-8><title>gputwin: comparison"
         "</title><style>" +
         std::string(UplotCss()) + kStyle + "</style></head><body><header><h1>" +
         fmt::format("{} runs compared", runs.size()) + "</h1></header><main>" + body +
         "</main><script type=application/json id=gputwin-data>" + json + "</script><script>" +
         UplotJs() + "</script><script>" + kCompareScript + "</script></body></html>\n";
}

std::string EscapeHtml(const std::string& s) {
  return Escape(s);
}
std::string HtmlTable(const std::vector<std::string>& head,
                      const std::vector<std::vector<std::string>>& rows) {
  return Table(head, rows);
}
const char* ReportStyle() {
  return kStyle;
}

}  // namespace gputwin::report
