import { DEFAULT_NAMESPACE } from './object.js';

export type IssueSeverity = 'error' | 'warning';

/**
 * A problem with one config object. Rendered as
 * `<source>:<kind>/<ns>/<name>: <field path>: <message>` (DESIGN.md's error contract).
 */
export interface ConfigIssue {
  readonly severity: IssueSeverity;
  /** Where the object came from: file (and line), KV key, ... */
  readonly source: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Dotted field path, e.g. `spec.http[0].route[1].weight`; empty for the whole object. */
  readonly path: string;
  readonly message: string;
}

export function formatIssue(i: ConfigIssue): string {
  const obj = `${i.kind || '<unknown kind>'}/${i.namespace || DEFAULT_NAMESPACE}/${i.name || '<unnamed>'}`;
  return `${i.source}:${obj}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/** Thrown where a caller must stop on invalid input; carries every issue found. */
export class ConfigValidationError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigValidationError';
  }
}
