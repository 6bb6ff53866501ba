// Router benchmark: deliveries/s of one router instance to a fast local webhook
// (one event per request, and batched), and a stalled destination next to a fast
// one. Needs Kafka and the schema registry (KAFKA_BROKERS, SCHEMA_REGISTRY_URL).
//
//   node --import tsx bench/router/run.ts [events=100000] [users=10000]
import { ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { deliverySettingsSchema, type DeliveryEnvelope } from '@sluice/delivery';
import { createKafka, destinationTopic, ensureTopics, topicName, TOPICS } from '@sluice/kafka';
import { createLogger, createMetricsRegistry } from '@sluice/observability';
import { AvroSerde } from '@sluice/serde';
import { routerConfigSchema } from '../../services/router/src/config';
import { startRouter } from '../../services/router/src/router';
import type { DestinationSpec } from '../../services/router/src/workspace';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
const N = Number(process.argv[2] ?? 100_000);
const USERS = Number(process.argv[3] ?? 10_000);
const log = createLogger('bench-router', process.env.LOG_LEVEL ?? 'error');
const kafka = createKafka({ brokers, clientId: 'bench-router', topicPrefix: '', ssl: false }, log);
const serde = new AvroSerde({ url: registryUrl });

interface Receiver {
  url: string;
  count(): Promise<{ events: number; requests: number }>;
  stop(): Promise<void>;
}

async function startReceiver(mode: 'ok' | 'stall'): Promise<Receiver> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'receiver.ts'), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) =>
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
  const url = `http://127.0.0.1:${port}/hook`;
  return {
    url,
    count: async () => (await (await fetch(url)).json()) as { events: number; requests: number },
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function produce(prefix: string, destinationId: string, n: number): Promise<void> {
  const topic = topicName(prefix, destinationTopic(destinationId).name);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [destinationTopic(destinationId), TOPICS.deadLetter], prefix);
  await admin.disconnect();
  await serde.bindTopic(topic, 'delivery-envelope');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const props = JSON.stringify({
    plan: 'pro',
    price: 12.5,
    items: [1, 2, 3],
    page: { path: '/checkout', title: 'Checkout' },
  });
  for (let i = 0; i < n; i += 2000) {
    const messages = [];
    for (let j = i; j < Math.min(n, i + 2000); j++) {
      const user = `user-${j % USERS}`;
      const payload = `{"type":"track","event":"Order Completed","messageId":"m-${j}","userId":"${user}","properties":${props},"timestamp":"2026-11-22T00:00:00.000Z"}`;
      const env: DeliveryEnvelope = {
        destinationId,
        sourceId: 'bench',
        messageId: `m-${j}`,
        partitionKey: user,
        acceptedAt: Date.now(),
        payload,
      };
      messages.push({ key: user, value: serde.encode(topic, 'delivery-envelope', env) });
    }
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
}

function config(prefix: string, delivery: Record<string, unknown>) {
  return routerConfigSchema.parse({
    kafka: { brokers, clientId: 'bench-router', topicPrefix: prefix },
    registry: { url: registryUrl },
    observability: { logLevel: 'error', metricsPort: 0 },
    workspaceFile: 'unused',
    delivery: deliverySettingsSchema.parse({ commitIntervalMs: 1000, maxQueuedPerPartition: 20_000, ...delivery }),
  });
}

const hook = (id: string, url: string, extra: Record<string, unknown> = {}): DestinationSpec => ({
  id,
  type: 'webhook',
  name: id,
  enabled: true,
  config: { url, ...extra },
});

/** When the first event arrived and when the n-th did. */
async function waitCount(r: Receiver, n: number, timeoutMs: number): Promise<{ first: number; end: number }> {
  const start = Date.now();
  let first = 0;
  for (;;) {
    const { events } = await r.count();
    if (events > 0 && first === 0) first = Date.now();
    if (events >= n) return { first, end: Date.now() };
    if (Date.now() - start > timeoutMs) throw new Error(`only ${events}/${n} delivered after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** Events pre-produced; time from router start to the last delivery. */
async function throughput(label: string, batch: number, inFlight: number, n: number) {
  const prefix = `bench-${randomBytes(3).toString('hex')}.`;
  const rx = await startReceiver('ok');
  await produce(prefix, 'fast', n);
  const start = Date.now();
  const router = await startRouter(config(prefix, { maxInFlightRequests: inFlight }), {
    log,
    registry: createMetricsRegistry('bench'),
    destinations: [hook('fast', rx.url, { maxBatchSize: batch, maxSockets: inFlight })],
  });
  const { first, end } = await waitCount(rx, n, 600_000);
  const { requests } = await rx.count();
  await router.stop();
  await rx.stop();
  // Steady state: first to last delivery (the group join before the first one is not delivery work).
  const secs = (end - first) / 1000;
  return {
    label,
    events: n,
    seconds: secs,
    perSecond: Math.round(n / secs),
    startupSeconds: (first - start) / 1000,
    requests,
  };
}

/** A fast destination alone, then next to one that never answers. */
async function isolation(n: number) {
  const out: Record<string, number[]> = { fastAlone: [], fastNextToStalled: [] };
  // Alternated, twice each: single runs on a 2-core machine are noisy.
  for (const withStalled of [false, true, false, true]) {
    const prefix = `bench-${randomBytes(3).toString('hex')}.`;
    const rx = await startReceiver('ok');
    const stalled = await startReceiver('stall');
    await produce(prefix, 'fast', n);
    if (withStalled) await produce(prefix, 'stalled', n);
    const dests = [hook('fast', rx.url, { maxBatchSize: 50 })];
    if (withStalled) dests.push(hook('stalled', stalled.url, { maxBatchSize: 50, timeoutMs: 5000 }));
    const start = Date.now();
    const router = await startRouter(config(prefix, { maxInFlightRequests: 16 }), {
      log,
      registry: createMetricsRegistry('bench'),
      destinations: dests,
    });
    const { first, end } = await waitCount(rx, n, 600_000);
    void start;
    await router.stop();
    await rx.stop();
    await stalled.stop();
    out[withStalled ? 'fastNextToStalled' : 'fastAlone'].push(Math.round(n / ((end - first) / 1000)));
  }
  return out;
}

async function main() {
  const cpus = os.cpus();
  const machine = `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
  process.stdout.write(`machine: ${machine}\nevents per run: ${N}, users: ${USERS}\n`);
  // ROUTER_BENCH_PER_EVENT=64,256 runs only the one-event-per-request scenario at those in-flight limits.
  const perEventOnly = process.env.ROUTER_BENCH_PER_EVENT;
  if (perEventOnly) {
    for (const inFlight of perEventOnly.split(',').map(Number)) {
      const r = await throughput(`1 event/request, ${inFlight} in flight`, 1, inFlight, N);
      process.stdout.write(`${JSON.stringify(r)}\n`);
    }
    return;
  }
  const rows = [
    await throughput('1 event/request, 64 in flight', 1, 64, N),
    await throughput('batches of 50, 16 in flight', 50, 16, N),
    await throughput('batches of 200, 8 in flight', 200, 8, N),
  ];
  for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  const iso = await isolation(N);
  process.stdout.write(`${JSON.stringify({ isolation: iso })}\n`);
  process.stdout.write('\n| scenario | events | seconds | deliveries/s | requests |\n|---|---|---|---|---|\n');
  for (const r of rows)
    process.stdout.write(`| ${r.label} | ${r.events} | ${r.seconds.toFixed(1)} | ${r.perSecond} | ${r.requests} |\n`);
  process.stdout.write(`| fast destination alone (batches of 50) | ${N} | | ${iso.fastAlone.join(', ')} | |\n`);
  process.stdout.write(
    `| fast destination next to a stalled one (batches of 50) | ${N} | | ${iso.fastNextToStalled.join(', ')} | |\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
    process.exit(1);
  },
);
