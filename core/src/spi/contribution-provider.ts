import type { Container, ServiceIdentifier } from 'inversify';

/** Reads every contribution bound to an extension point; empty when none is bound. */
export interface ContributionProvider<T> {
  getContributions(): readonly T[];
}

export function contributionsOf<T>(container: Container, id: ServiceIdentifier<T>): ContributionProvider<T> {
  let cached: readonly T[] | undefined;
  return {
    getContributions() {
      cached ??= container.isBound(id) ? container.getAll<T>(id) : [];
      return cached;
    },
  };
}
