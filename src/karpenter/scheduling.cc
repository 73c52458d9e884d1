// The scheduling simulation (pkg/controllers/provisioning/scheduling: scheduler.go,
// nodeclaim.go, existingnode.go) and the offering helpers it shares with the launch.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "cluster/scheduling_helpers.h"
#include "karpenter/karpenter.h"
#include "karpenter/topology.h"

namespace gputwin::karpenter {

namespace {

bool Fits(const ResourceVec& requests, const ResourceVec& available) {
  for (size_t r = 0; r < requests.size(); ++r) {
    if (requests[r] > cluster::At(available, r)) return false;
  }
  return true;
}

std::string FormatResources(const ResourceVec& v, const cluster::ResourceRegistry& reg) {
  std::string out = "{";
  for (size_t r = 0; r < v.size(); ++r) {
    if (v[r] == 0) continue;
    const std::string& name = reg.Name(static_cast<cluster::ResourceId>(r));
    Quantity q{name == "cpu" ? v[r] : v[r] * 1000};
    out += (out.size() > 1 ? "," : "") + std::string("\"") + name + "\":\"" +
           FormatQuantity(q, name == "memory" || name == "ephemeral-storage") + "\"";
  }
  return out + "}";
}

std::string FormatPlaceholder(size_t n) {
  std::string s = std::to_string(n);
  return std::string(s.size() < 4 ? 4 - s.size() : 0, '0') + s;
}

}  // namespace

bool Karpenter::HasTopology(const api::PodSpec& spec) {
  return !spec.topology_spread_constraints.empty() || spec.pod_affinity || spec.pod_anti_affinity;
}

bool Karpenter::InvolvesTopology(const std::vector<PodId>& pods) const {
  if (!bound_anti_affinity_.empty()) return true;
  return std::any_of(pods.begin(), pods.end(),
                     [&](PodId id) { return HasTopology(*store_.pod(id).tmpl->spec); });
}

Topology Karpenter::BuildTopology(const std::vector<PodId>& pods, const SimNodes& existing,
                                  const std::set<uint32_t>& exclude) const {
  Topology topo;
  if (!InvolvesTopology(pods)) return topo;
  std::set<PodId> placing(pods.begin(), pods.end());
  for (PodId id : pods) topo.AddPod(store_.pod(id));
  for (PodId id : bound_anti_affinity_) {
    if (placing.count(id)) continue;
    const auto& p = store_.pod(id);
    topo.AddBoundAntiAffinity(p, store_.node(p.node).obj.metadata.labels);
  }
  if (topo.empty()) return topo;
  // Domains: what the NodePools may launch into (buildDomainGroups: their In values and
  // their instance types' labels and offerings), and the existing nodes' labels.
  for (const auto& key : topo.Keys()) {
    if (key == "kubernetes.io/hostname") continue;
    for (const auto& pool : pools_) {
      if (!pool.not_ready.empty()) continue;
      const Requirement* r = pool.requirements.Get(key);
      if (r && !r->complement) {
        for (const auto& v : r->values) topo.AddDomain(key, v);
      }
      for (uint32_t t : pool.instance_types) {
        if (key == "topology.kubernetes.io/zone" || key == "karpenter.sh/capacity-type") {
          for (const auto& o : ec2_.OfferingsOf(t)) {
            std::string v = key == "topology.kubernetes.io/zone"
                                ? o.zone
                                : std::string(cloud::CapacityTypeName(o.capacity_type));
            if (!r || r->Has(v)) topo.AddDomain(key, v);
          }
          continue;
        }
        const auto& labels = type_labels_[t];
        if (auto it = labels.find(key); it != labels.end() && (!r || r->Has(it->second))) {
          topo.AddDomain(key, it->second);
        }
      }
    }
  }
  for (const auto& n : existing.nodes) {
    if (n.claim >= 0 && exclude.count(static_cast<uint32_t>(n.claim))) continue;
    for (const auto& key : topo.Keys()) {
      if (key == "kubernetes.io/hostname") {
        topo.AddDomain(key, *n.name);
      } else if (auto it = n.labels->find(key); it != n.labels->end()) {
        topo.AddDomain(key, it->second);
      }
    }
  }
  // Bound pods, where they run (countDomains), but those this pass places again.
  for (NodeId nid = 0; nid < store_.node_count(); ++nid) {
    const auto& node = store_.node(nid);
    if (node.deleted) continue;
    for (PodId id : node.pods) {
      if (placing.count(id)) continue;
      const auto& p = store_.pod(id);
      if (p.deleted || p.Terminal()) continue;
      topo.CountBound(p, node.obj.metadata.labels, node.obj.taints);
    }
  }
  return topo;
}

bool Karpenter::OfferingAvailable(const cloud::Offering& o, Time now) const {
  auto it = unavailable_.find({static_cast<int>(o.capacity_type), o.type, o.zone});
  return it == unavailable_.end() || it->second.until <= now;
}

bool Karpenter::TypeHasOffering(uint32_t type, const Requirements& reqs, Time now) const {
  const Requirement* z = reqs.Get("topology.kubernetes.io/zone");
  const Requirement* c = reqs.Get("karpenter.sh/capacity-type");
  for (const auto& o : ec2_.OfferingsOf(type)) {
    if ((!z || z->Has(o.zone)) && (!c || c->Has(cloud::CapacityTypeName(o.capacity_type))) &&
        OfferingAvailable(o, now)) {
      return true;
    }
  }
  return false;
}

double Karpenter::TypePrice(uint32_t type, const Requirements& reqs, Time now) const {
  const Requirement* z = reqs.Get("topology.kubernetes.io/zone");
  const Requirement* c = reqs.Get("karpenter.sh/capacity-type");
  double best = INFINITY;
  for (const auto& o : ec2_.OfferingsOf(type)) {
    if ((!z || z->Has(o.zone)) && (!c || c->Has(cloud::CapacityTypeName(o.capacity_type))) &&
        OfferingAvailable(o, now)) {
      best = std::min(best, o.price);
    }
  }
  return best;
}

void Karpenter::SortByPrice(std::vector<uint32_t>* types, const Requirements& reqs,
                            Time now) const {
  std::vector<std::pair<double, uint32_t>> priced;
  priced.reserve(types->size());
  for (uint32_t t : *types) priced.emplace_back(TypePrice(t, reqs, now), t);
  std::stable_sort(priced.begin(), priced.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < priced.size(); ++i) (*types)[i] = priced[i].second;
}

const ResourceVec& Karpenter::TypeAllocatable(uint32_t pool, uint32_t type) const {
  static const ResourceVec kNone;
  const auto& v = pools_[pool].allocatable;
  return type < v.size() ? v[type] : kNone;
}

const ResourceVec& Karpenter::TypeCapacity(uint32_t pool, uint32_t type) const {
  static const ResourceVec kNone;
  const auto& v = pools_[pool].capacity;
  return type < v.size() ? v[type] : kNone;
}

std::string Karpenter::CanAdd(NewClaim* c, PodId id, const Requirements& pod_reqs, Time now,
                              bool explain) const {
  const auto& p = store_.pod(id);
  ResourceVec requests = c->requests;
  cluster::AddTo(&requests, p.tmpl->requests);
  if (requests.size() <= cluster::kPods) requests.resize(cluster::kPods + 1, 0);
  requests[cluster::kPods] += 1;
  if (!c->max_allocatable.empty() && !Fits(requests, c->max_allocatable)) {
    if (!explain) return "x";
    return "no instance type satisfied resources " + FormatResources(requests, store_.resources());
  }
  if (std::string why = c->requirements().Compatible(pod_reqs, explain); !why.empty()) {
    if (!explain) return "x";
    return "incompatible requirements, " + why;
  }
  // The candidates already meet the claim's requirements: only the keys the pod adds can
  // rule one out, and a pod that adds none leaves the requirements as they are.
  const bool narrows = !pod_reqs.all().empty();
  Requirements narrowed;
  if (narrows) narrowed = c->requirements().Intersect(pod_reqs);
  const Requirements& reqs = narrows ? narrowed : c->requirements();
  const auto& catalog = ec2_.catalog();
  std::vector<uint32_t> kept;
  bool any_reqs = false, any_fit = false;
  ResourceVec max_alloc;
  for (uint32_t t : c->types) {
    bool ok = true;
    for (const auto& [key, unused] : pod_reqs.all()) {
      auto label = type_labels_[t].find(key);
      if (label != type_labels_[t].end() && !reqs.Get(key)->Has(label->second)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    any_reqs = true;
    const ResourceVec& alloc = pools_[c->pool].allocatable[t];
    if (!Fits(requests, alloc)) continue;
    any_fit = true;
    if (!TypeHasOffering(t, reqs, now)) continue;
    kept.push_back(t);
    if (max_alloc.size() < alloc.size()) max_alloc.resize(alloc.size(), 0);
    for (size_t r = 0; r < alloc.size(); ++r) max_alloc[r] = std::max(max_alloc[r], alloc[r]);
  }
  // minValues: enough distinct values of the key must remain among the candidates.
  for (const auto& [key, r] : reqs.all()) {
    if (!r.min_values || kept.empty()) continue;
    std::set<std::string> distinct;
    for (uint32_t t : kept) {
      const auto& labels = type_labels_[t];
      if (auto it = labels.find(key); it != labels.end()) distinct.insert(it->second);
    }
    if (static_cast<int32_t>(distinct.size()) < *r.min_values) {
      if (!explain) return "x";
      return "minValues requirement is not met for label " + key + " (" +
             std::to_string(distinct.size()) + " < " + std::to_string(*r.min_values) + ")";
    }
  }
  if (kept.empty()) {
    if (!explain) return "x";
    std::string res = FormatResources(requests, store_.resources());
    if (!any_reqs || !any_fit) {
      return "no instance type satisfied resources " + res + " and requirements " + reqs.ToString();
    }
    // Which launch errors keep the fitting types unavailable: quota errors do not go away.
    std::set<std::string> codes;
    std::string quota_detail;
    const Requirement* z = reqs.Get("topology.kubernetes.io/zone");
    const Requirement* ct = reqs.Get("karpenter.sh/capacity-type");
    for (uint32_t t : c->types) {
      if (!Fits(requests, pools_[c->pool].allocatable[t])) continue;
      for (const auto& o : ec2_.OfferingsOf(t)) {
        if ((z && !z->Has(o.zone)) || (ct && !ct->Has(cloud::CapacityTypeName(o.capacity_type)))) {
          continue;
        }
        auto it = unavailable_.find({static_cast<int>(o.capacity_type), o.type, o.zone});
        if (it == unavailable_.end() || it->second.until <= now) continue;
        codes.insert(it->second.code);
        if (quota_detail.empty() && (it->second.code == "VcpuLimitExceeded" ||
                                     it->second.code == "MaxSpotInstanceCountExceeded")) {
          std::string bucket = cloud::QuotaBucket(catalog.types[t], o.capacity_type);
          quota_detail = catalog.types[t].name + " " + it->second.code + " (\"" + bucket +
                         "\" is " + std::to_string(ec2_.Quota(bucket).value_or(0)) + " vCPUs)";
        }
      }
    }
    bool quota_only = !codes.empty() && std::all_of(codes.begin(), codes.end(), [](const auto& k) {
      return k == "VcpuLimitExceeded" || k == "MaxSpotInstanceCountExceeded";
    });
    if (quota_only) {
      return "the account's vCPU quota in " + ec2_.region() +
             " refuses every instance type that fits " + res + ": " + quota_detail;
    }
    std::string list;
    for (const auto& k : codes) list += (list.empty() ? "" : ", ") + k;
    return "all instance types that fit " + res + " are unavailable (" +
           (list.empty() ? "no offering" : list) + "): requirements " + reqs.ToString();
  }
  if (narrows) c->narrowed = std::move(narrowed);
  c->types = std::move(kept);
  c->requests = std::move(requests);
  c->max_allocatable = std::move(max_alloc);
  c->pods.push_back(id);
  return "";
}

bool Karpenter::SchedulesBefore(PodId a, PodId b) const {
  const auto& pa = store_.pod(a);
  const auto& pb = store_.pod(b);
  int64_t ca = cluster::At(pa.tmpl->requests, cluster::kCpu);
  int64_t cb = cluster::At(pb.tmpl->requests, cluster::kCpu);
  if (ca != cb) return ca > cb;
  int64_t ma = cluster::At(pa.tmpl->requests, cluster::kMemory);
  int64_t mb = cluster::At(pb.tmpl->requests, cluster::kMemory);
  if (ma != mb) return ma > mb;
  if (pa.created_at != pb.created_at) return pa.created_at < pb.created_at;
  return pa.uid < pb.uid;
}

const Karpenter::PoolLimits& Karpenter::CurrentPoolLimits() {
  PoolLimits& l = pool_limits_;
  if (l.version == pool_usage_version_ && l.remaining.size() == pools_.size()) return l;
  l.version = pool_usage_version_;
  l.remaining.assign(pools_.size(), ResourceVec{});
  l.limited.assign(pools_.size(), {});
  l.nodes.assign(pools_.size(), std::nullopt);
  for (uint32_t p = 0; p < pools_.size(); ++p) {
    const ResourceVec& usage = PoolUsage(p);
    for (const auto& [name, q] : pools_[p].spec->limits) {
      if (name == "nodes") {
        l.nodes[p] = q.Value();
        continue;
      }
      auto r = store_.resources().Id(name);
      if (l.remaining[p].size() <= r) l.remaining[p].resize(r + 1, 0);
      if (l.limited[p].size() <= r) l.limited[p].resize(r + 1, false);
      l.remaining[p][r] = cluster::ResourceRegistry::Units(name, q) - cluster::At(usage, r);
      l.limited[p][r] = true;
    }
  }
  return l;
}

std::vector<int64_t> Karpenter::NodesLeft(const PoolLimits& limits,
                                          const std::set<uint32_t>& exclude) const {
  std::vector<int64_t> left(pools_.size(), INT64_MAX);
  for (uint32_t p = 0; p < pools_.size(); ++p) {
    if (!limits.nodes[p]) continue;
    int64_t count = PoolNodes(p);
    for (uint32_t i : exclude) {
      count -= claims_[i].nodepool == p && claims_[i].phase != ClaimPhase::kDeleted &&
               claims_[i].instance;
    }
    left[p] = *limits.nodes[p] - count;
  }
  return left;
}

bool Karpenter::WithinLimits(const std::vector<bool>& limited, const ResourceVec& remaining,
                             const ResourceVec& capacity) {
  for (size_t r = 0; r < limited.size(); ++r) {
    if (limited[r] && cluster::At(capacity, r) > remaining[r]) return false;
  }
  return true;
}

Karpenter::Solution Karpenter::Solve(const std::vector<PodId>& pods, SimNodes* existing, Time now,
                                     const std::set<uint32_t>& exclude, bool for_consolidation) {
  Solution sol;
  auto& reg = store_.resources();
  // Remaining limits per NodePool (limits − Σ capacity of its nodes and claims), copied
  // only when this simulation adds a NodeClaim.
  const PoolLimits& limits = CurrentPoolLimits();
  const auto& limited = limits.limited;
  std::vector<ResourceVec> remaining_added;
  auto remaining = [&](uint32_t p) -> const ResourceVec& {
    return remaining_added.empty() ? limits.remaining[p] : remaining_added[p];
  };
  std::vector<int64_t> nodes_left = NodesLeft(limits, exclude);
  std::vector<PodId> queue = pods;
  std::stable_sort(queue.begin(), queue.end(),
                   [&](PodId a, PodId b) { return SchedulesBefore(a, b); });
  // Pods of one template are interchangeable to the simulation, and within a pass nodes
  // and NodeClaims only fill up and narrow and limits only shrink. So a node or NodeClaim
  // that rejected a pod rejects every later pod of its template, and a template that found
  // no place finds none (for the same reasons) until a NodeClaim is added. Remembering both
  // makes a pass cost templates × nodes instead of pods × nodes, with the same result.
  struct TemplateMemo {
    const std::vector<uint32_t>* fits = nullptr;  // existing->fits of the template
    size_t next = 0;                              // (*fits)[0, next) rejected it
    std::vector<bool> rejected_by;                // this batch's NodeClaims that rejected it
    size_t failed_at_claims = SIZE_MAX;           // sol.claims.size() when it last found no place
    std::string errors;
    bool forever = true;
  };
  std::unordered_map<const cluster::PodTemplateInfo*, TemplateMemo> memo;
  // By node index, what the simulation placed there (negative, a NodeView delta): few
  // nodes get pods.
  std::unordered_map<uint32_t, ResourceVec> placed_on;
  // Topology spread and pod (anti-)affinity: a pod they concern is placed without the
  // memos above (a zone a spread rejects now may take a later pod of the template).
  Topology topo = BuildTopology(pods, *existing, exclude);
  const std::string kHostname = "kubernetes.io/hostname";
  auto with_hostname = [&](const Requirements& base, const std::string& host) {
    Requirements r = base;
    r.Add(kHostname, Requirement::In({host}));
    return r;
  };
  size_t placeholders = 0;
  for (;;) {
    std::vector<PodId> failed;
    for (PodId id : queue) {
      ++decisions_;
      const auto& p = store_.pod(id);
      TemplateMemo& m = memo[p.tmpl.get()];
      if (!m.fits) m.fits = &FitsOf(existing, id);
      const bool topo_pod = topo.Affects(p);
      const auto* pt = topo_pod ? topo.Of(p) : nullptr;
      const size_t relaxable = pt ? pt->relaxable.size() : 0;
      // The pod's own requirements, which topology domains must also satisfy.
      const Requirements strict =
          topo_pod ? Requirements::FromPod(*p.tmpl->spec, 0) : Requirements{};
      bool placed = false;
      Requirements narrowed;  // what topology allows where it is placed
      std::string errors;
      bool forever = true;
      // Preferences start as required; when the pod fits nowhere one more is relaxed.
      for (size_t relaxed = 0; relaxed <= relaxable && !placed; ++relaxed) {
        // Existing and in-flight nodes, in the simulation's order.
        for (size_t next = topo_pod ? 0 : m.next; next < m.fits->size(); ++next) {
          uint32_t k = (*m.fits)[next];
          const auto& n = existing->nodes[k];
          if (n.claim >= 0 && !exclude.empty() && exclude.count(n.claim)) continue;
          auto it = placed_on.find(k);
          if (it != placed_on.end() && !FitsNode(n, it->second, id)) continue;
          Requirements node_reqs;
          if (!topo.empty())
            node_reqs = with_hostname(Requirements::FromLabels(*n.labels), *n.name);
          if (topo_pod && !topo.Restrict(p, strict, node_reqs, relaxed, &narrowed).empty()) {
            continue;
          }
          ResourceVec& t = it != placed_on.end() ? it->second : placed_on[k];
          cluster::AddTo(&t, p.tmpl->requests, -1);
          if (t.size() <= cluster::kPods) t.resize(cluster::kPods + 1, 0);
          t[cluster::kPods] -= 1;
          sol.existing[id] = &n;
          if (!topo.empty()) topo.Record(p, node_reqs, *n.taints, relaxed);
          if (!topo_pod) m.next = next;
          placed = true;
          break;
        }
        if (placed) break;
        if (!topo_pod) m.next = m.fits->size();
        if (!topo_pod && m.failed_at_claims == sol.claims.size()) {
          errors = m.errors;
          forever = m.forever;
          break;
        }
        size_t terms = 1;
        if (p.tmpl->spec->node_affinity && p.tmpl->spec->node_affinity->required) {
          terms = std::max<size_t>(1, p.tmpl->spec->node_affinity->required->size());
        }
        for (size_t term = 0; term < terms && !placed; ++term) {
          Requirements pod_reqs = Requirements::FromPod(*p.tmpl->spec, term);
          // Claims of this batch, fewest pods first.
          std::vector<size_t> order(sol.claims.size());
          for (size_t i = 0; i < order.size(); ++i) order[i] = i;
          std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            return sol.claims[a].pods.size() < sol.claims[b].pods.size();
          });
          // A rejection is remembered only when there is one requirement term to reject.
          if (m.rejected_by.size() < sol.claims.size()) m.rejected_by.resize(sol.claims.size());
          for (size_t i : order) {
            if (!topo_pod && m.rejected_by[i]) continue;
            auto& c = sol.claims[i];
            if (cluster::FindUntoleratedTaint(pools_[c.pool].spec->taints,
                                              p.tmpl->spec->tolerations, true, true)) {
              if (terms == 1 && !topo_pod) m.rejected_by[i] = true;
              continue;
            }
            const Requirements* reqs = &pod_reqs;  // copied only when topology narrows it
            Requirements topo_reqs;
            if (topo_pod) {
              const Requirements node_reqs = with_hostname(c.requirements(), c.hostname);
              if (!topo.Restrict(p, strict, node_reqs, relaxed, &narrowed).empty()) continue;
              // The hostname domain is the NodeClaim itself: nothing to narrow there.
              topo_reqs = pod_reqs.Intersect(narrowed.Without(kHostname));
              reqs = &topo_reqs;
            }
            if (CanAdd(&c, id, *reqs, now, !for_consolidation).empty()) {
              if (!topo.empty()) {
                topo.Record(p, with_hostname(c.requirements(), c.hostname),
                            pools_[c.pool].spec->taints, relaxed);
              }
              placed = true;
              break;
            }
            if (terms == 1 && !topo_pod) m.rejected_by[i] = true;
          }
          if (placed) break;
          errors.clear();
          for (uint32_t pi : pool_order_) {
            const auto& pool = pools_[pi];
            auto add_error = [&](const std::string& e) {
              if (for_consolidation) return;
              errors += (errors.empty() ? "" : "; ") +
                        std::string("incompatible with nodepool \"") + pool.spec->metadata.name +
                        "\", daemonset overhead=" + FormatResources(pool.daemon_overhead, reg) +
                        ", " + e;
            };
            if (!pool.not_ready.empty()) {
              add_error("nodepool not ready: " + pool.not_ready);
              continue;
            }
            if (const api::Taint* t = cluster::FindUntoleratedTaint(
                    pool.spec->taints, p.tmpl->spec->tolerations, true, true)) {
              add_error("did not tolerate " + t->key + "=" + t->value + ":" + t->effect);
              continue;
            }
            if (std::string why = pool.requirements.Compatible(pod_reqs, !for_consolidation);
                !why.empty()) {
              add_error("incompatible requirements, " + why);
              continue;
            }
            if (nodes_left[pi] <= 0) {
              add_error("all available instance types exceed limits for nodepool: \"" +
                        pool.spec->metadata.name + "\"");
              forever = false;
              continue;
            }
            NewClaim nc;
            nc.pool = pi;
            nc.base = &pool.requirements;
            nc.requests = pool.daemon_overhead;
            if (!topo.empty()) {
              nc.hostname = "hostname-placeholder-" + FormatPlaceholder(placeholders);
            }
            for (uint32_t t : pool.instance_types) {
              if (WithinLimits(limited[pi], remaining(pi), pool.capacity[t])) nc.types.push_back(t);
            }
            if (nc.types.empty() && !pool.instance_types.empty()) {
              add_error("all available instance types exceed limits for nodepool: \"" +
                        pool.spec->metadata.name + "\"");
              forever = false;
              continue;
            }
            const Requirements* reqs = &pod_reqs;
            Requirements topo_reqs;
            if (topo_pod) {
              // A new NodeClaim is a fresh hostname domain.
              topo.AddDomain(kHostname, nc.hostname);
              const Requirements node_reqs = with_hostname(pool.requirements, nc.hostname);
              if (std::string why = topo.Restrict(p, strict, node_reqs, relaxed, &narrowed);
                  !why.empty()) {
                add_error(why);
                forever = false;
                continue;
              }
              topo_reqs = pod_reqs.Intersect(narrowed.Without(kHostname));
              reqs = &topo_reqs;
            }
            std::string why = CanAdd(&nc, id, *reqs, now, !for_consolidation);
            if (!why.empty()) {
              if (why.starts_with("all instance types that fit")) forever = false;
              add_error(why);
              continue;
            }
            // The limit bookkeeping assumes the largest candidate will launch (subtractMax).
            ResourceVec max_cap;
            for (uint32_t t : nc.types) {
              const ResourceVec& cap = pool.capacity[t];
              if (max_cap.size() < cap.size()) max_cap.resize(cap.size(), 0);
              for (size_t r = 0; r < cap.size(); ++r) max_cap[r] = std::max(max_cap[r], cap[r]);
            }
            if (remaining_added.empty()) remaining_added = limits.remaining;
            for (size_t r = 0; r < limited[pi].size(); ++r) {
              if (limited[pi][r]) remaining_added[pi][r] -= cluster::At(max_cap, r);
            }
            nodes_left[pi] -= 1;
            if (!topo.empty()) {
              ++placeholders;
              topo.AddDomain(kHostname, nc.hostname);
              topo.Record(p, with_hostname(nc.requirements(), nc.hostname), pool.spec->taints,
                          relaxed);
            }
            sol.claims.push_back(std::move(nc));
            placed = true;
            if (for_consolidation && sol.claims.size() > 1) return sol;
            break;
          }
        }
      }
      if (!placed) {
        failed.push_back(id);
        if (errors.empty()) errors = "no nodepool";
        if (!topo_pod) {
          m.failed_at_claims = sol.claims.size();
          m.errors = errors;
          m.forever = forever;
        }
        sol.errors[id] = std::move(errors);
        sol.forever[id] = forever;
        if (for_consolidation) return sol;
      } else {
        sol.errors.erase(id);
        sol.forever.erase(id);
      }
    }
    if (failed.empty() || failed.size() == queue.size()) break;
    queue = std::move(failed);
  }
  return sol;
}

}  // namespace gputwin::karpenter
