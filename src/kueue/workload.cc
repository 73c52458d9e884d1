#include "kueue/workload.h"

#include <algorithm>

#include "controllers/trainjob_builder.h"

namespace gputwin::kueue {

api::ResourceList PodRequests(const api::PodSpec& spec) {
  auto effective = [](const api::Container& c) {
    api::ResourceList r = c.resources.requests;
    for (const auto& [name, q] : c.resources.limits) r.emplace(name, q);
    return r;
  };
  api::ResourceList sum;
  for (const auto& c : spec.containers) {
    for (const auto& [name, q] : effective(c)) sum[name] = Quantity{sum[name].milli + q.milli};
  }
  // Sidecars (restartable init containers) add to the app containers and to every init
  // container after them (AggregateContainerRequests).
  api::ResourceList sidecars, init_max;
  for (const auto& c : spec.init_containers) {
    api::ResourceList v = effective(c);
    if (c.sidecar) {
      for (const auto& [name, q] : v) sidecars[name] = Quantity{sidecars[name].milli + q.milli};
      v = sidecars;
    } else {
      for (const auto& [name, q] : sidecars) v[name] = Quantity{v[name].milli + q.milli};
    }
    for (const auto& [name, q] : v) init_max[name] = std::max(init_max[name], q);
  }
  for (const auto& [name, q] : sidecars) sum[name] = Quantity{sum[name].milli + q.milli};
  for (const auto& [name, q] : init_max) sum[name] = std::max(sum[name], q);
  // Pod-level requests (defaulted from limits when decoded) stand for the containers'.
  if (spec.pod_resources) {
    for (const auto& [name, q] : spec.pod_resources->requests) sum[name] = q;
  }
  for (const auto& [name, q] : spec.overhead) sum[name] = Quantity{sum[name].milli + q.milli};
  return sum;
}

std::optional<PodSetTopologyRequest> TopologyRequestOf(const api::ObjectMeta& tmpl, int32_t count,
                                                       const SourceRef& where,
                                                       const std::string& field_prefix) {
  const auto& a = tmpl.annotations;
  auto get = [&](const char* key) -> const std::string* {
    auto it = a.find(key);
    return it == a.end() ? nullptr : &it->second;
  };
  const SourceRef& at = tmpl.source.line > 0 ? tmpl.source : where;
  auto fail = [&](const char* key, const std::string& what) {
    throw InputError(at, field_prefix + "metadata.annotations[" + key + "]", what);
  };
  const std::string* required = get(kPodSetRequiredTopology);
  const std::string* preferred = get(kPodSetPreferredTopology);
  const std::string* unconstrained = get(kPodSetUnconstrainedTopology);
  const std::string* slice = get(kPodSetSliceRequiredTopology);
  const std::string* slice_size = get(kPodSetSliceSize);
  if ((required ? 1 : 0) + (preferred ? 1 : 0) + (unconstrained ? 1 : 0) > 1) {
    fail(required ? kPodSetRequiredTopology : kPodSetPreferredTopology,
         "Invalid value: must not contain more than one topology annotation: "
         "[\"kueue.x-k8s.io/podset-required-topology\", "
         "\"kueue.x-k8s.io/podset-preferred-topology\", "
         "\"kueue.x-k8s.io/podset-unconstrained-topology\"]");
  }
  // validatePodSetGroupNameAnnotation and its companions (tas_validation.go).
  if (const std::string* group = get(kPodSetGroupName)) {
    if (!group->empty() && group->size() < 20 &&
        std::all_of(group->begin(), group->end(), [](char c) { return c >= '0' && c <= '9'; })) {
      fail(kPodSetGroupName, "Invalid value: \"" + *group + "\": must not be a number");
    }
    for (const char* key : {kPodSetSliceSize, kPodSetSliceRequiredTopology}) {
      if (get(key)) {
        fail(kPodSetGroupName,
             std::string("Forbidden: may not be set when '") + key + "' is specified");
      }
    }
    if (!required && !preferred) {
      fail(kPodSetGroupName, std::string("Forbidden: may not be set when neither '") +
                                 kPodSetPreferredTopology + "' nor '" + kPodSetRequiredTopology +
                                 "' is specified");
    }
  }
  if (!required && !preferred && !unconstrained && !slice && !slice_size) return std::nullopt;
  for (const auto* key :
       {kPodSetRequiredTopology, kPodSetPreferredTopology, kPodSetSliceRequiredTopology}) {
    const std::string* v = get(key);
    if (v && v->empty()) fail(key, "Invalid value: \"\": name part must be non-empty");
  }
  PodSetTopologyRequest r;
  if (const std::string* group = get(kPodSetGroupName)) r.group = *group;
  if (required) r.required = *required;
  if (preferred) r.preferred = *preferred;
  if (unconstrained) {
    if (*unconstrained != "true" && *unconstrained != "false") {
      fail(kPodSetUnconstrainedTopology,
           "Invalid value: \"" + *unconstrained + "\": must be a boolean value");
    }
    r.unconstrained = *unconstrained == "true";
  }
  if (slice) {
    if (!slice_size) {
      fail(kPodSetSliceSize, std::string("Required value: must be set when '") +
                                 kPodSetSliceRequiredTopology + "' is specified");
    }
    r.slice_level = *slice;
  }
  if (slice_size) {
    if (!slice) {
      fail(kPodSetSliceSize, std::string("Invalid value: may not be set when '") +
                                 kPodSetSliceRequiredTopology + "' is not specified");
    }
    const bool digits = !slice_size->empty() && slice_size->size() < 10 &&
                        std::all_of(slice_size->begin(), slice_size->end(),
                                    [](char c) { return c >= '0' && c <= '9'; });
    if (!digits)
      fail(kPodSetSliceSize, "Invalid value: \"" + *slice_size + "\": must be a numeric value");
    r.slice_size = std::stoi(*slice_size);
    if (r.slice_size < 1)
      fail(kPodSetSliceSize, "Invalid value: must be greater than or equal to 1");
    if (r.slice_size > count) {
      fail(kPodSetSliceSize,
           "Invalid value: must not be greater than pod set count " + std::to_string(count));
    }
  }
  return r;
}

void SetPriority(Workload* w, const api::Labels& labels, const api::PodSpec& spec,
                 const api::Manifests& m, const SourceRef& source) {
  if (auto wpc = labels.find(kPriorityClassLabel); wpc != labels.end()) {
    auto it = std::find_if(m.workload_priority_classes.begin(), m.workload_priority_classes.end(),
                           [&](const auto& c) { return c.metadata.name == wpc->second; });
    if (it == m.workload_priority_classes.end()) {
      throw InputError(source, std::string("metadata.labels.") + kPriorityClassLabel,
                       "workloadPriorityClass \"" + wpc->second + "\" not found");
    }
    w->priority = it->value;
    w->priority_class_name = wpc->second;
    w->priority_class_source = "kueue.x-k8s.io/workloadpriorityclass";
    return;
  }
  const std::string& pcn = spec.priority_class_name;
  if (!pcn.empty()) {
    for (const auto& pc : m.priority_classes) {
      if (pc.metadata.name == pcn) {
        w->priority = pc.value;
        w->priority_class_name = pcn;
        w->priority_class_source = "scheduling.k8s.io/priorityclass";
        return;
      }
    }
    // A missing PriorityClass is the API server's error for the pods; leave priority 0.
    return;
  }
  const api::PriorityClass* lowest_default = nullptr;
  for (const auto& pc : m.priority_classes) {
    if (pc.global_default && (!lowest_default || pc.value < lowest_default->value)) {
      lowest_default = &pc;
    }
  }
  if (lowest_default) {
    w->priority = lowest_default->value;
    w->priority_class_name = lowest_default->metadata.name;
    w->priority_class_source = "scheduling.k8s.io/priorityclass";
  }
}

Workload WorkloadForPods(const std::string& namespace_, const std::string& name,
                         const std::string& queue, const api::Labels& labels,
                         std::vector<PodSet> pod_sets, const api::Manifests& m,
                         const SourceRef& source) {
  Workload w;
  w.namespace_ = namespace_;
  w.name = name;
  w.queue_name = queue;
  w.pod_sets = std::move(pod_sets);
  SetPriority(&w, labels, *w.pod_sets.front().spec, m, source);
  return w;
}

std::optional<Workload> WorkloadForJob(const api::Job& job, const api::Manifests& m) {
  const auto& labels = job.metadata.labels;
  auto q = labels.find(kQueueNameLabel);
  if (q == labels.end() || q->second.empty()) return std::nullopt;
  Workload w;
  w.namespace_ = job.metadata.namespace_;
  w.name = "job-" + job.metadata.name;
  w.queue_name = q->second;
  PodSet ps;
  ps.count = job.parallelism.value_or(1);
  if (job.completions) ps.count = std::min(ps.count, *job.completions);
  auto mp = job.metadata.annotations.find(kMinParallelismAnnotation);
  if (mp != job.metadata.annotations.end()) {
    try {
      ps.min_count = std::stoi(mp->second);
    } catch (const std::exception&) {
      throw InputError(job.metadata.source,
                       std::string("metadata.annotations.") + kMinParallelismAnnotation,
                       "\"" + mp->second + "\" is not an integer");
    }
  }
  ps.requests = PodRequests(job.template_->spec);
  ps.spec = job.template_->spec;
  ps.topology =
      TopologyRequestOf(job.template_->metadata, ps.count, job.metadata.source, "spec.template.");
  // The Job integration ranks pods by their completion index.
  if (ps.topology) ps.topology->pod_index_label = "batch.kubernetes.io/job-completion-index";
  w.pod_sets.push_back(ps);

  SetPriority(&w, labels, job.template_->spec, m, job.metadata.source);
  return w;
}

// Kueue's JobSet integration (pkg/controller/jobs/jobset): a PodSet per replicatedJob,
// named after it, of replicas × min(parallelism, completions) pods.
std::optional<Workload> WorkloadForJobSet(const api::JobSet& js, const api::Manifests& m) {
  const auto& labels = js.metadata.labels;
  auto q = labels.find(kQueueNameLabel);
  if (q == labels.end() || q->second.empty()) return std::nullopt;
  Workload w;
  w.namespace_ = js.metadata.namespace_;
  w.name = "jobset-" + js.metadata.name;
  w.queue_name = q->second;
  for (const auto& rj : js.replicated_jobs) {
    PodSet ps;
    ps.name = rj.name;
    const int32_t parallelism = rj.template_.parallelism.value_or(1);
    ps.count = rj.replicas * std::min(parallelism, rj.template_.completions.value_or(parallelism));
    ps.requests = PodRequests(rj.template_.template_->spec);
    ps.spec = rj.template_.template_->spec;
    ps.topology = TopologyRequestOf(rj.template_.template_->metadata, ps.count, rj.source,
                                    "template.spec.template.");
    w.pod_sets.push_back(std::move(ps));
  }
  // The priority: the JobSet's WorkloadPriorityClass label, else its first pod template's.
  SetPriority(&w, labels, js.replicated_jobs.front().template_.template_->spec, m,
              js.metadata.source);
  return w;
}

// Kueue's TrainJob integration (pkg/controller/jobs/trainjob PodSets): the trainer's own
// RuntimeInfo and JobSet builder give the child JobSet, whose PodSets the JobSet integration
// computes (replicas × min(parallelism, completions), the built pod template). With trainer
// v2.3 (what Kueue's main branch builds with) resourcesPerNode is merged into the runtime's
// container; Kueue v0.19 vendors trainer v2.2, which replaced the container's resources.
std::optional<Workload> WorkloadForTrainJob(const api::TrainJob& tj, const api::Manifests& m) {
  const auto& labels = tj.metadata.labels;
  auto q = labels.find(kQueueNameLabel);
  if (q == labels.end() || q->second.empty()) return std::nullopt;
  const api::TrainingRuntime* rt = controllers::FindTrainingRuntime(m.training_runtimes, tj);
  if (!rt) return std::nullopt;
  api::JobSet js = controllers::BuildTrainJobJobSet(tj, *rt).job_set;
  js.metadata.labels = labels;  // the queue and priority are the TrainJob's
  std::optional<Workload> w = WorkloadForJobSet(js, m);
  if (w) w->name = "trainjob-" + tj.metadata.name;
  return w;
}

// Kueue's PyTorchJob integration (pkg/controller/jobs/kubeflow/jobs/pytorchjob): PodSets
// "master" then "worker", of each replica spec's replicas.
std::optional<Workload> WorkloadForPyTorchJob(const api::PyTorchJob& job, const api::Manifests& m) {
  const auto& labels = job.metadata.labels;
  auto q = labels.find(kQueueNameLabel);
  if (q == labels.end() || q->second.empty()) return std::nullopt;
  Workload w;
  w.namespace_ = job.metadata.namespace_;
  w.name = "pytorchjob-" + job.metadata.name;
  w.queue_name = q->second;
  for (const auto& rs : job.replica_specs) {
    PodSet ps;
    ps.name = rs.type == "Master" ? "master" : "worker";
    ps.count = rs.replicas;
    ps.requests = PodRequests(rs.template_.spec);
    ps.spec = rs.template_.spec;
    ps.topology = TopologyRequestOf(rs.template_.metadata, ps.count, rs.source, "template.");
    w.pod_sets.push_back(std::move(ps));
  }
  // schedulingPolicy.priorityClass, else the first replica's priorityClassName.
  api::PodSpec spec = job.replica_specs.front().template_.spec;
  if (!job.priority_class.empty()) spec.priority_class_name = job.priority_class;
  SetPriority(&w, labels, spec, m, job.metadata.source);
  return w;
}

// jobs/leaderworkerset podSets: "leader" (1) and "worker" (size-1) with a leader template,
// else "main" (size); the LWS's own labels and annotations are not part of them.
std::vector<PodSet> LeaderWorkerSetPodSets(const api::LeaderWorkerSet& lws) {
  std::vector<PodSet> out;
  auto add = [&](const char* name, int32_t count, const api::PodTemplateSpec& t) {
    PodSet ps;
    ps.name = name;
    ps.count = count;
    ps.requests = PodRequests(t.spec);
    ps.spec = t.spec;
    // newPodSet: the template's TAS annotations; the worker PodSet's pods are ranked by their
    // worker index less one when a leader template exists (the webhook's
    // kueue.x-k8s.io/pod-index-offset: "1", or, in a podset group, the TopologyUngater's
    // rank offset of the leader PodSet's one pod).
    ps.topology = TopologyRequestOf(
        t.metadata, count, lws.metadata.source,
        std::string("spec.leaderWorkerTemplate.") +
            (std::string(name) == "leader" ? "leaderTemplate." : "workerTemplate."));
    if (ps.topology && std::string(name) != "leader") {
      ps.topology->pod_index_label = "leaderworkerset.sigs.k8s.io/worker-index";
      if (lws.leader_template) ps.topology->pod_index_offset = 1;
    }
    out.push_back(std::move(ps));
  };
  if (lws.leader_template) {
    add("leader", 1, *lws.leader_template);
    if (lws.size > 1) add("worker", lws.size - 1, lws.worker_template);
  } else {
    add("main", lws.size, lws.worker_template);
  }
  return out;
}

}  // namespace gputwin::kueue
