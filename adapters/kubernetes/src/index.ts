export { kubernetesModule, kubernetesClusters, type KubernetesModuleOptions, type KubernetesCluster } from './kubernetes-module.js';
export { kubernetesOptionsFromFlags, type KubernetesFlags } from './flags.js';
export { KubernetesPlatformAdapter, type KubernetesAdapterDeps } from './kubernetes-adapter.js';
export { KubernetesConfigSource, istioResources, toConfigObject, ISTIO_GROUPS, type KubernetesConfigSourceDeps } from './config-source.js';
export {
  DEFAULT_CLUSTER_ID,
  DEFAULT_DOMAIN,
  DEFAULT_TRUST_DOMAIN,
  DEFAULT_TUNING,
  kubernetesSourceKey,
  type KubernetesAdapterOptions,
  type KubernetesConfigSourceOptions,
  type KubernetesMappingOptions,
  type KubernetesScopeOptions,
  type KubernetesTuning,
} from './options.js';
export { loadKubeConfig, contextNames, type KubeConnectionOptions, type LoadedKubeConfig } from './kube-config.js';
export { KubeClient, KubeApiError, type KubeErrorKind } from './kube-client.js';
export {
  ResilientInformer,
  resourceName,
  collectionPath,
  apiVersionOf,
  type ResourceRef,
  type InformerTuning,
  type InformerEvents,
  type InformerOptions,
  type InformerProblem,
  type RestartReason,
} from './resilient-informer.js';
export { InformerGroup, type InformerGroupOptions, type InformerHandlers } from './informer-group.js';
export {
  mapService,
  mapEndpoints,
  endpointHealth,
  localityOf,
  exportToOf,
  meshPortName,
  namingPolicy,
  resolveMapping,
  CLUSTER_LABEL,
  EXPORT_TO_ANNOTATION,
  LOCALITY_LABEL,
  type EndpointLookups,
  type KubernetesServiceRef,
  type MappedEndpoints,
  type MappedService,
  type NamingPolicy,
  type ResolvedMapping,
} from './mapping.js';
export { portProtocol, istioProtocolOf } from './protocols.js';
export { parseLabelSelector, NamespaceFilter, type LabelSelector } from './selectors.js';
export { StatusWriter, desiredStatus, statusUpToDate, VALIDATION_CODE, VALIDATION_DOC_URL, CONDITION_TYPE, CONDITION_REASON, type StatusTarget, type StatusWriterOptions } from './status-writer.js';
export { KubernetesMetrics } from './metrics.js';
export type { KubeObject, KubeMeta, KubeService, KubeServicePort, KubeEndpointSlice, KubeEndpoint, KubeEndpointConditions, KubePod, KubeStatus } from './kube-types.js';
