/**
 * Fault injection: what a sick apiserver, a proxy in front of it or a bad network does to
 * requests. A fault matches requests by path (prefix or RegExp on the path), method and
 * whether they are watches; `times` limits how many requests it hits.
 */

export type Fault = {
  /** A path prefix, or a RegExp tested against the path (no query). Default: every path. */
  readonly path?: string | RegExp;
  /** Only this HTTP method (GET, POST ...). */
  readonly method?: string;
  /** true: only watch requests; false: only non-watch requests. Default both. */
  readonly watch?: boolean;
  /** Hit this many requests, then disappear. Default: until removed. */
  readonly times?: number;
} & (
  | { readonly kind: 'status'; readonly code: number; readonly reason?: string; readonly message?: string; readonly retryAfterSeconds?: number }
  | { readonly kind: 'hang' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'slow'; readonly delayMs: number }
  | { readonly kind: 'dribble'; readonly chunkDelayMs: number }
  | { readonly kind: 'gone' }
);

export type FaultKind = Fault['kind'];

/** What the fault matcher needs to know about a request. */
export interface RequestInfo {
  readonly method: string;
  readonly path: string;
  readonly watch: boolean;
  /** A list or a watch: only those can be `gone`. */
  readonly listOrWatch: boolean;
}

export interface ActiveFault {
  readonly id: number;
  readonly fault: Fault;
  remaining: number;
}

export function faultMatches(f: Fault, r: RequestInfo): boolean {
  if (f.path !== undefined) {
    if (typeof f.path === 'string' ? !r.path.startsWith(f.path) : !f.path.test(r.path)) return false;
  }
  if (f.method !== undefined && f.method.toUpperCase() !== r.method) return false;
  if (f.watch !== undefined && f.watch !== r.watch) return false;
  if (f.kind === 'gone' && !r.listOrWatch) return false;
  return true;
}

export class FaultSet {
  private active: ActiveFault[] = [];
  private nextId = 1;

  add(fault: Fault): ActiveFault {
    const a: ActiveFault = { id: this.nextId++, fault, remaining: fault.times ?? Infinity };
    if (a.remaining <= 0) return a;
    this.active.push(a);
    return a;
  }

  remove(id: number): void {
    this.active = this.active.filter((a) => a.id !== id);
  }

  clear(): void {
    this.active = [];
  }

  isActive(id: number): boolean {
    return this.active.some((a) => a.id === id);
  }

  /** The first fault in force for this request (consumes one of its `times`). */
  take(r: RequestInfo, kinds?: readonly FaultKind[]): ActiveFault | undefined {
    for (const a of this.active) {
      if (kinds && !kinds.includes(a.fault.kind)) continue;
      if (!faultMatches(a.fault, r)) continue;
      this.use(a);
      return a;
    }
    return undefined;
  }

  /** Consumes one use (for faults that hit already-open watches). */
  use(a: ActiveFault): void {
    a.remaining--;
    if (a.remaining <= 0) this.remove(a.id);
  }
}
