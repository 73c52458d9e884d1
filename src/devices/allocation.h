// Which devices a container gets (the device plugin's GetPreferredAllocation and the
// kubelet's device manager), and how GPUs shared by several pods divide their compute.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/objects.h"

namespace gputwin::devices {

// Picks `count` free units of `resource` on the node for `pod`. For replicated (shared)
// resources the plugin's default "distributed" policy: each pick goes to the physical GPU
// with the fewest replicas already handed out, ties to the GPU picked least in this
// allocation, then the lowest index. Whole devices: the lowest free indexes. Returns the
// unit indexes, or an empty vector with `error` set.
std::vector<uint32_t> AllocateUnits(cluster::NodeRecord* node, const std::string& resource,
                                    int64_t count, uint32_t pod, std::string* error);

// Time-slicing divides a GPU's time among the pods that want it: max-min fair shares of
// 1.0 given each pod's utilisation (gputwin.io/gpu-utilization); a pod's progress rate is
// its share over its need (1 when the GPU is not oversubscribed).
// `capacity` is the device's share of a whole GPU (a MIG 1g: 1/7); utilisation is
// relative to a whole GPU.
std::vector<double> FairShareRates(const std::vector<double>& utilization, double capacity = 1.0);

}  // namespace gputwin::devices
