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
      // jobset.x-k8s.io/v1alpha2 JobSet.
      {"JobSet", "spec.volumeClaimPolicies",
       "the JobSet controller creates shared PersistentVolumeClaims for its replicated Jobs",
       "no claims are created; pods schedule as if their volumes were bound"},
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
      {"ClusterQueue", "spec.concurrentAdmissionPolicy",
       "a workload admitted on a less preferred flavor keeps trying its preferred flavors "
       "and migrates to one when it frees up (migration mode TryPreferredFlavors)",
       "a workload stays on the flavor it was admitted with"},
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
      {"EC2NodeClass", "spec.cpuOptions.nestedVirtualization",
       "\"enabled\" keeps only instance types whose ProcessorInfo lists nested-virtualization",
       "the catalog does not record it: every type is kept"},
  };
  return kFields;
}

const std::vector<NotModelledKind>& NotModelledKinds() {
  static const std::vector<NotModelledKind> kKinds = {
      // Recognised, not modelled: they change what the cluster does.
      {"kueue.x-k8s.io", "AdmissionCheck",
       "workloads of ClusterQueues that list it wait, with quota reserved, until its "
       "controller (ProvisioningRequest, MultiKueue) marks the check Ready",
       "ignored: workloads are admitted once quota is reserved"},
      {"kueue.x-k8s.io", "ProvisioningRequestConfig",
       "sets the ProvisioningRequest (class, parameters, retries) the provisioning "
       "AdmissionCheck asks the cluster autoscaler for",
       "ignored"},
      {"kueue.x-k8s.io", "MultiKueueConfig", "dispatches workloads to worker clusters",
       "ignored: workloads run in this cluster"},
      {"kueue.x-k8s.io", "MultiKueueCluster", "a worker cluster MultiKueue dispatches to",
       "ignored"},
      {"karpenter.sh", "NodeOverlay",
       "changes the price and adds capacity (for example time-sliced nvidia.com/gpu) of the "
       "instance types it selects, in Karpenter's scheduling and consolidation",
       "instance types keep the catalog's price and capacity"},
      {"karpenter.sh", "NodeClaim", "a node Karpenter launched (or was asked to launch)",
       "ignored: the twin's Karpenter creates its own NodeClaims"},
      {"resource.k8s.io", "ResourceClaim",
       "Dynamic Resource Allocation: the scheduler allocates devices matching the claim's "
       "requests to the pods that reference it",
       "ignored: no device is allocated from claims"},
      {"resource.k8s.io", "ResourceClaimTemplate",
       "Dynamic Resource Allocation: a ResourceClaim is created per pod from it",
       "ignored: no device is allocated from claims"},
      {"resource.k8s.io", "DeviceClass",
       "Dynamic Resource Allocation: selects devices (for example gpu.nvidia.com) for claims",
       "ignored"},
      {"resource.k8s.io", "ResourceSlice",
       "Dynamic Resource Allocation: the devices a driver publishes for a node", "ignored"},
      {"keda.sh", "ScaledJob", "KEDA creates Jobs from jobTemplate as its triggers' queue grows",
       "no Jobs are created"},
      {"kubeflow.org", "MPIJob", "the MPI operator creates launcher and worker pods",
       "no pods are created"},
      {"networking.istio.io", "VirtualService",
       "Envoy routes, retries and timeouts for the hosts it names",
       "ignored: set the proxy in the Scenario's traffic (docs/serving.md)"},
      {"networking.istio.io", "DestinationRule",
       "Envoy load balancing and circuit breakers for a host",
       "ignored: set the proxy in the Scenario's traffic (docs/serving.md)"},
      {"gateway.networking.k8s.io", "HTTPRoute", "the gateway's routes, retries and timeouts",
       "ignored: set the proxy in the Scenario's traffic (docs/serving.md)"},
      {"", "PersistentVolumeClaim",
       "volume binding: a pod waits for its claim to bind and is scheduled where the volume "
       "is reachable",
       "ignored: pods schedule as if their volumes were bound everywhere"},
      // Kept for lint; nothing the twin simulates depends on them.
      {"", "Secret", "", nullptr},
      {"", "ServiceAccount", "", nullptr},
      {"", "Endpoints", "", nullptr},
      {"rbac.authorization.k8s.io", "Role", "", nullptr},
      {"rbac.authorization.k8s.io", "ClusterRole", "", nullptr},
      {"rbac.authorization.k8s.io", "RoleBinding", "", nullptr},
      {"rbac.authorization.k8s.io", "ClusterRoleBinding", "", nullptr},
      {"keda.sh", "TriggerAuthentication", "", nullptr},
      {"keda.sh", "ClusterTriggerAuthentication", "", nullptr},
      {"networking.k8s.io", "NetworkPolicy", "", nullptr},
      {"networking.k8s.io", "IngressClass", "", nullptr},
      {"storage.k8s.io", "StorageClass", "", nullptr},
      {"apiextensions.k8s.io", "CustomResourceDefinition", "", nullptr},
      {"admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "", nullptr},
      {"admissionregistration.k8s.io", "MutatingWebhookConfiguration", "", nullptr},
  };
  return kKinds;
}

const NotModelledKind* FindNotModelledKind(const std::string& api_version,
                                           const std::string& kind) {
  const auto slash = api_version.find('/');
  const std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  for (const auto& k : NotModelledKinds()) {
    if (kind == k.kind && group == k.group) return &k;
  }
  return nullptr;
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
