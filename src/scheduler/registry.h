// The in-tree plugin registry (framework/plugins/registry.go): every plugin the twin
// knows, the extension points it implements, its default score weight, whether the
// default profile enables it, and how to build it. Adding a plugin is one entry here.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/random.h"
#include "scheduler/framework.h"

namespace gputwin::scheduler {

class Scheduler;
class TypicalSharePods;
struct Profile;

enum ExtensionPoint : uint32_t {
  kPreEnqueuePoint = 1 << 0,
  kQueueSortPoint = 1 << 1,
  kPreFilterPoint = 1 << 2,
  kFilterPoint = 1 << 3,
  kPostFilterPoint = 1 << 4,
  kPreScorePoint = 1 << 5,
  kScorePoint = 1 << 6,
  kReservePoint = 1 << 7,
  kPermitPoint = 1 << 8,
  kPreBindPoint = 1 << 9,
  kBindPoint = 1 << 10,
  kPostBindPoint = 1 << 11,
};

// What a factory may use to build its plugin.
struct PluginContext {
  Handle handle;
  cluster::Store* store = nullptr;  // Reserve plugins write devices
  RandomStream* random = nullptr;   // the scheduler's stream (selectHost, RandomScore)
  const Profile* profile = nullptr;
  Scheduler* scheduler = nullptr;  // DefaultPreemption acts for the scheduler
  std::shared_ptr<TypicalSharePods> typical_share_pods;
};

struct RegisteredPlugin {
  const char* name;
  uint32_t points;          // ExtensionPoint bits
  int64_t default_weight;   // score plugins in the default profile
  bool in_default_profile;  // in the default multiPoint list (in this order)
  std::unique_ptr<Plugin> (*factory)(PluginContext& ctx);  // nullptr: known, not modelled
};

const std::vector<RegisteredPlugin>& InTreeRegistry();
const RegisteredPlugin* FindPlugin(const std::string& name);

}  // namespace gputwin::scheduler
