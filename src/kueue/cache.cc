#include "kueue/cache.h"

#include <algorithm>

#include "cluster/resources.h"

namespace gputwin::kueue {

namespace {

int64_t KueueUnits(const std::string& resource, Quantity q) {
  return cluster::ResourceRegistry::Units(resource, q);
}

}  // namespace

Cache::Cache(const api::Manifests& m, Diagnostics* diag) : config_(m.kueue_config) {
  // Flavors: the ResourceFlavor objects, then names ClusterQueues use without one.
  std::map<std::string, int32_t> flavor_index;
  auto flavor = [&](const std::string& name) {
    auto [it, added] = flavor_index.emplace(name, static_cast<int32_t>(flavor_names_.size()));
    if (added) {
      flavor_names_.push_back(name);
      flavor_objs_.emplace_back();
    }
    return it->second;
  };
  for (const auto& rf : m.resource_flavors)
    flavor_objs_[static_cast<size_t>(flavor(rf.metadata.name))] = rf;
  for (const auto& t : m.topologies) topology_levels_[t.metadata.name] = t.levels;

  // Flavor-resources: every (flavor, resource) a ClusterQueue or Cohort gives quota for.
  auto register_groups = [&](const std::vector<api::ResourceGroup>& groups) {
    for (const auto& g : groups) {
      for (const auto& f : g.flavors) {
        int32_t fi = flavor(f.name);
        for (const auto& q : f.resources) {
          FlavorResourceKey key{fi, ResourceIndex(q.resource)};
          if (fr_ids_.emplace(key, static_cast<FrId>(fr_keys_.size())).second) {
            fr_keys_.push_back(key);
            fr_resource_.push_back(key.resource);
          }
        }
      }
    }
  };
  for (const auto& cq : m.cluster_queues) register_groups(cq.resource_groups);
  for (const auto& co : m.cohorts) register_groups(co.resource_groups);
  tree_ = QuotaTree(static_cast<int32_t>(fr_keys_.size()));

  auto set_quotas = [&](int32_t node, const std::vector<api::ResourceGroup>& groups) {
    for (const auto& g : groups) {
      for (const auto& f : g.flavors) {
        for (const auto& q : f.resources) {
          FrId fr = fr_ids_.at({flavor(f.name), ResourceIndex(q.resource)});
          auto units = [&](const std::optional<Quantity>& v) {
            return v ? KueueUnits(q.resource, *v) : kNoLimit;
          };
          tree_.SetQuota(node, fr, KueueUnits(q.resource, q.nominal_quota),
                         units(q.borrowing_limit), units(q.lending_limit));
        }
      }
    }
  };

  // Cohorts: explicit objects and the names ClusterQueues and Cohorts refer to.
  std::map<std::string, int32_t> cohort_node;
  std::map<std::string, const api::Cohort*> cohort_obj;
  for (const auto& co : m.cohorts) cohort_obj[co.metadata.name] = &co;
  auto cohort = [&](const std::string& name) {
    auto it = cohort_node.find(name);
    if (it != cohort_node.end()) return it->second;
    int32_t id = tree_.AddNode(name, false);
    cohort_node[name] = id;
    cq_of_node_.push_back(-1);
    return id;
  };
  for (const auto& co : m.cohorts) cohort(co.metadata.name);
  for (const auto& cq : m.cluster_queues) {
    if (!cq.cohort.empty()) cohort(cq.cohort);
  }
  for (const auto& co : m.cohorts) {
    if (!co.parent.empty()) cohort(co.parent);
  }
  // A cycle in the Cohort tree makes every ClusterQueue in it inactive.
  std::set<std::string> in_cycle;
  for (const auto& [name, id] : cohort_node) {
    std::vector<std::string> path;
    std::string cur = name;
    while (true) {
      if (std::find(path.begin(), path.end(), cur) != path.end()) {
        in_cycle.insert(path.begin(), path.end());
        break;
      }
      path.push_back(cur);
      auto o = cohort_obj.find(cur);
      if (o == cohort_obj.end() || o->second->parent.empty()) break;
      cur = o->second->parent;
    }
  }
  for (const auto& [name, id] : cohort_node) {
    auto o = cohort_obj.find(name);
    if (o == cohort_obj.end()) continue;
    tree_.node(id).weight = static_cast<double>(o->second->fair_sharing_weight.milli) / 1000.0;
    set_quotas(id, o->second->resource_groups);
    if (!o->second->parent.empty() && !in_cycle.count(name)) {
      tree_.SetParent(id, cohort_node.at(o->second->parent));
    }
  }
  for (const auto& name : in_cycle) {
    diag->Warn(cohort_obj.at(name)->metadata.source, "spec.parentName",
               "Cohort \"" + name + "\" is in a cycle: its ClusterQueues are inactive");
  }

  for (const auto& obj : m.cluster_queues) {
    ClusterQueueState cq;
    cq.obj = obj;
    cq.strict_fifo = obj.queueing_strategy == "StrictFIFO";
    cq.node = tree_.AddNode(obj.metadata.name, true);
    cq_of_node_.push_back(static_cast<int32_t>(cqs_.size()));
    tree_.node(cq.node).weight = static_cast<double>(obj.fair_sharing_weight.milli) / 1000.0;
    set_quotas(cq.node, obj.resource_groups);
    for (const auto& g : obj.resource_groups) {
      ResourceGroupInfo info;
      for (const auto& r : g.covered_resources) {
        info.resources.push_back(ResourceIndex(r));
        if (r == "pods") cq.covers_pods = true;
      }
      for (const auto& f : g.flavors) info.flavors.push_back(flavor(f.name));
      cq.groups.push_back(std::move(info));
    }
    // A TAS-only ClusterQueue: every flavor it names has a topology.
    cq.tas_only = !cq.groups.empty();
    for (const auto& g : cq.groups) {
      for (int32_t f : g.flavors) {
        const auto& rf = flavor_objs_[static_cast<size_t>(f)];
        cq.tas_only = cq.tas_only && rf && !rf->topology_name.empty();
      }
    }
    if (!obj.cohort.empty()) tree_.SetParent(cq.node, cohort_node.at(obj.cohort));
    // Active condition, in the order Kueue's ClusterQueue controller reports it.
    if (obj.stop_policy != "None") {
      cq.active = false;
      cq.inactive_reason = "Stopped";
      cq.inactive_message = "Can't admit new workloads: ClusterQueue is stopped";
    } else if (!obj.cohort.empty() && in_cycle.count(obj.cohort)) {
      cq.active = false;
      cq.inactive_reason = "CohortHasCycle";
      cq.inactive_message = "Can't admit new workloads: Cohort has a cycle";
    } else {
      std::vector<std::string> missing;
      for (const auto& g : obj.resource_groups) {
        for (const auto& f : g.flavors) {
          if (!Flavor(flavor(f.name))) missing.push_back(f.name);
        }
      }
      if (!missing.empty()) {
        cq.active = false;
        cq.inactive_reason = "FlavorNotFound";
        std::string list;
        for (const auto& f : missing) list += (list.empty() ? "" : ", ") + f;
        cq.inactive_message =
            "Can't admit new workloads: references missing ResourceFlavor(s): " + list;
        diag->Warn(obj.metadata.source, "spec.resourceGroups",
                   "ClusterQueue \"" + obj.metadata.name +
                       "\" is inactive: references missing ResourceFlavor(s): " + list);
      }
    }
    cqs_.push_back(std::move(cq));
  }
  for (auto& cq : cqs_) {
    cq.group_of_resource.assign(resource_names_.size(), -1);
    for (size_t g = 0; g < cq.groups.size(); ++g) {
      for (int32_t r : cq.groups[g].resources) {
        cq.group_of_resource[static_cast<size_t>(r)] = static_cast<int32_t>(g);
      }
    }
  }
  tree_.Rebuild();

  pods_resource_ = ResourceIndex("pods");
  std::map<std::string, int32_t> cq_index;
  for (size_t i = 0; i < cqs_.size(); ++i) {
    cq_index[cqs_[i].obj.metadata.name] = static_cast<int32_t>(i);
  }
  for (const auto& obj : m.local_queues) {
    LocalQueueState lq;
    lq.obj = obj;
    auto it = cq_index.find(obj.cluster_queue);
    if (it != cq_index.end()) lq.cq = it->second;
    lq_index_[obj.metadata.namespace_ + "/" + obj.metadata.name] =
        static_cast<int32_t>(lqs_.size());
    lqs_.push_back(std::move(lq));
  }
  for (const auto& ns : m.namespaces) {
    auto labels = ns.metadata.labels;
    labels["kubernetes.io/metadata.name"] = ns.metadata.name;
    namespace_labels_[ns.metadata.name] = std::move(labels);
  }
}

int32_t Cache::ResourceIndex(const std::string& name) {
  auto [it, added] = resource_index_.emplace(name, static_cast<int32_t>(resource_names_.size()));
  if (added) {
    resource_names_.push_back(name);
    for (auto& cq : cqs_) cq.group_of_resource.push_back(-1);
  }
  return it->second;
}

int32_t Cache::FindResource(const std::string& name) const {
  auto it = resource_index_.find(name);
  return it == resource_index_.end() ? -1 : it->second;
}

const std::vector<std::string>* Cache::TopologyLevels(int32_t f) const {
  const auto& rf = flavor_objs_[static_cast<size_t>(f)];
  if (!rf || rf->topology_name.empty()) return nullptr;
  auto it = topology_levels_.find(rf->topology_name);
  return it == topology_levels_.end() ? nullptr : &it->second;
}

FrId Cache::Fr(int32_t flavor, int32_t resource) const {
  auto it = fr_ids_.find({flavor, resource});
  return it == fr_ids_.end() ? -1 : it->second;
}

std::string Cache::FormatAmount(int32_t resource, int64_t v) const {
  // As Kueue's resources.ResourceQuantity: CPU in milli-units, memory, ephemeral storage and
  // hugepages in binary SI ("20Gi", not bytes), the rest decimal.
  const std::string& name = ResourceName(resource);
  if (name == "cpu") return FormatQuantity(Quantity{v});
  const bool binary =
      name == "memory" || name == "ephemeral-storage" || name.starts_with("hugepages-");
  return FormatQuantity(Quantity{v * 1000}, binary);
}

int32_t Cache::FindLocalQueue(const std::string& ns, const std::string& name) const {
  auto it = lq_index_.find(ns + "/" + name);
  return it == lq_index_.end() ? -1 : it->second;
}

const api::Labels& Cache::NamespaceLabels(const std::string& ns) {
  auto it = namespace_labels_.find(ns);
  if (it != namespace_labels_.end()) return it->second;
  return namespace_labels_[ns] = api::Labels{{"kubernetes.io/metadata.name", ns}};
}

WorkloadId Cache::AddWorkload(WorkloadState w) {
  workloads_.push_back(std::move(w));
  return static_cast<WorkloadId>(workloads_.size() - 1);
}

std::vector<int32_t> Cache::CqsInTree(int32_t cq) const {
  const int32_t node = this->cq(cq).node;
  if (!tree_.HasParent(node)) return {cq};
  std::vector<int32_t> out;
  auto visit = [&](auto& self, int32_t n) -> void {
    const auto& q = tree_.node(n);
    for (int32_t c : q.child_cohorts) self(self, c);
    for (int32_t c : q.child_cqs) out.push_back(cq_of_node_[static_cast<size_t>(c)]);
  };
  visit(visit, tree_.Root(node));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::pair<int32_t, int64_t>> Cache::PodRequests(const PodSet& ps) {
  std::vector<std::pair<int32_t, int64_t>> out;
  for (const auto& [name, q] : ps.requests) {
    bool excluded = std::any_of(
        config_.exclude_resource_prefixes.begin(), config_.exclude_resource_prefixes.end(),
        [&name = name](const std::string& p) { return name.starts_with(p); });
    if (excluded) continue;
    out.emplace_back(ResourceIndex(name), KueueUnits(name, q));
  }
  return out;
}

namespace {
std::tuple<int64_t, int64_t, uint64_t, WorkloadId> HeapKey(const WorkloadState& w, WorkloadId id) {
  return {-static_cast<int64_t>(w.spec.priority), w.queue_order.ns, w.uid, id};
}
}  // namespace

void Cache::Enqueue(WorkloadId id) {
  auto& w = wl(id);
  if (w.queued || w.cq < 0) return;
  auto& q = cq(w.cq);
  auto [it, added] = q.eq_group_of_hash.emplace(w.equivalence, q.eq_groups.size());
  if (added) q.eq_groups.emplace_back();
  q.eq_groups[it->second].members.insert(HeapKey(w, id));
  w.queued = true;
}

void Cache::Dequeue(WorkloadId id) {
  auto& w = wl(id);
  if (!w.queued) return;
  auto& q = cq(w.cq);
  q.eq_groups[q.eq_group_of_hash.at(w.equivalence)].members.erase(HeapKey(w, id));
  w.queued = false;
  if (q.sticky == id) q.sticky = kNoWorkload;
}

WorkloadId Cache::Head(int32_t c) const {
  const auto& q = cq(c);
  if (q.sticky != kNoWorkload) return q.sticky;
  const std::tuple<int64_t, int64_t, uint64_t, WorkloadId>* best = nullptr;
  for (const auto& g : q.eq_groups) {
    if (g.inadmissible || g.members.empty()) continue;
    if (!best || *g.members.begin() < *best) best = &*g.members.begin();
  }
  return best ? std::get<3>(*best) : kNoWorkload;
}

void Cache::MarkInadmissible(WorkloadId id) {
  auto& w = wl(id);
  auto& q = cq(w.cq);
  q.eq_groups[q.eq_group_of_hash.at(w.equivalence)].inadmissible = true;
  if (q.sticky == id) q.sticky = kNoWorkload;
}

bool Cache::RequeueInadmissible(const std::vector<int32_t>& cqs) {
  bool moved = false;
  for (int32_t c : cqs) {
    for (auto& g : cq(c).eq_groups) {
      if (g.inadmissible && !g.members.empty()) moved = true;
      g.inadmissible = false;
    }
  }
  return moved;
}

int64_t Cache::PendingCount(int32_t c, bool inadmissible) const {
  const auto& q = cq(c);
  int64_t n = inadmissible ? q.backing_off : 0;
  for (const auto& g : q.eq_groups) {
    if (g.inadmissible == inadmissible) n += static_cast<int64_t>(g.members.size());
  }
  return n;
}

}  // namespace gputwin::kueue
