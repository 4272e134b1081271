/*
 * Which namespaces the adapter reads, like Istio's `discoverySelectors`: an optional list
 * of names and optional label selectors (kubectl syntax, `istio-discovery=enabled`,
 * `env in (prod,staging)`, `!legacy`). A namespace is read when it is named, or when any
 * selector matches its labels; with neither, every namespace is read.
 */

type Requirement =
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'exists' | 'absent'; readonly key: string };

/** A parsed label selector: every requirement must hold. */
export interface LabelSelector {
  readonly text: string;
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

/**
 * Parses a label selector: comma-separated `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`,
 * `k notin (a,b)`. Throws `invalid label selector "<text>": <why>`.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const reqs: Requirement[] = [];
  const fail = (why: string): never => {
    throw new Error(`invalid label selector "${text}": ${why}`);
  };
  for (const part of splitTopLevel(text)) {
    const p = part.trim();
    if (p === '') fail('empty requirement');
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=(),]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(p))) {
      const values = m[3]!.split(',').map((v) => v.trim());
      if (values.some((v) => v === '')) fail(`empty value in "${p}"`);
      reqs.push({ op: m[2] as 'in' | 'notin', key: m[1]!, values });
    } else if ((m = /^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)$/.exec(p))) {
      reqs.push({ op: m[2] === '!=' ? 'notin' : 'in', key: m[1]!, values: [m[3]!] });
    } else if ((m = /^!\s*([^\s!=(),]+)$/.exec(p))) {
      reqs.push({ op: 'absent', key: m[1]! });
    } else if ((m = /^([^\s!=(),]+)$/.exec(p))) {
      reqs.push({ op: 'exists', key: m[1]! });
    } else {
      fail(`cannot parse "${p}"`);
    }
  }
  return {
    text,
    matches(labels) {
      const l = labels ?? {};
      return reqs.every((r) => {
        const has = Object.prototype.hasOwnProperty.call(l, r.key);
        switch (r.op) {
          case 'exists':
            return has;
          case 'absent':
            return !has;
          case 'in':
            return has && r.values.includes(l[r.key]!);
          case 'notin':
            return !has || !r.values.includes(l[r.key]!);
        }
      });
    },
  };
}

/** Splits on commas outside parentheses. */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Decides which namespaces are read. */
export class NamespaceFilter {
  private readonly names: ReadonlySet<string>;
  private readonly selectors: readonly LabelSelector[];

  constructor(names: readonly string[] | undefined, selectors: readonly string[] | undefined) {
    this.names = new Set((names ?? []).map((n) => n.trim()).filter(Boolean));
    this.selectors = (selectors ?? []).map((s) => s.trim()).filter(Boolean).map(parseLabelSelector);
  }

  /** True when every namespace is read. */
  get all(): boolean {
    return this.names.size === 0 && this.selectors.length === 0;
  }

  /** True when namespace labels are needed to decide (a Namespace informer must run). */
  get needsLabels(): boolean {
    return this.selectors.length > 0;
  }

  /** `labels` undefined: the namespace is not known (yet), so only a name can select it. */
  includes(namespace: string, labels: Readonly<Record<string, string>> | undefined): boolean {
    if (this.all || this.names.has(namespace)) return true;
    return labels !== undefined && this.selectors.some((s) => s.matches(labels));
  }

  describe(): string {
    if (this.all) return 'all namespaces';
    return [...[...this.names].map((n) => `namespace ${n}`), ...this.selectors.map((s) => `namespaces matching "${s.text}"`)].join(', ');
  }
}
