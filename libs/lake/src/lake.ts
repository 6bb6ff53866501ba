import { DeltaTable, CommitOutcome, DeltaTableOptions } from './delta/table';
import { mapEvents, MappedBatch, USERS_TABLE, WarehouseEvent } from './rows';
import { ObjectStore } from './store/types';
import { STANDARD_COLUMN_TYPES } from './schema';
import { DISCARDS_SCHEMA, DISCARDS_TABLE, DiscardRow, Row } from './types';

function byColumn(
  column: string,
  version: WriteBatchInput['eventVersion'],
): ((row: Row) => number | undefined) | undefined {
  if (!version) return undefined;
  return (row) => {
    const v = row[column];
    return typeof v === 'string' ? version(v) : undefined;
  };
}

/** Types of the discards table: every column fixed. */
export const DISCARDS_FIXED_TYPES = { ...STANDARD_COLUMN_TYPES, ...DISCARDS_SCHEMA };

export interface DeltaLakeOptions {
  /** Folder inside the store that holds the tables (e.g. `warehouse`); default the store root. */
  root?: string;
  maxColumns?: number;
  /** Tables committed at once (default 4). */
  concurrency?: number;
  /** Options for every table (merge is set for `users`). */
  table?: Omit<DeltaTableOptions, 'name' | 'merge'>;
}

export interface WriteBatchInput {
  appId: string;
  version: number;
  /** Load time (ISO-8601), the `uuid_ts` of every row. */
  uuidTs: string;
  /**
   * Version (input offset) of the event a row came from, looked up by event id
   * (`id` of event rows, `row_id` of discards). Rows the table already holds
   * for appId are dropped (see CommitBatchInput.rowVersion). Not applied to
   * merge tables (`users`), where a replayed row merges into itself.
   */
  eventVersion?: (eventId: string) => number | undefined;
}

export interface WriteBatchOutcome {
  /** ok when every table (and the discards) committed or was already committed. */
  status: 'ok' | 'failed';
  retriable: boolean;
  tables: Record<string, CommitOutcome>;
  discards: number;
  rejected: MappedBatch['rejected'];
}

/**
 * The RudderStack-layout lake on Delta: one Delta table per warehouse table
 * under `root`, `users` kept one row per user (merge), values that cannot be
 * coerced in `discards`. Each table is its own Delta log; the txn (appId,
 * version) of each makes a replayed batch a no-op table by table.
 */
export class DeltaLake {
  private readonly tables = new Map<string, DeltaTable>();

  constructor(
    readonly store: ObjectStore,
    private readonly options: DeltaLakeOptions = {},
  ) {}

  table(name: string): DeltaTable {
    let table = this.tables.get(name);
    if (!table) {
      const root = (this.options.root ?? '').replace(/^\/+|\/+$/g, '');
      table = new DeltaTable(this.store, root ? `${root}/${name}` : name, {
        ...this.options.table,
        name,
        maxColumns: name === DISCARDS_TABLE ? undefined : this.options.maxColumns,
        fixedTypes: name === DISCARDS_TABLE ? DISCARDS_FIXED_TYPES : undefined,
        initialSchema: name === DISCARDS_TABLE ? DISCARDS_SCHEMA : undefined,
        merge: name === USERS_TABLE ? { key: 'id', orderBy: 'received_at' } : undefined,
      });
      this.tables.set(name, table);
    }
    return table;
  }

  /** Maps events to rows and commits every table of the batch, then the discards. */
  async writeEvents(events: readonly WarehouseEvent[], input: WriteBatchInput): Promise<WriteBatchOutcome> {
    const mapped = mapEvents(events, { uuidTs: input.uuidTs });
    return this.writeTables(mapped.tables, mapped.discards, input, mapped.rejected);
  }

  /** Commits already-mapped rows per table, then their discards. */
  async writeTables(
    tables: ReadonlyMap<string, Row[]>,
    mappingDiscards: readonly DiscardRow[],
    input: WriteBatchInput,
    rejected: MappedBatch['rejected'] = [],
  ): Promise<WriteBatchOutcome> {
    const names = [...tables.keys()];
    const outcomes: Record<string, CommitOutcome> = {};
    const discards: DiscardRow[] = [...mappingDiscards];
    let next = 0;
    const limit = Math.max(1, this.options.concurrency ?? 4);
    await Promise.all(
      Array.from({ length: Math.min(limit, names.length) }, async () => {
        while (next < names.length) {
          const name = names[next++]!;
          const outcome = await this.table(name).commitBatch({
            appId: input.appId,
            version: input.version,
            rows: tables.get(name)!,
            uuidTs: input.uuidTs,
            rowVersion: name === USERS_TABLE ? undefined : byColumn('id', input.eventVersion),
          });
          outcomes[name] = outcome;
        }
      }),
    );
    for (const name of names) {
      const outcome = outcomes[name]!;
      if (outcome.status !== 'failed') discards.push(...outcome.discards);
    }
    // The discards are committed only once every table has the batch: a retry
    // of a partly failed batch recomputes them (skipped tables included), and
    // the discards table's own txn keeps them from being written twice.
    const tablesFailed = names.some((name) => outcomes[name]!.status === 'failed');
    if (discards.length > 0 && !tablesFailed) {
      outcomes[DISCARDS_TABLE] = await this.table(DISCARDS_TABLE).commitBatch({
        appId: input.appId,
        version: input.version,
        rows: discards,
        uuidTs: input.uuidTs,
        rowVersion: byColumn('row_id', input.eventVersion),
      });
    }
    const failures = Object.values(outcomes).filter(
      (o): o is Extract<CommitOutcome, { status: 'failed' }> => o.status === 'failed',
    );
    return {
      status: failures.length === 0 ? 'ok' : 'failed',
      retriable: failures.length > 0 && failures.every((f) => f.retriable),
      tables: outcomes,
      discards: discards.length,
      rejected,
    };
  }
}
