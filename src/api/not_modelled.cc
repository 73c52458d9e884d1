#include "api/not_modelled.h"

namespace gputwin::api {

const std::vector<NotModelledField>& NotModelledFields() {
  static const std::vector<NotModelledField> kFields = {
      // batch/v1 Job (Kubernetes 1.33).
      {"Job", "spec.podReplacementPolicy",
       "Failed: a replacement pod is created only once the old one has fully terminated",
       "replacement pods are created as soon as a pod fails or is deleted"},
      {"Job", "spec.managedBy",
       "another controller (such as MultiKueue) reconciles the Job instead of the Job "
       "controller",
       "the Job controller runs it"},
      // core/v1 pod spec, wherever a pod template is.
      {"Pod", "spec.resourceClaims",
       "the scheduler allocates the claimed devices through Dynamic Resource Allocation",
       "no device is allocated from claims; only requests and limits count"},
      {"Pod", "spec.runtimeClassName",
       "the RuntimeClass's overhead is added to the pod's requests and its nodeSelector and "
       "tolerations constrain scheduling",
       "no overhead and no constraints from the RuntimeClass"},
      {"Pod", "spec.readinessGates", "the pod is Ready only once every gate's condition is True",
       "Ready without waiting for the gates"},
      // Kueue.
      {"ClusterQueue", "spec.admissionChecks",
       "a workload with quota reserved waits for every AdmissionCheck (such as a "
       "ProvisioningRequest) to be Ready before it is admitted",
       "admitted as soon as quota is reserved"},
      {"ClusterQueue", "spec.admissionChecksStrategy", "AdmissionChecks apply per ResourceFlavor",
       "admitted as soon as quota is reserved"},
      {"ClusterQueue", "spec.admissionScope",
       "Admission Fair Sharing orders the queue by the LocalQueues' recent usage",
       "the queueing strategy's order"},
      {"LocalQueue", "spec.fairSharing", "the LocalQueue's weight in Admission Fair Sharing",
       "not used"},
      // Karpenter.
      {"NodePool", "spec.replicas",
       "a static NodePool keeps that many nodes whatever the pods need",
       "nodes are launched for pending pods only"},
      {"EC2NodeClass", "spec.kubelet.podsPerCore",
       "caps pods per node at podsPerCore × vCPUs (the lower of it and maxPods)",
       "maxPods or the ENI limit"},
      {"EC2NodeClass", "spec.kubelet.evictionHard",
       "the memory.available threshold is subtracted from allocatable memory",
       "the default 100Mi threshold"},
      {"EC2NodeClass", "spec.kubelet.evictionSoft",
       "the soft memory.available threshold is subtracted from allocatable memory",
       "the default 100Mi hard threshold only"},
  };
  return kFields;
}

void WarnNotModelled(YamlReader& r, const char* kind, const std::string& path) {
  const std::string prefix = path + ".";
  for (const auto& f : NotModelledFields()) {
    const std::string field = f.path;
    if (std::string(kind) != f.kind || !field.starts_with(prefix)) continue;
    const std::string key = field.substr(prefix.size());
    if (key.find('.') != std::string::npos || !r.Has(key)) continue;
    if (r.diagnostics()) {
      r.diagnostics()->Warn(
          r.Where(r.Raw(key)), r.FieldPath(key),
          "not modelled: upstream " + std::string(f.upstream) + "; the twin: " + f.twin);
    }
    r.Ignore({key.c_str()});
  }
}

}  // namespace gputwin::api
