// kubescheduler.config.k8s.io/v1 KubeSchedulerConfiguration: profiles, plugins and their args.
#include <algorithm>

#include "api/decode_core.h"
#include "api/decode_kinds.h"
#include "api/not_modelled.h"

namespace gputwin::api {

void DecodeKubeSchedulerConfiguration(YamlReader& r, Manifests* out) {
  KubeSchedulerConfiguration c;
  c.source = r.Where();
  c.percentage_of_nodes_to_score =
      static_cast<int32_t>(r.Int("percentageOfNodesToScore", 0, 100).value_or(0));
  c.pod_initial_backoff_seconds = r.Int("podInitialBackoffSeconds", 1).value_or(1);
  c.pod_max_backoff_seconds = r.Int("podMaxBackoffSeconds", 1).value_or(10);
  auto profiles = r.ObjectList("profiles");
  if (profiles.size() > 1) {
    out->diagnostics.Warn(r.Where(), "profiles", "only the first profile is used");
  }
  if (!profiles.empty()) {
    auto& p = profiles.front();
    std::string name = p.String("schedulerName", "default-scheduler");
    if (auto pct = p.Int("percentageOfNodesToScore", 0, 100)) {
      c.percentage_of_nodes_to_score = static_cast<int32_t>(*pct);
    }
    if (auto plugins = p.Object("plugins")) {
      for (const char* point :
           {"multiPoint", "preEnqueue", "queueSort", "preFilter", "filter", "postFilter",
            "preScore", "score", "reserve", "permit", "preBind", "bind", "postBind"}) {
        auto set = plugins->Object(point);
        if (!set) continue;
        SchedulerPluginSet& out_set = c.plugins[point];
        for (auto& e : set->ObjectList("enabled")) {
          SchedulerPlugin plugin;
          plugin.name = e.RequiredString("name");
          plugin.weight = e.Int("weight", 0);
          plugin.source = e.Where();
          e.Finish();
          out_set.enabled.push_back(std::move(plugin));
        }
        for (auto& d : set->ObjectList("disabled")) {
          out_set.disabled.push_back(d.RequiredString("name"));
          d.Ignore({"weight"});
          d.Finish();
        }
        set->Finish();
      }
      plugins->Finish();
    }
    for (auto& pc : p.ObjectList("pluginConfig")) {
      std::string pn = pc.RequiredString("name");
      auto args = pc.Object("args");
      if (pn == "NodeResourcesFit" && args) {
        if (auto ss = args->Object("scoringStrategy")) {
          c.scoring_strategy = ss->String("type", "LeastAllocated");
          if (c.scoring_strategy != "LeastAllocated" && c.scoring_strategy != "MostAllocated" &&
              c.scoring_strategy != "RequestedToCapacityRatio") {
            ss->Fail("type", "Unsupported value: \"" + c.scoring_strategy +
                                 "\": supported values: \"LeastAllocated\", \"MostAllocated\", "
                                 "\"RequestedToCapacityRatio\"");
          }
          auto res = ss->ObjectList("resources");
          if (!res.empty()) c.scoring_resources.clear();
          for (auto& rr : res) {
            c.scoring_resources.push_back(
                {rr.RequiredString("name"), rr.Int("weight", 1, 100).value_or(1)});
            rr.Finish();
          }
          if (auto rtc = ss->Object("requestedToCapacityRatio")) {
            for (auto& pt : rtc->ObjectList("shape")) {
              c.shape.push_back(
                  {pt.Int("utilization", 0, 100).value_or(0), pt.Int("score", 0, 10).value_or(0)});
              pt.Finish();
            }
            rtc->Finish();
          }
          if (c.scoring_strategy == "RequestedToCapacityRatio" && c.shape.empty()) {
            ss->Fail("requestedToCapacityRatio.shape", "Required value: at least one point");
          }
          ss->Finish();
        }
        args->Ignore({"ignoredResources", "ignoredResourceGroups", "apiVersion", "kind"});
        args->Finish();
      } else if (pn == "PodTopologySpread" && args) {
        c.spread_defaulting_type = args->String("defaultingType", "System");
        CheckOneOf(*args, "defaultingType", c.spread_defaulting_type, {"System", "List"});
        for (auto& dc : args->ObjectList("defaultConstraints")) {
          if (dc.Has("labelSelector")) {
            dc.Fail("labelSelector",
                    "Forbidden: constraint must not define a selector, as "
                    "they deduced for each pod");
          }
          c.spread_default_constraints.push_back(DecodeTopologySpreadConstraint(dc));
        }
        if (c.spread_defaulting_type == "System" && !c.spread_default_constraints.empty()) {
          args->Fail("defaultingType",
                     "Invalid value: \"System\": when .defaultConstraints "
                     "are not empty");
        }
        args->Ignore({"apiVersion", "kind"});
        args->Finish();
      } else if (pn == "InterPodAffinity" && args) {
        c.hard_pod_affinity_weight =
            static_cast<int32_t>(args->Int("hardPodAffinityWeight", 0, 100).value_or(1));
        c.ignore_preferred_terms_of_existing_pods =
            args->Bool("ignorePreferredTermsOfExistingPods").value_or(false);
        args->Ignore({"apiVersion", "kind"});
        args->Finish();
      } else if (args) {
        out->diagnostics.Warn(pc.Where(), pc.FieldPath("args"),
                              "arguments of plugin " + pn + " are not modelled; ignored");
        args->Ignore({});
      }
      pc.Finish();
    }
    (void)name;
    p.Finish();
  }
  r.Ignore({"leaderElection", "clientConnection", "parallelism", "extenders", "enableProfiling",
            "enableContentionProfiling", "podMaxInUnschedulablePodsDuration",
            "delayCacheUntilActive", "featureGates"});
  r.Finish();
  out->scheduler_config = c;
}

}  // namespace gputwin::api
