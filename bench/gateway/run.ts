/**
 * Gateway benchmark: starts the gateway (node:cluster, as in production)
 * against the local Kafka and drives it on loopback with autocannon using
 * ~1 KB track events, in batches of 100 and of 1; then the ack latency at
 * half the target load; and, as the ceiling, Kafka's own throughput for a
 * KafkaJS producer alone with the same records.
 *
 *   npm run bench:gateway        (node --import tsx bench/gateway/run.ts)
 *
 * Env: KAFKA_BROKERS (127.0.0.1:9092), SCHEMA_REGISTRY_URL (http://127.0.0.1:8081),
 * BENCH_DURATION (s, 60; the batch-of-100 run), BENCH_SHORT_DURATION (s, 20; the other runs),
 * BENCH_WORKERS (gateway processes; 1), BENCH_ENCODER_THREADS (the gateway's default: one per core),
 * BENCH_CONNECTIONS (32),
 * BENCH_TARGET_EPS (20000; the half-load run uses half), BENCH_ONLY (comma list of
 * scenario names: ceiling,batch100,batch1,halfload,halfload-open), BENCH_JSON (write results there),
 * BENCH_GATEWAY_ENTRY (node arguments that start the gateway; default the bundle built from the
 * sources), BENCH_DUMP_METRICS (print the gateway's latency histograms and heap after the runs).
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { toEnvelope, AcceptedEvent, partitionKey } from '@sluice/events';
import { createKafka, ensureTopics, TOPICS, topicName } from '@sluice/kafka';
import { createLogger } from '@sluice/observability';
import { AvroSerde } from '@sluice/serde';
import { loadGatewayConfig } from '../../services/gateway/src/config';
import { kafkajsSink, platformaticSink, ProducerSink } from '../../services/gateway/src/producer';

process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
const ROOT = path.resolve(__dirname, '../..');
const env = process.env;
const BROKERS = env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const REGISTRY = env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
const DURATION = Number(env.BENCH_DURATION ?? 60);
const SHORT = Number(env.BENCH_SHORT_DURATION ?? 20);
// Unset: the gateway's own defaults (one process, an encoder thread per core; decision 0508).
const WORKERS = Number(env.BENCH_WORKERS ?? 1);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 32);
const TARGET_EPS = Number(env.BENCH_TARGET_EPS ?? 20000);
const ONLY = new Set(
  (env.BENCH_ONLY ?? 'ceiling,batch100,batch1,halfload,halfload-open').split(',').map((s) => s.trim()),
);
const log = createLogger('bench-gateway', 'warn');
const run = `${Date.now().toString(36)}`;
const PREFIX = `bench-gw-${run}.`;
const WRITE_KEY = `bench-key-${run}`;

/** A realistic browser track call: ~1 KB of JSON. */
function makeEvent(i: number): Record<string, unknown> {
  const user = i % 5000;
  return {
    type: 'track',
    messageId: `bench-${run}-${i}-${Math.random().toString(36).slice(2, 10)}`,
    anonymousId: `anon-${user.toString(16).padStart(8, '0')}-4c1e-9a6b-${user}`,
    userId: `user-${user}`,
    event: 'Product Added',
    timestamp: new Date().toISOString(),
    properties: {
      product_id: `sku-${i % 997}`,
      name: 'Ergonomic Granite Chair',
      category: 'Furniture',
      brand: 'Sluice Home',
      price: 129.99,
      quantity: 1 + (i % 3),
      currency: 'USD',
      position: i % 12,
      coupon: null,
      url: `https://shop.example.com/products/sku-${i % 997}`,
    },
    context: {
      library: { name: 'analytics.js', version: '5.2.1' },
      page: {
        path: '/products',
        referrer: 'https://www.example.org/search?q=chair',
        title: 'Chairs',
        url: 'https://shop.example.com/products',
      },
      userAgent:
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      locale: 'en-US',
      timezone: 'Europe/Berlin',
      screen: { width: 1920, height: 1080, density: 1 },
      campaign: { name: 'winter_sale', source: 'newsletter', medium: 'email' },
    },
    integrations: { All: true },
  };
}

function makeBodies(batchSize: number, count: number): string[] {
  let n = 0;
  return Array.from({ length: count }, () =>
    JSON.stringify({
      batch: Array.from({ length: batchSize }, () => makeEvent(n++)),
      sentAt: new Date().toISOString(),
    }),
  );
}

// ---------- process-tree RSS sampling ----------
function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
/**
 * Proportional set size: each page shared by n processes counts 1/n. Summed over the gateway's
 * processes it counts the node binary and shared libraries once, as a container's memory limit does,
 * where the sum of RSS counts them once per process.
 */
function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}
/** utime + stime of a process in seconds (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
class RssSampler {
  peakTotalKb = 0;
  peakProcessKb = 0;
  /** The process the bench started (the cluster's primary when WORKERS > 1). */
  peakFirstKb = 0;
  peakPssTotalKb = 0;
  private samples = 0;
  private cpuStart = 0;
  /** CPU seconds the gateway's processes used since reset(). */
  cpuUsed(): number {
    return this.cpuNow() - this.cpuStart;
  }
  private cpuNow(): number {
    return this.pids().reduce((a, p) => a + cpuSeconds(p), 0);
  }
  private children: number[] | undefined;
  /** The gateway and its workers; the workers are looked up once, as a scan of /proc every sample would stall the load driver. */
  private pids(): number[] {
    this.children ??= childrenOf(this.pid);
    return [this.pid, ...this.children];
  }
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly pid: number) {}
  start(): void {
    const sample = () => {
      const each = this.pids().map(rssKb);
      this.peakTotalKb = Math.max(
        this.peakTotalKb,
        each.reduce((a, b) => a + b, 0),
      );
      this.peakProcessKb = Math.max(this.peakProcessKb, ...each);
      this.peakFirstKb = Math.max(this.peakFirstKb, each[0] ?? 0);
      // smaps_rollup walks the page tables: once a second is enough.
      if (this.samples++ % 4 === 0) {
        this.peakPssTotalKb = Math.max(
          this.peakPssTotalKb,
          this.pids()
            .map(pssKb)
            .reduce((a, b) => a + b, 0),
        );
      }
    };
    sample();
    this.timer = setInterval(sample, 250);
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
  reset(): void {
    this.peakTotalKb = 0;
    this.peakProcessKb = 0;
    this.peakFirstKb = 0;
    this.peakPssTotalKb = 0;
    this.cpuStart = this.cpuNow();
  }
}

// ---------- the gateway under test ----------
async function startGatewayProcess(workspaceFile: string): Promise<{ child: ChildProcess; url: string }> {
  const port = 18080 + Math.floor(Math.random() * 1000);
  // As `make up` runs it: the bundle, built from the current sources (decision 0507).
  // BENCH_GATEWAY_ENTRY runs something else, e.g. `--import tsx services/gateway/src/main.ts`.
  const entry = env.BENCH_GATEWAY_ENTRY;
  if (!entry) execFileSync(process.execPath, ['deploy/build.mjs', 'gateway'], { cwd: ROOT, stdio: 'ignore' });
  const args = entry ? entry.split(' ') : ['dist/gateway/main.js'];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      WORKERS: String(WORKERS),
      ...(env.BENCH_ENCODER_THREADS ? { ENCODER_THREADS: env.BENCH_ENCODER_THREADS } : {}),
      WORKSPACE_FILE: workspaceFile,
      KAFKA_BROKERS: BROKERS,
      SCHEMA_REGISTRY_URL: REGISTRY,
      SLUICE_TOPIC_PREFIX: PREFIX,
      LOG_LEVEL: 'warn',
      MAX_BATCH_BYTES: String(4 * 1024 * 1024),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) {
        // Every worker must be up: ask a few times over fresh connections.
        let ok = 0;
        for (let i = 0; i < 4 * WORKERS; i++) if ((await fetch(`${url}/health`)).status === 200) ok++;
        if (ok === 4 * WORKERS) return { child, url };
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error('gateway did not become ready in 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stopGatewayProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

interface LoadResult {
  name: string;
  batch: number;
  connections: number;
  seconds: number;
  requests: number;
  non2xx: number;
  errors: number;
  eventsPerSec: number;
  p50: number;
  p90: number;
  p99: number;
  peakRssMb: number;
  peakProcessRssMb: number;
  /** The primary's share (WORKERS > 1) or the whole gateway (WORKERS=1). */
  peakPrimaryRssMb: number;
  peakPssMb: number;
  /** Gateway CPU (all its processes) per acknowledged event, in microseconds. */
  cpuUsPerEvent: number;
  /** Cores the gateway's processes used on average. */
  gatewayCores: number;
}

function drive(
  name: string,
  url: string,
  bodies: string[],
  batch: number,
  seconds: number,
  connections: number,
  sampler: RssSampler,
  overallRate?: number,
): Promise<LoadResult> {
  let i = 0;
  sampler.reset();
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}/v1/batch`,
        method: 'POST',
        connections,
        duration: seconds,
        overallRate,
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
        },
        requests: [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
      },
      (err, res) => {
        if (err) return reject(err);
        const ok = res['2xx'];
        const cpu = sampler.cpuUsed();
        resolve({
          name,
          batch,
          connections,
          seconds,
          requests: ok,
          non2xx: res.non2xx,
          errors: res.errors + res.timeouts,
          eventsPerSec: Math.round((ok * batch) / res.duration),
          p50: res.latency.p50,
          p90: res.latency.p90,
          p99: res.latency.p99,
          peakRssMb: Math.round(sampler.peakTotalKb / 1024),
          peakProcessRssMb: Math.round(sampler.peakProcessKb / 1024),
          peakPrimaryRssMb: Math.round(sampler.peakFirstKb / 1024),
          peakPssMb: Math.round(sampler.peakPssTotalKb / 1024),
          cpuUsPerEvent: ok > 0 ? Math.round((cpu * 1e6) / (ok * batch)) : 0,
          gatewayCores: Math.round((cpu / res.duration) * 100) / 100,
        });
      },
    );
  });
}

/**
 * Open loop at a fixed rate with undici: a request leaves every 1/rate s whether or not earlier
 * ones were answered, so queueing shows in the latency. Unlike autocannon's client, undici
 * disables Nagle's algorithm (as SDK HTTP clients do); with Nagle on, the tail segment of a
 * 93 KB body waits for the server's delayed ACK, which adds up to ~40 ms per request on loopback.
 */
async function driveOpenLoop(
  name: string,
  url: string,
  bodies: string[],
  batch: number,
  seconds: number,
  rate: number,
  sampler: RssSampler,
): Promise<LoadResult> {
  sampler.reset();
  const pool = new Pool(url, { connections: 64 });
  const headers = {
    'content-type': 'application/json',
    authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
  };
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  const total = Math.round(rate * seconds);
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(
      pool
        .request({ path: '/v1/batch', method: 'POST', headers, body: bodies[i % bodies.length] })
        .then(async (res) => {
          await res.body.dump();
          // From the scheduled send time: a late send counts against the latency.
          latencies.push(performance.now() - due);
          if (res.statusCode < 200 || res.statusCode >= 300) non2xx++;
        })
        .catch(() => {
          errors++;
        }),
    );
  }
  await Promise.all(inFlight);
  const duration = (performance.now() - start) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  const ok = latencies.length - non2xx;
  const cpu = sampler.cpuUsed();
  return {
    name,
    batch,
    connections: 64,
    seconds,
    requests: ok,
    non2xx,
    errors,
    eventsPerSec: Math.round((ok * batch) / duration),
    p50: pct(0.5),
    p90: pct(0.9),
    p99: pct(0.99),
    peakRssMb: Math.round(sampler.peakTotalKb / 1024),
    peakProcessRssMb: Math.round(sampler.peakProcessKb / 1024),
    peakPrimaryRssMb: Math.round(sampler.peakFirstKb / 1024),
    peakPssMb: Math.round(sampler.peakPssTotalKb / 1024),
    cpuUsPerEvent: ok > 0 ? Math.round((cpu * 1e6) / (ok * batch)) : 0,
    gatewayCores: Math.round((cpu / duration) * 100) / 100,
  };
}

// ---------- Kafka alone: the ceiling ----------
interface Ceiling {
  producer: string;
  recordsPerSec: number;
  recordBytes: number;
  batch: number;
  mbPerSec: number;
  /** CPU of the producing process, in cores. */
  cpuCores: number;
}

/**
 * The gateway's produce path alone, without HTTP: its records (the Avro envelope of the same
 * ~1 KB events), its call size and calls in flight, acks=all — for each producer it can use.
 */
async function kafkaCeiling(seconds: number): Promise<Ceiling[]> {
  const config = { brokers: BROKERS.split(','), clientId: 'bench-ceiling', topicPrefix: PREFIX, ssl: false };
  const kafka = createKafka(config, log);
  const admin = kafka.admin();
  await admin.connect();
  const base = { ...TOPICS.eventsRaw, name: `ceiling.${TOPICS.eventsRaw.name}` };
  await ensureTopics(admin, [base], PREFIX);
  const topic = topicName(PREFIX, base.name);
  const serde = new AvroSerde({ url: REGISTRY });
  await serde.bindTopic(topic, 'event-envelope');
  const now = Date.now();
  const records = Array.from({ length: 5000 }, (_, i) => {
    const ev = { ...makeEvent(i), receivedAt: new Date(now).toISOString() } as AcceptedEvent;
    return {
      key: partitionKey(ev),
      value: serde.encode(topic, 'event-envelope', toEnvelope(ev, { sourceId: 'bench', requestIp: '127.0.0.1' })),
    };
  });
  const recordBytes = Math.round(records.reduce((a, r) => a + r.value.length, 0) / records.length);
  const batch = Math.floor((900 * 1024) / (recordBytes + 40));
  const out: Ceiling[] = [];
  const modes = [
    {
      name: '@platformatic/kafka, acks=all, 3 calls in flight (gateway default)',
      env: { KAFKA_PRODUCER: 'platformatic' },
    },
    { name: 'KafkaJS, acks=all, 3 calls in flight', env: { KAFKA_PRODUCER: 'kafkajs' } },
    {
      name: 'KafkaJS idempotent, acks=all, 1 call in flight',
      env: { KAFKA_PRODUCER: 'kafkajs', KAFKA_IDEMPOTENT: 'true' },
    },
  ];
  for (const mode of modes) {
    const gwConfig = loadGatewayConfig({ WORKSPACE_FILE: 'unused', KAFKA_BROKERS: BROKERS, ...mode.env });
    const sink: ProducerSink =
      gwConfig.kafkaProducer === 'platformatic' && !gwConfig.kafkaIdempotent
        ? await platformaticSink(topic, gwConfig)
        : await kafkajsSink(kafka, topic, gwConfig);
    let sent = 0;
    let offset = 0;
    const started = Date.now();
    const c0 = process.cpuUsage();
    await Promise.all(
      Array.from({ length: sink.inflight }, async () => {
        while (Date.now() - started < seconds * 1000) {
          const msgs = [];
          for (let k = 0; k < batch; k++) msgs.push(records[(offset + k) % records.length]);
          offset += batch;
          await sink.send(msgs);
          sent += batch;
        }
      }),
    );
    const elapsed = (Date.now() - started) / 1000;
    const cpu = process.cpuUsage(c0);
    await sink.close();
    const recordsPerSec = Math.round(sent / elapsed);
    out.push({
      producer: mode.name,
      recordsPerSec,
      recordBytes,
      batch,
      mbPerSec: Math.round((recordsPerSec * recordBytes) / 1e5) / 10,
      cpuCores: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 100) / 100,
    });
  }
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  return out;
}

async function topicRecordCount(topic: string): Promise<number> {
  const kafka = createKafka({ brokers: BROKERS.split(','), clientId: 'bench-count', topicPrefix: '', ssl: false }, log);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((a, p) => a + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function deleteTopic(topic: string): Promise<void> {
  const kafka = createKafka({ brokers: BROKERS.split(','), clientId: 'bench-clean', topicPrefix: '', ssl: false }, log);
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
}

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  const machine = `${os.availableParallelism()} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`;
  console.log(
    `# gateway benchmark\nmachine: ${machine}\ngateway workers: ${WORKERS}, encoder threads: ${env.BENCH_ENCODER_THREADS ?? 'default'}, autocannon connections: ${CONNECTIONS}\nload average at start: ${load()}\n`,
  );
  const results: Record<string, unknown> = {
    machine,
    workers: WORKERS,
    connections: CONNECTIONS,
    date: new Date().toISOString(),
  };

  if (ONLY.has('ceiling')) {
    const ceilings = await kafkaCeiling(SHORT);
    results.ceiling = ceilings;
    for (const c of ceilings) {
      console.log(
        `Kafka alone (${c.producer}, ${c.batch} records of ${c.recordBytes} B per call): ${c.recordsPerSec} records/s (${c.mbPerSec} MB/s, ${c.cpuCores} cores of the producing process)`,
      );
    }
  }

  if (!['batch100', 'halfload', 'halfload-open', 'batch1'].some((n) => ONLY.has(n))) {
    if (env.BENCH_JSON) fs.writeFileSync(env.BENCH_JSON, JSON.stringify(results, null, 2));
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-gw-'));
  const workspace = path.join(dir, 'workspace.json');
  fs.writeFileSync(
    workspace,
    JSON.stringify({ sources: [{ id: 'bench', name: 'Bench', type: 'http', writeKey: WRITE_KEY, enabled: true }] }),
  );
  const { child, url } = await startGatewayProcess(workspace);
  const sampler = new RssSampler(child.pid!);
  sampler.start();
  const loads: LoadResult[] = [];
  try {
    const bodies100 = makeBodies(100, 50);
    console.log(
      `batch-of-100 body: ${Buffer.byteLength(bodies100[0])} bytes (${Math.round(Buffer.byteLength(bodies100[0]) / 100)} B per event)`,
    );
    // Warm up JITs, connections and the producer.
    await drive('warmup', url, bodies100, 100, 5, CONNECTIONS, sampler);
    if (ONLY.has('batch100'))
      loads.push(await drive('batch of 100, max rate', url, bodies100, 100, DURATION, CONNECTIONS, sampler));
    if (ONLY.has('halfload')) {
      const rate = Math.round(TARGET_EPS / 2 / 100);
      loads.push(
        await drive(`batch of 100, ${rate * 100} events/s offered`, url, bodies100, 100, SHORT, 16, sampler, rate),
      );
    }
    if (ONLY.has('halfload-open')) {
      const rate = Math.round(TARGET_EPS / 2 / 100);
      loads.push(
        await driveOpenLoop(
          `batch of 100, ${rate * 100} events/s, open loop (undici)`,
          url,
          bodies100,
          100,
          SHORT,
          rate,
          sampler,
        ),
      );
    }
    if (ONLY.has('batch1')) {
      const bodies1 = makeBodies(1, 2000);
      loads.push(await drive('batch of 1, max rate', url, bodies1, 1, SHORT, CONNECTIONS, sampler));
    }
    if (env.BENCH_DUMP_METRICS) {
      const text = await (await fetch(`${url}/metrics`)).text();
      console.log(
        text
          .split('\n')
          .filter((l) =>
            /ack_latency_seconds_bucket|produce_latency_seconds_bucket|^nodejs_heap_space_size_total|^nodejs_external_memory|^process_resident_memory|^nodejs_heap_size_total/.test(
              l,
            ),
          )
          .join('\n'),
      );
    }
  } finally {
    sampler.stop();
    await stopGatewayProcess(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const topic = topicName(PREFIX, TOPICS.eventsRaw.name);
  const written = await topicRecordCount(topic);
  const acked = loads.reduce((a, l) => a + l.requests * l.batch, 0);
  await deleteTopic(topic);
  results.loads = loads;
  results.recordsInTopic = written;

  console.log(
    '\n| run | events/s acked | p50 ms | p90 ms | p99 ms | non-2xx | errors | peak RSS total / largest process / primary (MB) | peak PSS total (MB) | gateway cores used | gateway CPU µs/event |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const l of loads) {
    console.log(
      `| ${l.name} (${l.seconds} s, ${l.connections} conns) | ${l.eventsPerSec} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.non2xx} | ${l.errors} | ${l.peakRssMb} / ${l.peakProcessRssMb} / ${l.peakPrimaryRssMb} | ${l.peakPssMb} | ${l.gatewayCores} | ${l.cpuUsPerEvent} |`,
    );
  }
  console.log(
    `\nrecords in events.raw: ${written} (acknowledged events in measured runs: ${acked}; the warm-up adds the rest)`,
  );
  if (written < acked) throw new Error('fewer records in the topic than acknowledged events');
  console.log(`load average at the end: ${load()}`);
  if (env.BENCH_JSON) fs.writeFileSync(env.BENCH_JSON, JSON.stringify(results, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
