import fs from 'node:fs';
import type { Logger } from '@sluice/observability';

/** What the gateway needs to know about the source a write key belongs to. */
export interface Source {
  id: string;
  name: string;
  enabled: boolean;
}

/**
 * Maps a write key to its source. The gateway asks on every request, so an
 * implementation answers from memory; reloading happens behind it.
 */
export interface SourceResolver {
  resolve(writeKey: string): Source | undefined;
  close(): Promise<void>;
}

export interface SourceEntry extends Source {
  writeKey: string;
}

export class WorkspaceFileError extends Error {
  readonly retriable = false;
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`workspace file ${file}: ${message}`);
    this.name = 'WorkspaceFileError';
  }
}

/**
 * Reads the `sources` array of a workspace document; other top-level keys are
 * someone else's (destinations, transformations, ...) and are ignored.
 */
export function parseSources(text: string, file = '(inline)'): SourceEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new WorkspaceFileError(file, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new WorkspaceFileError(file, 'must hold a JSON object');
  }
  const sources = (doc as { sources?: unknown }).sources;
  if (sources === undefined) return [];
  if (!Array.isArray(sources)) throw new WorkspaceFileError(file, '"sources" must be an array');
  const out: SourceEntry[] = [];
  const keys = new Set<string>();
  sources.forEach((s: unknown, i) => {
    if (typeof s !== 'object' || s === null) throw new WorkspaceFileError(file, `sources[${i}] must be an object`);
    const { id, name, writeKey, enabled } = s as Record<string, unknown>;
    if (typeof id !== 'string' || id === '') throw new WorkspaceFileError(file, `sources[${i}].id must be a string`);
    if (typeof writeKey !== 'string' || writeKey === '') {
      throw new WorkspaceFileError(file, `sources[${i}] (${id}): writeKey must be a non-empty string`);
    }
    if (keys.has(writeKey)) throw new WorkspaceFileError(file, `sources[${i}] (${id}): writeKey is used twice`);
    keys.add(writeKey);
    out.push({
      id,
      name: typeof name === 'string' ? name : id,
      writeKey,
      enabled: enabled === undefined ? true : enabled === true,
    });
  });
  return out;
}

/** Sources held in memory; tests and the benchmark use it directly. */
export class StaticSourceResolver implements SourceResolver {
  private byKey = new Map<string, Source>();

  constructor(entries: SourceEntry[] = []) {
    this.replace(entries);
  }

  replace(entries: SourceEntry[]): void {
    const next = new Map<string, Source>();
    for (const e of entries) next.set(e.writeKey, { id: e.id, name: e.name, enabled: e.enabled });
    this.byKey = next;
  }

  get size(): number {
    return this.byKey.size;
  }

  resolve(writeKey: string): Source | undefined {
    return this.byKey.get(writeKey);
  }

  async close(): Promise<void> {}
}

/**
 * The sources of a workspace file, reloaded when it changes: fs.watch for
 * quick pickup, plus a periodic stat because watches miss some editors'
 * rename-over-writes and some file systems. A file that fails to parse keeps
 * the previous sources (logged), so a bad edit never locks every client out.
 */
export class FileSourceResolver implements SourceResolver {
  private readonly inner = new StaticSourceResolver();
  private watcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSignature = '';
  private debounce: NodeJS.Timeout | undefined;

  private constructor(
    private readonly file: string,
    private readonly log: Logger,
  ) {}

  /** Loads the file once (failing start-up on a bad file), then watches it. */
  static async open(file: string, log: Logger, pollMs = 2000): Promise<FileSourceResolver> {
    const r = new FileSourceResolver(file, log);
    r.load(true);
    r.watch();
    r.timer = setInterval(() => r.reloadIfChanged(), pollMs);
    r.timer.unref();
    return r;
  }

  resolve(writeKey: string): Source | undefined {
    return this.inner.resolve(writeKey);
  }

  get size(): number {
    return this.inner.size;
  }

  private signature(): string {
    const st = fs.statSync(this.file);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  }

  private load(strict: boolean): void {
    try {
      const sig = this.signature();
      const entries = parseSources(fs.readFileSync(this.file, 'utf8'), this.file);
      this.inner.replace(entries);
      this.lastSignature = sig;
      this.log.info({ file: this.file, sources: entries.length }, 'sources loaded');
    } catch (err) {
      if (strict) throw err;
      this.log.error(
        { file: this.file, err: (err as Error).message },
        'workspace reload failed; keeping the previous sources',
      );
    }
  }

  reloadIfChanged(): void {
    let sig: string;
    try {
      sig = this.signature();
    } catch {
      return; // momentarily missing during an atomic replace
    }
    if (sig !== this.lastSignature) this.load(false);
  }

  private watch(): void {
    try {
      this.watcher = fs.watch(this.file, { persistent: false }, () => {
        // Editors write in several steps: settle first.
        if (this.debounce) clearTimeout(this.debounce);
        this.debounce = setTimeout(() => {
          this.reloadIfChanged();
          // A rename-over-write detaches the watch from the new inode.
          this.watcher?.close();
          this.watch();
        }, 50);
        this.debounce.unref();
      });
      this.watcher.on('error', () => undefined);
    } catch {
      this.watcher = undefined; // the periodic stat still catches changes
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    this.watcher?.close();
  }
}
