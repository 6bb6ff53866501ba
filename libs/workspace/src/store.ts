import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { DestinationTypeInfo } from './destination-types';
import { parseWorkspace } from './parse';
import { buildSnapshot, WorkspaceSnapshot } from './snapshot';

/** The part of a pino logger the store uses (tests pass a recorder). */
export interface WorkspaceLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class WorkspaceConfigError extends Error {
  readonly retriable = false;
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid workspace ${file}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'WorkspaceConfigError';
  }
}

export type LoadResult = { ok: true; snapshot: WorkspaceSnapshot } | { ok: false; problems: string[] };

export interface LoadOptions {
  destinationTypes?: Readonly<Record<string, DestinationTypeInfo>>;
}

/**
 * Entries of `transformations` and `transformationLibraries` may give
 * `codeFile` (relative to the workspace file) instead of inline `code`.
 */
async function inlineCodeFiles(doc: unknown, baseDir: string, problems: string[]): Promise<void> {
  if (doc === null || typeof doc !== 'object') return;
  for (const key of ['transformations', 'transformationLibraries'] as const) {
    const list = (doc as Record<string, unknown>)[key];
    if (!Array.isArray(list)) continue;
    for (let i = 0; i < list.length; i++) {
      const entry = list[i] as Record<string, unknown> | null;
      if (entry === null || typeof entry !== 'object' || !('codeFile' in entry)) continue;
      const { codeFile, ...rest } = entry;
      if (typeof codeFile !== 'string' || codeFile === '') {
        problems.push(`${key}[${i}].codeFile: must be a file path`);
        continue;
      }
      if (rest.code !== undefined) {
        problems.push(`${key}[${i}]: give either code or codeFile, not both`);
        continue;
      }
      try {
        list[i] = { ...rest, code: await readFile(path.resolve(baseDir, codeFile), 'utf8') };
      } catch (err) {
        problems.push(`${key}[${i}].codeFile: cannot read ${codeFile}: ${(err as Error).message}`);
      }
    }
  }
}

/** Reads, validates and indexes a workspace file (`.json`, `.yaml` or `.yml`). */
export async function loadWorkspaceFile(file: string, opts: LoadOptions = {}): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, problems: [`cannot read ${file}: ${(err as Error).message}`] };
  }
  let doc: unknown;
  try {
    doc = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      problems: [
        `${path.basename(file)} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message}`,
      ],
    };
  }
  const problems: string[] = [];
  await inlineCodeFiles(doc, path.dirname(file), problems);
  if (problems.length > 0) return { ok: false, problems };
  const parsed = parseWorkspace(doc, opts);
  if (!parsed.ok) return parsed;
  return { ok: true, snapshot: buildSnapshot(parsed.config, opts) };
}

export type ReloadOutcome =
  | { kind: 'updated'; snapshot: WorkspaceSnapshot }
  | { kind: 'unchanged'; snapshot: WorkspaceSnapshot }
  | { kind: 'invalid'; problems: string[]; snapshot: WorkspaceSnapshot };

export interface WorkspaceStoreOptions extends LoadOptions {
  log: WorkspaceLogger;
  /** Watch the file's folder with fs.watch (default true). */
  watch?: boolean;
  /** Also compare the file's mtime/size this often, for file systems where fs.watch is silent; 0 turns it off. Default 5000. */
  pollIntervalMs?: number;
  /** Wait this long after a change event before reloading, so an editor's burst of writes is read once. Default 100. */
  debounceMs?: number;
}

export type SnapshotListener = (snapshot: WorkspaceSnapshot, previous: WorkspaceSnapshot) => void;

/**
 * Holds the current workspace snapshot and replaces it when the file changes
 * (fs.watch on the folder, plus an mtime/size poll as a fallback) or when
 * `reload()` is called. An invalid file never replaces a good snapshot: the
 * problems are logged and the last good snapshot stays in force.
 */
export class WorkspaceStore {
  private snapshot: WorkspaceSnapshot;
  private readonly listeners = new Set<SnapshotListener>();
  private watcher: fs.FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private lastStat = '';
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly opts: WorkspaceStoreOptions,
    initial: WorkspaceSnapshot,
  ) {
    this.snapshot = initial;
  }

  /** Loads the file; an invalid file at start-up is a WorkspaceConfigError (fail fast). */
  static async open(file: string, opts: WorkspaceStoreOptions): Promise<WorkspaceStore> {
    const abs = path.resolve(file);
    const res = await loadWorkspaceFile(abs, opts);
    if (!res.ok) throw new WorkspaceConfigError(abs, res.problems);
    const store = new WorkspaceStore(abs, opts, res.snapshot);
    store.lastStat = store.statKey();
    store.startWatching();
    opts.log.info(store.summary(res.snapshot), 'workspace loaded');
    return store;
  }

  current(): WorkspaceSnapshot {
    return this.snapshot;
  }

  /** Called after every successful change; returns an unsubscribe function. */
  onChange(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads the file now. Reloads never run concurrently. */
  reload(): Promise<ReloadOutcome> {
    const next = this.chain.then(() => this.doReload());
    this.chain = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
  }

  private async doReload(): Promise<ReloadOutcome> {
    this.lastStat = this.statKey();
    const res = await loadWorkspaceFile(this.file, this.opts);
    if (!res.ok) {
      this.opts.log.error(
        { file: this.file, problems: res.problems, keptFingerprint: this.snapshot.fingerprint },
        'workspace reload rejected; keeping the last good workspace',
      );
      return { kind: 'invalid', problems: res.problems, snapshot: this.snapshot };
    }
    if (res.snapshot.fingerprint === this.snapshot.fingerprint) return { kind: 'unchanged', snapshot: this.snapshot };
    const previous = this.snapshot;
    this.snapshot = res.snapshot;
    this.opts.log.info(this.summary(res.snapshot), 'workspace reloaded');
    for (const listener of this.listeners) {
      try {
        listener(res.snapshot, previous);
      } catch (err) {
        this.opts.log.error({ err }, 'workspace change listener failed');
      }
    }
    return { kind: 'updated', snapshot: res.snapshot };
  }

  private summary(s: WorkspaceSnapshot): object {
    return {
      file: this.file,
      fingerprint: s.fingerprint.slice(0, 12),
      sources: s.config.sources.length,
      destinations: s.config.destinations.length,
      connections: s.config.connections.length,
      trackingPlans: s.config.trackingPlans.length,
    };
  }

  private statKey(): string {
    try {
      const st = fs.statSync(this.file);
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return 'missing';
    }
  }

  private scheduleReload(): void {
    if (this.closed) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      if (!this.closed) void this.reload();
    }, this.opts.debounceMs ?? 100);
    this.debounceTimer.unref();
  }

  private startWatching(): void {
    if (this.opts.watch ?? true) {
      try {
        // Watch the folder: editors and `mv` replace the file, which ends a watch on the file itself.
        const base = path.basename(this.file);
        this.watcher = fs.watch(path.dirname(this.file), { persistent: false }, (_event, name) => {
          if (name === null || name.toString() === base) this.scheduleReload();
        });
        this.watcher.on('error', (err) => {
          this.opts.log.error({ err, file: this.file }, 'workspace watch failed; relying on polling');
          this.watcher?.close();
          this.watcher = undefined;
        });
      } catch (err) {
        this.opts.log.error({ err, file: this.file }, 'cannot watch workspace file; relying on polling');
      }
    }
    const poll = this.opts.pollIntervalMs ?? 5000;
    if (poll > 0) {
      this.pollTimer = setInterval(() => {
        if (this.statKey() !== this.lastStat) this.scheduleReload();
      }, poll);
      this.pollTimer.unref();
    }
  }
}
