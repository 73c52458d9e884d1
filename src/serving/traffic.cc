#include "serving/traffic.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/csv.h"
#include "core/errors.h"

namespace gputwin::serving {
namespace {

// "2023-11-16 18:15:46.6805900" -> seconds since 2023-11-16 00:00 of that day, plus days.
bool ParseTimestamp(const std::string& s, double* out) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  double sec = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%d %d:%d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6) return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec < 0 || sec >= 61) {
    return false;
  }
  // Days from civil (Howard Hinnant's algorithm), so a trace may cross midnight or months.
  const int yy = y - (mo <= 2);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy = static_cast<unsigned>((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const double days = double(era) * 146097 + double(doe);
  *out = days * 86400.0 + h * 3600.0 + mi * 60.0 + sec;
  return true;
}

}  // namespace

std::vector<TraceRequest> ReadAzureLlmTrace(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw InputError(SourceRef{file, 0}, "", "cannot read the trace file");
  std::string line;
  int n = 0;
  std::vector<TraceRequest> out;
  int ts_col = -1, prompt_col = -1, output_col = -1;
  double first = 0, last = -1e300;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto cells = SplitCsvLine(line);
    if (ts_col < 0) {
      for (size_t i = 0; i < cells.size(); ++i) {
        if (cells[i] == "TIMESTAMP") ts_col = static_cast<int>(i);
        if (cells[i] == "ContextTokens") prompt_col = static_cast<int>(i);
        if (cells[i] == "GeneratedTokens") output_col = static_cast<int>(i);
      }
      if (ts_col < 0 || prompt_col < 0 || output_col < 0) {
        throw InputError(SourceRef{file, n}, "",
                         "expected the header TIMESTAMP,ContextTokens,GeneratedTokens of the "
                         "Azure LLM inference trace");
      }
      continue;
    }
    const size_t need = static_cast<size_t>(std::max({ts_col, prompt_col, output_col}));
    if (cells.size() <= need) {
      throw InputError(SourceRef{file, n}, "",
                       "expected 3 columns, found " + std::to_string(cells.size()));
    }
    double t = 0;
    if (!ParseTimestamp(cells[static_cast<size_t>(ts_col)], &t)) {
      throw InputError(SourceRef{file, n}, "TIMESTAMP",
                       "\"" + cells[static_cast<size_t>(ts_col)] +
                           "\" is not a timestamp like 2023-11-16 18:15:46.6805900");
    }
    auto count = [&](int col, const char* name) {
      const std::string& c = cells[static_cast<size_t>(col)];
      size_t used = 0;
      long v = -1;
      try {
        v = std::stol(c, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != c.size() || v < 0 || v > 10'000'000) {
        throw InputError(SourceRef{file, n}, name,
                         "\"" + c + "\" is not a token count (a non-negative integer)");
      }
      return static_cast<int32_t>(v);
    };
    TraceRequest r;
    r.prompt = count(prompt_col, "ContextTokens");
    r.output = count(output_col, "GeneratedTokens");
    if (out.empty()) first = t;
    if (t < last) {
      throw InputError(SourceRef{file, n}, "TIMESTAMP",
                       "rows must be in time order (this one is earlier than the row before)");
    }
    last = t;
    r.offset = t - first;
    out.push_back(r);
  }
  if (out.empty()) throw InputError(SourceRef{file, n}, "", "the trace has no requests");
  return out;
}

TrafficSource::TrafficSource(const api::TrafficSpec& spec, uint64_t seed,
                             std::shared_ptr<const std::vector<TraceRequest>> trace,
                             double run_seconds)
    : spec_(spec), rng_(seed, "traffic/" + spec.name), trace_(std::move(trace)) {
  end_ = spec.stop ? std::min(run_seconds, spec.stop->seconds()) : run_seconds;
  t_ = spec.start.seconds();
}

double TrafficSource::BaseRate(double t) const {
  if (!spec_.ramp.empty()) {
    const auto& r = spec_.ramp;
    if (t <= r.front().at.seconds()) return r.front().rate;
    for (size_t i = 1; i < r.size(); ++i) {
      const double t1 = r[i].at.seconds();
      if (t <= t1) {
        const double t0 = r[i - 1].at.seconds();
        return r[i - 1].rate + (r[i].rate - r[i - 1].rate) * (t - t0) / (t1 - t0);
      }
    }
    return r.back().rate;
  }
  if (spec_.diurnal) {
    // A cosine over the day, highest at peakAt.
    const auto& d = *spec_.diurnal;
    const double phase = 2.0 * M_PI * (t - d.peak_at.seconds()) / 86400.0;
    return d.min + (d.max - d.min) * (1.0 + std::cos(phase)) / 2.0;
  }
  return spec_.rate;
}

double TrafficSource::Rate(double t) const {
  double r = BaseRate(t);
  for (const auto& b : spec_.bursts) {
    if (t >= b.at.seconds() && t < (b.at + b.duration).seconds()) r *= b.multiplier;
  }
  return r;
}

double TrafficSource::MaxRate() const {
  double base = spec_.rate;
  for (const auto& p : spec_.ramp) base = std::max(base, p.rate);
  if (spec_.diurnal) base = std::max(base, spec_.diurnal->max);
  double burst = 1;
  for (const auto& b : spec_.bursts) burst = std::max(burst, b.multiplier);
  return base * burst;
}

int32_t TrafficSource::Draw(const api::TokenDistribution& d) {
  double v = d.mean;
  if (d.distribution == "exponential") {
    v = rng_.Exponential(d.mean);
  } else if (d.distribution == "lognormal") {
    const double mu = std::log(d.mean) - d.sigma * d.sigma / 2.0;
    v = std::exp(mu + d.sigma * rng_.Normal());
  }
  const double r = std::round(v);
  return static_cast<int32_t>(std::clamp<double>(r, double(d.min), double(d.max)));
}

bool TrafficSource::Next(Arrival* out) {
  if (trace_) {
    const auto& tr = *trace_;
    if (trace_index_ >= tr.size()) {
      if (!spec_.trace_loop) return false;
      // The next loop starts one mean gap after the trace's last request.
      const double span = tr.back().offset;
      const double gap = tr.size() > 1 ? span / double(tr.size() - 1) : 1.0;
      trace_loop_offset_ += span + gap;
      trace_index_ = 0;
    }
    // One request per arrival event, with the whole simulation in between: fetch ahead.
    if (trace_index_ + 8 < tr.size()) __builtin_prefetch(&tr[trace_index_ + 8]);
    const TraceRequest& r = tr[trace_index_++];
    const double at =
        spec_.start.seconds() + (trace_loop_offset_ + r.offset) / spec_.trace_rate_scale;
    if (at >= end_) return false;
    out->at = at;
    out->prompt = spec_.prompt_tokens.mean > 0 ? Draw(spec_.prompt_tokens) : std::max(1, r.prompt);
    out->output = spec_.output_tokens.mean > 0 ? Draw(spec_.output_tokens) : std::max(1, r.output);
    return true;
  }
  // Thinning (Lewis and Shedler): candidates at the highest rate, kept with rate(t) / max.
  const double max = MaxRate();
  if (max <= 0) return false;
  for (;;) {
    t_ += rng_.Exponential(1.0 / max);
    if (t_ >= end_) return false;
    const double keep = Rate(t_) / max;
    if (keep >= 1.0 || rng_.Uniform() < keep) break;
  }
  out->at = t_;
  out->prompt = Draw(spec_.prompt_tokens);
  out->output = Draw(spec_.output_tokens);
  return true;
}

}  // namespace gputwin::serving
