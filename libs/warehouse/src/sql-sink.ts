import fs from 'node:fs';
import path from 'node:path';
import { writeParquet, type ColumnType, type Row, type TableSchema } from '@sluice/lake';
import {
  DescribeOutcome,
  rowsAfter,
  SinkLog,
  TableLoadOutcome,
  WarehouseBatch,
  WarehouseLoadError,
  WarehouseLoadOutcome,
  WarehouseSink,
  WarehouseTableBatch,
} from './sink';

/** A result row as the driver gives it: column name → value. */
export type SqlRow = Record<string, unknown>;

/** The little of a SQL connection the sinks use; one session (transactions are per session). */
export interface SqlConnection {
  execute(sql: string): Promise<SqlRow[]>;
  close(): Promise<void>;
}

/** What a warehouse's own steps get for one table of one batch. */
export interface TableLoad {
  batch: WarehouseBatch;
  table: WarehouseTableBatch;
  /** The rows the load history does not have yet. */
  rows: Row[];
  /** Those rows as a Parquet file, for the warehouse's PUT. */
  file: string;
  /** Runs a statement; a failure becomes a WarehouseLoadError naming the table, batch and statement. */
  run(sql: string): Promise<SqlRow[]>;
  /** Runs a statement after the load is committed: a failure is only logged. */
  tidy(sql: string): Promise<void>;
}

function firstWords(sql: string): string {
  return sql.split(/\s+/).slice(0, 4).join(' ');
}

/** The first column of the first row as a number (a `MAX(version)`), if any. */
function maxVersion(rows: SqlRow[]): number | undefined {
  const v = rows[0] ? Object.values(rows[0])[0] : undefined;
  if (v === null || v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * What the SQL warehouses share: loads run one at a time on one session (a
 * transaction belongs to a session); per table the load history decides
 * (skip a replayed batch, drop the rows an overlapping one already loaded);
 * the rows go to a temporary Parquet file for the warehouse's own steps; any
 * failure ends the batch with a typed outcome and a fresh session next time.
 */
export abstract class SerialSqlSink implements WarehouseSink {
  abstract readonly name: WarehouseSink['name'];
  private conn: SqlConnection | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  protected constructor(
    private readonly tmpRoot: string,
    protected readonly log: SinkLog | undefined,
  ) {}

  /** A new session with the load history table in place. */
  protected abstract openSession(): Promise<SqlConnection>;
  protected abstract isRetriable(err: unknown): boolean;
  protected abstract loadedVersionSql(table: string, appId: string): string;
  protected abstract recordLoadSql(table: string, appId: string, version: number, rows: number): string;
  /** DDL, upload and load of `load.rows` from `load.file`, with its history row. */
  protected abstract loadRows(load: TableLoad): Promise<void>;
  /** A query answering (column name, data type) rows for a table; none when it does not exist. */
  protected abstract columnTypesSql(table: string): string;
  /** The Sluice type a warehouse data type holds. */
  protected abstract columnType(dataType: string): ColumnType;

  describe(tables: readonly string[]): Promise<DescribeOutcome> {
    const run = this.chain.then(() => this.describeNow(tables));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async describeNow(tables: readonly string[]): Promise<DescribeOutcome> {
    const schemas = new Map<string, TableSchema>();
    for (const table of tables) {
      try {
        const rows = await (await this.session()).execute(this.columnTypesSql(table));
        if (rows.length === 0) continue;
        const schema: Record<string, ColumnType> = {};
        for (const r of rows) {
          const [name, type] = Object.values(r);
          schema[String(name).toLowerCase()] = this.columnType(String(type));
        }
        schemas.set(table, schema);
      } catch (err) {
        const conn = this.conn;
        this.conn = undefined;
        if (conn) await this.discard(conn);
        const error = new WarehouseLoadError(
          `${this.name}: could not read the columns of ${table}: ${(err as Error).message}`,
          this.name,
          table,
          '',
          -1,
          this.isRetriable(err),
          'SELECT column_name, data_type',
          err,
        );
        return { status: 'failed', error };
      }
    }
    return { status: 'ok', schemas };
  }

  load(batch: WarehouseBatch): Promise<WarehouseLoadOutcome> {
    const run = this.chain.then(() => this.loadNow(batch));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.chain;
    const conn = this.conn;
    this.conn = undefined;
    await conn?.close();
  }

  /** Closes a session a failed statement may have left broken or inside a transaction. */
  protected async discard(conn: SqlConnection): Promise<void> {
    await conn.close().catch(() => undefined);
  }

  protected loadError(
    message: string,
    batch: WarehouseBatch,
    table: string,
    retriable: boolean,
    statement?: string,
    cause?: unknown,
  ) {
    return new WarehouseLoadError(
      `${this.name}${statement ? ` ${statement}` : ''} failed for ${table} (${batch.appId}@${batch.version}): ${message}`,
      this.name,
      table,
      batch.appId,
      batch.version,
      retriable,
      statement,
      cause,
    );
  }

  private async session(): Promise<SqlConnection> {
    this.conn ??= await this.openSession();
    return this.conn;
  }

  private async loadNow(batch: WarehouseBatch): Promise<WarehouseLoadOutcome> {
    const tables: Record<string, TableLoadOutcome> = {};
    for (const t of batch.tables) {
      try {
        tables[t.table] = await this.loadTable(batch, t);
      } catch (err) {
        const error =
          err instanceof WarehouseLoadError
            ? err
            : this.loadError((err as Error).message, batch, t.table, this.isRetriable(err), undefined, err);
        const conn = this.conn;
        this.conn = undefined;
        if (conn) await this.discard(conn);
        return { status: 'failed', tables, error };
      }
    }
    return { status: 'ok', tables };
  }

  private async loadTable(batch: WarehouseBatch, t: WarehouseTableBatch): Promise<TableLoadOutcome> {
    const conn = await this.session();
    const run = async (sql: string): Promise<SqlRow[]> => {
      try {
        return await conn.execute(sql);
      } catch (err) {
        throw this.loadError((err as Error).message, batch, t.table, this.isRetriable(err), firstWords(sql), err);
      }
    };
    const loaded = maxVersion(await run(this.loadedVersionSql(t.table, batch.appId)));
    if (loaded !== undefined && loaded >= batch.version) return { status: 'skipped', rows: 0 };
    const rows = rowsAfter(t, loaded);
    if (rows.length === 0) {
      // Every row is already there (an overlap): remember the version so a replay skips at once.
      await run(this.recordLoadSql(t.table, batch.appId, batch.version, 0));
      return { status: 'loaded', rows: 0 };
    }
    await fs.promises.mkdir(this.tmpRoot, { recursive: true });
    const dir = await fs.promises.mkdtemp(path.join(this.tmpRoot, 'batch-'));
    try {
      const file = path.join(dir, `${t.table}.parquet`);
      await fs.promises.writeFile(file, writeParquet(t.schema, rows).bytes);
      const tidy = async (sql: string) => {
        // The load is committed; what is left over is only clutter.
        await conn
          .execute(sql)
          .catch((err: unknown) =>
            this.log?.warn({ table: t.table, err: (err as Error).message }, `${this.name} cleanup failed`),
          );
      };
      await this.loadRows({ batch, table: t, rows, file, run, tidy });
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
    this.log?.debug(
      { table: t.table, appId: batch.appId, version: batch.version, rows: rows.length },
      `${this.name} batch loaded`,
    );
    return { status: 'loaded', rows: rows.length };
  }
}
