#include "karpenter/requirements.h"

#include <algorithm>

#include "api/decode_kinds.h"

namespace gputwin::karpenter {
namespace {

std::optional<int64_t> AsInt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

Requirement Requirement::In(std::vector<std::string> v) {
  Requirement r;
  r.values.insert(v.begin(), v.end());
  return r;
}

Requirement Requirement::FromOperator(const std::string& op, const std::vector<std::string>& v) {
  Requirement r;
  if (op == "In") {
    r.values.insert(v.begin(), v.end());
  } else if (op == "NotIn") {
    r.complement = true;
    r.values.insert(v.begin(), v.end());
  } else if (op == "Exists") {
    r.complement = true;
  } else if (op == "DoesNotExist") {
    // the empty, non-complement set
  } else {
    r.complement = true;
    int64_t n = v.empty() ? 0 : AsInt(v[0]).value_or(0);
    if (op == "Gt") r.gte = n + 1;
    if (op == "Gte") r.gte = n;
    if (op == "Lt") r.lte = n - 1;
    if (op == "Lte") r.lte = n;
  }
  return r;
}

bool Requirement::Has(const std::string& value) const {
  if (gte || lte) {
    auto n = AsInt(value);
    if (!n || (gte && *n < *gte) || (lte && *n > *lte)) return false;
  }
  return complement ? !values.count(value) : values.count(value) > 0;
}

bool Requirement::Empty() const {
  if (gte && lte && *gte > *lte) return true;
  return !complement && values.empty();
}

Requirement Requirement::Intersect(const Requirement& o) const {
  Requirement r;
  if (gte || o.gte) r.gte = std::max(gte.value_or(INT64_MIN), o.gte.value_or(INT64_MIN));
  if (lte || o.lte) r.lte = std::min(lte.value_or(INT64_MAX), o.lte.value_or(INT64_MAX));
  if (!complement && !o.complement) {
    for (const auto& v : values) {
      if (o.values.count(v)) r.values.insert(v);
    }
  } else if (complement && o.complement) {
    r.complement = true;
    r.values = values;
    r.values.insert(o.values.begin(), o.values.end());
  } else {
    const Requirement& in = complement ? o : *this;
    const Requirement& out = complement ? *this : o;
    for (const auto& v : in.values) {
      if (!out.values.count(v)) r.values.insert(v);
    }
  }
  if (!r.complement && (r.gte || r.lte)) {
    std::set<std::string> kept;
    for (const auto& v : r.values) {
      if (r.Has(v)) kept.insert(v);
    }
    r.values = kept;
  }
  if (min_values || o.min_values) {
    r.min_values = std::max(min_values.value_or(0), o.min_values.value_or(0));
  }
  return r;
}

std::optional<std::string> Requirement::Single() const {
  if (!complement && values.size() == 1) return *values.begin();
  return std::nullopt;
}

std::string Requirement::ToString(const std::string& key) const {
  std::string out = key;
  if (gte || lte) {
    if (gte) out += " >= " + std::to_string(*gte);
    if (lte) out += std::string(gte ? "," : "") + " <= " + std::to_string(*lte);
    return out;
  }
  if (complement && values.empty()) return out + " Exists";
  if (!complement && values.empty()) return out + " DoesNotExist";
  out += complement ? " NotIn [" : " In [";
  bool first = true;
  for (const auto& v : values) {
    out += (first ? "" : " ") + v;
    first = false;
  }
  return out + "]";
}

Requirements Requirements::FromNodePool(const std::vector<api::NodePoolRequirement>& reqs) {
  Requirements out;
  for (const auto& q : reqs) {
    Requirement r = Requirement::FromOperator(q.op, q.values);
    r.min_values = q.min_values;
    out.Add(q.key, r);
  }
  return out;
}

Requirements Requirements::FromPod(const api::PodSpec& spec, size_t term) {
  Requirements out;
  for (const auto& [k, v] : spec.node_selector) out.Add(k, Requirement::In({v}));
  if (spec.node_affinity && spec.node_affinity->required &&
      term < spec.node_affinity->required->size()) {
    for (const auto& e : (*spec.node_affinity->required)[term].match_expressions) {
      out.Add(e.key, Requirement::FromOperator(e.op, e.values));
    }
  }
  return out;
}

Requirements Requirements::FromLabels(const api::Labels& labels) {
  Requirements out;
  for (const auto& [k, v] : labels) out.Add(k, Requirement::In({v}));
  return out;
}

void Requirements::Add(const std::string& key, const Requirement& r) {
  auto it = reqs_.find(key);
  if (it == reqs_.end()) {
    reqs_.emplace(key, r);
  } else {
    it->second = it->second.Intersect(r);
  }
}

const Requirement* Requirements::Get(const std::string& key) const {
  auto it = reqs_.find(key);
  return it == reqs_.end() ? nullptr : &it->second;
}

std::string Requirements::Intersects(const Requirements& other, bool explain) const {
  for (const auto& [key, r] : other.reqs_) {
    const Requirement* mine = Get(key);
    if (!mine) continue;
    Requirement both = mine->Intersect(r);
    if (both.Empty() && !(mine->IsDoesNotExist() && r.IsDoesNotExist())) {
      if (!explain) return "x";
      return "key " + key + ", " + r.ToString(key) + " not in " + mine->ToString(key);
    }
  }
  return "";
}

std::string Requirements::Compatible(const Requirements& incoming, bool explain) const {
  for (const auto& [key, r] : incoming.reqs_) {
    if (Get(key)) continue;
    bool not_in = r.complement && !r.values.empty() && !r.gte && !r.lte;
    if (not_in || r.IsDoesNotExist() || api::IsWellKnownKarpenterLabel(key)) continue;
    if (!explain) return "x";
    return "label \"" + key + "\" does not have known values";
  }
  return Intersects(incoming, explain);
}

Requirements Requirements::Intersect(const Requirements& other) const {
  Requirements out = *this;
  for (const auto& [key, r] : other.reqs_) out.Add(key, r);
  return out;
}

api::Labels Requirements::SingleValued() const {
  api::Labels out;
  for (const auto& [key, r] : reqs_) {
    if (auto v = r.Single()) out[key] = *v;
  }
  return out;
}

std::string Requirements::ToString() const {
  std::string out;
  for (const auto& [key, r] : reqs_) out += (out.empty() ? "" : ", ") + r.ToString(key);
  return out;
}

}  // namespace gputwin::karpenter
