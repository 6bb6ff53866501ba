import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mapEvents, evolveSchema, writeParquet, TableSchema, Row } from '@sluice/lake';
import { sfColumnsQuery, sfLoadedCheck, sfLoadPlan, sfLoadStatements, SnowflakeBatch } from '../src';

/**
 * Proves the generated Snowflake SQL by running it through the Snowflake
 * Python connector against fakesnow (docs/decisions/0702). Needs
 * SLUICE_SNOWFLAKE_PYTHON: a Python with `fakesnow` and
 * `snowflake-connector-python` (deploy/local/requirements.txt).
 */
const PYTHON = process.env.SLUICE_SNOWFLAKE_PYTHON ?? process.env.SLUICE_PYTHON ?? 'python3';
const target = { database: 'DB', schema: 'PUBLIC' };

function runSql(dbPath: string, statements: string[]): Promise<(unknown[][] | { error: string; sql: string })[]> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      [
        path.join(__dirname, 'support', 'run_fakesnow.py'),
        JSON.stringify({ db_path: dbPath, database: 'DB', schema: 'PUBLIC', statements }),
      ],
      { maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`run_fakesnow.py failed: ${stderr || err.message}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

function ok<T>(results: (T | { error: string; sql: string })[]): T[] {
  for (const r of results) if (r && typeof r === 'object' && 'error' in r) throw new Error(`${r.error}\n${r.sql}`);
  return results as T[];
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-fakesnow-'));
const dbPath = path.join(tmp, 'db');
fs.mkdirSync(dbPath);

/** Loads one table's batch as the loader would: check history, DDL, PUT, transaction, cleanup. */
async function load(
  table: string,
  rows: Row[],
  schema: TableSchema,
  appId: string,
  version: number,
  merge?: SnowflakeBatch['merge'],
): Promise<'loaded' | 'skipped'> {
  const [cols] = ok(await runSql(dbPath, [sfColumnsQuery(target, table)]));
  const existing = (cols as unknown as string[][]).map((r) => r[0]!);
  if (existing.length > 0) {
    const [done] = ok(await runSql(dbPath, [sfLoadedCheck(target, table, appId, version)]));
    if ((done as unknown[]).length > 0) return 'skipped';
  }
  const file = path.join(tmp, `${table}-${version}.parquet`);
  fs.writeFileSync(file, writeParquet(schema, rows).bytes);
  const plan = sfLoadPlan(target, {
    table,
    schema,
    existingColumns: existing,
    appId,
    version,
    rows: rows.length,
    stage: 'sluice_stage',
    folder: `${table}/${version}`,
    merge,
  });
  ok(await runSql(dbPath, sfLoadStatements(plan, file)));
  return 'loaded';
}

function batch(from: number, to: number, late: boolean) {
  const events = [];
  for (let i = from; i < to; i++) {
    const at = new Date(Date.UTC(2026, 10, 22, 1, 0, i)).toISOString();
    events.push({
      type: 'track',
      messageId: `m${i}`,
      anonymousId: `a${i % 3}`,
      event: 'Order Completed',
      properties: late ? { amount: i, coupon: `C${i}` } : { amount: i },
      receivedAt: at,
      timestamp: at,
    });
    events.push({
      type: 'identify',
      messageId: `i${i}`,
      anonymousId: `a${i % 3}`,
      userId: `u${i % 2}`,
      traits: late ? { plan: `p${i}` } : { seats: i },
      receivedAt: at,
      timestamp: at,
    });
  }
  return mapEvents(events, { uuidTs: '2026-11-22T02:00:00.000Z' }).tables;
}

describe('generated Snowflake SQL on fakesnow (Python connector)', () => {
  test('create, add columns, COPY INTO from a stage, MERGE users, replay skipped by the load history', async () => {
    let schemas: Record<string, TableSchema> = {};
    const loadAll = async (tables: Map<string, Row[]>, version: number) => {
      const out: Record<string, string> = {};
      for (const [table, rows] of tables) {
        const evolved = evolveSchema(schemas[table] ?? {}, rows, { table, uuidTs: '2026-11-22T02:00:00.000Z' });
        schemas = { ...schemas, [table]: evolved.newSchema };
        out[table] = await load(
          table,
          evolved.coercedRows,
          evolved.newSchema,
          'g:events:0',
          version,
          table === 'users' ? { key: 'id', orderBy: 'received_at' } : undefined,
        );
      }
      return out;
    };
    const first = batch(0, 4, false);
    expect(await loadAll(first, 3)).toEqual({
      tracks: 'loaded',
      order_completed: 'loaded',
      identifies: 'loaded',
      users: 'loaded',
    });
    // The same batch again (a crash before the Kafka commit): nothing is loaded twice.
    expect(await loadAll(first, 3)).toEqual({
      tracks: 'skipped',
      order_completed: 'skipped',
      identifies: 'skipped',
      users: 'skipped',
    });
    // A later batch brings new columns (coupon, plan): ALTER TABLE ADD COLUMN, then COPY.
    expect(await loadAll(batch(4, 8, true), 7)).toEqual({
      tracks: 'loaded',
      order_completed: 'loaded',
      identifies: 'loaded',
      users: 'loaded',
    });

    const [counts, oc, users, cols] = ok(
      await runSql(dbPath, [
        'SELECT (SELECT COUNT(*) FROM TRACKS), (SELECT COUNT(DISTINCT ID) FROM TRACKS), (SELECT COUNT(*) FROM IDENTIFIES)',
        'SELECT ID, AMOUNT, COUPON FROM ORDER_COMPLETED ORDER BY AMOUNT',
        'SELECT ID, PLAN, SEATS FROM USERS ORDER BY ID',
        sfColumnsQuery(target, 'order_completed'),
      ]),
    ) as unknown[][][];
    expect(counts).toEqual([[8, 8, 8]]);
    expect(oc!.length).toBe(8);
    expect(oc![0]).toEqual(['m0', 0, null]);
    expect(oc![7]).toEqual(['m7', 7, 'C7']);
    // users: one row per user, newest traits merged over older ones (seats kept from the first batch).
    expect(users).toEqual([
      ['u0', 'p6', 2],
      ['u1', 'p7', 3],
    ]);
    expect((cols as string[][]).map((r) => r[0])).toEqual(
      expect.arrayContaining(['ID', 'AMOUNT', 'COUPON', 'EVENT', 'UUID_TS']),
    );
  });
});
