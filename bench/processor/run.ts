// Events/s through one processor instance on the real path: events.raw (Avro) →
// dedupe, plans, fan-out (and a user transformation) → destination topics, in
// Kafka transactions. Usage: node --import tsx bench/processor/run.ts [events]
// (BENCH_SCENARIOS=1,3 for a subset, BENCH_CPU_PROFILE=DIR for CPU profiles, BENCH_HEAP_PROFILE=DIR for allocation profiles,
// BENCH_BROKER_PID=<pid> to count a local broker's CPU too, BENCH_REPEAT=N for medians of N runs).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { kafkaConfigSchema, registryConfigSchema } from '@sluice/config';
import { partitionKey, toEnvelope } from '@sluice/events';
import { createKafka, destinationTopic, ensureTopics, TOPICS, topicName } from '@sluice/kafka';
import { createLogger } from '@sluice/observability';
import { AvroSerde } from '@sluice/serde';
import { loadProcessorConfig, startProcessor } from '../../services/processor/src';
import { sandboxRunner } from '../../services/processor/src/sandbox-runner';
import { benchEvent as event } from './events';

const total = Number(process.argv[2] ?? 100_000);
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
const log = createLogger('bench-processor', 'warn');

/** CPU seconds of the broker's process so far (Linux), when BENCH_BROKER_PID names it. */
function brokerCpuSeconds(): number | undefined {
  const pid = process.env.BENCH_BROKER_PID;
  if (!pid) return undefined;
  // Fields 14 and 15 of /proc/<pid>/stat are user and system time in clock ticks (100 per second).
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function run(label: string, withTransformation: boolean, withConsent = false): Promise<number> {
  const prefix = `bench-proc-${randomBytes(4).toString('hex')}.`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-proc-'));
  const file = path.join(dir, 'workspace.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      sources: [{ id: 'web', name: 'Web', type: 'http', writeKey: 'bench-write-key' }],
      destinations: [
        {
          id: 'hooks',
          name: 'Hooks',
          type: 'webhook',
          config: { url: 'http://127.0.0.1:9/' },
          // A consent category makes the processor parse every event's free-form fields to plan.
          ...(withConsent ? { consentCategories: ['analytics'] } : {}),
        },
      ],
      connections: [
        { sourceId: 'web', destinationId: 'hooks', ...(withTransformation ? { transformationId: 'simple' } : {}) },
      ],
      transformations: [
        {
          id: 'simple',
          name: 'Simple',
          code:
            'export function transformEvent(e) { if (/^bot/i.test(String(e.context && e.context.userAgent))) return null;' +
            ' e.properties = { ...e.properties, revenue: (e.properties && e.properties.price || 0) * 1.2 };' +
            ' if (e.event) e.event = e.event.toLowerCase(); return e; }',
        },
      ],
    }),
  );
  const kafka = createKafka(kafkaConfigSchema.parse({ brokers: brokers.split(','), clientId: 'bench' }), log);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    [
      TOPICS.eventsRaw,
      TOPICS.eventsProcessed,
      TOPICS.identityEdges,
      TOPICS.deadLetter,
      TOPICS.dedupeChangelog,
      destinationTopic('hooks'),
    ],
    prefix,
  );
  await admin.disconnect();
  const serde = new AvroSerde(registryConfigSchema.parse({ url: registryUrl }));
  const raw = topicName(prefix, TOPICS.eventsRaw.name);
  await serde.bindTopic(raw, 'event-envelope');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let bytes = 0;
  for (let i = 0; i < total; i += 2000) {
    const messages = [];
    for (let j = i; j < Math.min(total, i + 2000); j++) {
      const e = event(j);
      const value = serde.encode(raw, 'event-envelope', toEnvelope(e, { sourceId: 'web' }));
      bytes += value.length;
      messages.push({ key: partitionKey(e), value });
    }
    await producer.send({ topic: raw, acks: -1, messages });
  }
  await producer.disconnect();

  const config = loadProcessorConfig({
    KAFKA_BROKERS: brokers,
    SCHEMA_REGISTRY_URL: registryUrl,
    SLUICE_TOPIC_PREFIX: prefix,
    WORKSPACE_FILE: file,
    METRICS_PORT: '0',
    PROCESSOR_INSTANCE_ID: 'bench',
    LOG_LEVEL: 'warn',
    // Settings under test, e.g. PROCESSOR_MAX_BYTES_PER_PARTITION.
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('PROCESSOR_'))),
  });
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const started = Date.now();
  // BENCH_CPU_PROFILE=DIR writes a CPU profile of the processing phase (open it in Chrome's DevTools).
  // BENCH_HEAP_PROFILE=DIR writes a sampling profile of what the processing phase allocates.
  const profileDir = process.env.BENCH_CPU_PROFILE;
  const heapProfileDir = process.env.BENCH_HEAP_PROFILE;
  const profiler = profileDir || heapProfileDir ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    if (profileDir) {
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    if (heapProfileDir) {
      await profiler.post('HeapProfiler.enable');
      // Sampled objects are kept in the profile even once collected: allocation, not retention.
      await profiler.post('HeapProfiler.startSampling', {
        samplingInterval: 32768,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    }
  }
  // CPU of this process (all its threads) and the main thread's busy share from its start-up until the last event:
  // steadier than events/s on a machine the broker shares.
  const cpuBefore = process.cpuUsage();
  const brokerBefore = brokerCpuSeconds();
  const eluBefore = performance.eventLoopUtilization();
  const processor = await startProcessor(config, log, (store) => sandboxRunner(store, config, log));
  let done = 0;
  let firstAt = 0;
  while (done < total) {
    await new Promise((r) => setTimeout(r, 200));
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const metric = await processor.registry.getSingleMetric('sluice_processor_events_total')?.get();
    done = (metric?.values ?? []).reduce((s, v) => s + v.value, 0);
    if (done > 0 && firstAt === 0) firstAt = Date.now();
    if (Date.now() - started > 600_000) throw new Error(`only ${done} of ${total} processed in 10 minutes`);
  }
  const seconds = (Date.now() - firstAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const elu = performance.eventLoopUtilization(eluBefore);
  const brokerAfter = brokerCpuSeconds();
  // A histogram's values carry their series name (…_bucket, …_sum, …_count).
  const batchValues = ((await processor.registry.getSingleMetric('sluice_processor_batch_seconds')?.get())?.values ??
    []) as { metricName?: string; value: number }[];
  const batchCount = batchValues.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
  const batchSum = batchValues.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  const saveProfile = (dir: string, extension: string, profile: unknown) => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `processor-${label.replace(/\W+/g, '-')}.${extension}`), JSON.stringify(profile));
  };
  if (profiler && profileDir) saveProfile(profileDir, 'cpuprofile', (await profiler.post('Profiler.stop')).profile);
  if (profiler && heapProfileDir) {
    saveProfile(heapProfileDir, 'heapprofile', (await profiler.post('HeapProfiler.stopSampling')).profile);
  }
  profiler?.disconnect();
  await processor.stop();
  console.log(
    JSON.stringify({
      scenario: label,
      events: total,
      avgRecordBytes: Math.round(bytes / total),
      seconds: Number(seconds.toFixed(2)),
      eventsPerSecond: Math.round(total / seconds),
      peakRssMB: Math.round(peakRss / 1e6),
      cpuMicrosPerEvent: Math.round((cpu.user + cpu.system) / total),
      mainThreadBusy: Number(elu.utilization.toFixed(2)),
      ...(brokerBefore !== undefined && brokerAfter !== undefined
        ? { brokerCpuMicrosPerEvent: Math.round(((brokerAfter - brokerBefore) * 1e6) / total) }
        : {}),
      batches: batchCount,
      meanBatchMs: batchCount > 0 ? Math.round((batchSum / batchCount) * 1000) : 0,
      startupSeconds: Number(((firstAt - started) / 1000).toFixed(2)),
      loadAverage: os.loadavg().map((l) => Number(l.toFixed(1))),
    }),
  );
  return total / seconds;
}

async function main(): Promise<void> {
  console.log(`processor benchmark: ${total} events per scenario, ${os.cpus().length} cores, node ${process.version}`);
  // BENCH_SCENARIOS=1,3 runs a subset (1 no transformation, 2 with one, 3 a consent category).
  const only = process.env.BENCH_SCENARIOS?.split(',').map(Number);
  const scenarios: [string, boolean, boolean][] = [
    ['no transformation', false, false],
    ['simple transformation', true, false],
    ['no transformation, a consent category', false, true],
  ];
  // BENCH_REPEAT=5 runs each scenario 5 times, rounds interleaved, then prints each one's median: this
  // machine's speed drifts by a third from minute to minute, so one run says little.
  const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1));
  const rates = new Map<string, number[]>();
  for (let round = 0; round < repeat; round++) {
    for (const [i, [label, transform, consent]] of scenarios.entries()) {
      if (only && !only.includes(i + 1)) continue;
      const list = rates.get(label) ?? [];
      list.push(await run(label, transform, consent));
      rates.set(label, list);
    }
  }
  if (repeat > 1) {
    for (const [label, list] of rates) {
      const sorted = [...list].sort((a, b) => a - b);
      console.log(
        JSON.stringify({
          scenario: label,
          runs: list.map(Math.round),
          medianEventsPerSecond: Math.round(sorted[Math.floor(sorted.length / 2)]),
        }),
      );
    }
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
