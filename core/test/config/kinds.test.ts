import { describe, expect, it } from 'vitest';
import { apiVersionsOf, CONFIG_KINDS, findKindByName, resolveKind, validateObjects } from '@isthmus/core';
import { errors, objectsOf } from './helpers.js';

/** A minimal valid spec per kind: every descriptor must accept it in every version it lists. */
const MINIMAL: Record<string, string> = {
  VirtualService: '{ hosts: [greeter], http: [{ route: [{ destination: { host: greeter } }] }] }',
  DestinationRule: '{ host: greeter }',
  ServiceEntry: '{ hosts: [api.example.com], ports: [{ name: https, number: 443, protocol: TLS }], resolution: DNS }',
  WorkloadEntry: '{ address: 10.0.0.1 }',
  Sidecar: '{ egress: [{ hosts: ["./*"] }] }',
  PeerAuthentication: '{ mtls: { mode: STRICT } }',
  AuthorizationPolicy: '{ action: ALLOW, rules: [{ from: [{ source: { principals: ["cluster.local/ns/default/sa/web"] } }] }] }',
  RequestAuthentication: '{ jwtRules: [{ issuer: "https://issuer.example.com" }] }',
  RouteRule: '{ destination: { name: greeter }, route: [{ labels: { version: v1 } }] }',
  DestinationPolicy: '{ destination: { name: greeter }, loadBalancing: { name: RANDOM } }',
};

describe('config kinds', () => {
  it('describes every kind once, with CLI names', () => {
    expect(CONFIG_KINDS.map((k) => k.kind).sort()).toEqual(Object.keys(MINIMAL).sort());
    expect(findKindByName('vs')?.kind).toBe('VirtualService');
    expect(findKindByName('DestinationRules')?.kind).toBe('DestinationRule');
    expect(findKindByName('virtualservices.networking.istio.io')?.kind).toBe('VirtualService');
    expect(findKindByName('routerule')?.kind).toBe('RouteRule');
    expect(findKindByName('gateway')).toBeUndefined();
  });

  it.each(CONFIG_KINDS.flatMap((d) => apiVersionsOf(d).map((v) => [d.kind, v] as const)))(
    'accepts a minimal %s in %s',
    (kind, apiVersion) => {
      const objects = objectsOf(`apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: { name: x }\nspec: ${MINIMAL[kind]}`);
      expect(errors(validateObjects(objects))).toEqual([]);
    },
  );

  it('names the field and lists what is supported', () => {
    expect(resolveKind('networking.istio.io/v1', 'Gateway')).toEqual({
      issue: {
        severity: 'error',
        path: 'kind',
        message:
          'unknown kind "Gateway"; supported kinds: AuthorizationPolicy, DestinationPolicy, DestinationRule, PeerAuthentication, RequestAuthentication, RouteRule, ServiceEntry, Sidecar, VirtualService, WorkloadEntry',
      },
    });
    expect(resolveKind('config.istio.io/v1alpha3', 'RouteRule')).toEqual({
      issue: { severity: 'error', path: 'apiVersion', message: 'unsupported apiVersion "config.istio.io/v1alpha3" for RouteRule; supported: config.istio.io/v1alpha2' },
    });
  });
});
