import type { Logger } from '@sluice/observability';
import { WorkspaceSnapshot, WorkspaceStore } from '@sluice/workspace';

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

/** The HTTP sources of a workspace snapshot, by write key. */
export function sourceEntries(snapshot: WorkspaceSnapshot): SourceEntry[] {
  return [...snapshot.sourceByWriteKey.values()].map((s) => ({
    id: s.id,
    name: s.name,
    writeKey: s.writeKey,
    enabled: s.enabled,
  }));
}

/**
 * The HTTP sources of the workspace file, through the shared workspace loader
 * (`@sluice/workspace`): it reloads on change and keeps the last good
 * workspace when an edit is invalid, so a bad edit never locks clients out.
 */
export class WorkspaceSourceResolver implements SourceResolver {
  private readonly inner = new StaticSourceResolver();

  private constructor(private readonly store: WorkspaceStore) {
    this.inner.replace(sourceEntries(store.current()));
    store.onChange((next) => this.inner.replace(sourceEntries(next)));
  }

  /** Loads the file once (failing start-up on a bad file), then follows its changes. */
  static async open(file: string, log: Logger, pollMs = 2000): Promise<WorkspaceSourceResolver> {
    const store = await WorkspaceStore.open(file, {
      log: log.child({ component: 'workspace' }),
      pollIntervalMs: pollMs,
    });
    return new WorkspaceSourceResolver(store);
  }

  resolve(writeKey: string): Source | undefined {
    return this.inner.resolve(writeKey);
  }

  get size(): number {
    return this.inner.size;
  }

  async close(): Promise<void> {
    this.store.close();
  }
}
