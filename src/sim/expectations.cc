// The scenario's expectations, checked against the store at the end of the run.
#include <algorithm>
#include <cmath>

#include "autoscaling/horizontal.h"
#include "cloud/ec2.h"
#include "core/duration_cast.h"
#include "core/glob.h"
#include "core/index_list.h"
#include "karpenter/karpenter.h"
#include "kueue/kueue_controller.h"
#include "prometheus/rule_manager.h"
#include "serving/serving_controller.h"
#include "sim/simulation.h"

namespace gputwin::sim {

using cluster::PodPhase;

namespace {

std::string Rel(Time t, Time start) {
  return t == cluster::kNever ? "never" : FormatDuration(t - start);
}

// Counts the objects a glob matched and those meeting every condition, and reports as an
// expectation says: with `count`, exactly that many; without, all (and at least one).
struct MatchTally {
  int64_t matched = 0, satisfied = 0;
  std::vector<std::string> misses;
  void Add(const std::vector<std::string>& why) {
    ++matched;
    if (why.empty()) {
      ++satisfied;
    } else {
      misses.insert(misses.end(), why.begin(), why.end());
    }
  }
  void Report(const api::Expectation& x, const std::string& noun,
              const std::function<void(bool, const std::string&)>& check) const {
    if (x.count) {
      check(satisfied == *x.count, std::to_string(satisfied) + " of " + std::to_string(matched) +
                                       " matching " + noun + "s meet the conditions, want " +
                                       std::to_string(*x.count));
      if (satisfied == *x.count) return;
    } else {
      check(matched > 0, "no " + noun + " matches");
    }
    for (const auto& m : misses) check(false, m);
  }
};

}  // namespace

void Simulation::CheckWorkload(const api::Expectation& x,
                               const std::function<void(bool, const std::string&)>& check,
                               std::string* description) const {
  *description = "workload " + x.workload;
  if (!kueue_) {
    check(false, "Kueue is not in the manifests");
    return;
  }
  const auto& cache = kueue_->cache();
  const Time t0 = start();
  MatchTally tally;
  for (kueue::WorkloadId id = 0; id < cache.workloads().size(); ++id) {
    const auto& w = cache.wl(id);
    // By its Job's name, its pod's or group's (a StatefulSet's: the StatefulSet's), or its own.
    std::string owner = w.spec.name;
    if (w.owner == kueue::WorkloadOwner::kJob) {
      owner = store_.jobs()[w.job].obj.metadata.name;
    } else if (w.owner_name.find(' ') != std::string::npos) {
      owner = w.owner_name.substr(w.owner_name.rfind(' ') + 1);
    }
    std::string key = w.spec.namespace_ + "/" + owner;
    if (!Glob(x.workload.c_str(), key.c_str()) && !Glob(x.workload.c_str(), owner.c_str()) &&
        !Glob(x.workload.c_str(), w.spec.name.c_str()) &&
        !Glob(x.workload.c_str(), (w.spec.namespace_ + "/" + w.spec.name).c_str())) {
      continue;
    }
    std::vector<std::string> why;
    auto need = [&](bool ok, const std::string& what) {
      if (!ok) why.push_back(key + ": " + what);
    };
    const char* state = w.phase == kueue::WorkloadPhase::kPending    ? "Pending"
                        : w.phase == kueue::WorkloadPhase::kAdmitted ? "Admitted"
                                                                     : "Finished";
    if (x.state) need(*x.state == state, std::string("state is ") + state + ", want " + *x.state);
    std::string cq = w.cq >= 0 ? cache.cq(w.cq).obj.metadata.name : "";
    if (x.cluster_queue) {
      need(*x.cluster_queue == cq,
           "clusterQueue is \"" + cq + "\", want \"" + *x.cluster_queue + "\"");
    }
    if (x.flavors) {
      std::map<std::string, std::string> got;
      for (const auto& ps : w.assignment) got.insert(ps.flavors.begin(), ps.flavors.end());
      std::string g;
      for (const auto& [r, f] : got) g += (g.empty() ? "" : ", ") + r + "=" + f;
      need(got == *x.flavors, "flavors are {" + g + "}");
    }
    Time admitted = w.ever_admitted ? w.first_admitted_at : cluster::kNever;
    if (x.admitted_at) {
      need(admitted != cluster::kNever && admitted - t0 == *x.admitted_at,
           "first admitted at " + Rel(admitted, t0) + ", want " + FormatDuration(*x.admitted_at));
    }
    if (x.admitted_by) {
      need(
          admitted != cluster::kNever && admitted - t0 <= *x.admitted_by,
          "first admitted at " + Rel(admitted, t0) + ", want by " + FormatDuration(*x.admitted_by));
    }
    if (x.admitted_count) {
      int32_t c = w.assignment.empty() ? 0 : w.assignment.front().count;
      need(c == *x.admitted_count, "admitted count is " + std::to_string(c) + ", want " +
                                       std::to_string(*x.admitted_count));
    }
    if (x.evictions) {
      need(w.evictions == *x.evictions,
           "evictions: " + std::to_string(w.evictions) + ", want " + std::to_string(*x.evictions));
    }
    if (x.preemptions) {
      need(w.preemptions == *x.preemptions, "preemptions: " + std::to_string(w.preemptions) +
                                                ", want " + std::to_string(*x.preemptions));
    }
    if (x.evicted_reason) {
      need(w.evicted_reason == *x.evicted_reason,
           "evicted reason is \"" + w.evicted_reason + "\", want \"" + *x.evicted_reason + "\"");
    }
    std::string msg = w.phase == kueue::WorkloadPhase::kPending ? w.pending_message : "";
    if (x.message)
      need(*x.message == msg, "message is \"" + msg + "\", want \"" + *x.message + "\"");
    if (x.message_contains) {
      need(msg.find(*x.message_contains) != std::string::npos,
           "message \"" + msg + "\" does not contain \"" + *x.message_contains + "\"");
    }
    tally.Add(why);
  }
  tally.Report(x, "workload", check);
}

void Simulation::CheckJobSet(const api::Expectation& x, ExpectationResult* r,
                             const std::function<void(bool, const std::string&)>& check) const {
  r->description = "jobSet " + x.job_set;
  const cluster::JobSetRecord* js = nullptr;
  for (const auto& s : store_.job_sets()) {
    const auto& m = s.obj.metadata;
    if (m.name == x.job_set || m.namespace_ + "/" + m.name == x.job_set) js = &s;
  }
  if (!js) {
    check(false, "no such JobSet");
    return;
  }
  const Time t0 = start();
  const std::string state = js->terminal_state.empty() ? "Active" : js->terminal_state;
  if (x.condition)
    check(*x.condition == state, "terminalState is " + state + ", want " + *x.condition);
  std::string reason, message;
  for (const auto& c : js->history) {
    if (c.type == "Completed" || c.type == "Failed") {
      reason = c.reason;
      message = c.message;
    }
  }
  if (x.reason)
    check(*x.reason == reason, "reason is \"" + reason + "\", want \"" + *x.reason + "\"");
  if (x.message_contains) {
    check(message.find(*x.message_contains) != std::string::npos,
          "message is \"" + message + "\", want one containing \"" + *x.message_contains + "\"");
  }
  if (x.restarts) {
    check(*x.restarts == js->restarts,
          "restarts is " + std::to_string(js->restarts) + ", want " + std::to_string(*x.restarts));
  }
  if (x.completed_at) {
    check(js->finished_at != cluster::kNever && js->finished_at - t0 == *x.completed_at,
          "finished at " + Rel(js->finished_at, t0) + ", want " + FormatDuration(*x.completed_at));
  }
  if (x.lost_work) {
    // Work its pods lost (the JobSet's Jobs carry its name label).
    double lost = 0;
    for (const auto& w : lost_work()) {
      const auto& p = store_.pod(w.pod);
      if (p.owner.kind != cluster::OwnerKind::kJob) continue;
      const auto& labels = store_.jobs()[p.owner.index].obj.metadata.labels;
      auto it = labels.find("jobset.sigs.k8s.io/jobset-name");
      if (it != labels.end() && it->second == js->obj.metadata.name &&
          store_.jobs()[p.owner.index].obj.metadata.namespace_ == js->obj.metadata.namespace_) {
        lost += w.seconds;
      }
    }
    auto got = SaturatingNs(std::round(lost * 1e9));
    check(got == *x.lost_work,
          "lost work is " + FormatDuration(got) + ", want " + FormatDuration(*x.lost_work));
  }
}

void Simulation::CheckPyTorchJob(const api::Expectation& x, ExpectationResult* r,
                                 const std::function<void(bool, const std::string&)>& check) const {
  r->description = "pyTorchJob " + x.pytorch_job;
  const cluster::PyTorchJobRecord* job = nullptr;
  for (const auto& p : store_.pytorch_jobs()) {
    const auto& m = p.obj.metadata;
    if (m.name == x.pytorch_job || m.namespace_ + "/" + m.name == x.pytorch_job) job = &p;
  }
  if (!job) {
    check(false, "no such PyTorchJob");
    return;
  }
  // The last condition that turned True: its type, reason, message and time.
  const auto* last = job->history.empty() ? nullptr : &job->history.back();
  const std::string cond = last ? last->type : "";
  if (x.condition) check(*x.condition == cond, "condition is " + cond + ", want " + *x.condition);
  if (x.reason) {
    const std::string reason = last ? last->reason : "";
    check(*x.reason == reason, "reason is \"" + reason + "\", want \"" + *x.reason + "\"");
  }
  if (x.message_contains) {
    const std::string message = last ? last->message : "";
    check(message.find(*x.message_contains) != std::string::npos,
          "message is \"" + message + "\", want one containing \"" + *x.message_contains + "\"");
  }
  if (x.completed_at) {
    const Time t0 = start();
    check(last && last->at - t0 == *x.completed_at,
          "last condition at " + (last ? Rel(last->at, t0) : std::string("never")) + ", want " +
              FormatDuration(*x.completed_at));
  }
}

// A TrainJob's status.conditions: `condition` names a type that must be True (Complete,
// Failed, Suspended); reason, messageContains and completedAt (its lastTransitionTime) are
// that condition's, or without `condition` the finished one's (Complete or Failed).
void Simulation::CheckTrainJob(const api::Expectation& x, ExpectationResult* r,
                               const std::function<void(bool, const std::string&)>& check) const {
  r->description = "trainJob " + x.train_job;
  const cluster::TrainJobRecord* tj = nullptr;
  for (const auto& t : store_.train_jobs()) {
    const auto& m = t.obj.metadata;
    if (m.name == x.train_job || m.namespace_ + "/" + m.name == x.train_job) tj = &t;
  }
  if (!tj) {
    check(false, "no such TrainJob");
    return;
  }
  std::string have;
  for (const auto& c : tj->conditions) {
    if (c.status == "True") have += (have.empty() ? "" : ", ") + c.type;
  }
  const cluster::TrainJobRecord::Condition* c = nullptr;
  if (x.condition) {
    c = tj->Find(*x.condition);
    if (c && c->status != "True") c = nullptr;
    check(c != nullptr, "no " + *x.condition +
                            " condition is True (True: " + (have.empty() ? "none" : have) + ")");
  } else {
    c = tj->Find(tj->IsTrue("Complete") ? "Complete" : "Failed");
    if (c && c->status != "True") c = nullptr;
    if ((x.reason || x.message_contains || x.completed_at) && !c) {
      check(false, "neither Complete nor Failed is True");
    }
  }
  if (!c) return;
  if (x.reason) {
    check(*x.reason == c->reason, "reason is \"" + c->reason + "\", want \"" + *x.reason + "\"");
  }
  if (x.message_contains) {
    check(c->message.find(*x.message_contains) != std::string::npos,
          "message is \"" + c->message + "\", want one containing \"" + *x.message_contains + "\"");
  }
  if (x.completed_at) {
    const Time t0 = start();
    check(c->last_transition - t0 == *x.completed_at, c->type + " at " +
                                                          Rel(c->last_transition, t0) + ", want " +
                                                          FormatDuration(*x.completed_at));
  }
}

void Simulation::CheckLeaderWorkerSet(
    const api::Expectation& x, ExpectationResult* r,
    const std::function<void(bool, const std::string&)>& check) const {
  r->description = "leaderWorkerSet " + x.leader_worker_set;
  const cluster::LeaderWorkerSetRecord* lws = nullptr;
  for (const auto& l : store_.leader_worker_sets()) {
    const auto& m = l.obj.metadata;
    if (m.name == x.leader_worker_set || m.namespace_ + "/" + m.name == x.leader_worker_set) {
      lws = &l;
    }
  }
  if (!lws) {
    check(false, "no such LeaderWorkerSet");
    return;
  }
  if (x.condition) {
    check(*x.condition == lws->condition,
          "condition is " + lws->condition + ", want " + *x.condition);
  }
  if (x.ready_replicas) {
    check(*x.ready_replicas == lws->ready_replicas,
          "readyReplicas is " + std::to_string(lws->ready_replicas) + ", want " +
              std::to_string(*x.ready_replicas));
  }
  if (x.restarts) {
    int32_t recreated = 0;
    for (const auto& g : lws->groups) recreated += g.recreations;
    check(*x.restarts == recreated,
          std::to_string(recreated) + " group(s) recreated, want " + std::to_string(*x.restarts));
  }
}

void Simulation::CheckNodeClaim(const api::Expectation& x,
                                const std::function<void(bool, const std::string&)>& check,
                                std::string* description) const {
  *description = "nodeClaim " + x.node_claim;
  if (!karpenter_) {
    check(false, "Karpenter (a NodePool) is not in the manifests");
    return;
  }
  const Time t0 = start();
  MatchTally tally;
  for (const auto& c : karpenter_->node_claims()) {
    if (!Glob(x.node_claim.c_str(), c.name.c_str())) continue;
    std::vector<std::string> why;
    auto need = [&](bool ok, const std::string& what) {
      if (!ok) why.push_back(c.name + ": " + what);
    };
    std::string type = c.instance ? ec2_->catalog().types[c.type].name : "";
    std::string ct = c.instance ? cloud::CapacityTypeName(c.capacity_type) : "";
    auto eq = [&](const std::optional<std::string>& want, const std::string& got, const char* f) {
      if (want) need(*want == got, std::string(f) + " is \"" + got + "\", want \"" + *want + "\"");
    };
    eq(x.instance_type, type, "instanceType");
    eq(x.capacity_type, ct, "capacityType");
    eq(x.zone, c.zone, "zone");
    eq(x.disruption_reason, c.disruption_reason, "disruptionReason");
    bool deleted = c.phase == karpenter::ClaimPhase::kDeleted;
    if (x.deleted) need(*x.deleted == deleted, deleted ? "is deleted" : "is not deleted");
    auto at = [&](const std::optional<Duration>& want, Time got, const char* f) {
      if (want)
        need(got != cluster::kNever && got - t0 == *want,
             std::string(f) + " is " + Rel(got, t0) + ", want " + FormatDuration(*want));
    };
    at(x.registered_at, c.registered_at, "registeredAt");
    at(x.initialized_at, c.initialized_at, "initializedAt");
    at(x.deleted_at, c.deleted_at, "deletedAt");
    if (x.message_contains) {
      need(c.launch_error.find(*x.message_contains) != std::string::npos,
           "launch error \"" + c.launch_error + "\" does not contain \"" + *x.message_contains +
               "\"");
    }
    tally.Add(why);
  }
  tally.Report(x, "nodeClaim", check);
}

void Simulation::CheckServing(const api::Expectation& x,
                              const std::function<void(bool, const std::string&)>& check,
                              std::string* description) const {
  if (!x.hpa.empty()) {
    *description = "hpa " + x.hpa;
    const autoscaling::HpaStatus* h = nullptr;
    if (hpa_) {
      for (const auto& s : hpa_->statuses()) {
        if (s.name == x.hpa || s.namespace_ + "/" + s.name == x.hpa) h = &s;
      }
    }
    if (!h) {
      check(false, "no HorizontalPodAutoscaler " + x.hpa);
      return;
    }
    if (x.max_replicas_seen) {
      check(h->max_seen == *x.max_replicas_seen, "the most replicas it saw or wanted is " +
                                                     std::to_string(h->max_seen) + ", want " +
                                                     std::to_string(*x.max_replicas_seen));
    }
    if (x.rescales_min) {
      check(h->rescales >= *x.rescales_min, "rescaled " + std::to_string(h->rescales) +
                                                " times, want at least " +
                                                std::to_string(*x.rescales_min));
    }
    if (x.rescales_max) {
      check(h->rescales <= *x.rescales_max, "rescaled " + std::to_string(h->rescales) +
                                                " times, want at most " +
                                                std::to_string(*x.rescales_max));
    }
    return;
  }
  *description = "traffic " + x.traffic;
  const serving::TrafficStats* st = nullptr;
  size_t index = 0;
  if (serving_) {
    for (size_t i = 0; i < serving_->traffic().size(); ++i) {
      if (serving_->traffic()[i].name == x.traffic) st = &serving_->traffic()[i], index = i;
    }
  }
  if (!st) {
    check(false, "no traffic named " + x.traffic);
    return;
  }
  uint64_t failed = 0;
  for (int f = 0; f < static_cast<int>(serving::Failure::kCount); ++f) failed += st->failed[f];
  auto n = [](uint64_t v) { return std::to_string(v); };
  if (x.served_min) {
    check(st->served >= uint64_t(*x.served_min),
          "served " + n(st->served) + ", want at least " + n(uint64_t(*x.served_min)));
  }
  if (x.failed_max) {
    check(failed <= uint64_t(*x.failed_max),
          "failed " + n(failed) + ", want at most " + n(uint64_t(*x.failed_max)));
  }
  if (x.failed_min) {
    check(failed >= uint64_t(*x.failed_min),
          "failed " + n(failed) + ", want at least " + n(uint64_t(*x.failed_min)));
  }
  if (x.failed_by) {
    for (const auto& [reason, want] : *x.failed_by) {
      uint64_t got = 0;
      bool known = false;
      for (int f = 0; f < static_cast<int>(serving::Failure::kCount); ++f) {
        if (reason == serving::FailureName(static_cast<serving::Failure>(f))) {
          got = st->failed[f];
          known = true;
        }
      }
      check(known && n(got) == want, "failedBy " + reason + " is " + n(got) + ", want " + want);
    }
  }
  auto secs = [](double s) { return FormatDuration(Duration::Milliseconds(int64_t(s * 1000))); };
  if (x.ttft_p50_max) {
    const double q = st->ttft.Quantile(0.5);
    check(q <= x.ttft_p50_max->seconds(),
          "TTFT p50 is " + secs(q) + ", want at most " + FormatDuration(*x.ttft_p50_max));
  }
  if (x.ttft_p99_max) {
    const double q = st->ttft.Quantile(0.99);
    check(q <= x.ttft_p99_max->seconds(),
          "TTFT p99 is " + secs(q) + ", want at most " + FormatDuration(*x.ttft_p99_max));
  }
  if (x.ttft_p99_min) {
    const double q = st->ttft.Quantile(0.99);
    check(q >= x.ttft_p99_min->seconds(),
          "TTFT p99 is " + secs(q) + ", want at least " + FormatDuration(*x.ttft_p99_min));
  }
  if (x.max_ready_replicas) {
    int most = 0;
    for (const auto& pt : serving_->timelines()[index]) most = std::max(most, pt.ready);
    check(most == *x.max_ready_replicas, "at most " + std::to_string(most) +
                                             " replicas were ready, want " +
                                             std::to_string(*x.max_ready_replicas));
  }
}

void Simulation::CheckExpectations() {
  for (size_t i = 0; i < scenario_.expectations.size(); ++i) {
    const auto& x = scenario_.expectations[i];
    if (!x.at) {
      results_.push_back(Check(x));
    } else if (i < probed_.size() && probed_[i]) {
      results_.push_back(*probed_[i]);
    } else {
      ExpectationResult r;
      r.source = x.source;
      r.description = "at " + FormatDuration(*x.at);
      r.detail = "the run ended at " + FormatDuration(end() - start()) + ", before " +
                 FormatDuration(*x.at);
      results_.push_back(std::move(r));
    }
  }
}

void Simulation::Probe(size_t i) {
  if (probed_.size() < scenario_.expectations.size()) probed_.resize(scenario_.expectations.size());
  probed_[i] = Check(scenario_.expectations[i]);
}

ExpectationResult Simulation::Check(const api::Expectation& x) const {
  const Time t0 = start();
  {
    ExpectationResult r;
    r.source = x.source;
    std::vector<std::string> failures;
    auto check = [&](bool ok, const std::string& what) {
      if (!ok && failures.size() < 5) failures.push_back(what);
    };
    if (!x.pods.empty()) {
      // Without count: every matching pod must meet the conditions. With count: exactly
      // that many matching pods meet them.
      r.description = "pods " + x.pods;
      MatchTally tally;
      for (cluster::PodId id = 0; id < store_.pod_count(); ++id) {
        const auto& p = store_.pod(id);
        if (p.deleted) continue;
        std::string key = p.Key();
        if (!Glob(x.pods.c_str(), key.c_str()) && !Glob(x.pods.c_str(), p.name.c_str())) continue;
        std::vector<std::string> why;
        auto need = [&](bool ok, const std::string& what) {
          if (!ok) why.push_back(key + ": " + what);
        };
        if (x.phase)
          need(*x.phase == cluster::PhaseName(p.phase),
               std::string("phase is ") + cluster::PhaseName(p.phase) + ", want " + *x.phase);
        std::string node = p.Bound() ? store_.node(p.node).name() : "";
        if (x.node) need(*x.node == node, "node is \"" + node + "\", want \"" + *x.node + "\"");
        if (x.scheduled)
          need(*x.scheduled == p.Bound(), p.Bound() ? "was scheduled" : "was not scheduled");
        if (x.reason)
          need(*x.reason == p.reason, "reason is \"" + p.reason + "\", want \"" + *x.reason + "\"");
        if (x.message)
          need(*x.message == p.message,
               "message is \"" + p.message + "\", want \"" + *x.message + "\"");
        if (x.message_contains) {
          need(p.message.find(*x.message_contains) != std::string::npos,
               "message \"" + p.message + "\" does not contain \"" + *x.message_contains + "\"");
        }
        if (p.Bound()) {
          const auto& labels = store_.node(p.node).obj.metadata.labels;
          auto label = [&](const char* k) {
            auto it = labels.find(k);
            return it == labels.end() ? std::string() : it->second;
          };
          auto want_label = [&](const std::optional<std::string>& want, const char* k) {
            if (want)
              need(*want == label(k),
                   std::string(k) + " is \"" + label(k) + "\", want \"" + *want + "\"");
          };
          want_label(x.instance_type, "node.kubernetes.io/instance-type");
          want_label(x.capacity_type, "karpenter.sh/capacity-type");
          want_label(x.zone, "topology.kubernetes.io/zone");
          if (x.node_labels) {
            for (const auto& [k, v] : *x.node_labels) {
              need(label(k.c_str()) == v,
                   "node label " + k + " is \"" + label(k.c_str()) + "\", want \"" + v + "\"");
            }
          }
        } else if (x.instance_type || x.capacity_type || x.zone || x.node_labels) {
          need(false, "is not bound to a node");
        }
        if (x.karpenter_message_contains || x.pending_forever) {
          const karpenter::PodVerdict* v = karpenter_ ? karpenter_->Verdict(id) : nullptr;
          std::string msg = v ? v->message : "";
          if (x.karpenter_message_contains) {
            need(msg.find(*x.karpenter_message_contains) != std::string::npos,
                 "Karpenter's message \"" + msg + "\" does not contain \"" +
                     *x.karpenter_message_contains + "\"");
          }
          if (x.pending_forever) {
            bool forever = v && v->forever && !p.Bound();
            need(forever == *x.pending_forever, std::string(forever ? "is" : "is not") +
                                                    " pending forever (Karpenter: \"" + msg +
                                                    "\")");
          }
        }
        if (x.restart_count)
          need(*x.restart_count == p.restart_count,
               "restartCount is " + std::to_string(p.restart_count) + ", want " +
                   std::to_string(*x.restart_count));
        auto at = [&](const std::optional<Duration>& want, Time got, const char* field) {
          if (want)
            need(got != cluster::kNever && got - t0 == *want,
                 std::string(field) + " is " + Rel(got, t0) + ", want " + FormatDuration(*want));
        };
        at(x.scheduled_at, p.scheduled_at, "scheduledAt");
        at(x.ready_at, p.Ready() ? p.ReadySince() : cluster::kNever, "readyAt");
        at(x.started_at, p.started_at, "startedAt");
        at(x.finished_at, p.finished_at, "finishedAt");
        if (x.finished_by) {
          need(p.finished_at != cluster::kNever && p.finished_at - t0 <= *x.finished_by,
               "finishedAt is " + Rel(p.finished_at, t0) + ", want by " +
                   FormatDuration(*x.finished_by));
        }
        tally.Add(why);
      }
      tally.Report(x, "pod", check);
    } else if (!x.workload.empty()) {
      CheckWorkload(x, check, &r.description);
    } else if (!x.node_claim.empty()) {
      CheckNodeClaim(x, check, &r.description);
    } else if (!x.traffic.empty() || !x.hpa.empty()) {
      CheckServing(x, check, &r.description);
    } else if (!x.alert.empty()) {
      // Every alert of that name: how many fired, and each one's pending and firing time.
      r.description = "alert " + x.alert;
      int64_t fired = 0;
      if (rules_) {
        for (const auto& a : rules_->alerts()) {
          if (a.alert != x.alert) continue;
          fired += a.fired ? 1 : 0;
          if (x.pending_at) {
            check(a.pending_at - t0 == *x.pending_at,
                  "went pending at " + FormatDuration(a.pending_at - t0) + ", want " +
                      FormatDuration(*x.pending_at));
          }
          if (x.firing_at) {
            check(a.fired && a.firing_at - t0 == *x.firing_at,
                  a.fired ? "fired at " + FormatDuration(a.firing_at - t0) + ", want " +
                                FormatDuration(*x.firing_at)
                          : "never fired, want at " + FormatDuration(*x.firing_at));
          }
        }
      }
      if (x.fired) {
        check(fired == *x.fired,
              std::to_string(fired) + " fired, want " + std::to_string(*x.fired));
      }
    } else if (!x.job_set.empty()) {
      CheckJobSet(x, &r, check);
    } else if (!x.pytorch_job.empty()) {
      CheckPyTorchJob(x, &r, check);
    } else if (!x.leader_worker_set.empty()) {
      CheckLeaderWorkerSet(x, &r, check);
    } else if (!x.train_job.empty()) {
      CheckTrainJob(x, &r, check);
    } else if (!x.ray_cluster.empty() || !x.ray_job.empty() || !x.ray_service.empty()) {
      CheckRay(x, &r, check);
    } else {
      r.description = "job " + x.job;
      const cluster::JobRecord* job = nullptr;
      uint32_t index = 0;
      for (uint32_t i = 0; i < store_.jobs().size(); ++i) {
        const auto& j = store_.jobs()[i];
        if (j.obj.metadata.name == x.job ||
            j.obj.metadata.namespace_ + "/" + j.obj.metadata.name == x.job) {
          job = &j;
          index = i;
        }
      }
      if (!job) {
        check(false, "no such job");
      } else {
        std::string cond = job->condition.empty() ? "Active" : job->condition;
        if (x.condition)
          check(*x.condition == cond, "condition is " + cond + ", want " + *x.condition);
        if (x.reason)
          check(*x.reason == job->condition_reason,
                "reason is \"" + job->condition_reason + "\", want \"" + *x.reason + "\"");
        if (x.message)
          check(*x.message == job->condition_message,
                "message is \"" + job->condition_message + "\", want \"" + *x.message + "\"");
        if (x.message_contains)
          check(job->condition_message.find(*x.message_contains) != std::string::npos,
                "message is \"" + job->condition_message + "\", want one containing \"" +
                    *x.message_contains + "\"");
        if (x.succeeded)
          check(*x.succeeded == job->succeeded, "succeeded is " + std::to_string(job->succeeded) +
                                                    ", want " + std::to_string(*x.succeeded));
        if (x.failed)
          check(*x.failed == job->failed,
                "failed is " + std::to_string(job->failed) + ", want " + std::to_string(*x.failed));
        if (x.completed_indexes) {
          std::string got = FormatIndexList(job->succeeded_indexes);
          check(*x.completed_indexes == got,
                "completedIndexes is \"" + got + "\", want \"" + *x.completed_indexes + "\"");
        }
        if (x.failed_indexes) {
          std::string got = FormatIndexList(job->failed_indexes);
          check(*x.failed_indexes == got,
                "failedIndexes is \"" + got + "\", want \"" + *x.failed_indexes + "\"");
        }
        if (x.completed_at) {
          check(job->completion_time != cluster::kNever &&
                    job->completion_time - t0 == *x.completed_at,
                "completed at " + Rel(job->completion_time, t0) + ", want " +
                    FormatDuration(*x.completed_at));
        }
        if (x.lost_work) {
          double lost = 0;
          for (const auto& w : lost_work()) {
            const auto& p = store_.pod(w.pod);
            if (p.owner.kind == cluster::OwnerKind::kJob && p.owner.index == index)
              lost += w.seconds;
          }
          auto got = SaturatingNs(std::round(lost * 1e9));
          check(got == *x.lost_work,
                "lost work is " + FormatDuration(got) + ", want " + FormatDuration(*x.lost_work));
        }
        if (x.finished_by) {
          check(job->completion_time != cluster::kNever &&
                    job->completion_time - t0 <= *x.finished_by,
                "completed at " + Rel(job->completion_time, t0) + ", want by " +
                    FormatDuration(*x.finished_by));
        }
      }
    }
    r.passed = failures.empty();
    for (const auto& f : failures) r.detail += (r.detail.empty() ? "" : "; ") + f;
    if (x.at) r.description = "at " + FormatDuration(*x.at) + ": " + r.description;
    return r;
  }
}

}  // namespace gputwin::sim
