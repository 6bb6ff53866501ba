import os from 'node:os';
import type { ColumnType } from '@sluice/lake';
import path from 'node:path';
import {
  dbColumnsQuery,
  dbColumnType,
  dbColumnTypesQuery,
  dbCreateLoadHistory,
  dbLoadedVersion,
  dbLoadPlan,
  dbRecordLoad,
  DatabricksTarget,
} from './databricks';
import { batchFolder, SinkLog } from './sink';
import { SerialSqlSink, SqlConnection, TableLoad } from './sql-sink';

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

/**
 * Loads partition batches into Databricks with the statements `dbLoadPlan`
 * generates: the load history decides (skip / drop rows already there), then
 * DDL, PUT of the Parquet file to a volume, COPY INTO (or MERGE for `users`),
 * the history row, and removal of the file.
 */
export class DatabricksSink extends SerialSqlSink {
  readonly name = 'databricks' as const;
  /** Where the driver may read files to PUT: the batches' Parquet files are written below it. */
  private readonly uploadRoot: string;

  constructor(private readonly opts: DatabricksSinkOptions) {
    const uploadRoot = opts.tmpDir ?? path.join(os.tmpdir(), 'sluice-databricks');
    super(uploadRoot, opts.log);
    this.uploadRoot = uploadRoot;
  }

  protected async openSession(): Promise<SqlConnection> {
    const conn = await this.opts.connect(this.uploadRoot);
    await conn.execute(dbCreateLoadHistory(this.opts.target));
    return conn;
  }

  protected isRetriable(err: unknown): boolean {
    return isRetriableDatabricksError(err);
  }

  protected loadedVersionSql(table: string, appId: string): string {
    return dbLoadedVersion(this.opts.target, table, appId);
  }

  protected recordLoadSql(table: string, appId: string, version: number, rows: number): string {
    return dbRecordLoad(this.opts.target, table, appId, version, rows);
  }

  protected columnTypesSql(table: string): string {
    return dbColumnTypesQuery(this.opts.target, table);
  }

  protected columnType(dataType: string): ColumnType {
    return dbColumnType(dataType);
  }

  protected async loadRows({ batch, table: t, rows, file, run, tidy }: TableLoad): Promise<void> {
    const { target } = this.opts;
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
    for (const sql of [...plan.setup, plan.put(file), ...plan.load]) await run(sql);
    for (const sql of plan.cleanup) await tidy(sql);
  }
}
