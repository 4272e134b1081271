import { formatIssue, parseConfigText, type ConfigIssue, type SourcedObject } from '@isthmus/core';

/** Parses YAML test input; fails the test on a syntax problem so cases stay honest. */
export function objectsOf(yaml: string, file = 'test.yaml'): SourcedObject[] {
  const { objects, issues } = parseConfigText(yaml, file);
  if (issues.length > 0) throw new Error(`bad test input: ${issues.map(formatIssue).join('; ')}`);
  return objects;
}

export const errors = (issues: readonly ConfigIssue[]): string[] =>
  issues.filter((i) => i.severity === 'error').map(formatIssue);

export const warnings = (issues: readonly ConfigIssue[]): string[] =>
  issues.filter((i) => i.severity === 'warning').map(formatIssue);

/** The greeter service's DestinationRule (subsets v1, v2), the usual context of a VirtualService case. */
export const GREETER_DR = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: greeter, namespace: default }
spec:
  host: greeter
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
`;

export const GREETER_HOST = 'greeter.default.svc.cluster.local';

/** Deterministic shuffle (seeded), for order-independence tests. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
