#include "scheduler/plugins/image_locality.h"

#include <algorithm>

#include "cluster/store.h"

namespace gputwin::scheduler {

namespace {
constexpr int64_t kMb = 1024 * 1024;
constexpr int64_t kMinThreshold = 23 * kMb;
constexpr int64_t kMaxContainerThreshold = 1000 * kMb;

// The kubelet's cache knows an image by the name pods give it, a node manifest by the
// names in status.images; the pod's name matches either as given or normalised.
bool Present(const cluster::NodeRecord& node, const std::string& image,
             const std::string& normalized, Time now) {
  auto it = node.images.find(image);
  if (it == node.images.end()) it = node.images.find(normalized);
  return it != node.images.end() && it->second <= now;
}
}  // namespace

std::string ImageLocality::NormalizedImageName(const std::string& name) {
  if (name.find('@') != std::string::npos) return name;
  auto colon = name.rfind(':');
  auto slash = name.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
    return name + ":latest";
  }
  return name;
}

Scope ImageLocality::ScoreScope(const cluster::PodRecord& pod) const {
  return pod.tmpl->images.empty() ? Scope::kSkip : Scope::kCluster;
}

Code ImageLocality::PreScore(CycleState&, const cluster::PodRecord& pod,
                             const std::vector<NodeId>&) {
  const auto& store = *handle_.store;
  const auto& spec = *pod.tmpl->spec;
  containers_ = static_cast<int64_t>(spec.containers.size() + spec.init_containers.size());
  images_.clear();
  normalized_.clear();
  scaled_.clear();
  const auto& nodes = *handle_.all_nodes;
  bool any = false;
  for (const auto& image : pod.tmpl->images) {
    // The kubelet caches an image by the name the pod gives; the node reports it so.
    const std::string normalized = NormalizedImageName(image);
    int64_t size = store.ImageSize(image);
    if (size == 0) size = store.ImageSize(normalized);
    int64_t with = 0;
    if (size > 0) {
      for (NodeId n : nodes) with += Present(store.node(n), image, normalized, store.now());
    }
    images_.push_back(image);
    normalized_.push_back(normalized);
    const int64_t scaled =
        with == 0
            ? 0
            : static_cast<int64_t>(static_cast<double>(size) *
                                   (static_cast<double>(with) / static_cast<double>(nodes.size())));
    scaled_.push_back(scaled);
    any |= scaled > 0;
  }
  return any ? Code::kSuccess : Code::kSkip;
}

int64_t ImageLocality::Score(const CycleState&, const cluster::PodRecord&,
                             const NodeView& node) const {
  const auto& store = *handle_.store;
  const auto& rec = store.node(node.id);
  int64_t sum = 0;
  for (size_t i = 0; i < images_.size(); ++i) {
    if (scaled_[i] > 0 && Present(rec, images_[i], normalized_[i], store.now())) {
      sum += scaled_[i];
    }
  }
  const int64_t max_threshold = kMaxContainerThreshold * containers_;
  sum = std::clamp(sum, kMinThreshold, max_threshold);
  return kMaxNodeScore * (sum - kMinThreshold) / (max_threshold - kMinThreshold);
}

}  // namespace gputwin::scheduler
