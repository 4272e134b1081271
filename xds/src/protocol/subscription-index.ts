/** The subscribers of one type for one kind of proxy (its GENERATOR). */
export interface SubscriptionGroup<S> {
  readonly generator: string;
  readonly typeUrl: string;
  /** name → streams subscribed to it by name. */
  readonly byName: ReadonlyMap<string, ReadonlySet<S>>;
  /** Streams subscribed to everything of the type. */
  readonly wildcard: ReadonlySet<S>;
  /** Changes whenever the set of names in `byName` changes (lets a source cache what it derives from them). */
  readonly revision: number;
}

interface Group<S> extends SubscriptionGroup<S> {
  readonly byName: Map<string, Set<S>>;
  readonly wildcard: Set<S>;
  revision: number;
}

/**
 * Which streams subscribe to which names, per proxy kind and type, so a push can visit the
 * subscribers of the names a change reaches instead of every stream: with thousands of
 * proxies, an endpoint change then costs O(its watchers). Kept in step with each stream's
 * subscription by the protocol servers (`set` after every request, `remove` on close).
 */
export class SubscriptionIndex<S> {
  private readonly groups = new Map<string, Group<S>>();
  /** stream → group key → what it is indexed under (undefined: wildcard). */
  private readonly held = new Map<S, Map<string, ReadonlySet<string> | undefined>>();

  set(stream: S, generator: string, typeUrl: string, names: ReadonlySet<string> | undefined): void {
    const key = `${generator}\0${typeUrl}`;
    let mine = this.held.get(stream);
    if (!mine) this.held.set(stream, (mine = new Map()));
    const before = mine.get(key);
    if (mine.has(key) && sameNames(before, names)) return;
    const group = this.group(key, generator, typeUrl);
    if (mine.has(key)) unindex(group, stream, before);
    if (names === undefined) group.wildcard.add(stream);
    else {
      for (const n of names) {
        let set = group.byName.get(n);
        if (!set) {
          group.byName.set(n, (set = new Set()));
          group.revision++;
        }
        set.add(stream);
      }
    }
    // A copy: the caller's set may be reused or changed later.
    mine.set(key, names === undefined ? undefined : new Set(names));
  }

  remove(stream: S): void {
    const mine = this.held.get(stream);
    if (!mine) return;
    for (const [key, names] of mine) {
      const group = this.groups.get(key);
      if (group) unindex(group, stream, names);
    }
    this.held.delete(stream);
  }

  *all(): IterableIterator<SubscriptionGroup<S>> {
    yield* this.groups.values();
  }

  private group(key: string, generator: string, typeUrl: string): Group<S> {
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { generator, typeUrl, byName: new Map(), wildcard: new Set(), revision: 0 }));
    return g;
  }
}

function unindex<S>(group: Group<S>, stream: S, names: ReadonlySet<string> | undefined): void {
  if (names === undefined) {
    group.wildcard.delete(stream);
    return;
  }
  for (const n of names) {
    const set = group.byName.get(n);
    if (!set) continue;
    set.delete(stream);
    if (set.size === 0) {
      group.byName.delete(n);
      group.revision++;
    }
  }
}

function sameNames(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.size !== b.size) return false;
  for (const n of a) if (!b.has(n)) return false;
  return true;
}
