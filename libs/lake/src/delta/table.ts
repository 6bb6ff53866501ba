import { randomUUID } from 'node:crypto';
import { collapseByKey, mergeRow } from '../merge';
import { ParquetWriteSettings, readParquet, writeParquet } from '../parquet';
import { evolveSchema, SchemaChange } from '../schema';
import { ObjectStore } from '../store/types';
import { ColumnType, DiscardRow, Row, TableSchema } from '../types';
import { checkpointFileName, LAST_CHECKPOINT, readCheckpoint, writeCheckpoint } from './checkpoint';
import {
  Action,
  AddAction,
  addAction,
  applyCommits,
  commitFileName,
  DELTA_LOG_DIR,
  emptyState,
  metaDataAction,
  parseCommit,
  parseStats,
  protocolAction,
  removeAction,
  serializeCommit,
  TableState,
  txnAction,
  versionOfCommitFile,
} from './actions';

export interface MergeSettings {
  /** Column that identifies a row (`id` for `users`). */
  key: string;
  /** Column that orders versions of a row; the newer wins (default `received_at`). */
  orderBy?: string;
}

export interface DeltaTableOptions {
  /** Table name used in discard rows (defaults to the last part of the path). */
  name?: string;
  maxColumns?: number;
  /** Schema a new table starts with (columns in this order even before values arrive). */
  initialSchema?: TableSchema;
  /** Column types fixed whatever the first value looks like (default: the standard columns). */
  fixedTypes?: Readonly<Record<string, ColumnType>>;
  /** Optimistic-concurrency attempts before giving up (default 100). */
  maxAttempts?: number;
  /** Keep one row per key (remove + add of the files holding a changed key). */
  merge?: MergeSettings;
  parquet?: ParquetWriteSettings;
  /** Write a Parquet checkpoint every N commits (default 10; 0 = never). */
  checkpointInterval?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface CommitBatchInput {
  /** The writer's application id (e.g. `warehouse-loader:<topic>:<partition>`). */
  appId: string;
  /** Monotonic batch version for appId (e.g. the batch's last Kafka offset). */
  version: number;
  /** Mapped rows (see mapEvents); coerced against the table's schema here. */
  rows: readonly Row[];
  /** Load time for discard rows; defaults to now. */
  uuidTs?: string;
  /**
   * The appId version a row belongs to (e.g. the Kafka offset of its event).
   * When set, rows whose version the table's txn for appId already covers are
   * dropped on every attempt, so two writers committing overlapping ranges of
   * one partition (a rebalance) never write a row twice. Undefined = keep.
   */
  rowVersion?: (row: Row) => number | undefined;
}

export type CommitOutcome =
  | {
      status: 'committed';
      version: number;
      attempts: number;
      rows: number;
      filesAdded: number;
      filesRemoved: number;
      schemaChanges: SchemaChange[];
      discards: DiscardRow[];
      /** Set when this commit's version is a checkpoint version. */
      checkpoint?: 'written' | 'failed';
    }
  /** The table has already applied this appId at this version or later: nothing written. */
  | { status: 'skipped'; appliedVersion: number; discards: DiscardRow[] }
  | { status: 'failed'; retriable: boolean; error: Error };

const READ_CONCURRENCY = 16;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

function schemasEqual(a: TableSchema, b: TableSchema): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => kb[i] === k && a[k] === b[k]);
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * One Delta table in an object store: replays its log into a TableState and
 * commits batches with optimistic concurrency (put-if-absent of the next
 * `_delta_log/%020d.json`; on conflict re-read, re-check, retry as N+1).
 * Every `checkpointInterval` commits a Parquet checkpoint and `_last_checkpoint`
 * are written; a reader starts from the last checkpoint when there is one.
 */
export class DeltaTable {
  readonly name: string;
  private cached: TableState | undefined;
  private readonly keysByFile = new Map<string, Set<string>>();
  private readonly now: () => number;

  constructor(
    readonly store: ObjectStore,
    /** Table folder inside the store, e.g. `tracks` (no trailing `/`). */
    readonly path: string,
    private readonly options: DeltaTableOptions = {},
  ) {
    this.name = options.name ?? path.split('/').filter(Boolean).pop() ?? path;
    this.now = options.now ?? Date.now;
  }

  private key(relative: string): string {
    return this.path === '' ? relative : `${this.path}/${relative}`;
  }

  /** The table's state at its latest version (reads only commits newer than the last call). */
  async state(): Promise<TableState> {
    let state = this.cached;
    if (!state) state = (await this.fromCheckpoint()) ?? (await this.fromLog());
    const newer: { version: number; actions: Action[] }[] = [];
    for (let v = state.version + 1; ; v++) {
      const actions = await this.readCommit(v);
      if (!actions) break;
      newer.push({ version: v, actions });
    }
    if (newer.length > 0) state = applyCommits(state, newer);
    this.remember(state);
    return state;
  }

  /** The state at the last checkpoint, or undefined when there is none (or it cannot be read). */
  private async fromCheckpoint(): Promise<TableState | undefined> {
    try {
      const hint = await this.store.get(this.key(LAST_CHECKPOINT));
      if (!hint) return undefined;
      const { version } = JSON.parse(new TextDecoder().decode(hint)) as { version?: unknown };
      if (typeof version !== 'number' || !Number.isSafeInteger(version)) return undefined;
      const bytes = await this.store.get(this.key(checkpointFileName(version)));
      if (!bytes) return undefined;
      const state = await readCheckpoint(bytes, version);
      return state.protocol && state.metadata ? state : undefined;
    } catch {
      return undefined;
    }
  }

  /** The state replayed from commit 0. */
  private async fromLog(): Promise<TableState> {
    const keys = await this.store.list(this.key(`${DELTA_LOG_DIR}/`));
    const versions = keys
      .map((k) => versionOfCommitFile(k))
      .filter((v): v is number => v !== undefined)
      .sort((a, b) => a - b);
    let state = emptyState();
    if (versions.length > 0) {
      if (versions[0] !== 0) {
        throw new Error(
          `${this.store.url}/${this.path}: log starts at version ${versions[0]} and no readable checkpoint`,
        );
      }
      // Only a contiguous run from 0 counts; a later gap is filled by polling.
      let last = 0;
      while (last + 1 < versions.length && versions[last + 1] === last + 1) last++;
      const commits = await mapLimit(versions.slice(0, last + 1), READ_CONCURRENCY, (v) => this.readCommit(v));
      state = applyCommits(
        state,
        commits.map((c, i) => ({ version: i, actions: c! })),
      );
    }
    return state;
  }

  /** Writes checkpoint `state.version` and points `_last_checkpoint` at it (unless a newer one is there). */
  private async checkpoint(state: TableState): Promise<'written' | 'failed'> {
    try {
      const { bytes, rows } = writeCheckpoint(state);
      await this.store.putIfAbsent(this.key(checkpointFileName(state.version)), bytes);
      const hint = await this.store.get(this.key(LAST_CHECKPOINT));
      const current = hint ? ((JSON.parse(new TextDecoder().decode(hint)) as { version?: number }).version ?? -1) : -1;
      if (current < state.version) {
        await this.store.put(
          this.key(LAST_CHECKPOINT),
          new TextEncoder().encode(JSON.stringify({ version: state.version, size: rows })),
        );
      }
      return 'written';
    } catch {
      return 'failed';
    }
  }

  /** Concurrent calls may finish out of order: keep the newest state. */
  private remember(state: TableState): void {
    if (!this.cached || state.version > this.cached.version) this.cached = state;
  }

  private async readCommit(version: number): Promise<Action[] | undefined> {
    const bytes = await this.store.get(this.key(commitFileName(version)));
    return bytes ? parseCommit(new TextDecoder().decode(bytes)) : undefined;
  }

  private async writeDataFile(schema: TableSchema, rows: readonly Row[], now: number): Promise<{ add: AddAction }> {
    const file = writeParquet(schema, rows, { footerStatistics: false, ...this.options.parquet });
    const relative = `part-00000-${randomUUID()}-c000.snappy.parquet`;
    await this.store.put(this.key(relative), file.bytes);
    return addAction(relative, file.bytes.byteLength, file.stats, now);
  }

  private async readDataFile(add: AddAction): Promise<Row[]> {
    const bytes = await this.store.get(this.key(decodeURI(add.path)));
    if (!bytes) throw new Error(`${this.store.url}/${this.path}: data file ${add.path} is missing`);
    return readParquet(bytes);
  }

  /**
   * Commits a batch: skipped when the table's txn for appId is at `version` or
   * later; otherwise the rows are coerced to the table's (evolved) schema,
   * written as Parquet and committed together with the txn (and a metaData
   * action when the schema changed). Uncoercible values come back as discards.
   */
  async commitBatch(input: CommitBatchInput): Promise<CommitOutcome> {
    try {
      return await this.commitOnce(input);
    } catch (error) {
      const err = toError(error);
      const flag = (err as { retriable?: unknown }).retriable;
      const retriable = typeof flag === 'boolean' ? flag : false;
      return { status: 'failed', retriable, error: err };
    }
  }

  private async commitOnce(input: CommitBatchInput): Promise<CommitOutcome> {
    const maxAttempts = this.options.maxAttempts ?? 100;
    const uuidTs = input.uuidTs ?? new Date(this.now()).toISOString();
    const evolveOptions = {
      table: this.name,
      uuidTs,
      maxColumns: this.options.maxColumns,
      fixedTypes: this.options.fixedTypes,
    };
    // Append tables: a data file written for one base schema is reused on retries with the same schema.
    let reusable: { base: TableSchema; add: { add: AddAction }; rows: readonly Row[] } | undefined;

    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const state = await this.state();
      const applied = state.txns.get(input.appId);
      if (applied !== undefined && applied >= input.version) {
        const { discards } = evolveSchema(state.schema, input.rows, evolveOptions);
        return { status: 'skipped', appliedVersion: applied, discards };
      }
      const base = state.version < 0 ? (this.options.initialSchema ?? {}) : state.schema;
      const rowVersion = input.rowVersion;
      const rows =
        rowVersion && applied !== undefined
          ? input.rows.filter((row) => {
              const v = rowVersion(row);
              return v === undefined || v > applied;
            })
          : input.rows;
      const evolved = evolveSchema(base, rows, evolveOptions);
      const schema = evolved.newSchema;
      const now = this.now();
      const actions: Action[] = [
        {
          commitInfo: {
            timestamp: now,
            operation: this.options.merge ? 'MERGE' : 'WRITE',
            operationParameters: { mode: 'Append' },
            engineInfo: 'sluice-lake',
          },
        },
      ];
      if (state.version < 0) {
        actions.push(protocolAction(), metaDataAction(randomUUID(), schema, now));
      } else if (!schemasEqual(state.schema, schema)) {
        const meta = state.metadata!;
        actions.push(
          metaDataAction(meta.id, schema, meta.createdTime ?? now, meta.partitionColumns, meta.configuration),
        );
      }

      // Files to rewrite: those holding a column that widened int → float, and
      // (merge tables) those holding a key of this batch.
      const widened = evolved.schemaChanges
        .filter((c) => c.kind === 'widen' && state.schema[c.column] === 'int')
        .map((c) => c.column);
      const rewrite = new Map<string, AddAction>();
      if (widened.length > 0) {
        for (const add of state.files.values()) {
          const stats = parseStats(add);
          if (!stats || widened.some((c) => c in stats.nullCount)) rewrite.set(add.path, add);
        }
      }
      let incoming: Row[] = evolved.coercedRows;
      let merged: Map<string, Row> | undefined;
      const merge = this.options.merge;
      if (merge) {
        const orderBy = merge.orderBy ?? 'received_at';
        merged = collapseByKey(evolved.coercedRows, merge.key, orderBy);
        const holders = await this.filesHoldingKeys(state, merge.key, merged);
        for (const add of holders) rewrite.set(add.path, add);
        incoming = [];
      }

      let kept: Row[] = [];
      if (rewrite.size > 0) {
        const contents = await mapLimit([...rewrite.values()], READ_CONCURRENCY, (add) => this.readDataFile(add));
        for (const rows of contents) {
          for (const row of rows) {
            if (merge && merged) {
              const k = row[merge.key];
              const hit = k === null || k === undefined ? undefined : merged.get(String(k));
              if (hit) {
                merged.set(String(k), mergeRow(row, hit, merge.orderBy ?? 'received_at'));
                continue;
              }
            }
            kept.push(row);
          }
        }
      }
      if (merged) incoming = [...merged.values()];
      const dataRows = kept.length > 0 ? kept.concat(incoming) : incoming;
      kept = [];

      if (rewrite.size > 0) for (const add of rewrite.values()) actions.push(removeAction(add, now));
      if (dataRows.length > 0) {
        let add: { add: AddAction };
        if (
          rewrite.size === 0 &&
          !merge &&
          reusable &&
          reusable.rows === rows &&
          schemasEqual(reusable.base, state.schema)
        )
          add = reusable.add;
        else {
          add = await this.writeDataFile(schema, dataRows, now);
          if (rewrite.size === 0 && !merge) reusable = { base: state.schema, add, rows };
        }
        actions.push(add);
      }
      actions.push(txnAction(input.appId, input.version, now));

      const version = state.version + 1;
      const result = await this.store.putIfAbsent(
        this.key(commitFileName(version)),
        new TextEncoder().encode(serializeCommit(actions)),
      );
      if (result === 'created') {
        const committed = applyCommits(state, [{ version, actions }]);
        this.remember(committed);
        const interval = this.options.checkpointInterval ?? 10;
        const checkpoint =
          interval > 0 && version > 0 && version % interval === 0 ? await this.checkpoint(committed) : undefined;
        return {
          ...(checkpoint ? { checkpoint } : {}),
          status: 'committed',
          version,
          attempts: attempt,
          rows: rows.length,
          filesAdded: dataRows.length > 0 ? 1 : 0,
          filesRemoved: rewrite.size,
          schemaChanges: evolved.schemaChanges,
          discards: evolved.discards,
        };
      }
      // Another writer took this version: re-read the log and try again as N+1.
    }
    const error = new Error(
      `${this.store.url}/${this.path}: no commit after ${maxAttempts} attempts (too much contention)`,
    );
    (error as Error & { retriable: boolean }).retriable = true;
    throw error;
  }

  /**
   * Rewrites the table's small files into large ones (remove + add with
   * dataChange false, no txn), so readers open fewer files. Safe alongside
   * writers: a conflict recomputes from the new state.
   */
  async compact(options: CompactOptions = {}): Promise<CompactOutcome> {
    const smallFileRows = options.smallFileRows ?? 100_000;
    const minFiles = options.minFiles ?? 10;
    const maxRows = options.maxRowsPerFile ?? 1_000_000;
    const maxAttempts = this.options.maxAttempts ?? 100;
    try {
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const state = await this.state();
        const small = [...state.files.values()].filter((add) => {
          const stats = parseStats(add);
          return stats !== undefined && stats.numRecords < smallFileRows;
        });
        if (small.length < Math.max(2, minFiles)) return { status: 'nothing-to-do', smallFiles: small.length };
        const contents = await mapLimit(small, READ_CONCURRENCY, (add) => this.readDataFile(add));
        const rows = contents.flat();
        const now = this.now();
        const actions: Action[] = [
          { commitInfo: { timestamp: now, operation: 'OPTIMIZE', operationParameters: {}, engineInfo: 'sluice-lake' } },
        ];
        for (const add of small) actions.push({ remove: { ...removeAction(add, now).remove, dataChange: false } });
        let filesAdded = 0;
        for (let i = 0; i < rows.length; i += maxRows) {
          const { add } = await this.writeDataFile(state.schema, rows.slice(i, i + maxRows), now);
          actions.push({ add: { ...add, dataChange: false } });
          filesAdded++;
        }
        const version = state.version + 1;
        const result = await this.store.putIfAbsent(
          this.key(commitFileName(version)),
          new TextEncoder().encode(serializeCommit(actions)),
        );
        if (result === 'created') {
          this.remember(applyCommits(state, [{ version, actions }]));
          return {
            status: 'compacted',
            version,
            filesRemoved: small.length,
            filesAdded,
            rows: rows.length,
            attempts: attempt,
          };
        }
      }
      throw Object.assign(
        new Error(`${this.store.url}/${this.path}: no compaction commit after ${maxAttempts} attempts`),
        { retriable: true },
      );
    } catch (error) {
      const err = toError(error);
      const flag = (err as { retriable?: unknown }).retriable;
      return { status: 'failed', retriable: typeof flag === 'boolean' ? flag : false, error: err };
    }
  }

  /** Live files that hold one of `keys` (key sets of immutable files are cached). */
  private async filesHoldingKeys(state: TableState, key: string, keys: Map<string, Row>): Promise<AddAction[]> {
    const sorted = [...keys.keys()].sort();
    if (sorted.length === 0) return [];
    const candidates: AddAction[] = [];
    for (const add of state.files.values()) {
      const stats = parseStats(add);
      const min = stats?.minValues[key];
      const max = stats?.maxValues[key];
      if (typeof min === 'string' && typeof max === 'string') {
        // any key within [min, max]?
        let lo = 0;
        let hi = sorted.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (sorted[mid]! < min) lo = mid + 1;
          else hi = mid;
        }
        if (lo >= sorted.length || sorted[lo]! > max) continue;
      }
      candidates.push(add);
    }
    const missing = candidates.filter((add) => !this.keysByFile.has(add.path));
    await mapLimit(missing, READ_CONCURRENCY, async (add) => {
      const rows = await this.readDataFile(add);
      this.keysByFile.set(add.path, new Set(rows.map((r) => String(r[key]))));
    });
    return candidates.filter((add) => sorted.some((k) => this.keysByFile.get(add.path)!.has(k)));
  }
}

export interface CompactOptions {
  /** Files with fewer rows than this are compacted (default 100,000). */
  smallFileRows?: number;
  /** Do nothing unless at least this many small files exist (default 10). */
  minFiles?: number;
  /** Rows per output file (default 1,000,000). */
  maxRowsPerFile?: number;
}

export type CompactOutcome =
  | { status: 'compacted'; version: number; filesRemoved: number; filesAdded: number; rows: number; attempts: number }
  | { status: 'nothing-to-do'; smallFiles: number }
  | { status: 'failed'; retriable: boolean; error: Error };

/** Replays a table's log once (for readers that do not write). */
export async function readTableState(store: ObjectStore, path: string): Promise<TableState> {
  return new DeltaTable(store, path).state();
}
