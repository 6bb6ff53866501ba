// Watches one Delta table and notes, for every row id, when its commit was first
// seen in the log: the moment the row became readable to a Delta reader.
import { readParquet, readTableState, type ObjectStore } from '@sluice/lake';

export interface DeltaWatch {
  /** Row id → when its data file's commit was first seen (ms since epoch). */
  readonly seenAt: Map<string, number>;
  stop(): Promise<void>;
}

export function watchDeltaTable(store: ObjectStore, table: string, pollMs = 100): DeltaWatch {
  const seenAt = new Map<string, number>();
  const files = new Set<string>();
  let stopped = false;
  const loop = (async () => {
    let version = -1;
    while (!stopped) {
      const state = await readTableState(store, table).catch(() => undefined);
      const at = Date.now();
      if (state && state.version > version) {
        version = state.version;
        for (const add of state.files.values()) {
          if (files.has(add.path)) continue;
          files.add(add.path);
          const bytes = await store.get(`${table}/${add.path}`);
          if (!bytes) continue;
          for (const r of await readParquet(bytes)) {
            const id = String(r.id);
            if (!seenAt.has(id)) seenAt.set(id, at);
          }
        }
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();
  return {
    seenAt,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** The q-quantile of sorted numbers. */
export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
