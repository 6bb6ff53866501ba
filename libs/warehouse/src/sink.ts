import {
  DISCARDS_FIXED_TYPES,
  DISCARDS_SCHEMA,
  DISCARDS_TABLE,
  DiscardRow,
  evolveSchema,
  MappedBatch,
  mapEvents,
  Row,
  TableSchema,
  USERS_TABLE,
  WarehouseEvent,
  WriteBatchInput,
} from '@sluice/lake';

/** The structured logger the sinks write to (pino's fits). */
export interface SinkLog {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** One table's share of a partition batch, rows already coerced to `schema`. */
export interface WarehouseTableBatch {
  table: string;
  schema: TableSchema;
  rows: Row[];
  /** Set for `users`: one row per id, newest `received_at` wins field by field. */
  merge?: { key: string; orderBy: string };
  /** Input offset a row came from (event tables and discards); undefined for merge tables. */
  rowVersion?: (row: Row) => number | undefined;
}

/** A partition batch for a warehouse: appId/version as in the lake (decision 0700). */
export interface WarehouseBatch {
  appId: string;
  version: number;
  tables: WarehouseTableBatch[];
}

export type TableLoadOutcome = { status: 'loaded'; rows: number } | { status: 'skipped'; rows: 0 };

export type DescribeOutcome =
  { status: 'ok'; schemas: Map<string, TableSchema> } | { status: 'failed'; error: WarehouseLoadError };

export type WarehouseLoadOutcome =
  | { status: 'ok'; tables: Record<string, TableLoadOutcome> }
  | { status: 'failed'; tables: Record<string, TableLoadOutcome>; error: WarehouseLoadError };

/** A failed warehouse statement with what is needed to act on it. */
export class WarehouseLoadError extends Error {
  constructor(
    message: string,
    readonly warehouse: 'snowflake' | 'databricks',
    readonly table: string,
    readonly appId: string,
    readonly version: number,
    readonly retriable: boolean,
    /** The statement's first words (never values: statements carry no event data, but keep logs short). */
    readonly statement?: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'WarehouseLoadError';
  }
}

/**
 * A warehouse the loader copies each committed partition batch into. `load`
 * must be idempotent per (appId, table, version) and drop rows whose version
 * the table already holds for appId, so a replay or an overlapping range after
 * a rebalance loads nothing twice. It returns a typed outcome and never throws.
 */
export interface WarehouseSink {
  readonly name: 'snowflake' | 'databricks';
  load(batch: WarehouseBatch): Promise<WarehouseLoadOutcome>;
  /**
   * The columns the named tables have in the warehouse, as Sluice types (a table that does not
   * exist is left out), so a restarted loader evolves from the warehouse's types instead of
   * re-inferring them from one batch. Never throws.
   */
  describe(tables: readonly string[]): Promise<DescribeOutcome>;
  close(): Promise<void>;
}

function byColumn(column: string, version: WriteBatchInput['eventVersion']): WarehouseTableBatch['rowVersion'] {
  if (!version) return undefined;
  return (row) => {
    const v = row[column];
    return typeof v === 'string' ? version(v) : undefined;
  };
}

/**
 * Maps events to warehouse tables the way the lake does (same rows, same
 * evolution rules), keeping the evolved schemas in `schemas` across batches.
 * The discards of mapping and evolution become the `discards` table.
 */
export function warehouseTables(
  events: readonly WarehouseEvent[],
  input: WriteBatchInput,
  schemas: Map<string, TableSchema>,
): WarehouseTableBatch[] {
  return evolveWarehouseTables(mapWarehouseRows(events, input), input, schemas);
}

/** Events → rows per table, before evolution (the lake's mapping). */
export function mapWarehouseRows(events: readonly WarehouseEvent[], input: WriteBatchInput): MappedBatch {
  return mapEvents(events, { uuidTs: input.uuidTs });
}

/** Mapped rows evolved against `schemas` (updated in place), plus the discards table. */
export function evolveWarehouseTables(
  mapped: MappedBatch,
  input: WriteBatchInput,
  schemas: Map<string, TableSchema>,
): WarehouseTableBatch[] {
  const out: WarehouseTableBatch[] = [];
  const discards: DiscardRow[] = [...mapped.discards];
  for (const [table, rows] of mapped.tables) {
    const evolved = evolveSchema(schemas.get(table) ?? {}, rows, { table, uuidTs: input.uuidTs });
    schemas.set(table, evolved.newSchema);
    discards.push(...evolved.discards);
    const users = table === USERS_TABLE;
    out.push({
      table,
      schema: evolved.newSchema,
      rows: evolved.coercedRows,
      merge: users ? { key: 'id', orderBy: 'received_at' } : undefined,
      rowVersion: users ? undefined : byColumn('id', input.eventVersion),
    });
  }
  if (discards.length > 0) {
    const evolved = evolveSchema(schemas.get(DISCARDS_TABLE) ?? DISCARDS_SCHEMA, discards, {
      table: DISCARDS_TABLE,
      uuidTs: input.uuidTs,
      fixedTypes: DISCARDS_FIXED_TYPES,
    });
    schemas.set(DISCARDS_TABLE, evolved.newSchema);
    out.push({
      table: DISCARDS_TABLE,
      schema: evolved.newSchema,
      rows: evolved.coercedRows,
      rowVersion: byColumn('row_id', input.eventVersion),
    });
  }
  return out;
}

/**
 * Rows of a batch the table does not hold yet: those from offsets after
 * `loaded`, the highest version recorded for appId (the history's twin of the
 * Delta txn filter). Rows without a known offset are kept (merge tables are
 * idempotent by key).
 */
export function rowsAfter(t: WarehouseTableBatch, loaded: number | undefined): Row[] {
  if (loaded === undefined || !t.rowVersion) return t.rows;
  const version = t.rowVersion;
  return t.rows.filter((r) => {
    const v = version(r);
    return v === undefined || v > loaded;
  });
}

/** A stage-folder-safe name for a batch: `<table>/<appId>-<version>`. */
export function batchFolder(table: string, appId: string, version: number): string {
  return `${table}/${appId.replace(/[^A-Za-z0-9_.-]+/g, '_')}-${String(version).padStart(20, '0')}`;
}
