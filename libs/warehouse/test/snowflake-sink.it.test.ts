import type { WarehouseEvent } from '@sluice/lake';
import { connectSnowflake, SnowflakeSink, SqlConnection, warehouseTables, WarehouseBatch } from '../src';
import { TableSchema } from '@sluice/lake';
import { FakesnowServer } from './support/fakesnow-server';

/**
 * The Snowflake stage through the real snowflake-sdk against fakesnow's HTTP
 * server (with the test-side JSON-results adapter, decision 0703): PUT to the
 * internal stage, COPY INTO, MERGE, load history, replays and overlaps.
 */
const server = new FakesnowServer();
const settings = () => ({
  account: 'fakesnow',
  username: 'sluice',
  password: 'sluice',
  database: 'DB',
  schema: 'PUBLIC',
  accessUrl: server.url,
});
let reader: SqlConnection;

beforeAll(async () => {
  await server.start();
  reader = await connectSnowflake(settings());
  await reader.execute('CREATE DATABASE IF NOT EXISTS DB');
  await reader.execute('CREATE SCHEMA IF NOT EXISTS DB.PUBLIC');
}, 90000);

afterAll(async () => {
  await reader?.close();
  await server.stop();
});

/** Events with offsets `from`..`to - 1`: even offsets track, odd identify; `late` ones bring new columns. */
function events(from: number, to: number, late: boolean): { events: WarehouseEvent[]; offsets: Map<string, number> } {
  const out: WarehouseEvent[] = [];
  const offsets = new Map<string, number>();
  for (let o = from; o < to; o++) {
    const at = new Date(Date.UTC(2026, 10, 22, 1, 0, o)).toISOString();
    const id = `m${o}`;
    offsets.set(id, o);
    out.push(
      o % 2 === 0
        ? {
            type: 'track',
            messageId: id,
            anonymousId: `a${o % 3}`,
            event: 'Order Completed',
            properties: late ? { amount: o, coupon: `C${o}` } : { amount: o },
            receivedAt: at,
            timestamp: at,
          }
        : {
            type: 'identify',
            messageId: id,
            anonymousId: `a${o % 3}`,
            userId: `u${o % 4 === 1 ? 0 : 1}`,
            traits: late ? { plan: `p${o}` } : { seats: o },
            receivedAt: at,
            timestamp: at,
          },
    );
  }
  return { events: out, offsets };
}

const schemas = new Map<string, TableSchema>();
function batch(appId: string, from: number, to: number, late = false): WarehouseBatch {
  const e = events(from, to, late);
  return {
    appId,
    version: to - 1,
    tables: warehouseTables(
      e.events,
      { appId, version: to - 1, uuidTs: '2026-11-22T02:00:00.000Z', eventVersion: (id) => e.offsets.get(id) },
      schemas,
    ),
  };
}

function summary(outcome: Awaited<ReturnType<SnowflakeSink['load']>>): Record<string, string> {
  if (outcome.status === 'failed') throw outcome.error;
  return Object.fromEntries(Object.entries(outcome.tables).map(([t, o]) => [t, `${o.status}:${o.rows}`]));
}

test('loads batches through snowflake-sdk: create, PUT + COPY INTO, MERGE users, replay and overlap loaded once', async () => {
  const sink = new SnowflakeSink({
    target: { database: 'DB', schema: 'PUBLIC' },
    stage: 'sluice_stage',
    connect: () => connectSnowflake(settings()),
  });
  try {
    // offsets 0..7: 4 tracks, 4 identifies (users u0, u1)
    expect(summary(await sink.load(batch('g:events:0', 0, 8)))).toEqual({
      tracks: 'loaded:4',
      order_completed: 'loaded:4',
      identifies: 'loaded:4',
      users: 'loaded:4',
    });
    // The same batch again (crash before the Kafka commit): skipped by the load history.
    expect(summary(await sink.load(batch('g:events:0', 0, 8)))).toEqual({
      tracks: 'skipped:0',
      order_completed: 'skipped:0',
      identifies: 'skipped:0',
      users: 'skipped:0',
    });
    // An overlapping range (a rebalance): offsets 4..11, only 8..11 are new; new columns arrive.
    expect(summary(await sink.load(batch('g:events:0', 4, 12, true)))).toEqual({
      tracks: 'loaded:2',
      order_completed: 'loaded:2',
      identifies: 'loaded:2',
      users: 'loaded:4',
    });
    // Another partition's appId is independent of the first one's history.
    expect(summary(await sink.load(batch('g:events:1', 100, 102)))).toMatchObject({ tracks: 'loaded:1' });
  } finally {
    await sink.close();
  }

  const [counts] = await reader.execute(
    'SELECT (SELECT COUNT(*) FROM DB.PUBLIC.TRACKS) AS T, (SELECT COUNT(DISTINCT ID) FROM DB.PUBLIC.TRACKS) AS D, (SELECT COUNT(*) FROM DB.PUBLIC.IDENTIFIES) AS I',
  );
  expect(counts).toEqual({ T: 7, D: 7, I: 7 });
  const oc = await reader.execute('SELECT ID, AMOUNT, COUPON FROM DB.PUBLIC.ORDER_COMPLETED ORDER BY AMOUNT');
  expect(oc.map((r) => [r.ID, r.AMOUNT, r.COUPON])).toEqual([
    ['m0', 0, null],
    ['m2', 2, null],
    ['m4', 4, null],
    ['m6', 6, null],
    ['m8', 8, 'C8'],
    ['m10', 10, 'C10'],
    ['m100', 100, null],
  ]);
  // users: one row per user, newest values merged field by field: u1 keeps seats 7 from the first
  // batch under plan p11; u0's plan p9 survives the later identify (offset 101) that set only seats.
  const users = await reader.execute('SELECT ID, PLAN, SEATS FROM DB.PUBLIC.USERS ORDER BY ID');
  expect(users.map((r) => [r.ID, r.PLAN, r.SEATS])).toEqual([
    ['u0', 'p9', 101],
    ['u1', 'p11', 7],
  ]);
  const history = await reader.execute(
    'SELECT "APP_ID", "TABLE_NAME", MAX("VERSION") AS V FROM DB.PUBLIC."_SLUICE_LOAD_HISTORY" GROUP BY 1, 2 ORDER BY 1, 2',
  );
  expect(history).toEqual(
    expect.arrayContaining([
      { APP_ID: 'g:events:0', TABLE_NAME: 'tracks', V: 11 },
      { APP_ID: 'g:events:1', TABLE_NAME: 'tracks', V: 101 },
    ]),
  );
}, 120000);
