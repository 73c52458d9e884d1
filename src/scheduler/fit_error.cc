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
  auto result = post_filters_.front()->PostFilter(state, id, *unschedulable.nodes,
                                                  unschedulable.count, unschedulable.version);
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
    const GroupEval* ge = tc.group_filters.empty() ? nullptr : &GroupOf(pod, tc, groups_.ViewOf(n));
    const uint16_t limit = ge ? ge->failed_at : kPasses;
    if (tc.requests && fit_position_ < limit &&
        !NodeResourcesFit::Fits(*tc.requests, info_.free(n), info_.stride())) {
      *failed_at = fit_position_;
      const NodeView view = ViewOf(n, nullptr);
      fit_->Diagnose(state, pod, view, ids);
      return fit_->ExceedsAllocatable(pod, view) ? Status::Unresolvable(ids->front())
                                                 : Status::Unschedulable(ids->front());
    }
    *failed_at = limit;
    if (!ge || limit == kPasses) return {};
    s = ge->status;
  } else {
    s = FilterWithNominated(pod, tc, state, n, failed_at);
    if (s.ok()) return s;
    delta = NominatedDelta(pod, n, &buf);
  }
  // Every reason of the rejection: NodeResourcesFit names each resource short, even when
  // its status is Unresolvable; another plugin's Unresolvable status has its one reason.
  if (s.code == Code::kUnschedulable || *failed_at == fit_position_) {
    filters_[*failed_at].plugin->Diagnose(state, pod, ViewOf(n, delta), ids);
  } else {
    ids->push_back(s.reason);
  }
  return s;
}

void Scheduler::CountVerdict(DiagnosisMemo& d, NodeId n, int64_t code, uint16_t plugin, int sign) {
  if (code == 0) return;
  if (plugin < 64) {
    if (d.plugin_nodes.size() <= plugin) d.plugin_nodes.resize(plugin + 1, 0);
    d.plugin_nodes[plugin] += sign;
  }
  if (code < 0) {
    const auto list = static_cast<size_t>(-1 - code);
    if (d.per_list.size() <= list) d.per_list.resize(list + 1, 0);
    d.per_list[list] += sign;
    if (d.lists[list].empty() || d.lists[list].back() != kUnresolvableList) {
      d.unschedulable[n] = sign > 0;  // Unschedulable: preemption may help
      d.unschedulable_count += sign;
    }
  } else {
    const auto reason = static_cast<size_t>(code - 1);
    if (d.reason_nodes.size() <= reason) d.reason_nodes.resize(reason + 1, 0);
    d.reason_nodes[reason] += sign;
  }
  d.message.clear();
}

std::string Scheduler::MemoFitErrorMessage(const cluster::PodRecord& pod, TemplateCache& tc,
                                           const CycleState& state, Unschedulable* unschedulable,
                                           uint64_t* rejectors) {
  const size_t n_nodes = store_.node_count();
  const api::PodSpec* key = pod.tmpl->spec.get();
  auto found = diagnoses_.find(key);
  if (found == diagnoses_.end()) {
    // The oldest memo goes first (its users find it gone and start a new one).
    while (diagnoses_.size() >= kMaxDiagnosisMemos && !diagnosis_order_.empty()) {
      DropDiagnosis(diagnosis_order_.front());
    }
    auto shared = std::make_unique<SharedDiagnosis>();
    if (!spare_diagnoses_.empty()) {
      // A freed memo's arrays, its verdicts for nobody.
      DiagnosisMemo& m = shared->memo;
      m = std::move(spare_diagnoses_.back());
      spare_diagnoses_.pop_back();
      ++diagnoses_reused_;
      for (auto& v : m.nodes) v.node = cluster::kNone;
      m.lists.clear();
      m.epoch = 0;
      m.log_pos = 0;
      m.per_list.clear();
      m.reason_nodes.clear();
      m.plugin_nodes.clear();
      m.unschedulable_count = 0;
      m.unschedulable.clear();
      m.unschedulable_version = ++unschedulable_versions_;
      m.counted.clear();
      m.message.clear();
    }
    shared->spec = pod.tmpl->spec;
    shared->id = next_diagnosis_id_++;
    diagnosis_order_.push_back(key);
    found = diagnoses_.emplace(key, std::move(shared)).first;
  }
  SharedDiagnosis& shared = *found->second;
  if (tc.diag_id != shared.id) {
    ReleaseDiagnosis(tc);
    tc.diag_spec = key;
    tc.diag_id = shared.id;
    if (shared.users++ == 0) {  // an idle memo taken up again
      auto idle = std::find(idle_diagnoses_.begin(), idle_diagnoses_.end(), key);
      if (idle != idle_diagnoses_.end()) {
        idle_diagnoses_.erase(idle);
        ++idle_diagnoses_resumed_;
      }
    }
  }
  DiagnosisMemo& d = shared.memo;
  // (Every node in the order has a slot, and every node counted had one then.)
  if (d.nodes.size() < diagnosis_slots_) d.nodes.resize(diagnosis_slots_);
  auto verdict = [&](NodeId node) -> DiagnosisMemo::Verdict& {
    return d.nodes[static_cast<uint32_t>(diagnosis_slot_[node])];
  };
  std::vector<uint16_t> ids;
  uint16_t failed_at;
  // Node n's verdict, evaluated again when its group, NodeInfo row or nominated pods
  // changed since (or its slot holds another node's).
  auto stale = [&](NodeId node) {
    const DiagnosisMemo::Verdict& v = verdict(node);
    return v.node != node || v.group != groups_.GroupOf(node) || v.version != info_.version(node) ||
           v.nominations != NominationsVersion(node);
  };
  auto evaluate = [&](NodeId node) {
    // A node with nominated pods is filtered with them (schedule_one.go
    // addGENominatedPods); the others as they are.
    const bool plain = node >= nominated_.size() || nominated_[node].empty();
    Status s = Diagnosis(pod, tc, state, node, plain, &failed_at, &ids);
    int64_t code = 0;
    if (s.code == Code::kUnschedulable || (!s.ok() && ids.size() > 1)) {
      if (s.code != Code::kUnschedulable) ids.push_back(kUnresolvableList);
      auto it = std::find(d.lists.begin(), d.lists.end(), ids);
      if (it == d.lists.end()) it = d.lists.insert(d.lists.end(), ids);
      code = -1 - (it - d.lists.begin());
    } else if (!s.ok()) {
      code = int64_t{s.reason} + 1;
    }
    DiagnosisMemo::Verdict& v = verdict(node);
    v.node = node;
    v.group = groups_.GroupOf(node);
    v.version = info_.version(node);
    v.nominations = NominationsVersion(node);
    v.code = code;
    v.plugin = failed_at;
  };
  if (d.epoch != node_change_epoch_) {
    // Counted again over every node, reusing the verdicts still valid.
    d.per_list.assign(d.lists.size(), 0);
    d.reason_nodes.clear();
    d.plugin_nodes.clear();
    d.unschedulable.assign(n_nodes, false);
    d.unschedulable_count = 0;
    d.unschedulable_version = ++unschedulable_versions_;
    d.counted.assign(n_nodes, false);
    for (NodeId node : node_order_) {
      if (stale(node)) evaluate(node);
      CountVerdict(d, node, verdict(node).code, verdict(node).plugin, 1);
      d.counted[node] = true;
    }
    d.message.clear();  // (a node order with no rejection counts nothing)
    d.epoch = node_change_epoch_;
  } else {
    // Only the nodes changed since the last count: a new verdict replaces the old one, a
    // node gone from the order takes its verdict out, a new node adds its own (the counts
    // do not depend on the order, which a node's coming or going rebuilds).
    if (d.unschedulable.size() < n_nodes) {
      d.unschedulable.resize(n_nodes, false);
      d.unschedulable_version = ++unschedulable_versions_;
    }
    if (d.counted.size() < n_nodes) d.counted.resize(n_nodes, false);
    for (size_t k = d.log_pos; k < node_change_log_.size(); ++k) {
      const NodeId node = node_change_log_[k];
      if (node >= node_position_.size() || node_position_[node] < 0) {
        if (node < d.counted.size() && d.counted[node]) {
          if (d.unschedulable[node]) d.unschedulable_version = ++unschedulable_versions_;
          CountVerdict(d, node, verdict(node).code, verdict(node).plugin, -1);
          d.counted[node] = false;
        }
        continue;
      }
      const bool counted = d.counted[node];
      if (counted && !stale(node)) continue;
      const int64_t old_code = counted ? verdict(node).code : 0;  // (0 counts nothing)
      const uint16_t old_plugin = counted ? verdict(node).plugin : kPasses;
      if (stale(node)) evaluate(node);
      d.counted[node] = true;
      // The same verdict again leaves the counts, and so the message, as they were.
      if (old_code == verdict(node).code && old_plugin == verdict(node).plugin) continue;
      const bool was_unschedulable = d.unschedulable[node];
      CountVerdict(d, node, old_code, old_plugin, -1);
      CountVerdict(d, node, verdict(node).code, verdict(node).plugin, 1);
      if (d.unschedulable[node] != was_unschedulable) {
        d.unschedulable_version = ++unschedulable_versions_;
      }
    }
  }
  d.log_pos = node_change_log_.size();
  for (size_t pos = 0; pos < d.plugin_nodes.size(); ++pos) {
    if (d.plugin_nodes[pos] > 0) *rejectors |= uint64_t{1} << pos;
  }
  unschedulable->nodes = &d.unschedulable;
  unschedulable->count = d.unschedulable_count;
  unschedulable->version = d.unschedulable_version;
  // (The message names the number of nodes too, which a passing node's coming or going
  // changes alone.)
  if (d.message.empty() || d.message_nodes != node_order_.size()) {
    d.message_nodes = node_order_.size();
    std::vector<int64_t> counts(reasons_.size(), 0);
    for (size_t list = 0; list < d.per_list.size(); ++list) {
      if (d.per_list[list] == 0) continue;
      for (uint16_t id : d.lists[list]) {
        if (id == kUnresolvableList) continue;
        if (counts.size() <= id) counts.resize(reasons_.size(), 0);
        counts[id] += d.per_list[list];
      }
    }
    for (size_t id = 0; id < d.reason_nodes.size(); ++id) {
      if (counts.size() <= id) counts.resize(reasons_.size(), 0);
      counts[id] += d.reason_nodes[id];
    }
    d.message = HistogramMessage(node_order_.size(), counts);
  }
  return d.message;
}

void Scheduler::DropDiagnosis(const api::PodSpec* key) {
  auto it = diagnoses_.find(key);
  if (it->second->users == 0) {
    idle_diagnoses_.erase(std::find(idle_diagnoses_.begin(), idle_diagnoses_.end(), key));
  }
  diagnosis_order_.erase(std::find(diagnosis_order_.begin(), diagnosis_order_.end(), key));
  if (spare_diagnoses_.size() < kSpareDiagnoses) {
    spare_diagnoses_.push_back(std::move(it->second->memo));
  }
  diagnoses_.erase(it);
}

void Scheduler::ReleaseDiagnosis(TemplateCache& tc) {
  if (tc.diag_id == 0) return;
  auto it = diagnoses_.find(tc.diag_spec);
  if (it != diagnoses_.end() && it->second->id == tc.diag_id && --it->second->users == 0) {
    idle_diagnoses_.push_back(tc.diag_spec);
    while (idle_diagnoses_.size() > idle_diagnoses_kept) DropDiagnosis(idle_diagnoses_.front());
  }
  tc.diag_spec = nullptr;
  tc.diag_id = 0;
}

std::string Scheduler::FitErrorMessage(const cluster::PodRecord& pod, TemplateCache& tc,
                                       const CycleState& state, std::vector<bool>* scratch,
                                       Unschedulable* unschedulable, uint64_t* rejectors) {
  // Templates failing again and again keep their per-node verdicts, when every verdict
  // depends only on the node's group, NodeInfo and nominated pods.
  // (A template whose spec already has a memo uses it from its first failure.)
  if ((tc.attempts >= 2 || diagnoses_.count(pod.tmpl->spec.get()) > 0) && !tc.other_node_filters &&
      active_cluster_.empty() && pod.daemon_node == cluster::kNone) {
    if (nominated_total_ > 0) ++memo_with_nominations_;
    std::string message = MemoFitErrorMessage(pod, tc, state, unschedulable, rejectors);
    if (verify_diagnosis_memo) {
      // The same diagnosis made afresh over every node (its own outputs, compared).
      std::vector<bool> fresh_nodes;
      Unschedulable fresh{};
      uint64_t fresh_rejectors = 0;
      const std::string again =
          FullFitErrorMessage(pod, tc, state, &fresh_nodes, &fresh, &fresh_rejectors);
      std::vector<bool> memo_nodes = *unschedulable->nodes;
      memo_nodes.resize(fresh_nodes.size(), false);
      if (again != message || fresh.count != unschedulable->count ||
          fresh_rejectors != *rejectors || memo_nodes != fresh_nodes) {
        ++diagnosis_mismatches_;
      }
    }
    return message;
  }
  return FullFitErrorMessage(pod, tc, state, scratch, unschedulable, rejectors);
}

std::string Scheduler::FullFitErrorMessage(const cluster::PodRecord& pod, TemplateCache& tc,
                                           const CycleState& state, std::vector<bool>* scratch,
                                           Unschedulable* unschedulable, uint64_t* rejectors) {
  scratch->assign(store_.node_count(), false);
  unschedulable->nodes = scratch;
  unschedulable->count = 0;
  unschedulable->version = 0;
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
    for (uint16_t id : ids) count(id);
    if (s.code == Code::kUnschedulable) {
      (*scratch)[node] = true;  // Unschedulable: preemption may help
      ++unschedulable->count;
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
