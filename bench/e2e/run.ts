/**
 * End-to-end latency: the gateway's acknowledgement of an event → its row readable in Delta.
 * Starts the gateway, the processor and the warehouse-loader as their own processes (as `make up`
 * does, with their default settings), offers RATE events/s as batches of 100 to POST /v1/batch for
 * SECONDS, and for every track event takes the time from its request's 200 to the first Delta log
 * commit that makes its `tracks` row readable.
 *
 * KAFKA_BROKERS=… SCHEMA_REGISTRY_URL=… node --import tsx bench/e2e/run.ts [rate=5000] [seconds=60]
 * E2E_GATEWAY_WORKERS (1): gateway workers; the three services and Kafka share this machine's cores.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { LocalFolderStore } from '@sluice/lake';
import { quantile, watchDeltaTable } from '../support/delta-watch';

const RATE = Number(process.argv[2] ?? 5000);
const SECONDS = Number(process.argv[3] ?? 60);
const BATCH = 100;
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const REGISTRY = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
const WRITE_KEY = 'e2e-write-key';
const ROOT = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function event(run: string, i: number): Record<string, unknown> {
  const kind = i % 10;
  const base = {
    messageId: `${run}-${i}`,
    anonymousId: `anon-${i % 5000}`,
    ...(i % 3 === 0 ? { userId: `user-${i % 5000}` } : {}),
    context: {
      library: { name: 'analytics.js', version: '5.2.0' },
      page: { path: `/products/${i % 50}`, url: `https://shop.example.com/products/${i % 50}` },
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
      locale: 'en-GB',
    },
    sentAt: new Date().toISOString(),
  };
  if (kind < 7)
    return {
      ...base,
      type: 'track',
      event: ['Product Viewed', 'Order Completed', 'Signed Up'][i % 3],
      properties: { sku: `sku-${i % 400}`, price: (i % 1000) / 10, currency: 'EUR', quantity: 1 + (i % 4) },
    };
  if (kind < 9) return { ...base, type: 'page', name: 'Product', properties: { path: `/products/${i % 50}` } };
  return { ...base, type: 'identify', userId: `user-${i % 5000}`, traits: { plan: 'pro', seats: i % 9 } };
}

/** As `make up` starts them: the gateway from its bundle (decision 0507), the others from their sources. */
function start(name: string, env: Record<string, string>): ChildProcess {
  const bundled = name === 'gateway';
  if (bundled) execFileSync(process.execPath, ['deploy/build.mjs', name], { cwd: ROOT, stdio: 'ignore' });
  const args = bundled ? [`dist/${name}/main.js`] : ['--import', 'tsx', `services/${name}/src/main.ts`];
  return spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(20_000).then(() => child.kill('SIGKILL'))]);
}

async function main(): Promise<void> {
  const run = randomBytes(4).toString('hex');
  const prefix = `bench-e2e-${run}.`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-e2e-'));
  const lake = path.join(dir, 'lake');
  const workspaceFile = path.join(dir, 'workspace.json');
  fs.writeFileSync(
    workspaceFile,
    JSON.stringify({
      sources: [{ id: 'web', name: 'Web', type: 'http', writeKey: WRITE_KEY }],
      destinations: [{ id: 'lake', name: 'Lake', type: 'delta', config: { location: lake } }],
      connections: [{ sourceId: 'web', destinationId: 'lake' }],
    }),
  );
  const port = 20000 + Math.floor(Math.random() * 5000);
  const common = {
    KAFKA_BROKERS: BROKERS,
    SCHEMA_REGISTRY_URL: REGISTRY,
    SLUICE_TOPIC_PREFIX: prefix,
    WORKSPACE_FILE: workspaceFile,
  };
  const children = [
    start('gateway', {
      ...common,
      PORT: String(port),
      HOST: '127.0.0.1',
      WORKERS: process.env.E2E_GATEWAY_WORKERS ?? '1',
      RATE_LIMIT_EVENTS_PER_SEC: '0',
    }),
    start('processor', { ...common, PROCESSOR_GROUP_ID: `bench-e2e-${run}` }),
    start('warehouse-loader', { ...common, LOADER_GROUP_ID: `bench-e2e-loader-${run}`, LAKE_URL: lake }),
  ];
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32 });
  const headers = {
    'content-type': 'application/json',
    authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
  };
  const post = async (events: Record<string, unknown>[]): Promise<number> => {
    const res = await pool.request({
      path: '/v1/batch',
      method: 'POST',
      headers,
      body: JSON.stringify({ batch: events }),
    });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`gateway answered ${res.statusCode}`);
    return Date.now();
  };
  const watch = watchDeltaTable(new LocalFolderStore(lake), 'delta/tracks');
  try {
    // Warm-up: the pipeline is ready once a first event has reached Delta.
    const warmupDeadline = Date.now() + 180_000;
    for (;;) {
      const warm = event(`${run}-warm`, 0);
      try {
        await post([warm]);
        const until = Date.now() + 30_000;
        while (!watch.seenAt.has(String(warm.messageId)) && Date.now() < until) await sleep(200);
        if (watch.seenAt.has(String(warm.messageId))) break;
      } catch {
        // the gateway is still starting
      }
      if (Date.now() > warmupDeadline) throw new Error('the pipeline did not deliver a warm-up event to Delta');
      await sleep(1000);
    }

    const acked = new Map<string, number>();
    const requests = Math.round((RATE * SECONDS) / BATCH);
    const began = Date.now();
    const inFlight: Promise<void>[] = [];
    let failed = 0;
    for (let r = 0; r < requests; r++) {
      const due = began + (r * BATCH * 1000) / RATE;
      if (due > Date.now()) await sleep(due - Date.now());
      const events = Array.from({ length: BATCH }, (_, j) => event(run, r * BATCH + j));
      inFlight.push(
        post(events).then(
          (at) => {
            for (const e of events) if (e.type === 'track') acked.set(String(e.messageId), at);
          },
          () => {
            failed++;
          },
        ),
      );
    }
    await Promise.all(inFlight);
    const offeredSeconds = (Date.now() - began) / 1000;
    const deadline = Date.now() + 300_000;
    const missing = () => [...acked.keys()].filter((id) => !watch.seenAt.has(id)).length;
    while (missing() > 0 && Date.now() < deadline) await sleep(500);
    const lat = [...acked].flatMap(([id, at]) => {
      const seen = watch.seenAt.get(id);
      return seen === undefined ? [] : [seen - at];
    });
    lat.sort((a, b) => a - b);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      JSON.stringify({
        offeredEventsPerSecond: RATE,
        achievedEventsPerSecond: Math.round(((requests - failed) * BATCH) / offeredSeconds),
        seconds: SECONDS,
        failedRequests: failed,
        trackRowsAcked: acked.size,
        trackRowsSeen: lat.length,
        p50: s(quantile(lat, 0.5)),
        p95: s(quantile(lat, 0.95)),
        p99: s(quantile(lat, 0.99)),
        max: s(lat[lat.length - 1] ?? 0),
        loadAverage: os.loadavg().map((l) => Number(l.toFixed(1))),
      }),
    );
  } finally {
    await watch.stop();
    await pool.close();
    for (const c of children.reverse()) await stop(c);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
