#include "controllers/job_policies.h"

#include <algorithm>

#include "core/index_list.h"

namespace gputwin::controllers {

namespace {

// The conditions a finished pod carries, in the order the kubelet writes them; the
// DisruptionTarget condition is added by whoever deleted it.
std::vector<std::pair<std::string, std::string>> PodConditions(const cluster::PodRecord& p) {
  const bool started = p.container_started != cluster::kNever;
  std::vector<std::pair<std::string, std::string>> c = {
      {"PodReadyToStartContainers", started ? "True" : "False"},
      {"Initialized", started ? "True" : "False"},
      {"Ready", "False"},
      {"ContainersReady", "False"},
      {"PodScheduled", p.scheduled_at != cluster::kNever ? "True" : "False"},
  };
  if (!p.disruption_target.empty()) c.emplace_back("DisruptionTarget", "True");
  return c;
}

// The terminated containers with their exit codes, sorted by name as the kubelet sorts
// status.containerStatuses.
std::vector<std::pair<std::string, int32_t>> TerminatedContainers(const cluster::PodRecord& p) {
  std::vector<std::pair<std::string, int32_t>> out;
  if (p.exit_code < 0) return out;
  const auto& containers = p.tmpl->spec->containers;
  if (p.exit_all_containers) {
    for (const auto& c : containers) out.emplace_back(c.name, p.exit_code);
  } else if (!containers.empty()) {
    out.emplace_back(containers.front().name, p.exit_code);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

PodFailureMatch MatchPodFailurePolicy(const std::vector<api::PodFailurePolicyRule>& rules,
                                      const cluster::PodRecord& pod) {
  PodFailureMatch m;
  std::vector<std::pair<std::string, int32_t>> containers;
  std::vector<std::pair<std::string, std::string>> conditions;
  bool containers_read = false, conditions_read = false;
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& rule = rules[i];
    std::string matched;  // container name or condition type
    int32_t code = 0;
    if (rule.on_exit_codes) {
      if (!containers_read) containers = TerminatedContainers(pod), containers_read = true;
      for (const auto& [name, exit] : containers) {
        if (exit == 0 || (rule.container_name && *rule.container_name != name)) continue;
        bool in = std::find(rule.exit_code_values.begin(), rule.exit_code_values.end(), exit) !=
                  rule.exit_code_values.end();
        if (in == (rule.exit_code_operator == "In")) {
          matched = name;
          code = exit;
          break;
        }
      }
    } else {
      if (!conditions_read) conditions = PodConditions(pod), conditions_read = true;
      for (const auto& [type, status] : conditions) {
        for (const auto& [want_type, want_status] : rule.on_pod_conditions) {
          if (type == want_type && status == want_status) {
            matched = type;
            break;
          }
        }
        if (!matched.empty()) break;
      }
    }
    if (matched.empty()) continue;
    m.action = rule.action;
    if (rule.action == "Ignore") {
      m.count_failed = false;
    } else if (rule.action == "FailJob") {
      m.fail_job_message = rule.on_exit_codes
                               ? "Container " + matched + " for pod " + pod.Key() +
                                     " failed with exit code " + std::to_string(code) +
                                     " matching FailJob rule at index " + std::to_string(i)
                               : "Pod " + pod.Key() + " has condition " + matched +
                                     " matching FailJob rule at index " + std::to_string(i);
    }
    return m;
  }
  return m;
}

std::optional<std::string> MatchSuccessPolicy(const std::vector<api::SuccessPolicyRule>& rules,
                                              const std::vector<bool>& succeeded) {
  const auto total = std::count(succeeded.begin(), succeeded.end(), true);
  if (total == 0) return std::nullopt;
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& rule = rules[i];
    bool met = false;
    if (rule.succeeded_indexes) {
      std::vector<bool> want;
      // A malformed list is skipped, as parseIndexesFromString's empty result.
      if (ParseIndexList(*rule.succeeded_indexes, static_cast<int32_t>(succeeded.size()), &want)) {
        continue;
      }
      int64_t listed = 0, contains = 0;
      for (size_t k = 0; k < want.size(); ++k) {
        if (!want[k]) continue;
        ++listed;
        if (succeeded[k]) ++contains;
      }
      met = contains == listed || (rule.succeeded_count && contains >= *rule.succeeded_count);
    } else if (rule.succeeded_count) {
      met = total >= *rule.succeeded_count;
    }
    if (met) return "Matched rules at index " + std::to_string(i);
  }
  return std::nullopt;
}

}  // namespace gputwin::controllers
