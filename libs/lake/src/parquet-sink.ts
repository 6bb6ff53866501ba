import { parseTimestamp, evolveSchema } from './schema';
import { mapEvents, MappedBatch, WarehouseEvent } from './rows';
import { writeParquet, ParquetWriteSettings } from './parquet';
import { ObjectStore } from './store/types';
import { DISCARDS_SCHEMA, DISCARDS_TABLE, DiscardRow, Row, TableSchema } from './types';
import { DISCARDS_FIXED_TYPES, WriteBatchInput } from './lake';

export interface ParquetSinkOptions {
  /** Folder inside the store for the tables; default the store root. */
  root?: string;
  maxColumns?: number;
  parquet?: ParquetWriteSettings;
}

export interface ParquetSinkOutcome {
  status: 'ok' | 'failed';
  retriable: boolean;
  /** Keys written by this call. */
  created: string[];
  /** Keys that already existed (a replayed batch). */
  existed: string[];
  discards: number;
  rejected: MappedBatch['rejected'];
  error?: Error;
}

/** UTC date of a row's received_at (else the load time), `YYYY-MM-DD`. */
export function receivedDate(row: Row, uuidTs: string): string {
  const v = row.received_at;
  const ms = (typeof v === 'string' ? parseTimestamp(v) : undefined) ?? parseTimestamp(uuidTs) ?? 0;
  return new Date(ms).toISOString().slice(0, 10);
}

function safeFilePart(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/**
 * Plain Parquet files, no table format:
 * `<root>/<table>/received_date=YYYY-MM-DD/<appId>-<version>.parquet`
 * (Hive-style partition folder, readable with DuckDB
 * `read_parquet('<root>/<table>/*\/*.parquet', hive_partitioning = true, union_by_name = true)`).
 * File names are deterministic per (appId, version) and written with
 * put-if-absent, so a replayed batch writes nothing twice. Each file carries
 * its own schema (this instance's evolving view of the table); readers merge
 * files by column name.
 */
export class ParquetSink {
  private readonly schemas = new Map<string, TableSchema>();

  constructor(
    readonly store: ObjectStore,
    private readonly options: ParquetSinkOptions = {},
  ) {}

  private key(table: string, date: string, input: WriteBatchInput): string {
    const root = (this.options.root ?? '').replace(/^\/+|\/+$/g, '');
    const file = `${table}/received_date=${date}/${safeFilePart(input.appId)}-${String(input.version).padStart(20, '0')}.parquet`;
    return root ? `${root}/${file}` : file;
  }

  async writeEvents(events: readonly WarehouseEvent[], input: WriteBatchInput): Promise<ParquetSinkOutcome> {
    const mapped = mapEvents(events, { uuidTs: input.uuidTs });
    return this.writeTables(mapped.tables, mapped.discards, input, mapped.rejected);
  }

  async writeTables(
    tables: ReadonlyMap<string, Row[]>,
    mappingDiscards: readonly DiscardRow[],
    input: WriteBatchInput,
    rejected: MappedBatch['rejected'] = [],
  ): Promise<ParquetSinkOutcome> {
    const created: string[] = [];
    const existed: string[] = [];
    const discards: DiscardRow[] = [...mappingDiscards];
    try {
      const all = new Map(tables);
      const pending: [string, Row[]][] = [...all];
      for (let i = 0; i < pending.length; i++) {
        const [table, rows] = pending[i]!;
        const evolved = evolveSchema(
          this.schemas.get(table) ?? (table === DISCARDS_TABLE ? DISCARDS_SCHEMA : {}),
          rows,
          {
            table,
            uuidTs: input.uuidTs,
            maxColumns: table === DISCARDS_TABLE ? undefined : this.options.maxColumns,
            fixedTypes: table === DISCARDS_TABLE ? DISCARDS_FIXED_TYPES : undefined,
          },
        );
        this.schemas.set(table, evolved.newSchema);
        discards.push(...evolved.discards);
        const byDate = new Map<string, Row[]>();
        for (const row of evolved.coercedRows) {
          const date = receivedDate(row, input.uuidTs);
          let list = byDate.get(date);
          if (!list) byDate.set(date, (list = []));
          list.push(row);
        }
        for (const [date, list] of byDate) {
          const key = this.key(table, date, input);
          const file = writeParquet(evolved.newSchema, list, this.options.parquet);
          const outcome = await this.store.putIfAbsent(key, file.bytes);
          (outcome === 'created' ? created : existed).push(key);
        }
        if (i === pending.length - 1 && discards.length > 0 && !all.has(DISCARDS_TABLE)) {
          all.set(DISCARDS_TABLE, discards);
          pending.push([DISCARDS_TABLE, discards.slice()]);
        }
      }
      return { status: 'ok', retriable: false, created, existed, discards: discards.length, rejected };
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      const flag = (err as { retriable?: unknown }).retriable;
      return {
        status: 'failed',
        retriable: typeof flag === 'boolean' ? flag : false,
        created,
        existed,
        discards: discards.length,
        rejected,
        error: err,
      };
    }
  }
}
