/**
 * Warehouse-loader benchmark (real Kafka + registry, loader in this process):
 *   1. throughput: N events pre-produced to a fresh processed topic, then one
 *      loader instance loads them into Delta (local folder, then S3 when
 *      S3_ENDPOINT is set): events/s and rows/s until every row is committed;
 *   2. latency: events produced at RATE/s for SECONDS; for each event, the time
 *      from the producer's ack (acks=all on sluice.events.processed) to the
 *      moment its tracks row is readable in Delta (its commit is in _delta_log);
 *   3. with BENCH_MODE=instances, the backlog loaded by BENCH_LOADER_INSTANCES (default 2) loader
 *      instances in one consumer group, each of LOADER_WORKERS processes (default 1); a local
 *      folder, or S3 with BENCH_INSTANCES_S3=1. Rows/s from spawn and after the first commit.
 *
 * KAFKA_BROKERS=… SCHEMA_REGISTRY_URL=… [S3_ENDPOINT=…] node --import tsx bench/loader/run.ts [events] [rate] [seconds]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { SegmentEvent, toEnvelope } from '@sluice/events';
import { Partitioners } from 'kafkajs';
import { createDurableProducer, createKafka, ensureTopics, TOPICS, topicName } from '@sluice/kafka';
import { S3Store } from '@sluice/lake';
import { createLogger, Lifecycle } from '@sluice/observability';
import { AvroSerde } from '@sluice/serde';
import { loadLoaderConfig } from '../../services/warehouse-loader/src/config';
import { startLoader } from '../../services/warehouse-loader/src/loader';
import { createStore } from '../../services/warehouse-loader/src/lake-sink';
import { quantile, watchDeltaTable } from '../support/delta-watch';

const N = Number(process.argv[2] ?? 100000);
const RATE = Number(process.argv[3] ?? 5000);
const SECONDS = Number(process.argv[4] ?? 60);
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const REGISTRY = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
const log = createLogger('bench-loader', 'warn');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function event(run: string, i: number): SegmentEvent {
  const now = new Date().toISOString();
  const kind = i % 10;
  const base = {
    messageId: `${run}-${i}`,
    anonymousId: `anon-${i % 5000}`,
    receivedAt: now,
    timestamp: now,
    context: { library: { name: 'bench' }, page: { path: `/p/${i % 50}` }, userAgent: 'Mozilla/5.0 bench' },
  };
  if (kind < 7)
    return {
      ...base,
      type: 'track',
      event: `Event ${i % 5}`,
      properties: { amount: i % 1000, currency: 'EUR', sku: `sku-${i % 300}`, qty: i % 5, discounted: i % 2 === 0 },
    };
  if (kind < 9)
    return {
      ...base,
      type: 'page',
      name: 'Home',
      properties: { path: `/p/${i % 50}`, referrer: 'https://example.com' },
    };
  return {
    ...base,
    type: 'identify',
    userId: `user-${i % 2000}`,
    traits: { plan: 'pro', seats: i % 9, email: `u${i % 2000}@example.com` },
  };
}

async function setup(prefix: string) {
  const kafka = createKafka(
    { brokers: BROKERS.split(','), clientId: 'bench-loader', topicPrefix: prefix, ssl: false },
    log,
  );
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [TOPICS.eventsProcessed, TOPICS.identityEdges], prefix);
  await admin.disconnect();
  const serde = new AvroSerde({ url: REGISTRY });
  const topic = topicName(prefix, TOPICS.eventsProcessed.name);
  await serde.bindTopic(topic, 'event-envelope');
  // acks=all; several requests in flight so one producer keeps up with the target rate.
  const producer =
    process.env.BENCH_IDEMPOTENT === '1'
      ? createDurableProducer(kafka)
      : kafka.producer({
          createPartitioner: Partitioners.DefaultPartitioner,
          allowAutoTopicCreation: false,
          maxInFlightRequests: 5,
        });
  await producer.connect();
  const send = async (events: SegmentEvent[]) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await producer.send({
          topic,
          acks: -1,
          messages: events.map((e) => ({
            key: String(e.anonymousId),
            value: serde.encode(topic, 'event-envelope', toEnvelope(e, { sourceId: 'bench' })),
          })),
        });
      } catch (err) {
        if (attempt > 30) throw err;
        await sleep(500);
      }
    }
  };
  return { producer, send };
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop());
  return sum;
}

/** A fresh processed topic holding N events: the backlog the throughput runs load. */
async function backlog(): Promise<{ run: string; prefix: string }> {
  const run = randomBytes(4).toString('hex');
  const prefix = `bench-${run}.`;
  const { producer, send } = await setup(prefix);
  for (let i = 0; i < N; i += 1000)
    await send(Array.from({ length: Math.min(1000, N - i) }, (_, k) => event(run, i + k)));
  await producer.disconnect();
  return { run, prefix };
}

/** Rows a loader has committed to the per-event standard tables: one per event of the backlog. */
async function eventRowsLoaded(port: number): Promise<number> {
  return (
    (await metric(port, 'sluice_loader_rows_loaded_total{table="tracks"')) +
    (await metric(port, 'sluice_loader_rows_loaded_total{table="pages"')) +
    (await metric(port, 'sluice_loader_rows_loaded_total{table="identifies"'))
  );
}

async function throughput(lakeUrl: string, extraEnv: Record<string, string>): Promise<string> {
  const { run, prefix } = await backlog();
  const config = loadLoaderConfig({
    ...process.env,
    ...extraEnv,
    SLUICE_TOPIC_PREFIX: prefix,
    LOADER_GROUP_ID: `bench-${run}`,
    LAKE_URL: lakeUrl,
    METRICS_PORT: '0',
    LOADER_IDENTITY: 'false',
    LOG_LEVEL: 'warn',
  });
  const lifecycle = new Lifecycle(log);
  const started = Date.now();
  // CPU of this process and the main thread's busy share while loading: whether the loader waits
  // (on Kafka, the store) or computes.
  const cpuBefore = process.cpuUsage();
  const eluBefore = performance.eventLoopUtilization();
  const loader = await startLoader(config, log, lifecycle);
  let events = 0;
  // The first commits wait for the group join and the first flush timer; after them the loader
  // is catching up on a backlog, which is its throughput.
  let first: { at: number; events: number; rows: number } | undefined;
  while (events < N) {
    await sleep(250);
    events = await eventRowsLoaded(loader.metricsPort);
    if (!first && events > 0 && events < N)
      first = { at: Date.now(), events, rows: await metric(loader.metricsPort, 'sluice_loader_rows_loaded_total') };
  }
  const end = Date.now();
  const cpu = process.cpuUsage(cpuBefore);
  const busy = performance.eventLoopUtilization(eluBefore).utilization;
  const secs = (end - started) / 1000;
  const rows = await metric(loader.metricsPort, 'sluice_loader_rows_loaded_total');
  await lifecycle.stop();
  const where = lakeUrl.startsWith('s3') ? 'S3 (moto)' : 'local folder';
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const overall =
    `${N} events in ${secs.toFixed(1)} s from start-up → ${Math.round(N / secs)} events/s, ` +
    `${Math.round(rows / secs)} rows/s, ${Math.round(rows / cpuSecs)} rows per CPU-second, main thread ${busy.toFixed(2)} busy`;
  if (!first) return `${where}: ${overall}`;
  const steadySecs = (end - first.at) / 1000;
  return `${where}: ${overall}; after the first commit ${Math.round((N - first.events) / steadySecs)} events/s, ${Math.round((rows - first.rows) / steadySecs)} rows/s`;
}

async function latency(): Promise<string> {
  const run = randomBytes(4).toString('hex');
  const prefix = `bench-${run}.`;
  const lake = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-loader-'));
  const { producer, send } = await setup(prefix);
  const loaderEnv = {
    SLUICE_TOPIC_PREFIX: prefix,
    LOADER_GROUP_ID: `bench-${run}`,
    LAKE_URL: lake,
    METRICS_PORT: '0',
    LOADER_IDENTITY: 'false',
    LOG_LEVEL: 'warn',
  };
  const config = loadLoaderConfig({ ...process.env, ...loaderEnv });
  // The loader runs as its own process (as deployed); this process plays the processor.
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/warehouse-loader/src/main.ts'], {
    env: { ...process.env, ...loaderEnv },
    stdio: 'inherit',
  });
  await sleep(8000);
  const acked = new Map<string, number>();
  const store = createStore(config.lake);
  const watch = watchDeltaTable(store, 'delta/tracks');
  const tick = 100;
  const perTick = Math.round((RATE * tick) / 1000);
  const start = Date.now();
  let i = 0;
  const sends: Promise<void>[] = [];
  while (Date.now() - start < SECONDS * 1000) {
    const batch = Array.from({ length: perTick }, () => event(run, i++));
    sends.push(
      send(batch).then(() => {
        const t = Date.now();
        for (const e of batch) if (e.type === 'track') acked.set(e.messageId, t);
      }),
    );
    const next = start + Math.ceil((Date.now() - start + 1) / tick) * tick;
    await sleep(Math.max(0, next - Date.now()));
  }
  const produced = i;
  const elapsed = (Date.now() - start) / 1000;
  await Promise.all(sends);
  const deadline = Date.now() + 60000;
  const allSeen = () => [...acked.keys()].every((id) => watch.seenAt.has(id));
  while (!allSeen() && Date.now() < deadline) await sleep(200);
  await watch.stop();
  await producer.disconnect();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const lat = [...acked].flatMap(([id, t]) => {
    const seen = watch.seenAt.get(id);
    return seen === undefined ? [] : [seen - t];
  });
  lat.sort((a, b) => a - b);
  const q = (p: number) => quantile(lat, p);
  return `latency at ${Math.round(produced / elapsed)} events/s for ${SECONDS} s (local folder, flush ${config.flush.intervalMs} ms / ${config.flush.maxEvents} events): ${lat.length}/${acked.size} track rows seen; ack → readable in Delta p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, p99 ${q(0.99)} ms, max ${lat[lat.length - 1]} ms`;
}

/**
 * BENCH_MODE=instances: the same backlog loaded by BENCH_LOADER_INSTANCES loader processes in one
 * consumer group (local folder), as deployed: rows/s of them together, start-up included.
 */
async function instances(count: number): Promise<string> {
  const { run, prefix } = await backlog();
  // BENCH_INSTANCES_S3=1 (with S3_ENDPOINT): into a bucket instead of a local folder.
  const s3 = process.env.BENCH_INSTANCES_S3 === '1' ? await s3Lake() : undefined;
  const lake = s3?.url ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-loader-'));
  const basePort = 39400 + Math.floor(Math.random() * 500);
  const started = Date.now();
  const children = Array.from({ length: count }, (_, k) =>
    spawn(process.execPath, ['--import', 'tsx', 'services/warehouse-loader/src/main.ts'], {
      env: {
        ...process.env,
        ...s3?.env,
        SLUICE_TOPIC_PREFIX: prefix,
        LOADER_GROUP_ID: `bench-${run}`,
        LAKE_URL: lake,
        METRICS_PORT: String(basePort + k),
        LOADER_IDENTITY: 'false',
        LOG_LEVEL: 'warn',
      },
      stdio: 'inherit',
    }),
  );
  const total = async (f: (port: number) => Promise<number>) => {
    let sum = 0;
    // A process still starting has no metrics endpoint yet: it has loaded nothing.
    for (let k = 0; k < count; k++) sum += await f(basePort + k).catch(() => 0);
    return sum;
  };
  const allRows = () => total((port) => metric(port, 'sluice_loader_rows_loaded_total'));
  // As in the throughput mode: from the first commit on, the instances are catching up on a backlog.
  let first: { at: number; rows: number } | undefined;
  for (let events = 0; events < N;) {
    if (Date.now() - started > 600_000) throw new Error('the loaders did not finish in 10 minutes');
    await sleep(250);
    events = await total(eventRowsLoaded);
    if (!first && events > 0 && events < N) first = { at: Date.now(), rows: await allRows() };
  }
  const end = Date.now();
  const secs = (end - started) / 1000;
  const rows = await allRows();
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => new Promise((r) => child.once('exit', r))));
  const steady = first
    ? `; after the first commit ${Math.round((rows - first.rows) / ((end - first.at) / 1000))} rows/s`
    : '';
  return `${count} loader instance(s) of LOADER_WORKERS=${process.env.LOADER_WORKERS ?? 1}, ${s3 ? 'S3 (moto)' : 'local folder'}: ${N} events in ${secs.toFixed(1)} s from spawn → ${Math.round(rows / secs)} rows/s together${steady}`;
}

/** A fresh bucket on S3_ENDPOINT (moto), its lake URL and the loader's credentials for it. */
async function s3Lake(): Promise<{ url: string; env: Record<string, string> }> {
  const bucket = `bench-loader-${randomBytes(4).toString('hex')}`;
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  await new S3Store({
    bucket,
    endpoint: process.env.S3_ENDPOINT,
    region: 'us-east-1',
    credentials,
    forcePathStyle: true,
  }).client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    url: `s3://${bucket}/lake`,
    env: { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' },
  };
}

async function main() {
  const mode = process.env.BENCH_MODE ?? 'all';
  const out: string[] = [];
  if (mode === 'all' || mode === 'throughput') {
    out.push(await throughput(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-loader-')), {}));
    console.log(out[out.length - 1]);
    if (process.env.S3_ENDPOINT) {
      const s3 = await s3Lake();
      out.push(await throughput(s3.url, s3.env));
      console.log(out[out.length - 1]);
    }
  }
  if (mode === 'instances') {
    out.push(await instances(Number(process.env.BENCH_LOADER_INSTANCES ?? 2)));
    console.log(out[out.length - 1]);
  }
  if (mode === 'all' || mode === 'latency') {
    out.push(await latency());
    console.log(out[out.length - 1]);
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
