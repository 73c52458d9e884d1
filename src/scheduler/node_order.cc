// NodeTree: the order kube-scheduler walks nodes in (zones interleaved), and the per-position
// rows the filter walk reads in sequence (free capacity, view id, nominated flag).
#include <algorithm>
#include <span>

#include "cluster/store.h"
#include "scheduler/scheduler.h"

namespace gputwin::scheduler {

void Scheduler::RebuildNodeOrder() {
  // NodeTree: zones in order of first appearance, nodes taken round-robin across zones.
  // Each node's zone is looked up once (again only when the node changes) and kept as an
  // index into the few zone names seen, so the rebuild compares no strings.
  constexpr uint32_t kUnknown = ~uint32_t{0};
  if (node_zone_.size() < store_.node_count()) node_zone_.resize(store_.node_count(), kUnknown);
  zone_slot_.assign(zone_names_.size(), -1);
  size_t used = 0;  // zone_nodes_ in use, in order of first appearance
  for (NodeId n : store_.live_nodes()) {
    uint32_t& zone = node_zone_[n];
    if (zone == kUnknown) {
      const auto& labels = store_.node(n).obj.metadata.labels;
      auto it = labels.find("topology.kubernetes.io/zone");
      const std::string name = it == labels.end() ? "" : it->second;
      auto known = std::find(zone_names_.begin(), zone_names_.end(), name);
      if (known == zone_names_.end()) {
        known = zone_names_.insert(zone_names_.end(), name);
        zone_slot_.push_back(-1);
      }
      zone = static_cast<uint32_t>(known - zone_names_.begin());
    }
    int32_t& slot = zone_slot_[zone];
    if (slot < 0) {
      slot = static_cast<int32_t>(used++);
      if (zone_nodes_.size() < used) zone_nodes_.emplace_back();
      zone_nodes_[slot].clear();
    }
    zone_nodes_[slot].push_back(n);
  }
  const auto zones = std::span(zone_nodes_).first(used);
  // The new order is made in a scratch list, then only the positions from the first that
  // differs are written: a node added to a zone lands in the interleave's last rounds, so
  // most rebuilds of a growing fleet write a short tail.
  std::vector<NodeId>& order = order_scratch_;
  order.clear();
  for (size_t i = 0;; ++i) {
    bool any = false;
    for (const auto& list : zones) {
      if (i < list.size()) {
        order.push_back(list[i]);
        any = true;
      }
    }
    if (!any) break;
  }
  size_t first = 0;
  const size_t common = std::min(order.size(), node_order_.size());
  while (first < common && order[first] == node_order_[first]) ++first;
  // Only the old order's changed positions are reset: node_position_ spans every node ever
  // made, and a node before `first` keeps its place.
  for (size_t i = first; i < node_order_.size(); ++i) node_position_[node_order_[i]] = -1;
  slot_released_.resize(diagnosis_slot_.size(), false);
  for (NodeId n : deleted_nodes_) {
    if (n < diagnosis_slot_.size() && diagnosis_slot_[n] >= 0 && !slot_released_[n]) {
      released_slots_.push_back(static_cast<uint32_t>(diagnosis_slot_[n]));
      slot_released_[n] = true;  // (once, should the deletion be seen twice)
    }
  }
  deleted_nodes_.clear();
  node_position_.resize(store_.node_count(), -1);
  node_order_.swap(order);
  diagnosis_slot_.resize(store_.node_count(), -1);
  for (size_t i = first; i < node_order_.size(); ++i) {
    const NodeId n = node_order_[i];
    node_position_[n] = static_cast<int32_t>(i);
    if (diagnosis_slot_[n] >= 0) continue;
    if (free_slots_.empty()) {
      diagnosis_slot_[n] = static_cast<int32_t>(diagnosis_slots_++);
    } else {
      diagnosis_slot_[n] = static_cast<int32_t>(free_slots_.back());
      free_slots_.pop_back();
      ++slots_reused_;
    }
  }
  next_start_node_index_ = 0;
  node_order_dirty_ = false;
  ++node_order_version_;
  FillOrderFree(first);
}

void Scheduler::FillOrderFree(size_t first) {
  if (info_.stride() != order_stride_) first = 0;  // a new resource name widened every row
  order_stride_ = info_.stride();
  order_free_.resize(node_order_.size() * order_stride_);
  for (size_t i = first; i < node_order_.size(); ++i) {
    std::copy_n(info_.free(node_order_[i]), order_stride_, &order_free_[i * order_stride_]);
  }
  if (first == 0) {
    free_blocks_.Invalidate();
  } else {
    free_blocks_.ChangedFrom(first, node_order_.size());
  }
  FillOrderViews(first);
}

void Scheduler::FillOrderViews(size_t first) {
  if (order_views_version_ != groups_.views_version()) first = 0;  // every view id moved
  order_views_.resize(node_order_.size());
  for (size_t i = first; i < node_order_.size(); ++i) {
    order_views_[i] = OrderViewKey(node_order_[i]);
  }
  order_views_version_ = groups_.views_version();
}

void Scheduler::VerifyOrderRows() {
  size_t placed = 0;
  for (int32_t p : node_position_) placed += p >= 0;
  order_row_mismatches_ += placed != node_order_.size();
  for (size_t i = 0; i < node_order_.size(); ++i) {
    const NodeId n = node_order_[i];
    order_row_mismatches_ += node_position_[n] != static_cast<int32_t>(i);
    order_row_mismatches_ += order_views_[i] != OrderViewKey(n);
    order_row_mismatches_ +=
        !std::equal(info_.free(n), info_.free(n) + order_stride_, OrderFree(i));
  }
}

void Scheduler::RefreshOrderView(NodeId n) {
  // (Before the first rebuild, or for a node not yet in the order, nothing is kept.)
  if (n >= node_position_.size() || node_position_[n] < 0 || !groups_.Has(n)) return;
  const auto position = static_cast<size_t>(node_position_[n]);
  if (position < order_views_.size()) order_views_[position] = OrderViewKey(n);
}

const std::vector<std::pair<int32_t, NodeId>>& Scheduler::PinnedByPosition(
    const std::vector<NodeId>& label_index) {
  // Bounded: under TAS every node's hostname is an index of its own. Entries are only a
  // cache, made again on the next use (a deleted index's address may come back: the label
  // version has moved by then).
  if (pinned_orders_.size() >= kMaxPinnedOrders && !pinned_orders_.count(&label_index)) {
    pinned_orders_.clear();
  }
  PinnedOrder& o = pinned_orders_[&label_index];
  if (o.label_version == store_.label_index_version() && o.order_version == node_order_version_) {
    return o.by_position;
  }
  o.label_version = store_.label_index_version();
  o.order_version = node_order_version_;
  o.by_position.clear();
  for (NodeId x : label_index) {
    if (x < node_position_.size() && node_position_[x] >= 0) {
      o.by_position.emplace_back(node_position_[x], x);
    }
  }
  std::sort(o.by_position.begin(), o.by_position.end());
  return o.by_position;
}

void Scheduler::LogNodeChange(NodeId n) {
  if (node_change_log_.size() > 2 * std::max(node_order_.size(), change_log_floor)) {
    node_change_log_.clear();  // a full count costs less than replaying this
    ++node_change_epoch_;
    free_slots_.insert(free_slots_.end(), released_slots_.begin(), released_slots_.end());
    released_slots_.clear();
  }
  node_change_log_.push_back(n);
}

void Scheduler::SyncNode(NodeId n) {
  info_.Sync(store_, n);
  LogNodeChange(n);
  if (info_.stride() != order_stride_) {
    FillOrderFree();  // a new resource name widened every row
    return;
  }
  if (n >= node_position_.size() || node_position_[n] < 0) return;
  const auto position = static_cast<size_t>(node_position_[n]);
  std::copy_n(info_.free(n), order_stride_, &order_free_[position * order_stride_]);
  free_blocks_.MarkChanged(position);
}

}  // namespace gputwin::scheduler
