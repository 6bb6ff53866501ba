import path from 'node:path';
import {
  expectedCounts,
  listFiles,
  LoaderProcess,
  makeEvents,
  sleep,
  suffix,
  TableInfo,
  tempLake,
  TestProducer,
  waitForLake,
} from './support/harness';

jest.setTimeout(300000);

const TABLES = ['tracks', 'order_completed', 'product_viewed', 'identifies', 'pages', 'users'];

/** Every event table holds each expected id exactly once. */
function exactlyOnce(r: Record<string, TableInfo>, n: number): boolean {
  const want = expectedCounts(n);
  return Object.entries(want).every(([t, c]) => r[t] && !r[t]!.missing && r[t]!.rows === c && r[t]!.distinct_ids === c);
}

function assertExactlyOnce(r: Record<string, TableInfo>, n: number): void {
  const want = expectedCounts(n);
  for (const [t, c] of Object.entries(want)) {
    expect({ table: t, rows: r[t]!.rows, distinct: r[t]!.distinct_ids, dup: r[t]!.duplicates }).toEqual({ table: t, rows: c, distinct: c, dup: [] });
  }
}

const running: LoaderProcess[] = [];
const producers: TestProducer[] = [];

function loader(env: Record<string, string>): LoaderProcess {
  const p = new LoaderProcess(env);
  running.push(p);
  return p;
}

async function producer(prefix: string): Promise<TestProducer> {
  const p = new TestProducer(prefix);
  await p.connect();
  producers.push(p);
  return p;
}

afterEach(async () => {
  for (const p of running.splice(0)) if (p.running) await p.kill9();
  for (const p of producers.splice(0)) await p.close();
});

describe('warehouse loader on real Kafka', () => {
  test('loads Avro EventEnvelopes into Delta and Parquet; schema evolves; delta-rs and DuckDB read it', async () => {
    const run = suffix();
    const prefix = `it-${run}.`;
    const lake = tempLake();
    const n = 400;
    const prod = await producer(prefix);
    const l = loader({ SLUICE_TOPIC_PREFIX: prefix, LOADER_GROUP_ID: `g-${run}`, LAKE_URL: lake, LAKE_FORMAT: 'both', LOADER_FLUSH_MS: '500' });
    await l.start();
    await prod.sendEvents(makeEvents(run, 0, n / 2, n));
    await sleep(1500);
    await prod.sendEvents(makeEvents(run, n / 2, n / 2, n));
    const r = await waitForLake({ root: path.join(lake, 'delta'), tables: TABLES, parquet_root: path.join(lake, 'parquet') }, (x) => {
      const p = (x as { _parquet?: Record<string, unknown> })._parquet;
      return exactlyOnce(x, n) && Array.isArray(p?.tracks) && (p!.tracks as number[])[0] === expectedCounts(n).tracks;
    });
    assertExactlyOnce(r, n);
    // Schema evolution: amount was an int, became a float; coupon arrived later.
    expect(r.order_completed!.schema.amount).toBe('double');
    expect(r.order_completed!.schema.coupon).toBe('string');
    expect(r.identifies!.schema.plan).toBe('string');
    expect(r.users!.distinct_ids).toBe(13);
    expect(r.users!.rows).toBe(13);
    // DuckDB over the live Parquet files of the Delta table agrees.
    expect(r.tracks!.duckdb_rows).toBe(expectedCounts(n).tracks);
    // The plain Parquet copy, read by DuckDB with hive partitioning.
    expect(r._parquet!.tracks).toEqual([expectedCounts(n).tracks, expectedCounts(n).tracks]);
    expect(await l.terminate()).toBe(0);
  });
});
