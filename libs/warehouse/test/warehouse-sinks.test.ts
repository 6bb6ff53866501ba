import type { TableSchema, WarehouseEvent } from '@sluice/lake';
import {
  DatabricksSink,
  isRetriableSnowflakeError,
  SnowflakeSink,
  SqlConnection,
  SqlRow,
  WarehouseBatch,
  warehouseTables,
} from '../src';

/** A fake session: records every statement, answers the history and columns queries, can fail one statement. */
class FakeConnection implements SqlConnection {
  closed = false;
  constructor(
    readonly log: string[],
    private readonly state: { loaded?: number; columns?: string[]; fail?: { match: RegExp; error: Error } },
  ) {}

  async execute(sql: string): Promise<SqlRow[]> {
    this.log.push(sql);
    if (this.state.fail && this.state.fail.match.test(sql)) throw this.state.fail.error;
    if (/^SELECT MAX/.test(sql)) return [{ VERSION: this.state.loaded ?? null }];
    if (/COLUMN_NAME|column_name/.test(sql))
      return (this.state.columns ?? []).map((c) => ({ COLUMN_NAME: c, DATA_TYPE: 'TEXT' }));
    if (/^PUT /.test(sql)) return [{ source: 'x.parquet', status: 'UPLOADED' }];
    return [];
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function tracks(from: number, to: number): WarehouseBatch {
  const events: WarehouseEvent[] = [];
  const offsets = new Map<string, number>();
  for (let o = from; o < to; o++) {
    offsets.set(`m${o}`, o);
    const at = new Date(Date.UTC(2026, 10, 22, 0, 0, o)).toISOString();
    events.push({
      type: 'track',
      messageId: `m${o}`,
      anonymousId: 'a',
      event: 'Clicked',
      receivedAt: at,
      timestamp: at,
    });
  }
  const input = {
    appId: 'g:t:3',
    version: to - 1,
    uuidTs: '2026-11-22T01:00:00.000Z',
    eventVersion: (id: string) => offsets.get(id),
  };
  const tables = warehouseTables(events, input, new Map<string, TableSchema>()).filter((t) => t.table === 'tracks');
  return { appId: input.appId, version: input.version, tables };
}

function users(): WarehouseBatch {
  const at = '2026-11-22T00:00:00.000Z';
  const events: WarehouseEvent[] = [
    { type: 'identify', messageId: 'i1', userId: 'u1', traits: { plan: 'pro' }, receivedAt: at, timestamp: at },
  ];
  const input = { appId: 'g:t:3', version: 9, uuidTs: at };
  return {
    appId: 'g:t:3',
    version: 9,
    tables: warehouseTables(events, input, new Map()).filter((t) => t.table === 'users'),
  };
}

/** A statement's first two words, cut at the first quote or parenthesis. */
const head = (sql: string) =>
  sql
    .split(/\s+/)
    .slice(0, 2)
    .join(' ')
    .replace(/\s*[("'`].*$/, '');

function snowflake(state: ConstructorParameters<typeof FakeConnection>[1]) {
  const log: string[] = [];
  const conns: FakeConnection[] = [];
  const sink = new SnowflakeSink({
    target: { database: 'DB', schema: 'S' },
    stage: 'stg',
    connect: async () => {
      const c = new FakeConnection(log, state);
      conns.push(c);
      return c;
    },
  });
  return { sink, log, conns };
}

describe('SnowflakeSink over a fake session', () => {
  test('an append: history check, DDL, PUT, then COPY INTO and its history row in one transaction', async () => {
    const { sink, log } = snowflake({});
    const out = await sink.load(tracks(0, 3));
    expect(out).toEqual({ status: 'ok', tables: { tracks: { status: 'loaded', rows: 3 } } });
    expect(log.map(head)).toEqual([
      'CREATE TABLE', // load history, once per session
      'SELECT MAX',
      'SELECT COLUMN_NAME,',
      'CREATE TABLE',
      'CREATE STAGE',
      'CREATE TABLE',
      'PUT',
      'BEGIN',
      'COPY INTO',
      'INSERT INTO',
      'COMMIT',
    ]);
    expect(log[6]).toMatch(/@"DB"\."S"\."STG"\/tracks\/g_t_3-00000000000000000002 /);
    expect(log[9]).toContain("'g:t:3', 'tracks', 2, 3,");
  });

  test('a replay is skipped by the history; an overlap loads only the rows after the recorded version', async () => {
    const replay = snowflake({ loaded: 2, columns: ['ID'] });
    expect(await replay.sink.load(tracks(0, 3))).toEqual({
      status: 'ok',
      tables: { tracks: { status: 'skipped', rows: 0 } },
    });
    expect(replay.log.map(head)).toEqual(['CREATE TABLE', 'SELECT MAX']);

    const overlap = snowflake({ loaded: 4, columns: ['ID'] });
    expect(await overlap.sink.load(tracks(2, 8))).toEqual({
      status: 'ok',
      tables: { tracks: { status: 'loaded', rows: 3 } },
    });
    expect(overlap.log.find((s) => s.startsWith('INSERT'))).toContain("'tracks', 7, 3,");
    // The table exists: no CREATE for it, one ALTER per column it lacks.
    expect(overlap.log.some((q) => q.startsWith('CREATE TABLE IF NOT EXISTS "DB"."S"."TRACKS"'))).toBe(false);
    expect(overlap.log.filter((q) => q.startsWith('ALTER TABLE "DB"."S"."TRACKS" ADD COLUMN')).length).toBeGreaterThan(
      0,
    );
  });

  test('users: MERGE then the history row, outside a transaction; the scratch table is dropped', async () => {
    const { sink, log } = snowflake({});
    expect((await sink.load(users())).status).toBe('ok');
    expect(log.map(head)).toEqual([
      'CREATE TABLE',
      'SELECT MAX',
      'SELECT COLUMN_NAME,',
      'CREATE TABLE',
      'CREATE STAGE',
      'CREATE TABLE',
      'CREATE OR',
      'PUT',
      'COPY INTO',
      'MERGE INTO',
      'INSERT INTO',
      'DROP TABLE',
    ]);
  });

  test('a failing statement: typed outcome with table and batch, ROLLBACK, a new session next time', async () => {
    const sqlError = Object.assign(new Error('SQL compilation error'), { code: '002003', sqlState: '42S02' });
    const state: ConstructorParameters<typeof FakeConnection>[1] = { fail: { match: /^COPY INTO/, error: sqlError } };
    const { sink, log, conns } = snowflake(state);
    const out = await sink.load(tracks(0, 3));
    expect(out.status).toBe('failed');
    if (out.status !== 'failed') return;
    expect(out.error).toMatchObject({
      warehouse: 'snowflake',
      table: 'tracks',
      appId: 'g:t:3',
      version: 2,
      retriable: false,
      statement: 'COPY INTO "DB"."S"."TRACKS" FROM',
    });
    expect(log.slice(-2)).toEqual([expect.stringMatching(/^COPY INTO/), 'ROLLBACK']);
    expect(conns[0]!.closed).toBe(true);
    delete state.fail;
    expect((await sink.load(tracks(0, 3))).status).toBe('ok');
    expect(conns).toHaveLength(2);
  });

  test('a PUT that reports a failed upload fails the batch (retriable)', async () => {
    const log: string[] = [];
    const conn = new FakeConnection(log, {});
    conn.execute = async (sql) => (
      log.push(sql),
      /^PUT/.test(sql) ? [{ status: 'ERROR', message: 'upload failed' }] : /^SELECT MAX/.test(sql) ? [{ V: null }] : []
    );
    const sink = new SnowflakeSink({
      target: { database: 'DB', schema: 'S' },
      stage: 'stg',
      connect: async () => conn,
    });
    const out = await sink.load(tracks(0, 1));
    expect(out.status === 'failed' && out.error).toMatchObject({ retriable: true, statement: 'PUT', table: 'tracks' });
    expect(log.some((s) => s.startsWith('COPY'))).toBe(false);
  });

  test('error classification: network, lost session and server aborts retry; SQL errors and unknowns do not', () => {
    expect(isRetriableSnowflakeError({ code: 401001 })).toBe(true);
    expect(isRetriableSnowflakeError({ code: '390114' })).toBe(true);
    expect(isRetriableSnowflakeError({ response: { statusCode: 503 } })).toBe(true);
    expect(isRetriableSnowflakeError({ sqlState: '57014' })).toBe(true);
    expect(isRetriableSnowflakeError({ code: '002003', sqlState: '42S02' })).toBe(false);
    expect(isRetriableSnowflakeError(new Error('boom'))).toBe(false);
  });
});

describe('DatabricksSink over a fake session', () => {
  function databricks(state: ConstructorParameters<typeof FakeConnection>[1]) {
    const log: string[] = [];
    const sink = new DatabricksSink({
      target: { catalog: 'main', schema: 'sluice' },
      volume: '/Volumes/main/sluice/staging',
      connect: async () => new FakeConnection(log, state),
    });
    return { sink, log };
  }

  test('an append: history check, CREATE, PUT to the volume, COPY INTO, history row, REMOVE', async () => {
    const { sink, log } = databricks({});
    expect(await sink.load(tracks(0, 3))).toEqual({ status: 'ok', tables: { tracks: { status: 'loaded', rows: 3 } } });
    expect(log.map(head)).toEqual([
      'CREATE TABLE',
      'SELECT MAX',
      'SELECT column_name',
      'CREATE TABLE',
      'PUT',
      'COPY INTO',
      'INSERT INTO',
      'REMOVE',
    ]);
    expect(log[7]).toBe("REMOVE '/Volumes/main/sluice/staging/tracks/g_t_3-00000000000000000002/part.parquet'");
    expect(log[4]).toMatch(
      / INTO '\/Volumes\/main\/sluice\/staging\/tracks\/g_t_3-00000000000000000002\/part\.parquet' OVERWRITE$/,
    );
    expect(log[5]).toContain("FROM '/Volumes/main/sluice/staging/tracks/g_t_3-00000000000000000002/'");
  });

  test('replay skipped, overlap filtered, users merged from the staged file', async () => {
    const replay = databricks({ loaded: 2, columns: ['id'] });
    expect(await replay.sink.load(tracks(0, 3))).toEqual({
      status: 'ok',
      tables: { tracks: { status: 'skipped', rows: 0 } },
    });
    expect(replay.log).toHaveLength(2);
    const overlap = databricks({ loaded: 4, columns: ['id', 'anonymous_id'] });
    expect(await overlap.sink.load(tracks(2, 8))).toEqual({
      status: 'ok',
      tables: { tracks: { status: 'loaded', rows: 3 } },
    });
    expect(overlap.log.some((s) => s.startsWith('ALTER TABLE'))).toBe(true); // columns the table lacks
    const merge = databricks({});
    expect((await merge.sink.load(users())).status).toBe('ok');
    expect(merge.log.find((s) => s.startsWith('MERGE'))).toContain('FROM parquet.`/Volumes/main/sluice/staging/users/');
  });
});
