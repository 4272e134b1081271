import type { MeshSnapshot } from '@isthmus/core';
import type { RouteTable } from '@isthmus/core';
import type { ResourceDependencies, SnapshotInput, SnapshotPart } from '../generators/generator.js';

export const SNAPSHOT_PARTS: readonly SnapshotPart[] = ['services', 'endpoints', 'routes', 'destinations', 'sidecars'];
/** Every input a generator may read: the parts and those derived from them. */
export const SNAPSHOT_INPUTS: readonly SnapshotInput[] = [...SNAPSHOT_PARTS, 'routeFaults'];

/** Which ports of a route table have a route injecting faults ('' for none). */
export function faultPorts(table: RouteTable | undefined): string {
  let out = '';
  for (const route of table?.routes ?? []) {
    if (!route.fault || (!route.fault.abort && !route.fault.delay)) continue;
    out += route.matches.length === 0 || route.matches.some((m) => m.port === undefined) ? '*;' : `${route.matches.map((m) => m.port).join(',')};`;
  }
  return out;
}

/** Per input, the keys (hostnames; `<ns>/<name>` for sidecars) whose entry was added, changed or removed. */
export type InputChanges = ReadonlyMap<SnapshotInput, ReadonlySet<string>>;

/**
 * What differs between two snapshots, per input and key, by the entries' content versions.
 * For the registry parts of consecutive snapshots of one engine (`sequence` + 1) the
 * engine's record of the hosts it changed is used (exact: every change of its maps is
 * recorded, and a build it skipped had the previous snapshot's content), checked against
 * the maps' sizes (a hint that misses an added or removed host falls back); otherwise, and
 * for the rule parts, entries are compared: O(entries) of cheap comparisons.
 */
export function changedKeys(prev: MeshSnapshot | undefined, next: MeshSnapshot): Map<SnapshotInput, Set<string>> {
  const out = new Map<SnapshotInput, Set<string>>();
  const consecutive = prev !== undefined && next.sequence === prev.sequence + 1;
  for (const input of SNAPSHOT_PARTS) {
    const a = prev?.[input];
    const b = next[input];
    if (a === b) continue;
    const keys = new Set<string>();
    const hint = consecutive && (input === 'services' || input === 'endpoints') ? next.changes[input] : undefined;
    if (!a || !hint || !fromHint(a, b, hint, keys)) {
      keys.clear();
      for (const [k, v] of b) if (a?.get(k)?.version !== v.version) keys.add(k);
      if (a) for (const k of a.keys()) if (!b.has(k)) keys.add(k);
    }
    if (keys.size > 0) out.set(input, keys);
  }
  const routes = out.get('routes');
  if (routes) {
    const faults = new Set<string>();
    for (const k of routes) if (faultPorts(prev?.routes.get(k)) !== faultPorts(next.routes.get(k))) faults.add(k);
    if (faults.size > 0) out.set('routeFaults', faults);
  }
  return out;
}

/** The hinted keys that differ, into `keys`; false when the hint cannot account for the size change. */
function fromHint(a: ReadonlyMap<string, { version: string }>, b: ReadonlyMap<string, { version: string }>, hint: ReadonlySet<string>, keys: Set<string>): boolean {
  let size = a.size;
  for (const k of hint) {
    const before = a.get(k);
    const after = b.get(k);
    if (before?.version === after?.version) continue;
    keys.add(k);
    if (!before) size++;
    if (!after) size--;
  }
  return size === b.size;
}

/**
 * Whether a resource with these dependencies may differ after `changes`: an input it
 * reads changed at one of its keys, or changed at all when the resource did not list
 * that input's keys.
 */
export function affects(changes: InputChanges, inputs: readonly SnapshotInput[], deps: ResourceDependencies | undefined): boolean {
  for (const input of inputs) {
    const changed = changes.get(input);
    if (!changed) continue;
    const keys = deps?.[input];
    if (!keys) return true;
    for (const k of keys) if (changed.has(k)) return true;
  }
  return false;
}

/**
 * The changed keys of the last `capacity` epochs, so a stream that last looked at epoch E
 * can ask what changed since. Older epochs are forgotten: `since` then says undefined
 * ("unknown: assume everything").
 */
export class ChangeLog {
  private readonly entries: { epoch: number; changes: InputChanges }[] = [];
  private readonly unions = new Map<number, InputChanges>();

  constructor(private readonly capacity = 64) {}

  record(epoch: number, changes: InputChanges): void {
    this.entries.push({ epoch, changes });
    if (this.entries.length > this.capacity) this.entries.shift();
    this.unions.clear();
  }

  /** The union of the changes recorded after `epoch`; undefined when the log does not reach back that far. */
  since(epoch: number): InputChanges | undefined {
    const first = this.entries[0];
    if (!first || epoch < first.epoch - 1) return undefined;
    const last = this.entries[this.entries.length - 1]!;
    if (epoch >= last.epoch) return new Map();
    if (epoch === last.epoch - 1) return last.changes;
    let union = this.unions.get(epoch);
    if (!union) {
      const merged = new Map<SnapshotInput, Set<string>>();
      for (const e of this.entries) {
        if (e.epoch <= epoch) continue;
        for (const [input, keys] of e.changes) {
          const set = merged.get(input) ?? new Set<string>();
          for (const k of keys) set.add(k);
          merged.set(input, set);
        }
      }
      union = merged;
      this.unions.set(epoch, union);
    }
    return union;
  }

  /** The changes of the latest epoch. */
  latest(): InputChanges {
    return this.entries[this.entries.length - 1]?.changes ?? new Map();
  }
}

/**
 * Subscribed names by what they read: (input, key) → names, and per input the names that
 * may read any of it. Built once for a set of names (and their dependencies); a change is
 * then looked up by its changed keys, O(changed) instead of a check of every name. Gives
 * the same answer as `affects` for each name.
 */
export class DependencyIndex {
  private readonly byKey = new Map<SnapshotInput, Map<string, Set<string>>>();
  private readonly any = new Map<SnapshotInput, Set<string>>();
  /** Each name's dependencies as indexed (the object dependenciesOf gave). */
  private readonly indexed = new Map<string, ResourceDependencies | undefined>();

  constructor(
    names: Iterable<string>,
    private readonly inputs: readonly SnapshotInput[],
    dependenciesOf: (name: string) => ResourceDependencies | undefined,
  ) {
    for (const name of names) this.add(name, dependenciesOf(name));
  }

  /**
   * Indexes again the names whose dependencies dependenciesOf now answers with another
   * object (they were dropped and computed afresh); the others are left as they are.
   */
  refresh(dependenciesOf: (name: string) => ResourceDependencies | undefined): void {
    for (const [name, before] of this.indexed) {
      const now = dependenciesOf(name);
      if (now === before) continue;
      this.remove(name, before);
      this.add(name, now);
    }
  }

  /** The names `changes` may reach. */
  reached(changes: InputChanges): Set<string> {
    const out = new Set<string>();
    for (const input of this.inputs) {
      const keys = changes.get(input);
      if (!keys || keys.size === 0) continue;
      for (const n of this.any.get(input) ?? []) out.add(n);
      const m = this.byKey.get(input);
      if (!m) continue;
      for (const k of keys) for (const n of m.get(k) ?? []) out.add(n);
    }
    return out;
  }

  private add(name: string, deps: ResourceDependencies | undefined): void {
    this.indexed.set(name, deps);
    this.slots(deps, (m, k) => addTo(m, k, name));
  }

  private remove(name: string, deps: ResourceDependencies | undefined): void {
    this.slots(deps, (m, k) => removeFrom(m, k, name));
  }

  /** Every (map, key) a name with these dependencies is indexed under. */
  private slots(deps: ResourceDependencies | undefined, visit: (m: Map<string, Set<string>>, k: string) => void): void {
    for (const input of this.inputs) {
      const keys = deps?.[input];
      if (!keys) {
        visit(this.any, input);
        continue;
      }
      let m = this.byKey.get(input);
      if (!m) this.byKey.set(input, (m = new Map()));
      for (const k of keys) visit(m, k);
    }
  }
}

function addTo<K>(m: Map<K, Set<string>>, k: K, name: string): void {
  const set = m.get(k);
  if (set) set.add(name);
  else m.set(k, new Set([name]));
}

function removeFrom<K>(m: Map<K, Set<string>>, k: K, name: string): void {
  const set = m.get(k);
  if (!set) return;
  set.delete(name);
  if (set.size === 0) m.delete(k);
}
