import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  contentHash,
  formatIssue,
  parseConfigText,
  type ConfigIssue,
  type ConfigSink,
  type ConfigSource,
  type Logger,
  type SourcedObject,
} from '@isthmus/core';
import { displayPath, isConfigFileName, isEditorTempName } from './file-names.js';

/** The part of core's `Logger` (pino's shape) this source uses. */
export type StaticSourceLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface StaticConfigSourceOptions {
  /**
   * Files and directories to read. A directory contributes every `*.yaml`, `*.yml` and
   * `*.json` file in it (dotfiles and editor scratch files ignored); a file named here is
   * read whatever its extension. Relative paths resolve against `cwd`. Every path must
   * exist when the source starts.
   */
  readonly paths: readonly string[];
  /** Also read the subdirectories (except dot-directories) of the directories named. Default false. */
  readonly recursive?: boolean;
  /** Default: logs nothing (issues still reach the sink). */
  readonly logger?: StaticSourceLogger;
  /** Quiet time after the last change event of a file before it is re-read. Default 50 ms. */
  readonly debounceMs?: number;
  /**
   * How often every watched directory is checked for having been removed or replaced
   * (`mv new conf`, a symlink swap), which no watch on the directory itself can report.
   * Default 1000 ms.
   */
  readonly dirCheckIntervalMs?: number;
  /** Base of relative paths and of part names. Default: `process.cwd()` when constructed. */
  readonly cwd?: string;
}

/** A directory under watch. */
interface WatchedDir {
  readonly abs: string;
  /** The directory as shown in part names. */
  readonly display: string;
  /** Named in `paths` (itself or as a named file's parent): kept, and re-armed, when it disappears. */
  readonly root: boolean;
  /** Read every config-named file in it (a directory named in `paths`, or below one when recursive). */
  scanAll: boolean;
  /** Watch its subdirectories too. */
  recursive: boolean;
  /** Files named in `paths` that live here: basename → part name. */
  readonly explicit: Map<string, string>;
  watcher: FSWatcher | undefined;
  /** `dev:ino` of the directory the watcher is attached to. */
  identity: string | undefined;
}

/** A file that has been seen, keyed by absolute path. */
interface TrackedFile {
  /** The part name: the file's path as shown to users. */
  readonly part: string;
  /** Absolute path of the watched directory holding it. */
  readonly dir: string;
  /** Hash of the content last read (or the read error last reported): unchanged → nothing to do. */
  hash: string | undefined;
  /** The sink has heard of this part (a proposal or issues), so a deletion must withdraw it. */
  delivered: boolean;
}

/**
 * Config objects from YAML / JSON files, kept live by watching directories.
 *
 * Directories are watched rather than files: a watch on a file follows its inode, and
 * editors and config tools replace files by writing a temporary file and renaming it over
 * the original, after which a file watch sees nothing more (see XDS-INTEROP.md).
 * Each file is one part of the sink, named by its path. All reads and sink calls run one
 * at a time, in event order.
 */
export class StaticConfigSource implements ConfigSource {
  readonly source = 'static';

  private readonly paths: readonly string[];
  private readonly recursive: boolean;
  private readonly logger: StaticSourceLogger;
  private readonly debounceMs: number;
  private readonly dirCheckIntervalMs: number;
  private readonly cwd: string;

  private sink: ConfigSink | undefined;
  private stopped = false;
  private readonly dirs = new Map<string, WatchedDir>();
  private readonly files = new Map<string, TrackedFile>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private queue: Promise<void> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | undefined;
  /** During the first read: proposals collected to go to the sink together (see start). */
  private batch: Map<TrackedFile, { objects: readonly SourcedObject[]; parseWarnings: readonly ConfigIssue[] }> | undefined;

  constructor(options: StaticConfigSourceOptions) {
    this.paths = [...options.paths];
    this.recursive = options.recursive ?? false;
    this.logger = options.logger ?? silentLogger;
    this.debounceMs = options.debounceMs ?? 50;
    this.dirCheckIntervalMs = options.dirCheckIntervalMs ?? 1000;
    this.cwd = options.cwd ?? process.cwd();
  }

  async start(sink: ConfigSink): Promise<void> {
    if (this.sink) throw new Error('static config source: already started');
    // Check every path before touching the sink or the file system watches.
    const dirs = await this.resolvePaths();
    this.sink = sink;
    for (const d of dirs) this.dirs.set(d.abs, d);
    // Watch before the first read, so a change made while reading is not lost.
    for (const d of dirs) {
      try {
        const id = await dirIdentity(d.abs);
        if (id === undefined) throw new Error('no longer exists');
        this.arm(d, id);
      } catch (err) {
        await this.stop();
        throw new Error(`static config source: cannot watch ${d.display}: ${message(err)}`);
      }
    }
    // The first read goes to the sink as one batch: files that refer to each other (a
    // VirtualService naming the subsets another file's DestinationRule defines) are
    // validated together, whatever order the directory lists them in.
    await this.enqueue(async () => {
      this.batch = new Map();
      try {
        for (const d of dirs) await this.rescan(d, true);
      } finally {
        const batch = this.batch;
        this.batch = undefined;
        if (batch) this.proposeBatch(batch);
      }
    });
    if (this.stopped) return;
    this.callSink((s) => s.markSynced());
    this.logger.info({ source: this.source, paths: this.paths, files: this.files.size }, 'static config synced');
    this.schedulePoll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (this.pollTimer) clearTimeout(this.pollTimer);
    for (const d of this.dirs.values()) this.disarm(d);
    await this.queue; // let a read in progress finish; it makes no sink call once stopped
  }

  /** Turns `paths` into the directories to watch; throws, naming the path, if one is missing. */
  private async resolvePaths(): Promise<WatchedDir[]> {
    const byAbs = new Map<string, WatchedDir>();
    const dirFor = (abs: string, display: string): WatchedDir => {
      let d = byAbs.get(abs);
      if (!d) {
        d = newDir(abs, display, true);
        byAbs.set(abs, d);
      }
      return d;
    };
    for (const given of this.paths) {
      const abs = path.resolve(this.cwd, given);
      const shown = displayPath(given, this.cwd);
      let st;
      try {
        st = await stat(abs);
      } catch (err) {
        if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') {
          throw new Error(`static config source: path ${given} does not exist (resolved to ${abs})`);
        }
        throw new Error(`static config source: cannot read ${given}: ${message(err)}`);
      }
      if (st.isDirectory()) {
        const d = dirFor(abs, shown);
        d.scanAll = true;
        d.recursive ||= this.recursive;
      } else if (st.isFile()) {
        const d = dirFor(path.dirname(abs), path.dirname(shown));
        if (!d.explicit.has(path.basename(abs))) d.explicit.set(path.basename(abs), shown);
      } else {
        throw new Error(`static config source: ${given} is neither a file nor a directory`);
      }
    }
    return [...byAbs.values()];
  }

  private arm(d: WatchedDir, identity: string): void {
    const w = watch(d.abs, { persistent: false }, (_event, filename) => {
      if (d.watcher === w) this.onEvent(d, filename);
    });
    w.on('error', (err) => {
      // The directory check re-arms it (and rescans) on its next round.
      this.logger.warn({ dir: d.display, err: message(err) }, `static config: watch on ${d.display} failed, re-arming`);
      if (d.watcher === w) this.disarm(d);
    });
    d.watcher = w;
    d.identity = identity;
  }

  private disarm(d: WatchedDir): void {
    d.watcher?.close();
    d.watcher = undefined;
    d.identity = undefined;
  }

  private onEvent(d: WatchedDir, filename: string | null): void {
    if (this.stopped) return;
    if (!filename) {
      // Some platforms omit the name: look at the whole directory.
      this.debounce(dirKey(d), () => this.rescan(d));
      return;
    }
    if (isEditorTempName(filename)) return;
    if (this.wants(d, filename)) {
      this.debounce(path.join(d.abs, filename), () => this.checkFile(d, filename));
      return;
    }
    // Anything else may change what the directory holds: a new subdirectory, or the
    // `..data` symlink swap by which Kubernetes updates a mounted ConfigMap (the files
    // themselves are symlinks through it and report no event of their own).
    this.debounce(dirKey(d), () => this.rescan(d));
  }

  private wants(d: WatchedDir, name: string): boolean {
    return d.explicit.has(name) || (d.scanAll && isConfigFileName(name));
  }

  /**
   * Runs `task` once events for `key` have been quiet for `debounceMs`. With `restart`
   * false, a run already pending is left as it is.
   */
  private debounce(key: string, task: () => Promise<void>, restart = true): void {
    if (this.stopped) return;
    const prev = this.timers.get(key);
    if (prev && !restart) return;
    if (prev) clearTimeout(prev);
    const t = setTimeout(() => {
      this.timers.delete(key);
      void this.enqueue(task);
    }, this.debounceMs);
    t.unref();
    this.timers.set(key, t);
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.stopped) return;
      try {
        await task();
      } catch (err) {
        this.logger.error({ err: message(err) }, 'static config: unexpected error');
      }
    });
    this.queue = run;
    return run;
  }

  /**
   * Brings one directory up to date: re-arms a replaced or recreated directory, reads new
   * and changed files, withdraws vanished ones. Only the first scan reads at once; later
   * ones leave the reading to each file's debounce, so a file that a writer is still
   * filling in (truncate, then write) is read once it is quiet, not half-written.
   */
  private async rescan(d: WatchedDir, immediate = false): Promise<void> {
    if (this.stopped || this.dirs.get(d.abs) !== d) return;
    const id = await dirIdentity(d.abs);
    if (id !== d.identity) this.disarm(d);
    if (id === undefined) {
      this.clearDir(d);
      return;
    }
    if (!d.watcher) {
      try {
        this.arm(d, id);
      } catch (err) {
        // Scan anyway; the directory check retries the watch.
        this.logger.error({ dir: d.display, err: message(err) }, `static config: cannot watch ${d.display}`);
      }
    }
    let entries;
    try {
      entries = await readdir(d.abs, { withFileTypes: true });
    } catch (err) {
      if (isGone(err)) {
        this.disarm(d);
        this.clearDir(d);
      } else {
        this.logger.error({ dir: d.display, err: message(err) }, `static config: cannot list ${d.display}`);
      }
      return;
    }
    const files = new Set<string>();
    const subdirs = new Set<string>();
    for (const e of entries) {
      if (d.recursive && e.isDirectory()) {
        if (!e.name.startsWith('.')) subdirs.add(e.name);
      } else if (this.wants(d, e.name)) {
        files.add(e.name);
      }
    }
    const check = async (name: string): Promise<void> => {
      if (immediate) await this.checkFile(d, name);
      else this.debounce(path.join(d.abs, name), () => this.checkFile(d, name), false);
    };
    for (const name of files) await check(name);
    for (const [abs, f] of [...this.files]) {
      if (f.dir === d.abs && !files.has(path.basename(abs))) await check(path.basename(abs));
    }
    for (const name of subdirs) {
      const abs = path.join(d.abs, name);
      let sub = this.dirs.get(abs);
      if (!sub) {
        sub = newDir(abs, path.join(d.display, name), false);
        this.dirs.set(abs, sub);
      } else if (sub.scanAll && sub.watcher && (await dirIdentity(abs)) === sub.identity) {
        continue; // watched already, and its own watch reports its changes
      }
      // New, replaced under the same name (a rename over it), or so far watched only for a named file.
      sub.scanAll = true;
      sub.recursive = true;
      await this.rescan(sub, immediate);
    }
    for (const sub of [...this.dirs.values()]) {
      if (!sub.root && path.dirname(sub.abs) === d.abs && !subdirs.has(path.basename(sub.abs))) this.dropDir(sub);
    }
  }

  /** The directory is gone: everything read from it is withdrawn. A root stays listed so it is re-armed when it comes back. */
  private clearDir(d: WatchedDir): void {
    for (const [abs, f] of [...this.files]) if (f.dir === d.abs) this.forget(abs, f);
    for (const sub of [...this.dirs.values()]) {
      if (!sub.root && path.dirname(sub.abs) === d.abs) this.dropDir(sub);
    }
    if (!d.root) this.dirs.delete(d.abs);
  }

  private dropDir(d: WatchedDir): void {
    this.disarm(d);
    this.clearDir(d);
    this.dirs.delete(d.abs);
  }

  /** Reads one file and proposes it if its content changed; withdraws it if it is gone. */
  private async checkFile(d: WatchedDir, name: string): Promise<void> {
    const abs = path.join(d.abs, name);
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch (err) {
      const f = this.files.get(abs);
      if (isGone(err)) {
        if (f) this.forget(abs, f);
        return;
      }
      // Unreadable (permissions, I/O): report once per distinct error, keep what is in force.
      const file = f ?? this.track(d, name, abs);
      const key = `error:${errorCode(err) ?? message(err)}`;
      if (file.hash === key) return;
      file.hash = key;
      this.report(file, [fileIssue(file.part, `cannot read file: ${message(err)}`)]);
      return;
    }
    const file = this.files.get(abs) ?? this.track(d, name, abs);
    const hash = contentHash(text);
    if (hash === file.hash) {
      this.logger.debug({ part: file.part }, `static config: ${file.part} unchanged`);
      return;
    }
    file.hash = hash;
    const parsed = parseConfigText(text, file.part);
    if (parsed.issues.some((i) => i.severity === 'error')) {
      this.report(file, parsed.issues);
      return;
    }
    this.propose(file, parsed.objects, parsed.issues);
  }

  private track(d: WatchedDir, name: string, abs: string): TrackedFile {
    const f: TrackedFile = {
      part: d.explicit.get(name) ?? path.join(d.display, name),
      dir: d.abs,
      hash: undefined,
      delivered: false,
    };
    this.files.set(abs, f);
    return f;
  }

  private propose(f: TrackedFile, objects: readonly SourcedObject[], parseWarnings: readonly ConfigIssue[]): void {
    if (this.batch) {
      this.batch.set(f, { objects, parseWarnings });
      return;
    }
    let issues: readonly ConfigIssue[] = [];
    if (!this.callSink((s) => (issues = s.propose(f.part, objects)))) {
      f.hash = undefined; // not delivered: the next event retries even if the content is the same
      return;
    }
    this.proposed(f, objects, parseWarnings, issues);
  }

  /** Delivers the first read's proposals together (one by one, in path order, to a sink without proposeAll). */
  private proposeBatch(batch: Map<TrackedFile, { objects: readonly SourcedObject[]; parseWarnings: readonly ConfigIssue[] }>): void {
    if (batch.size === 0) return;
    const files = [...batch.keys()].sort((a, b) => (a.part < b.part ? -1 : a.part > b.part ? 1 : 0));
    let results: ReadonlyMap<string, readonly ConfigIssue[]> | undefined;
    const delivered = this.callSink((s) => {
      if (s.proposeAll) results = s.proposeAll(new Map(files.map((f) => [f.part, batch.get(f)!.objects])));
    });
    if (!delivered) {
      for (const f of files) f.hash = undefined;
      return;
    }
    for (const f of files) {
      const { objects, parseWarnings } = batch.get(f)!;
      if (results) this.proposed(f, objects, parseWarnings, results.get(f.part) ?? []);
      else this.propose(f, objects, parseWarnings);
    }
  }

  /** Logs what the sink made of a proposal. */
  private proposed(f: TrackedFile, objects: readonly SourcedObject[], parseWarnings: readonly ConfigIssue[], issues: readonly ConfigIssue[]): void {
    f.delivered = true;
    const all = [...parseWarnings, ...issues];
    if (all.some((i) => i.severity === 'error')) {
      const lines = all.map(formatIssue);
      this.logger.error(
        { part: f.part, issues: lines },
        `static config: rejected ${f.part}, the previous config stays in force:\n  ${lines.join('\n  ')}`,
      );
      return;
    }
    this.logger.info({ part: f.part, objects: objects.length }, `static config: applied ${f.part} (${objects.length} objects)`);
    if (all.length > 0) {
      const lines = all.map(formatIssue);
      this.logger.warn({ part: f.part, issues: lines }, `static config: warnings for ${f.part}:\n  ${lines.join('\n  ')}`);
    }
  }

  private report(f: TrackedFile, issues: readonly ConfigIssue[]): void {
    if (!this.callSink((s) => s.reportIssues(f.part, issues))) {
      f.hash = undefined;
      return;
    }
    f.delivered = true;
    const lines = issues.map(formatIssue);
    this.logger.error(
      { part: f.part, issues: lines },
      `static config: cannot read ${f.part}, the previous config stays in force:\n  ${lines.join('\n  ')}`,
    );
  }

  private forget(abs: string, f: TrackedFile): void {
    this.files.delete(abs);
    if (!f.delivered) return;
    if (this.callSink((s) => s.withdraw(f.part))) {
      this.logger.info({ part: f.part }, `static config: withdrew ${f.part} (file removed)`);
    }
  }

  /** Calls the sink unless stopped; a sink that throws is logged, not allowed to end the watch. False when the call did not complete. */
  private callSink(call: (sink: ConfigSink) => unknown): boolean {
    if (this.stopped || !this.sink) return false;
    try {
      call(this.sink);
      return true;
    } catch (err) {
      this.logger.error({ err: message(err) }, `static config: config sink failed: ${message(err)}`);
      return false;
    }
  }

  /** Directories can be removed or replaced by a rename, which their own watch cannot see. */
  private schedulePoll(): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      void this.pollDirs().finally(() => this.schedulePoll());
    }, this.dirCheckIntervalMs);
    this.pollTimer.unref();
  }

  private async pollDirs(): Promise<void> {
    for (const d of [...this.dirs.values()]) {
      if (this.stopped) return;
      const id = await dirIdentity(d.abs);
      if (id !== d.identity || (id !== undefined && !d.watcher)) this.debounce(dirKey(d), () => this.rescan(d));
    }
  }
}

const silentLogger: StaticSourceLogger = { debug() {}, info() {}, warn() {}, error() {} };

function newDir(abs: string, display: string, root: boolean): WatchedDir {
  return { abs, display, root, scanAll: false, recursive: false, explicit: new Map(), watcher: undefined, identity: undefined };
}

function dirKey(d: WatchedDir): string {
  return `dir:${d.abs}`;
}

/** `dev:ino` of a directory (following symlinks), or undefined if there is none. */
async function dirIdentity(abs: string): Promise<string | undefined> {
  try {
    const st = await stat(abs);
    return st.isDirectory() ? `${st.dev}:${st.ino}` : undefined;
  } catch {
    return undefined;
  }
}

function fileIssue(part: string, msg: string): ConfigIssue {
  return { severity: 'error', source: part, kind: '', namespace: '', name: '', path: '', message: msg };
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** The file (or its directory) is not there, or is not a file: nothing to read. */
function isGone(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
