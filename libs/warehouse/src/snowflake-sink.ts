import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeParquet } from '@sluice/lake';
import {
  batchFolder,
  rowsAfter,
  TableLoadOutcome,
  WarehouseBatch,
  WarehouseLoadError,
  WarehouseLoadOutcome,
  WarehouseSink,
  SinkLog,
  WarehouseTableBatch,
} from './sink';
import {
  sfColumnsQuery,
  sfCreateLoadHistory,
  sfLoadedVersion,
  sfLoadPlan,
  sfRecordLoad,
  sfWidenings,
  SnowflakeTarget,
} from './snowflake';

/** A result row as the driver gives it: column name → value. */
export type SqlRow = Record<string, unknown>;

/** The little of a SQL connection the sinks use; one session (transactions are per session). */
export interface SqlConnection {
  execute(sql: string): Promise<SqlRow[]>;
  close(): Promise<void>;
}

export interface SnowflakeSinkOptions {
  target: SnowflakeTarget;
  /** Internal stage the batches' Parquet files are PUT to. */
  stage: string;
  /** Opens a session; called again after a failure (the old session is closed). */
  connect: () => Promise<SqlConnection>;
  /** Folder for the Parquet files being PUT (default: the OS temp folder). */
  tmpDir?: string;
  log?: SinkLog;
}

/** Driver error codes of the network layer (snowflake-sdk ErrorCode 401xxx/402xxx): worth retrying. */
const NETWORK_CODES = new Set([401001, 401002, 401003, 401004, 402001, 402002]);

/**
 * Whether a Snowflake error is worth retrying: network and HTTP failures,
 * lost sessions and server-side aborts are; SQL errors (compilation, access,
 * constraint) are not, nor is anything unknown.
 */
export function isRetriableSnowflakeError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; sqlState?: unknown; response?: { statusCode?: unknown; status?: unknown } };
  const code = typeof e.code === 'string' ? Number(e.code) : e.code;
  if (typeof code === 'number' && NETWORK_CODES.has(code)) return true;
  // 390xxx: session/authentication token expired or gone; a new session fixes it.
  if (typeof code === 'number' && code >= 390100 && code < 390200) return true;
  const status = Number(e.response?.statusCode ?? e.response?.status);
  if (status === 429 || status === 408 || (status >= 500 && status < 600)) return true;
  const state = typeof e.sqlState === 'string' ? e.sqlState : '';
  // 08: connection exception; 57: operator intervention (e.g. statement aborted, warehouse suspended).
  return state.startsWith('08') || state.startsWith('57');
}

function firstWords(sql: string): string {
  return sql.split(/\s+/).slice(0, 4).join(' ');
}

function maxVersion(rows: SqlRow[]): number | undefined {
  const v = rows[0] ? Object.values(rows[0])[0] : undefined;
  if (v === null || v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** PUT reports a failed upload as a result row, not as an error. */
function checkPut(rows: SqlRow[]): string | undefined {
  const bad = rows.filter((r) => {
    const status = String(r.status ?? r.STATUS ?? '');
    return status !== 'UPLOADED' && status !== 'SKIPPED';
  });
  if (bad.length === 0 && rows.length > 0) return undefined;
  return bad.map((r) => String(r.message ?? r.MESSAGE ?? r.status ?? 'no status')).join('; ') || 'PUT uploaded no file';
}

/**
 * Loads partition batches into Snowflake with the statements `sfLoadPlan`
 * generates: per table, the load history decides (skip / drop rows already
 * there), then DDL, PUT of the batch's Parquet to the internal stage, COPY INTO
 * with its history row in one transaction (or MERGE + history for `users`).
 * Loads are serialized: they share one session, and a transaction is per session.
 */
export class SnowflakeSink implements WarehouseSink {
  readonly name = 'snowflake' as const;
  private conn: SqlConnection | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SnowflakeSinkOptions) {}

  load(batch: WarehouseBatch): Promise<WarehouseLoadOutcome> {
    const run = this.chain.then(() => this.loadNow(batch));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async session(): Promise<SqlConnection> {
    if (!this.conn) {
      const conn = await this.opts.connect();
      // History first: every load starts by reading it.
      await conn.execute(sfCreateLoadHistory(this.opts.target));
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
                `snowflake: ${(err as Error).message}`,
                'snowflake',
                t.table,
                batch.appId,
                batch.version,
                isRetriableSnowflakeError(err),
                undefined,
                err,
              );
        await this.reset();
        return { status: 'failed', tables, error };
      }
    }
    return { status: 'ok', tables };
  }

  /** A failed statement may leave a transaction open or the session broken: start over with a new one. */
  private async reset(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    await conn.execute('ROLLBACK').catch(() => undefined);
    await conn.close().catch(() => undefined);
  }

  private async loadTable(batch: WarehouseBatch, t: WarehouseTableBatch): Promise<TableLoadOutcome> {
    const { target, stage } = this.opts;
    const conn = await this.session();
    const run = async (sql: string): Promise<SqlRow[]> => {
      try {
        return await conn.execute(sql);
      } catch (err) {
        throw new WarehouseLoadError(
          `snowflake ${firstWords(sql)} failed for ${t.table} (${batch.appId}@${batch.version}): ${(err as Error).message}`,
          'snowflake',
          t.table,
          batch.appId,
          batch.version,
          isRetriableSnowflakeError(err),
          firstWords(sql),
          err,
        );
      }
    };
    const loaded = maxVersion(await run(sfLoadedVersion(target, t.table, batch.appId)));
    if (loaded !== undefined && loaded >= batch.version) return { status: 'skipped', rows: 0 };
    const rows = rowsAfter(t, loaded);
    if (rows.length === 0) {
      // Every row is already there (an overlap): remember the version so a replay skips at once.
      await run(sfRecordLoad(target, t.table, batch.appId, batch.version, 0));
      return { status: 'loaded', rows: 0 };
    }
    const columns = (await run(sfColumnsQuery(target, t.table))).map((r) => {
      const [name, type] = Object.values(r);
      return { name: String(name), type: String(type) };
    });
    const plan = sfLoadPlan(target, {
      table: t.table,
      schema: t.schema,
      existingColumns: columns.map((c) => c.name),
      appId: batch.appId,
      version: batch.version,
      rows: rows.length,
      stage,
      folder: batchFolder(t.table, batch.appId, batch.version),
      merge: t.merge,
    });
    const dir = await fs.promises.mkdtemp(path.join(this.opts.tmpDir ?? os.tmpdir(), 'sluice-sf-'));
    try {
      const file = path.join(dir, `${t.table}.parquet`);
      await fs.promises.writeFile(file, writeParquet(t.schema, rows).bytes);
      for (const sql of plan.setup) await run(sql);
      for (const sql of sfWidenings(target, t.table, columns, t.schema)) await run(sql);
      const put = plan.put(file);
      const failedUpload = checkPut(await run(put));
      if (failedUpload !== undefined) {
        throw new WarehouseLoadError(
          `snowflake PUT failed for ${t.table} (${batch.appId}@${batch.version}): ${failedUpload}`,
          'snowflake',
          t.table,
          batch.appId,
          batch.version,
          true,
          'PUT',
        );
      }
      for (const sql of [...plan.prepare, ...plan.transaction]) await run(sql);
      for (const sql of plan.cleanup) {
        // The load is committed; a leftover scratch table is only clutter.
        await conn
          .execute(sql)
          .catch((err: unknown) =>
            this.opts.log?.warn({ table: t.table, err: (err as Error).message }, 'snowflake cleanup failed'),
          );
      }
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
    this.opts.log?.debug(
      { table: t.table, appId: batch.appId, version: batch.version, rows: rows.length },
      'snowflake batch loaded',
    );
    return { status: 'loaded', rows: rows.length };
  }

  async close(): Promise<void> {
    await this.chain;
    const conn = this.conn;
    this.conn = undefined;
    await conn?.close();
  }
}
