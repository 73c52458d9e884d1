// An inline SVG rather than a uPlot chart: a scatter of a few hundred points with error bars
// and labels, the same bytes for the same sweep, readable without JavaScript.
#include "report/sweep_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "report/html.h"

namespace gputwin::report {

using Json = nlohmann::ordered_json;

namespace {

bool IsMoney(const std::string& figure) {
  return figure.starts_with("cost") || figure.ends_with("Cost") || figure == "spotSavings";
}

std::string Value(const std::string& figure, double v) {
  if (IsMoney(figure)) return fmt::format("${:.2f}", v);
  if (figure.find("Seconds") != std::string::npos) {
    if (std::abs(v) < 120) return fmt::format("{:.3g} s", v);
    if (std::abs(v) < 7200) return fmt::format("{:.1f} min", v / 60);
    return fmt::format("{:.1f} h", v / 3600);
  }
  if (figure.find("Ratio") != std::string::npos || figure == "gpuAllocation") {
    return fmt::format("{:.3g} %", v * 100);
  }
  return fmt::format("{:.4g}", v);
}

std::optional<double> Mean(const Json& point, const std::string& figure) {
  const Json& m = point.at("mean");
  if (!m.contains(figure)) return std::nullopt;
  return m.at(figure).get<double>();
}

double Ci(const Json& point, const std::string& figure) {
  if (!point.contains("ci95") || !point.at("ci95").contains(figure)) return 0;
  return point.at("ci95").at(figure).get<double>();
}

std::string WithCi(const Json& point, const std::string& figure) {
  const auto m = Mean(point, figure);
  if (!m) return "";
  const double ci = Ci(point, figure);
  return ci > 0 ? Value(figure, *m) + " ± " + Value(figure, ci) : Value(figure, *m);
}

std::string Bound(const Json& o) {
  const std::string figure = o.at("figure").get<std::string>();
  std::string out = figure;
  if (o.contains("min")) out += " ≥ " + Value(figure, o.at("min").get<double>());
  if (o.contains("max")) out += " ≤ " + Value(figure, o.at("max").get<double>());
  return out;
}

// Points (x, y) where lower is better on both axes (y flipped when the objective is a
// minimum): those no other point beats on both, by increasing x.
std::vector<size_t> ParetoFront(const std::vector<std::pair<double, double>>& xy) {
  std::vector<size_t> order(xy.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return xy[a].first < xy[b].first || (xy[a].first == xy[b].first && xy[a].second < xy[b].second);
  });
  std::vector<size_t> front;
  double best_y = INFINITY;
  for (size_t i : order) {
    if (xy[i].second < best_y) {
      front.push_back(i);
      best_y = xy[i].second;
    }
  }
  return front;
}

std::string ParetoChart(const Json& sweep, const std::string& xf, const std::string& yf,
                        bool y_lower_is_better, const std::optional<double>& y_bound) {
  const Json& points = sweep.at("points");
  std::vector<size_t> shown;
  std::vector<std::pair<double, double>> xy;
  for (size_t i = 0; i < points.size(); ++i) {
    const auto x = Mean(points[i], xf), y = Mean(points[i], yf);
    if (!x || !y) continue;
    shown.push_back(i);
    xy.emplace_back(*x, *y);
  }
  if (shown.empty()) return "<p>No point has both figures.</p>";
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (size_t k = 0; k < shown.size(); ++k) {
    const double cx = Ci(points[shown[k]], xf), cy = Ci(points[shown[k]], yf);
    x0 = std::min(x0, xy[k].first - cx);
    x1 = std::max(x1, xy[k].first + cx);
    y0 = std::min(y0, xy[k].second - cy);
    y1 = std::max(y1, xy[k].second + cy);
  }
  if (y_bound) {
    y0 = std::min(y0, *y_bound);
    y1 = std::max(y1, *y_bound);
  }
  // Axes from zero when the figures are non-negative, padded by 8 %.
  if (x0 >= 0) x0 = 0;
  if (y0 >= 0) y0 = 0;
  const double xpad = (x1 - x0) * 0.08 + 1e-9, ypad = (y1 - y0) * 0.08 + 1e-9;
  x1 += xpad;
  y1 += ypad;
  constexpr double W = 720, H = 380, L = 80, R = 20, T = 16, B = 48;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  std::string svg = fmt::format(
      "<svg id='pareto' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {} {}' width='{}' "
      "height={} role='img' aria-label='Pareto chart'>",
      W, H, W, H);
  svg += fmt::format(
      "<rect x='{}' y='{}' width='{:.1f}' height='{:.1f}' fill='#fff' stroke='#dde1e6'/>", L, T,
      W - L - R, H - T - B);
  for (int t = 0; t <= 4; ++t) {
    const double xv = x0 + (x1 - x0) * t / 4, yv = y0 + (y1 - y0) * t / 4;
    svg += fmt::format(
        "<text x='{:.1f}' y='{:.1f}' font-size='11' text-anchor='middle' fill='#5a6473'>{}</text>",
        px(xv), H - B + 16, EscapeHtml(Value(xf, xv)));
    svg += fmt::format(
        "<text x='{:.1f}' y='{:.1f}' font-size='11' text-anchor='end' fill='#5a6473'>{}</text>",
        L - 6, py(yv) + 4, EscapeHtml(Value(yf, yv)));
  }
  svg += fmt::format(
      "<text x='{:.1f}' y='{:.1f}' font-size='12' text-anchor='middle' fill='#1d2430'>{}</text>",
      L + (W - L - R) / 2, H - 10, EscapeHtml(xf + " (less is better)"));
  svg += fmt::format(
      "<text x='14' y='{:.1f}' font-size='12' text-anchor='middle' fill='#1d2430' "
      "transform='rotate(-90 14 {:.1f})'>{}</text>",
      T + (H - T - B) / 2, T + (H - T - B) / 2, EscapeHtml(yf));
  if (y_bound) {
    svg += fmt::format(
        "<line class='objective' x1='{}' y1='{:.1f}' x2='{:.1f}' y2='{:.1f}' stroke='#b42318' "
        "stroke-dasharray='6 4'/><text x='{:.1f}' y='{:.1f}' font-size='11' "
        "fill='#b42318'>objective</text>",
        L, py(*y_bound), W - R, py(*y_bound), L + 4, py(*y_bound) - 4);
  }
  // The front, with y turned so that lower is better.
  std::vector<std::pair<double, double>> oriented = xy;
  if (!y_lower_is_better) {
    for (auto& p : oriented) p.second = -p.second;
  }
  const std::vector<size_t> front = ParetoFront(oriented);
  if (front.size() > 1) {
    std::string path;
    for (size_t k : front) path += fmt::format("{:.1f},{:.1f} ", px(xy[k].first), py(xy[k].second));
    path.pop_back();
    svg += "<polyline class='front' points='" + path +
           "' fill='none' stroke='#3b82c4' stroke-width='1.5' stroke-opacity='0.6'/>";
  }
  const Json& best = sweep.at("best");
  for (size_t k = 0; k < shown.size(); ++k) {
    const Json& p = points[shown[k]];
    const double x = px(xy[k].first), y = py(xy[k].second);
    const double cx = Ci(p, xf), cy = Ci(p, yf);
    if (cx > 0) {
      svg += fmt::format("<line x1='{:.1f}' y1='{:.1f}' x2='{:.1f}' y2='{:.1f}' stroke='#9aa5b4'/>",
                         px(xy[k].first - cx), y, px(xy[k].first + cx), y);
    }
    if (cy > 0) {
      svg += fmt::format("<line x1='{:.1f}' y1='{:.1f}' x2='{:.1f}' y2='{:.1f}' stroke='#9aa5b4'/>",
                         x, py(xy[k].second - cy), x, py(xy[k].second + cy));
    }
    const bool meets = p.value("meetsObjectives", true);
    const bool is_best = !best.is_null() && best.at("point") == p.at("point");
    const std::string name = p.at("name").get<std::string>();
    svg += fmt::format(
        "<circle class='point{}{}' cx='{:.1f}' cy='{:.1f}' r='{}' fill='{}' stroke='#1d2430' "
        "stroke-width='{}'><title>{}</title></circle>",
        meets ? " meets" : " misses", is_best ? " best" : "", x, y, is_best ? 7 : 5,
        meets ? "#2d8a5f" : "#b42318", is_best ? 2.5 : 0.5,
        EscapeHtml(name + ": " + Value(xf, xy[k].first) + ", " + Value(yf, xy[k].second)));
    // Labels right of their dot, left of it in the right third of the chart.
    const bool left = x > L + (W - L - R) * 2 / 3;
    svg += fmt::format(
        "<text x='{:.1f}' y='{:.1f}' font-size='11' text-anchor='{}' fill='#1d2430'>{}</text>",
        left ? x - 8 : x + 8, y - 6, left ? "end" : "start", EscapeHtml(name));
  }
  return svg + "</svg>";
}

}  // namespace

std::string RenderSweepReport(const Json& sweep) {
  const std::string name = sweep.at("sweep").get<std::string>();
  const std::string minimize = sweep.at("minimize").get<std::string>();
  const Json& points = sweep.at("points");
  const Json& objectives = sweep.at("objectives");
  const Json& best = sweep.at("best");
  const size_t seeds = std::max<size_t>(1, sweep.at("seeds").size());

  // The verdict, in words.
  std::string verdict;
  if (objectives.empty()) {
    verdict = best.is_null()
                  ? "<p>No point has " + EscapeHtml(minimize) + ".</p>"
                  : "<p>Least " + EscapeHtml(minimize) + ": <b>" +
                        EscapeHtml(best.at("name").get<std::string>()) + "</b>, " +
                        EscapeHtml(Value(minimize, best.at(minimize).get<double>())) + ".</p>";
  } else {
    std::string goals;
    for (size_t i = 0; i < objectives.size(); ++i) {
      goals += (i ? ", " : "") + EscapeHtml(Bound(objectives[i]));
    }
    if (best.is_null()) {
      verdict = "<p class=fail><b>No point meets every objective</b> (" + goals + ").</p>";
    } else {
      const double bv = best.at(minimize).get<double>();
      verdict = "<p class=verdict><b>" + EscapeHtml(best.at("name").get<std::string>()) +
                "</b> meets every objective (" + goals + ") at the least " + EscapeHtml(minimize) +
                ": <b>" + EscapeHtml(Value(minimize, bv)) + "</b>.</p>";
      // What the cheaper points give up.
      std::string cheaper;
      for (const auto& p : points) {
        const auto v = Mean(p, minimize);
        if (!v || *v >= bv || p.value("meetsObjectives", true)) continue;
        std::string missed;
        for (const auto& f : p.at("missed")) {
          const std::string fig = f.get<std::string>();
          const auto m = Mean(p, fig);
          missed += (missed.empty() ? "" : ", ") + fig + " " + (m ? Value(fig, *m) : "absent");
        }
        cheaper += "<li>" + EscapeHtml(p.at("name").get<std::string>()) + " (" +
                   EscapeHtml(Value(minimize, *v)) + ") misses " + EscapeHtml(missed) + "</li>";
      }
      if (!cheaper.empty()) verdict += "<p>Cheaper points that miss:</p><ul>" + cheaper + "</ul>";
    }
  }

  // The table: one row per point.
  std::vector<std::string> head = {"point"};
  for (const auto& a : sweep.at("axes")) head.push_back(a.at("name").get<std::string>());
  head.push_back(minimize);
  std::vector<std::string> figures;
  for (const auto& o : objectives) {
    const std::string f = o.at("figure").get<std::string>();
    if (f != minimize && std::find(figures.begin(), figures.end(), f) == figures.end())
      figures.push_back(f);
  }
  for (const char* f : {"cost", "gpuHours", "podWaitSecondsP95", "podsPending"}) {
    if (f != minimize && std::find(figures.begin(), figures.end(), f) == figures.end())
      figures.push_back(f);
  }
  for (const auto& f : figures) head.push_back(f);
  if (!objectives.empty()) head.push_back("objectives");
  head.push_back("expectations");
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < points.size(); ++i) {
    const Json& p = points[i];
    std::vector<std::string> row = {p.at("name").get<std::string>()};
    for (const auto& v : p.at("variants")) row.push_back(v.get<std::string>());
    row.push_back(WithCi(p, minimize));
    for (const auto& f : figures) row.push_back(WithCi(p, f));
    if (!objectives.empty()) {
      const bool is_best = !best.is_null() && best.at("point") == p.at("point");
      row.push_back(p.value("meetsObjectives", false) ? (is_best ? "met, best" : "met") : "missed");
    }
    size_t passed = 0, runs = p.at("runs").size();
    for (const auto& r : p.at("runs")) passed += r.at("expectationsPassed").get<bool>() ? 1 : 0;
    row.push_back(fmt::format("{} of {} runs passed", passed, runs));
    rows.push_back(std::move(row));
  }

  std::string chart;
  if (!objectives.empty()) {
    const Json& o = objectives.front();
    const std::string yf = o.at("figure").get<std::string>();
    const std::optional<double> bound =
        o.contains("max")   ? std::optional<double>(o.at("max").get<double>())
        : o.contains("min") ? std::optional<double>(o.at("min").get<double>())
                            : std::nullopt;
    chart = ParetoChart(sweep, minimize, yf, !o.contains("min") || o.contains("max"), bound);
  } else {
    chart = ParetoChart(sweep, minimize, "podWaitSecondsP95", true, std::nullopt);
  }

  std::string body = "<section id=verdict><h2>Which setup wins</h2>" + verdict + "</section>";
  body += "<section id=pareto-chart><h2>" + EscapeHtml(minimize) + " against " +
          EscapeHtml(objectives.empty() ? std::string("podWaitSecondsP95")
                                        : objectives.front().at("figure").get<std::string>()) +
          "</h2><p>Each dot is a point (the mean over its seeds, bars: 95 % confidence); green "
          "meets every objective, red misses one; the ringed one is the best; the blue line "
          "joins the points no other beats on both axes.</p>" +
          chart + "</section>";
  body += "<section id=points><h2>Every point</h2>" + HtmlTable(head, rows) +
          "<p>Each run's summary.json is in runs/; <code>gputwin report</code> draws one, or "
          "several side by side.</p></section>";
  return "<!doctype html><html lang=en><head><meta charset=utf-8><title>gputwin sweep: " +
         EscapeHtml(name) + "</title><style>" + ReportStyle() +
         ".verdict{font-size:15px}</style></head><body><header><h1>Sweep " + EscapeHtml(name) +
         "</h1><p>" +
         fmt::format("{} points × {} seed{}", points.size(), seeds, seeds > 1 ? "s" : "") +
         "</p></header><main>" + body + "</main></body></html>\n";
}

}  // namespace gputwin::report
