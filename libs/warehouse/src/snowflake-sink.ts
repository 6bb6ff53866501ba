import os from 'node:os';
import type { ColumnType } from '@sluice/lake';
import path from 'node:path';
import { batchFolder, SinkLog } from './sink';
import {
  sfColumnsQuery,
  sfColumnType,
  sfCreateLoadHistory,
  sfLoadedVersion,
  sfLoadPlan,
  sfRecordLoad,
  sfWidenings,
  SnowflakeTarget,
} from './snowflake';

import { SerialSqlSink, SqlConnection, SqlRow, TableLoad } from './sql-sink';

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
 */
export class SnowflakeSink extends SerialSqlSink {
  readonly name = 'snowflake' as const;

  constructor(private readonly opts: SnowflakeSinkOptions) {
    super(path.join(opts.tmpDir ?? os.tmpdir(), 'sluice-snowflake'), opts.log);
  }

  protected async openSession(): Promise<SqlConnection> {
    const conn = await this.opts.connect();
    // History first: every load starts by reading it.
    await conn.execute(sfCreateLoadHistory(this.opts.target));
    return conn;
  }

  protected isRetriable(err: unknown): boolean {
    return isRetriableSnowflakeError(err);
  }

  protected loadedVersionSql(table: string, appId: string): string {
    return sfLoadedVersion(this.opts.target, table, appId);
  }

  protected recordLoadSql(table: string, appId: string, version: number, rows: number): string {
    return sfRecordLoad(this.opts.target, table, appId, version, rows);
  }

  /** A failed statement may leave a transaction open: roll it back before the session goes. */
  protected override async discard(conn: SqlConnection): Promise<void> {
    await conn.execute('ROLLBACK').catch(() => undefined);
    await super.discard(conn);
  }

  protected columnTypesSql(table: string): string {
    return sfColumnsQuery(this.opts.target, table);
  }

  protected columnType(dataType: string): ColumnType {
    return sfColumnType(dataType);
  }

  protected async loadRows({ batch, table: t, rows, file, run, tidy }: TableLoad): Promise<void> {
    const { target, stage } = this.opts;
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
    for (const sql of plan.setup) await run(sql);
    for (const sql of sfWidenings(target, t.table, columns, t.schema)) await run(sql);
    const failedUpload = checkPut(await run(plan.put(file)));
    if (failedUpload !== undefined) throw this.loadError(failedUpload, batch, t.table, true, 'PUT');
    for (const sql of [...plan.prepare, ...plan.transaction]) await run(sql);
    for (const sql of plan.cleanup) await tidy(sql);
  }
}

export type { SqlConnection, SqlRow };
