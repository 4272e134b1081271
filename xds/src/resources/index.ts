import { clusterType } from './cluster.js';
import { endpointType } from './endpoint.js';
import { listenerType } from './listener.js';
import type { ResourceType } from './resource-type.js';
import { routeType } from './route.js';

export { clusterType, endpointType, listenerType, routeType };

/** The resource types Isthmus generates, by type URL. */
export const RESOURCE_TYPES: ReadonlyMap<string, ResourceType> = new Map(
  [listenerType, routeType, clusterType, endpointType].map((t) => [t.typeUrl, t]),
);
