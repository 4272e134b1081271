/**
 * For one generator, when each subscribed name was last reached by a change (as the push
 * rounds found with the dependency indexes). A stream that last looked at any epoch then
 * learns which of its names changed since in O(its names), however long ago that was: the
 * change log keeps only the latest epochs, and after a minute of endpoint churn the
 * streams a change never reached last looked long before them.
 */
export class ReachHistory {
  /** name → the epoch after which every change reaching it is known, and the last one that did. */
  private readonly names = new Map<string, { readonly watchedAfter: number; reached: number }>();
  /** The subscription groups seen (their byName), with the revision of their names last looked at. */
  private readonly groups = new Map<ReadonlyMap<string, unknown>, number>();

  /**
   * A group's names as a round looks at them for `epoch` (before recordReached): when they
   * changed since the group was last watched, names not known yet are watched from this
   * epoch's change on. Called every epoch whether or not the change can reach the group.
   */
  watch(group: { readonly byName: ReadonlyMap<string, unknown>; readonly revision: number }, epoch: number): void {
    if (this.groups.get(group.byName) === group.revision) return;
    this.groups.set(group.byName, group.revision);
    for (const name of group.byName.keys()) if (!this.names.has(name)) this.names.set(name, { watchedAfter: epoch - 1, reached: 0 });
  }

  recordReached(names: Iterable<string>, epoch: number): void {
    for (const name of names) {
      const entry = this.names.get(name);
      if (entry) entry.reached = epoch;
    }
  }

  /**
   * Which of `names` a change after `epoch` reached ('none': not one), or undefined when
   * the history of one of them does not go back that far. With `first`, stops at the
   * first one reached.
   */
  since(names: Iterable<string>, epoch: number, first: boolean): Set<string> | 'none' | undefined {
    let out: Set<string> | undefined;
    for (const name of names) {
      const entry = this.names.get(name);
      if (!entry || entry.watchedAfter > epoch) return undefined;
      if (entry.reached <= epoch) continue;
      (out ??= new Set()).add(name);
      if (first) break;
    }
    return out ?? 'none';
  }

  /** Whether some subscription group of this generator holds `name`. */
  holds(name: string): boolean {
    for (const byName of this.groups.keys()) if (byName.has(name)) return true;
    return false;
  }

  /** Forgets the names no group holds any more (their subscribers went away). */
  prune(): void {
    for (const name of this.names.keys()) if (!this.holds(name)) this.names.delete(name);
  }
}
