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
    expect({ table: t, rows: r[t]!.rows, distinct: r[t]!.distinct_ids, dup: r[t]!.duplicates }).toEqual({
      table: t,
      rows: c,
      distinct: c,
      dup: [],
    });
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

/** A fresh run: a topic prefix, a lake folder, a producer, and the loader settings naming them. */
async function freshRun(settings: Record<string, string>) {
  const run = suffix();
  const prefix = `it-${run}.`;
  const lake = tempLake();
  const prod = await producer(prefix);
  const env = { SLUICE_TOPIC_PREFIX: prefix, LOADER_GROUP_ID: `g-${run}`, LAKE_URL: lake, ...settings };
  return { run, lake, prod, env };
}

afterEach(async () => {
  for (const p of running.splice(0)) if (p.running) await p.kill9();
  for (const p of producers.splice(0)) await p.close();
});

describe('warehouse loader on real Kafka', () => {
  test('loads Avro EventEnvelopes into Delta and Parquet; schema evolves; delta-rs and DuckDB read it', async () => {
    const n = 400;
    const { run, lake, prod, env } = await freshRun({ LAKE_FORMAT: 'both', LOADER_FLUSH_MS: '500' });
    const l = loader(env);
    await l.start();
    await prod.sendEvents(makeEvents(run, 0, n / 2, n));
    await sleep(1500);
    await prod.sendEvents(makeEvents(run, n / 2, n / 2, n));
    const r = await waitForLake(
      { root: path.join(lake, 'delta'), tables: TABLES, parquet_root: path.join(lake, 'parquet') },
      (x) => {
        const p = (x as { _parquet?: Record<string, unknown> })._parquet;
        return exactlyOnce(x, n) && Array.isArray(p?.tracks) && (p!.tracks as number[])[0] === expectedCounts(n).tracks;
      },
    );
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

  test('kill -9 during writes, restart: every event in its table exactly once', async () => {
    const n = 4000;
    const { run, lake, prod, env } = await freshRun({
      LOADER_FLUSH_MS: '200',
      LOADER_FLUSH_EVENTS: '100',
      LOADER_IDENTITY: 'false',
    });
    const first = loader(env);
    await first.start();
    // Produce in chunks while the loader commits small batches; kill it mid-stream.
    const producing = (async () => {
      for (let i = 0; i < n; i += 200) {
        await prod.sendEvents(makeEvents(run, i, 200, n));
        await sleep(50);
      }
    })();
    await waitForLake(
      { root: path.join(lake, 'delta'), tables: ['tracks'] },
      (x) => (x.tracks?.rows ?? 0) > 0 && !x.tracks!.missing,
    );
    await first.kill9();
    await producing;
    const second = loader(env);
    await second.start();
    const r = await waitForLake({ root: path.join(lake, 'delta'), tables: TABLES }, (x) => exactlyOnce(x, n));
    assertExactlyOnce(r, n);
    expect(await second.terminate()).toBe(0);
  });

  test('kill -9 between the data files and the log commit, restart: exactly once', async () => {
    const n = 400;
    const { run, lake, prod, env } = await freshRun({ LOADER_FLUSH_MS: '300', LOADER_IDENTITY: 'false' });
    // First run: every log entry waits 4 s after its data files are written.
    const first = loader({ ...env, SLUICE_TEST_COMMIT_DELAY_MS: '4000' });
    await first.start();
    await prod.sendEvents(makeEvents(run, 0, n, n));
    const tracks = path.join(lake, 'delta', 'tracks');
    const deadline = Date.now() + 60000;
    while (!listFiles(tracks).some((f) => f.endsWith('.parquet')) && Date.now() < deadline) await sleep(100);
    // A data file exists and its commit does not yet.
    expect(listFiles(tracks).some((f) => f.endsWith('.parquet'))).toBe(true);
    expect(listFiles(path.join(tracks, '_delta_log')).filter((f) => f.endsWith('.json'))).toEqual([]);
    await first.kill9();
    const orphans = listFiles(tracks).filter((f) => f.endsWith('.parquet')).length;
    expect(orphans).toBeGreaterThan(0);
    const second = loader(env);
    await second.start();
    const r = await waitForLake({ root: path.join(lake, 'delta'), tables: TABLES }, (x) => exactlyOnce(x, n));
    assertExactlyOnce(r, n);
    expect(await second.terminate()).toBe(0);
  });

  test('two instances in one group racing, one leaving and coming back: no lost commit, every event once', async () => {
    const n = 4000;
    const { run, lake, prod, env } = await freshRun({
      LOADER_FLUSH_MS: '200',
      LOADER_FLUSH_EVENTS: '150',
      LOADER_IDENTITY: 'false',
    });
    const a = loader(env);
    const b = loader(env);
    await Promise.all([a.start(), b.start()]);
    const producing = (async () => {
      for (let i = 0; i < n; i += 200) {
        await prod.sendEvents(makeEvents(run, i, 200, n));
        await sleep(100);
      }
    })();
    await sleep(2500);
    await b.kill9(); // its partitions go to a after the session timeout
    const c = loader(env);
    await c.start(); // and a rebalance hands some back
    await producing;
    const r = await waitForLake({ root: path.join(lake, 'delta'), tables: TABLES }, (x) => exactlyOnce(x, n), 150000);
    assertExactlyOnce(r, n);
    // Both instances committed to the same tables (contiguous versions, no lost commit).
    expect(r.tracks!.version).toBeGreaterThan(1);
    expect(await a.terminate()).toBe(0);
    expect(await c.terminate()).toBe(0);
  });
  test('LOADER_WORKERS=2: one instance, two loader processes; a worker killed -9 is replaced; /metrics sums them', async () => {
    const n = 2000;
    const { run, lake, prod, env } = await freshRun({
      LOADER_FLUSH_MS: '200',
      LOADER_FLUSH_EVENTS: '150',
      LOADER_IDENTITY: 'false',
      LOADER_WORKERS: '2',
    });
    const instance = loader(env);
    await instance.start();
    const workersStarted = () => instance.logs.filter((l) => l.includes('"warehouse loader started"'));
    const deadline = Date.now() + 60000;
    while (workersStarted().length < 2 && Date.now() < deadline) await sleep(200);
    const pids = workersStarted().map((l) => (JSON.parse(l) as { pid: number }).pid);
    expect(new Set(pids).size).toBe(2);
    const primary = instance.logs.find((l) => l.includes('"warehouse loader primary started"'));
    const port = (JSON.parse(primary!) as { metricsPort: number }).metricsPort;

    await prod.sendEvents(makeEvents(run, 0, n / 2, n));
    const half = await waitForLake({ root: path.join(lake, 'delta'), tables: TABLES }, (x) => exactlyOnce(x, n / 2));
    assertExactlyOnce(half, n / 2);
    // The primary's /metrics is the sum over both processes.
    const metricsText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const tracksLoaded = metricsText
      .split('\n')
      .filter((l) => l.startsWith('sluice_loader_rows_loaded_total{') && l.includes('table="tracks"'))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(tracksLoaded).toBe(expectedCounts(n / 2).tracks);
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);

    // A worker dies without flushing; the primary starts another and the second half lands once.
    process.kill(pids[0]!, 'SIGKILL');
    await prod.sendEvents(makeEvents(run, n / 2, n / 2, n));
    const all = await waitForLake({ root: path.join(lake, 'delta'), tables: TABLES }, (x) => exactlyOnce(x, n), 150000);
    assertExactlyOnce(all, n);
    expect(instance.logs.some((l) => l.includes('worker died; starting another'))).toBe(true);
    expect(workersStarted().length).toBeGreaterThanOrEqual(3);

    // SIGTERM to the primary stops every worker, then the primary.
    expect(await instance.terminate()).toBe(0);
    const alive = workersStarted()
      .map((l) => (JSON.parse(l) as { pid: number }).pid)
      .filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
    expect(alive).toEqual([]);
  });
});
