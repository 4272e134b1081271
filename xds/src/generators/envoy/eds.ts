import type { EncodedResource } from '../../resources/encoded.js';
import { endpointType } from '../../resources/endpoint.js';
import { ENDPOINT_TYPE_URL } from '../../resources/type-urls.js';
import type { GenerateContext, Generator } from '../generator.js';
import { clusterTargets } from '../grpc/cds.js';
import { assignmentKey, loadAssignment } from '../grpc/eds.js';
import { proxyScope } from '../scope.js';

/**
 * EDS for Envoy sidecars: a ClusterLoadAssignment for every outbound EDS cluster the
 * proxy sees (empty when it has no endpoints), built as for proxyless gRPC: endpoints
 * grouped by locality (priorities and weights from the DestinationRule's locality
 * setting, as this proxy's locality sees them), IP literals only, subsets by labels.
 */
export const envoyEndpointGenerator: Generator = {
  typeUrl: ENDPOINT_TYPE_URL,
  resourceType: endpointType,
  client: 'envoy',
  inputs: ['services', 'endpoints', 'destinations', 'sidecars'],
  generate(ctx: GenerateContext): EncodedResource[] {
    const out: EncodedResource[] = [];
    for (const ref of clusterTargets(ctx.snapshot, ctx.names, proxyScope(ctx.snapshot, ctx.proxy).visible)) {
      const set = ctx.snapshot.endpoints.get(ref.host);
      const res = ctx.memo.get(ref.name, assignmentKey(ref, set, ctx.proxy), (warn) => loadAssignment(ref, set, warn, ctx.proxy));
      if (res) out.push(res);
    }
    return out;
  },
};
