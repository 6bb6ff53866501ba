import {
  DeltaLake,
  LocalFolderStore,
  ObjectStore,
  ParquetSink,
  S3Store,
  WarehouseEvent,
  WriteBatchInput,
} from '@sluice/lake';
import type { LakeLocation, LoaderConfig } from './config';

export interface SinkOutcome {
  status: 'ok' | 'failed';
  retriable: boolean;
  /** Rows committed per table by this call (0 for tables that already had the batch). */
  rows: Record<string, number>;
  discards: number;
  rejected: number;
  error?: string;
}

/** Where a partition batch goes: Delta tables, plain Parquet, or both. */
export interface LakeSink {
  write(events: readonly WarehouseEvent[], input: WriteBatchInput): Promise<SinkOutcome>;
}

export function createStore(lake: LakeLocation): ObjectStore {
  if (lake.kind === 'local') return new LocalFolderStore(lake.root);
  return new S3Store({
    bucket: lake.bucket,
    prefix: lake.prefix,
    region: lake.region,
    endpoint: lake.endpoint,
    forcePathStyle: lake.forcePathStyle,
    credentials: lake.credentials,
  });
}

/**
 * Test hook (SLUICE_TEST_COMMIT_DELAY_MS): waits before each Delta log entry
 * is written, i.e. after the data files of a commit exist and before the commit
 * does, so a test can kill the process inside a commit.
 */
export function delayLogCommits(store: ObjectStore, ms: number): ObjectStore {
  if (ms <= 0) return store;
  return {
    url: store.url,
    putIfAbsent: async (key, bytes) => {
      if (/_delta_log\/\d{20}\.json$/.test(key)) await new Promise((r) => setTimeout(r, ms));
      return store.putIfAbsent(key, bytes);
    },
    put: (key, bytes) => store.put(key, bytes),
    get: (key) => store.get(key),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
  } as ObjectStore;
}

export class DeltaSink implements LakeSink {
  constructor(readonly lake: DeltaLake) {}

  async write(events: readonly WarehouseEvent[], input: WriteBatchInput): Promise<SinkOutcome> {
    const out = await this.lake.writeEvents(events, input);
    const rows: Record<string, number> = {};
    const errors: string[] = [];
    for (const [table, o] of Object.entries(out.tables)) {
      if (o.status === 'committed') rows[table] = o.rows;
      if (o.status === 'failed') errors.push(`${table}: ${o.error.message}`);
    }
    return {
      status: out.status,
      retriable: out.retriable,
      rows,
      discards: out.discards,
      rejected: out.rejected.length,
      error: errors.length > 0 ? errors.join('; ') : undefined,
    };
  }
}

export class ParquetFilesSink implements LakeSink {
  constructor(readonly sink: ParquetSink) {}

  async write(events: readonly WarehouseEvent[], input: WriteBatchInput): Promise<SinkOutcome> {
    const out = await this.sink.writeEvents(events, input);
    return {
      status: out.status,
      retriable: out.retriable,
      rows: {},
      discards: out.discards,
      rejected: out.rejected.length,
      error: out.error?.message,
    };
  }
}

/** Delta first, then Parquet: both are idempotent per (appId, version), so a retry redoes only what is missing. */
export class BothSinks implements LakeSink {
  constructor(private readonly sinks: LakeSink[]) {}

  async write(events: readonly WarehouseEvent[], input: WriteBatchInput): Promise<SinkOutcome> {
    let last: SinkOutcome | undefined;
    const rows: Record<string, number> = {};
    for (const sink of this.sinks) {
      last = await sink.write(events, input);
      Object.assign(rows, last.rows);
      if (last.status === 'failed') return last;
    }
    return { ...last!, rows };
  }
}

export function createSink(config: Pick<LoaderConfig, 'lake' | 'format' | 'testCommitDelayMs'>): {
  sink: LakeSink;
  delta?: DeltaLake;
  store: ObjectStore;
} {
  const store = delayLogCommits(createStore(config.lake), config.testCommitDelayMs);
  const delta = new DeltaLake(store, { root: 'delta' });
  const parquet = new ParquetFilesSink(new ParquetSink(store, { root: 'parquet' }));
  if (config.format === 'delta') return { sink: new DeltaSink(delta), delta, store };
  if (config.format === 'parquet') return { sink: parquet, store };
  return { sink: new BothSinks([new DeltaSink(delta), parquet]), delta, store };
}
