import type { SourcedObject } from '../config/object.js';
import type { ConfigIssue } from '../config/issues.js';

/** Where a config source delivers objects. */
export interface ConfigSink {
  /**
   * Propose the complete, current object set of one part of the source (a file, a KV key).
   * Returns the issues found; when any is an error nothing changes and the previous set
   * stays in force.
   */
  propose(part: string, objects: readonly SourcedObject[]): readonly ConfigIssue[];
  /**
   * Proposes several parts at once (an initial listing): the same outcome per part as
   * calling `propose` for each, at the cost of validating the config set about once.
   * Optional: sources fall back to `propose` per part when a sink lacks it.
   */
  proposeAll?(parts: ReadonlyMap<string, readonly SourcedObject[]>): ReadonlyMap<string, readonly ConfigIssue[]>;
  /** The part is gone (file deleted): its objects are withdrawn. */
  withdraw(part: string): void;
  /** Report problems that stop a part from being read at all (unreadable file, bad YAML). */
  reportIssues(part: string, issues: readonly ConfigIssue[]): void;
  /** The source has delivered everything it had at start. */
  markSynced(): void;
}

export const ConfigSource = Symbol.for('isthmus.ConfigSource');
/** Yields Istio-kind config objects (rules) from files, KV, CRDs, ... */
export interface ConfigSource {
  readonly source: string;
  start(sink: ConfigSink): Promise<void>;
  stop(): Promise<void>;
}
