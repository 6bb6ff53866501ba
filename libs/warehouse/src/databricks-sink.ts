import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeParquet } from '@sluice/lake';
import {
  dbColumnsQuery,
  dbCreateLoadHistory,
  dbLoadedVersion,
  dbLoadPlan,
  dbRecordLoad,
  DatabricksTarget,
} from './databricks';
import {
  batchFolder,
  rowsAfter,
  SinkLog,
  TableLoadOutcome,
  WarehouseBatch,
  WarehouseLoadError,
  WarehouseLoadOutcome,
  WarehouseSink,
  WarehouseTableBatch,
} from './sink';
import type { SqlConnection, SqlRow } from './snowflake-sink';

export interface DatabricksSinkOptions {
  target: DatabricksTarget;
  /** Unity Catalog volume for the batches' Parquet files, e.g. `/Volumes/main/sluice/staging`. */
  volume: string;
  /** Opens a session whose PUT may read files under `tmpDir`. */
  connect: (tmpDir: string) => Promise<SqlConnection>;
  tmpDir?: string;
  log?: SinkLog;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * Whether a Databricks error is worth retrying: network failures, the driver's
 * exhausted retries (429/503 from a starting warehouse) and HTTP 5xx are; SQL
 * and authentication errors are not, nor is anything unknown.
 */
export function isRetriableDatabricksError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: unknown; code?: unknown; statusCode?: unknown; response?: { status?: unknown } };
  if (e.name === 'RetryError') return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  const status = Number(e.statusCode ?? e.response?.status);
  return status === 429 || status === 408 || (status >= 500 && status < 600);
}

function maxVersion(rows: SqlRow[]): number | undefined {
  const v = rows[0] ? Object.values(rows[0])[0] : undefined;
  if (v === null || v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Loads partition batches into Databricks with the statements `dbLoadPlan`
 * generates: the load history decides (skip / drop rows already there), then
 * DDL, PUT of the Parquet file to a volume, COPY INTO (or MERGE for `users`),
 * the history row, and removal of the file.
 */
export class DatabricksSink implements WarehouseSink {
  readonly name = 'databricks' as const;
  private conn: SqlConnection | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly tmpRoot: string;

  constructor(private readonly opts: DatabricksSinkOptions) {
    this.tmpRoot = opts.tmpDir ?? path.join(os.tmpdir(), 'sluice-databricks');
  }

  load(batch: WarehouseBatch): Promise<WarehouseLoadOutcome> {
    const run = this.chain.then(() => this.loadNow(batch));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async session(): Promise<SqlConnection> {
    if (!this.conn) {
      await fs.promises.mkdir(this.tmpRoot, { recursive: true });
      const conn = await this.opts.connect(this.tmpRoot);
      await conn.execute(dbCreateLoadHistory(this.opts.target));
      this.conn = conn;
    }
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
            : new WarehouseLoadError(
                `databricks: ${(err as Error).message}`,
                'databricks',
                t.table,
                batch.appId,
                batch.version,
                isRetriableDatabricksError(err),
                undefined,
                err,
              );
        const conn = this.conn;
        this.conn = undefined;
        await conn?.close().catch(() => undefined);
        return { status: 'failed', tables, error };
      }
    }
    return { status: 'ok', tables };
  }

  private async loadTable(batch: WarehouseBatch, t: WarehouseTableBatch): Promise<TableLoadOutcome> {
    const { target } = this.opts;
    const conn = await this.session();
    const run = async (sql: string): Promise<SqlRow[]> => {
      try {
        return await conn.execute(sql);
      } catch (err) {
        const head = sql.split(/\s+/).slice(0, 4).join(' ');
        throw new WarehouseLoadError(
          `databricks ${head} failed for ${t.table} (${batch.appId}@${batch.version}): ${(err as Error).message}`,
          'databricks',
          t.table,
          batch.appId,
          batch.version,
          isRetriableDatabricksError(err),
          head,
          err,
        );
      }
    };
    const loaded = maxVersion(await run(dbLoadedVersion(target, t.table, batch.appId)));
    if (loaded !== undefined && loaded >= batch.version) return { status: 'skipped', rows: 0 };
    const rows = rowsAfter(t, loaded);
    if (rows.length === 0) {
      await run(dbRecordLoad(target, t.table, batch.appId, batch.version, 0));
      return { status: 'loaded', rows: 0 };
    }
    const existing = (await run(dbColumnsQuery(target, t.table))).map((r) => String(Object.values(r)[0]));
    const plan = dbLoadPlan(target, {
      table: t.table,
      schema: t.schema,
      existingColumns: existing,
      appId: batch.appId,
      version: batch.version,
      rows: rows.length,
      volume: this.opts.volume,
      folder: batchFolder(t.table, batch.appId, batch.version),
      merge: t.merge,
    });
    const dir = await fs.promises.mkdtemp(path.join(this.tmpRoot, 'batch-'));
    try {
      const file = path.join(dir, `${t.table}.parquet`);
      await fs.promises.writeFile(file, writeParquet(t.schema, rows).bytes);
      for (const sql of [...plan.setup, plan.put(file), ...plan.load]) await run(sql);
      for (const sql of plan.cleanup) {
        await conn
          .execute(sql)
          .catch((err: unknown) =>
            this.opts.log?.warn({ table: t.table, err: (err as Error).message }, 'databricks cleanup failed'),
          );
      }
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
    return { status: 'loaded', rows: rows.length };
  }

  async close(): Promise<void> {
    await this.chain;
    const conn = this.conn;
    this.conn = undefined;
    await conn?.close();
  }
}
