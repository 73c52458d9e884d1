#include "scheduler/profile.h"

#include <algorithm>
#include <map>
#include <set>

#include "scheduler/registry.h"

namespace gputwin::scheduler {

namespace {

struct Entry {
  std::string name;
  std::optional<int64_t> weight;
};

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// mergePluginSet: the defaults without the disabled ones (user entries replace default
// ones in place), then the user's other entries; "*" disabled drops every default.
std::vector<Entry> MergePluginSet(const std::vector<Entry>& defaults,
                                  const api::SchedulerPluginSet* user) {
  std::vector<Entry> out;
  std::vector<std::string> disabled = user ? user->disabled : std::vector<std::string>{};
  std::set<std::string> placed;
  if (!Contains(disabled, "*")) {
    for (const auto& d : defaults) {
      if (Contains(disabled, d.name)) continue;
      Entry e = d;
      if (user) {
        for (const auto& u : user->enabled) {
          if (u.name == d.name) e = Entry{u.name, u.weight};
        }
      }
      placed.insert(e.name);
      out.push_back(e);
    }
  }
  if (user) {
    for (const auto& u : user->enabled) {
      if (placed.insert(u.name).second) out.push_back(Entry{u.name, u.weight});
    }
  }
  return out;
}

// expandMultiPointPlugins for one extension point: the point's own entries that also are
// multiPoint plugins first (overrides), then the multiPoint plugins implementing the point
// and not disabled there, then the point's remaining entries.
std::vector<Entry> Expand(const std::vector<Entry>& multi, const api::SchedulerPluginSet* point,
                          uint32_t point_bit) {
  std::vector<Entry> overrides, rest, out;
  std::set<std::string> multi_names;
  for (const auto& m : multi) multi_names.insert(m.name);
  if (point) {
    for (const auto& u : point->enabled) {
      (multi_names.count(u.name) ? overrides : rest).push_back(Entry{u.name, u.weight});
    }
  }
  out = overrides;
  const bool all_disabled = point && Contains(point->disabled, "*");
  if (!all_disabled) {
    for (const auto& m : multi) {
      const RegisteredPlugin* r = FindPlugin(m.name);
      if (r && !(r->points & point_bit)) continue;
      if (point && Contains(point->disabled, m.name)) continue;
      bool overridden = std::any_of(overrides.begin(), overrides.end(),
                                    [&](const Entry& e) { return e.name == m.name; });
      if (!overridden) out.push_back(m);
    }
  }
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

std::vector<std::string> Names(const std::vector<Entry>& v) {
  std::vector<std::string> out;
  for (const auto& e : v) out.push_back(e.name);
  return out;
}

Profile Build(const api::KubeSchedulerConfiguration* c, Diagnostics* diag) {
  auto set = [&](const char* point) -> const api::SchedulerPluginSet* {
    if (!c) return nullptr;
    auto it = c->plugins.find(point);
    return it == c->plugins.end() ? nullptr : &it->second;
  };
  std::vector<Entry> defaults;
  for (const auto& r : InTreeRegistry()) {
    if (!r.in_default_profile) continue;
    defaults.push_back(Entry{
        r.name, r.default_weight > 0 ? std::optional<int64_t>(r.default_weight) : std::nullopt});
  }
  std::vector<Entry> multi = MergePluginSet(defaults, set("multiPoint"));
  // Plugins the twin does not know (out-of-tree) are warned about once, and left out.
  if (c && diag) {
    std::set<std::string> warned;
    for (const auto& [point, s] : c->plugins) {
      for (const auto& e : s.enabled) {
        if (FindPlugin(e.name) || !warned.insert(e.name).second) continue;
        diag->Warn(e.source, "plugins." + point + ".enabled",
                   "plugin \"" + e.name +
                       "\" is not one the twin knows (an out-of-tree plugin?): the twin "
                       "schedules without it");
      }
    }
    for (const char* point :
         {"preFilter", "preScore", "queueSort", "permit", "preBind", "bind", "postBind"}) {
      const auto* s = set(point);
      if (!s || (s->enabled.empty() && s->disabled.empty())) continue;
      diag->Warn(c->source, std::string("plugins.") + point,
                 std::string("the twin configures ") + point +
                     " together with its plugins' other extension points (filter, score); "
                     "this setting is not modelled on its own");
    }
  }
  auto known = [](std::vector<Entry> v) {
    v.erase(std::remove_if(v.begin(), v.end(),
                           [](const Entry& e) {
                             const RegisteredPlugin* r = FindPlugin(e.name);
                             return !r || !r->factory;
                           }),
            v.end());
    return v;
  };
  Profile p;
  p.pre_enqueue = Names(known(Expand(multi, set("preEnqueue"), kPreEnqueuePoint)));
  p.filter = Names(known(Expand(multi, set("filter"), kFilterPoint)));
  p.post_filter = Names(known(Expand(multi, set("postFilter"), kPostFilterPoint)));
  p.reserve = Names(known(Expand(multi, set("reserve"), kReservePoint)));
  // getScoreWeights: score.enabled first, then multiPoint; the first entry of a name wins;
  // a weight of zero is not permitted and becomes 1.
  std::map<std::string, int64_t> weights;
  auto take = [&](const std::vector<Entry>& v) {
    for (const auto& e : v) {
      int64_t w = e.weight.value_or(0);
      weights.emplace(e.name, w == 0 ? 1 : w);
    }
  };
  if (const auto* s = set("score")) {
    std::vector<Entry> enabled;
    for (const auto& e : s->enabled) enabled.push_back(Entry{e.name, e.weight});
    take(enabled);
  }
  take(multi);
  for (const auto& e : known(Expand(multi, set("score"), kScorePoint))) {
    p.score.push_back(ScorePluginRef{e.name, weights.count(e.name) ? weights[e.name] : 1});
  }
  if (c) {
    if (c->scoring_strategy == "MostAllocated") {
      p.fit.strategy = ScoringStrategy::kMostAllocated;
    } else if (c->scoring_strategy == "RequestedToCapacityRatio") {
      p.fit.strategy = ScoringStrategy::kRequestedToCapacityRatio;
    }
    p.fit.resources = c->scoring_resources;
    p.fit.shape = c->shape;
    p.spread.system_defaulting = c->spread_defaulting_type == "System";
    p.spread.default_constraints = c->spread_default_constraints;
    p.inter_pod_affinity.hard_pod_affinity_weight = c->hard_pod_affinity_weight;
    p.inter_pod_affinity.ignore_preferred_terms_of_existing_pods =
        c->ignore_preferred_terms_of_existing_pods;
  }
  return p;
}

}  // namespace

Profile Profile::Default() {
  return Build(nullptr, nullptr);
}

Profile Profile::From(const api::KubeSchedulerConfiguration& c, Diagnostics* diag) {
  return Build(&c, diag);
}

SchedulerConfig SchedulerConfig::From(const api::KubeSchedulerConfiguration& c, Diagnostics* diag) {
  SchedulerConfig out;
  out.percentage_of_nodes_to_score = c.percentage_of_nodes_to_score;
  out.initial_backoff = Duration::Seconds(c.pod_initial_backoff_seconds);
  out.max_backoff = Duration::Seconds(c.pod_max_backoff_seconds);
  out.profile = Profile::From(c, diag);
  return out;
}

}  // namespace gputwin::scheduler
