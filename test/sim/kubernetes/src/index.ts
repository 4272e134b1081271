export { KubernetesSimulator, SYSTEM_NAMESPACES } from './simulator.js';
export type { SimulatorOptions } from './simulator.js';
export type { Fault } from './faults.js';
export type { RequestRecord } from './http-server.js';
export type { KubeconfigOptions } from './kubeconfig.js';
export type { ResourceSpec } from './resources.js';
export type { KubeObject, ObjectMeta, StatusObject, WatchEventType } from './types.js';
export { endpointSlice, FIXTURE_TIME, namespace, node, pod, service, uidFor } from './fixtures.js';
export type { EndpointSliceOptions, EndpointSpec, NodeOptions, PodOptions, ServiceOptions, ServicePortSpec } from './fixtures.js';
