// ImageLocality (plugins/imagelocality): favours nodes that already have the pod's images,
// each image's size scaled by the share of nodes that have it (so an image every node has
// counts for little); the sum is clamped to [23 MB, 1000 MB × containers] and mapped to
// [0, 100]. An image is on a node once its pull has completed (the kubelet's image cache,
// status.images of a node manifest, images baked into a Karpenter node image); sizes come
// from status.images or gputwin.io/image-size.
#pragma once

#include "scheduler/framework.h"

namespace gputwin::scheduler {

class ImageLocality final : public Plugin, public ScorePlugin {
 public:
  explicit ImageLocality(const Handle& handle) : handle_(handle) {}
  const char* Name() const override { return "ImageLocality"; }
  Scope ScoreScope(const cluster::PodRecord& pod) const override;
  Code PreScore(CycleState& state, const cluster::PodRecord& pod,
                const std::vector<NodeId>& feasible) override;
  int64_t Score(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;

  // normalizedImageName: ":latest" when the name has no tag (nor digest).
  static std::string NormalizedImageName(const std::string& name);

 private:
  Handle handle_;
  // This cycle: per image of the pod, its size × the share of nodes that have it.
  std::vector<std::string> images_, normalized_;
  std::vector<int64_t> scaled_;
  int64_t containers_ = 0;
};

}  // namespace gputwin::scheduler
