// What a scheduling cycle that found no node reports (schedule_one.go handleSchedulingFailure,
// framework.FitError): DefaultPreemption's attempt, the "0/N nodes are available: ..."
// message counted over every node (with its per-template memo), the PodScheduled=False
// Unschedulable condition and FailedScheduling event, and the pod parked in the
// unschedulable pool with the plugins that rejected it.
#include <algorithm>

#include "cluster/store.h"
#include "scheduler/plugins/node_resources_fit.h"
#include "scheduler/scheduler.h"

namespace gputwin::scheduler {

void Scheduler::FailScheduling(PodId id, CycleState& state, const std::string& msg,
                               const Unschedulable& unschedulable, uint64_t rejectors, Time now) {
  const auto& pod = store_.pod(id);
  // A daemon pod's verdict is its node's alone: no memo shared with its template.
  const bool memo = pod.daemon_node == cluster::kNone;
  if (post_filters_.empty()) {
    if (memo) template_cache_[pod.tmpl->id]->failure = {cluster_generation_, msg, rejectors};
    RecordFailure(id, msg, now, rejectors);
    return;
  }
  auto result =
      post_filters_.front()->PostFilter(state, id, *unschedulable.nodes, unschedulable.count);
  if (result.nominated != cluster::kNone) {
    RecordFailure(id, msg, now, rejectors);
    return;
  }
  std::string full = msg + " " + result.message;
  if (memo) template_cache_[pod.tmpl->id]->failure = {cluster_generation_, full, rejectors};
  RecordFailure(id, full, now, rejectors);
}

std::string Scheduler::HistogramMessage(size_t num_nodes,
                                        const std::vector<int64_t>& counts) const {
  std::vector<std::pair<std::string, int64_t>> named;
  for (size_t id = 0; id < counts.size(); ++id)
    named.emplace_back(reasons_.Name(static_cast<uint16_t>(id)), counts[id]);
  return NodesAvailableMessage(num_nodes, named);
}

Status Scheduler::Diagnosis(const cluster::PodRecord& pod, TemplateCache& tc,
                            const CycleState& state, NodeId n, bool fast, uint16_t* failed_at,
                            std::vector<uint16_t>* ids) {
  ids->clear();
  Status s;
  cluster::ResourceVec buf;
  const cluster::ResourceVec* delta = nullptr;
  if (fast) {
    // As RunFilters: NodeResourcesFit decides unless a group filter before it rejected.
    const GroupEval* ge =
        tc.group_filters.empty() ? nullptr : &GroupOf(pod, tc, groups_.GroupOf(n));
    const uint16_t limit = ge ? ge->failed_at : kPasses;
    if (tc.requests && fit_position_ < limit &&
        !NodeResourcesFit::Fits(*tc.requests, info_.alloc(n), info_.used(n), info_.stride())) {
      *failed_at = fit_position_;
      fit_->Diagnose(state, pod, ViewOf(n, nullptr), ids);
      return Status::Unschedulable(ids->front());
    }
    *failed_at = limit;
    if (!ge || limit == kPasses) return {};
    s = ge->status;
  } else {
    s = FilterWithNominated(pod, tc, state, n, failed_at);
    if (s.ok()) return s;
    delta = NominatedDelta(pod, n, &buf);
  }
  if (s.code == Code::kUnschedulable) {
    filters_[*failed_at].plugin->Diagnose(state, pod, ViewOf(n, delta), ids);
  }
  return s;
}

void Scheduler::CountVerdict(TemplateCache& tc, NodeId n, int64_t code, uint16_t plugin, int sign) {
  if (code == 0) return;
  if (plugin < 64) {
    if (tc.diag_plugin_nodes.size() <= plugin) tc.diag_plugin_nodes.resize(plugin + 1, 0);
    tc.diag_plugin_nodes[plugin] += sign;
  }
  if (code < 0) {
    const auto list = static_cast<size_t>(-1 - code);
    if (tc.diag_per_list.size() <= list) tc.diag_per_list.resize(list + 1, 0);
    tc.diag_per_list[list] += sign;
    tc.diag_unschedulable[n] = sign > 0;  // Unschedulable: preemption may help
    tc.diag_unschedulable_count += sign;
  } else {
    const auto reason = static_cast<size_t>(code - 1);
    if (tc.diag_reason_nodes.size() <= reason) tc.diag_reason_nodes.resize(reason + 1, 0);
    tc.diag_reason_nodes[reason] += sign;
  }
  tc.diag_message.clear();
}

std::string Scheduler::MemoFitErrorMessage(const cluster::PodRecord& pod, TemplateCache& tc,
                                           const CycleState& state, Unschedulable* unschedulable,
                                           uint64_t* rejectors) {
  const size_t n_nodes = store_.node_count();
  if (tc.diag_version.empty()) {
    diagnosis_owners_.push_back(pod.tmpl->id);
    if (diagnosis_owners_.size() > kMaxDiagnosisMemos) {
      TemplateCache* oldest = template_cache_[diagnosis_owners_.front()].get();
      diagnosis_owners_.pop_front();
      // Swapped with empty vectors: `= {}` would keep their capacity.
      auto release = [](auto& v) { std::decay_t<decltype(v)>().swap(v); };
      if (oldest) {  // (not released since)
        release(oldest->diag_version);
        release(oldest->diag_group);
        release(oldest->diag_code);
        release(oldest->diag_plugin);
        release(oldest->diag_lists);
        release(oldest->diag_per_list);
        release(oldest->diag_reason_nodes);
        release(oldest->diag_plugin_nodes);
        release(oldest->diag_unschedulable);
        release(oldest->diag_message);
        oldest->diag_epoch = 0;
      }
    }
  }
  if (tc.diag_version.size() < n_nodes) {
    tc.diag_version.resize(n_nodes, 0);
    tc.diag_group.resize(n_nodes, ~uint32_t{0});
    tc.diag_code.resize(n_nodes, 0);
    tc.diag_plugin.resize(n_nodes, kPasses);
  }
  std::vector<uint16_t> ids;
  uint16_t failed_at;
  // Node n's verdict, evaluated again when its group or NodeInfo row changed since.
  auto stale = [&](NodeId node) {
    return tc.diag_group[node] != groups_.GroupOf(node) ||
           tc.diag_version[node] != info_.version(node);
  };
  auto evaluate = [&](NodeId node) {
    Status s = Diagnosis(pod, tc, state, node, true, &failed_at, &ids);
    int64_t code = 0;
    if (s.code == Code::kUnschedulable) {
      auto it = std::find(tc.diag_lists.begin(), tc.diag_lists.end(), ids);
      if (it == tc.diag_lists.end()) it = tc.diag_lists.insert(tc.diag_lists.end(), ids);
      code = -1 - (it - tc.diag_lists.begin());
    } else if (!s.ok()) {
      code = int64_t{s.reason} + 1;
    }
    tc.diag_group[node] = groups_.GroupOf(node);
    tc.diag_version[node] = info_.version(node);
    tc.diag_code[node] = code;
    tc.diag_plugin[node] = failed_at;
  };
  if (tc.diag_epoch != node_change_epoch_) {
    // Counted again over every node, reusing the verdicts still valid.
    tc.diag_per_list.assign(tc.diag_lists.size(), 0);
    tc.diag_reason_nodes.clear();
    tc.diag_plugin_nodes.clear();
    tc.diag_unschedulable.assign(n_nodes, false);
    tc.diag_unschedulable_count = 0;
    for (NodeId node : node_order_) {
      if (stale(node)) evaluate(node);
      CountVerdict(tc, node, tc.diag_code[node], tc.diag_plugin[node], 1);
    }
    tc.diag_message.clear();
    tc.diag_epoch = node_change_epoch_;
  } else {
    // Only the nodes changed since the last count (each counted out, then in again).
    if (tc.diag_unschedulable.size() < n_nodes) tc.diag_unschedulable.resize(n_nodes, false);
    for (size_t k = tc.diag_log_pos; k < node_change_log_.size(); ++k) {
      const NodeId node = node_change_log_[k];
      if (node >= node_position_.size() || node_position_[node] < 0 || !stale(node)) continue;
      const int64_t old_code = tc.diag_code[node];
      const uint16_t old_plugin = tc.diag_plugin[node];
      evaluate(node);
      // The same verdict again leaves the counts, and so the message, as they were.
      if (old_code == tc.diag_code[node] && old_plugin == tc.diag_plugin[node]) continue;
      CountVerdict(tc, node, old_code, old_plugin, -1);
      CountVerdict(tc, node, tc.diag_code[node], tc.diag_plugin[node], 1);
    }
  }
  tc.diag_log_pos = node_change_log_.size();
  for (size_t pos = 0; pos < tc.diag_plugin_nodes.size(); ++pos) {
    if (tc.diag_plugin_nodes[pos] > 0) *rejectors |= uint64_t{1} << pos;
  }
  unschedulable->nodes = &tc.diag_unschedulable;
  unschedulable->count = tc.diag_unschedulable_count;
  if (tc.diag_message.empty()) {
    std::vector<int64_t> counts(reasons_.size(), 0);
    for (size_t list = 0; list < tc.diag_per_list.size(); ++list) {
      if (tc.diag_per_list[list] == 0) continue;
      for (uint16_t id : tc.diag_lists[list]) {
        if (counts.size() <= id) counts.resize(reasons_.size(), 0);
        counts[id] += tc.diag_per_list[list];
      }
    }
    for (size_t id = 0; id < tc.diag_reason_nodes.size(); ++id) {
      if (counts.size() <= id) counts.resize(reasons_.size(), 0);
      counts[id] += tc.diag_reason_nodes[id];
    }
    tc.diag_message = HistogramMessage(node_order_.size(), counts);
  }
  return tc.diag_message;
}

std::string Scheduler::FitErrorMessage(const cluster::PodRecord& pod, TemplateCache& tc,
                                       const CycleState& state, std::vector<bool>* scratch,
                                       Unschedulable* unschedulable, uint64_t* rejectors) {
  // Templates failing again and again keep their per-node verdicts, when every verdict
  // depends only on the node's group and NodeInfo.
  if (tc.attempts >= 2 && !tc.other_node_filters && active_cluster_.empty() &&
      nominated_total_ == 0 && pod.daemon_node == cluster::kNone) {
    return MemoFitErrorMessage(pod, tc, state, unschedulable, rejectors);
  }
  scratch->assign(store_.node_count(), false);
  unschedulable->nodes = scratch;
  unschedulable->count = 0;
  auto rejected_by = [&](uint16_t pos) {
    if (pos < 64) *rejectors |= uint64_t{1} << pos;
  };
  std::vector<int64_t> counts(reasons_.size(), 0);
  std::vector<uint16_t> ids;
  auto count = [&](uint16_t id) {
    if (counts.size() <= id) counts.resize(reasons_.size(), 0);
    counts[id]++;
  };
  uint16_t failed_at;
  const bool fast = !tc.other_node_filters && active_cluster_.empty() && nominated_total_ == 0;
  for (NodeId node : node_order_) {
    Status s = Diagnosis(pod, tc, state, node, fast, &failed_at, &ids);
    if (s.ok()) continue;
    rejected_by(failed_at);
    if (s.code == Code::kUnschedulable) {
      for (uint16_t id : ids) count(id);
      (*scratch)[node] = true;  // Unschedulable: preemption may help
      ++unschedulable->count;
    } else {
      count(s.reason);
    }
  }
  return HistogramMessage(node_order_.size(), counts);
}

void Scheduler::RecordFailure(PodId id, const std::string& message, Time now, uint64_t rejectors) {
  auto& pod = store_.pod(id);
  bool changed = !pod.unschedulable || pod.message != message;
  pod.unschedulable = true;
  pod.message = message;
  pod.reason = "Unschedulable";
  // While Karpenter's NodeClaim launches, the pod stays Nominated (it repeats the event).
  if (pod.waits.empty() || pod.waits.back().second != cluster::PodWait::kNominated) {
    pod.NoteWait(now, cluster::PodWait::kUnschedulable);
  }
  store_.RecordEvent("Warning", "FailedScheduling", "Pod", pod.namespace_, pod.name, message,
                     name_);
  queue_.AddUnschedulable(id, pod.tmpl->id, pod.tmpl->priority, now, rejectors);
  if (id == in_flight_) {
    for (const auto& [event, obj] : in_flight_events_) {
      if (MayHelp(event, obj, id, rejectors)) {
        queue_.MarkLine(pod.tmpl->id);
        break;
      }
    }
  }
  if (changed) store_.UpdatePod(id);
}

}  // namespace gputwin::scheduler
