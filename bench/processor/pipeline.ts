// CPU per event, events/s and GC share of ProcessorPipeline.handleBatch alone (Avro decode, dedupe, fan-out,
// delivery encoding), without Kafka: the processor's own share of the CPU per event, steadier than
// the whole-path benchmark on a machine the broker shares. Needs a schema registry.
// Usage: node --import tsx bench/processor/pipeline.ts [events=200000] [rounds=5]
import { randomBytes } from 'node:crypto';
import { PerformanceObserver } from 'node:perf_hooks';
import type { KafkaMessage } from 'kafkajs';
import { registryConfigSchema } from '@sluice/config';
import { partitionKey, toEnvelope } from '@sluice/events';
import { destinationTopic, TOPICS, topicName } from '@sluice/kafka';
import { createLogger, createMetricsRegistry } from '@sluice/observability';
import { DedupeIndex } from '@sluice/processing';
import { AvroSerde } from '@sluice/serde';
import { buildSnapshot, parseWorkspace } from '@sluice/workspace';
import { createProcessorMetrics } from '../../services/processor/src/metrics';
import { ProcessorPipeline } from '../../services/processor/src/pipeline';
import { benchEvent } from './events';

const total = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 5);
// About what one 1 MiB partition fetch holds in the whole-path benchmark.
const BATCH = 1600;
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';

async function main() {
  const parsed = parseWorkspace({
    sources: [{ id: 'web', name: 'Web', type: 'http', writeKey: 'bench-write-key' }],
    destinations: [{ id: 'hooks', name: 'Hooks', type: 'webhook', config: { url: 'http://127.0.0.1:9/' } }],
    connections: [{ sourceId: 'web', destinationId: 'hooks' }],
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const snapshot = buildSnapshot(parsed.config);
  const prefix = `bench-pipe-${randomBytes(4).toString('hex')}.`;
  const serde = new AvroSerde(registryConfigSchema.parse({ url: registryUrl }));
  await serde.bindTopic(topicName(prefix, TOPICS.eventsRaw.name), 'event-envelope');
  await serde.bindTopic(topicName(prefix, TOPICS.eventsProcessed.name), 'event-envelope');
  await serde.bindTopic(topicName(prefix, TOPICS.identityEdges.name), 'identity-edge');
  await serde.bindTopic(topicName(prefix, TOPICS.deadLetter.name), 'dead-letter');
  await serde.bindTopic(topicName(prefix, destinationTopic('hooks').name), 'delivery-envelope');

  const raw = topicName(prefix, TOPICS.eventsRaw.name);
  const batches: KafkaMessage[][] = [];
  for (let i = 0; i < total; i += BATCH) {
    const messages: KafkaMessage[] = [];
    for (let j = i; j < Math.min(total, i + BATCH); j++) {
      const e = benchEvent(j);
      messages.push({
        key: Buffer.from(partitionKey(e)),
        value: serde.encode(raw, 'event-envelope', toEnvelope(e, { sourceId: 'web' })),
        offset: String(j),
        timestamp: String(Date.now()),
        attributes: 0,
        headers: {},
      });
    }
    batches.push(messages);
  }

  let gcMillis = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMillis += entry.duration;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const micros: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const pipeline = new ProcessorPipeline({
      serde,
      dedupe: new DedupeIndex({ windowMs: 86_400_000, maxEntriesPerPartition: 2_000_000 }),
      snapshot: () => snapshot,
      transformations: {
        run: () => Promise.reject(new Error('no transformation in this benchmark')),
        close: () => Promise.resolve(),
      },
      metrics: createProcessorMetrics(createMetricsRegistry('bench')),
      log: createLogger('bench-pipeline', 'warn'),
      topicPrefix: prefix,
    });
    const gcBefore = gcMillis;
    const started = process.hrtime.bigint();
    const cpuBefore = process.cpuUsage();
    let records = 0;
    for (let b = 0; b < batches.length; b++) {
      const result = await pipeline.handleBatch({ topic: raw, partition: b % 12, messages: batches[b] });
      records += result.records.length;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    // GC entries are delivered asynchronously: let them arrive.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const microsPerEvent = Math.round(((cpu.user + cpu.system) / total) * 10) / 10;
    micros.push(microsPerEvent);
    const gcShare = Math.round(((gcMillis - gcBefore) / 1000 / seconds) * 100) / 100;
    console.log(
      JSON.stringify({ round: r + 1, records, eventsPerSecond: Math.round(total / seconds), microsPerEvent, gcShare }),
    );
  }
  gcObserver.disconnect();
  micros.sort((a, b) => a - b);
  console.log(JSON.stringify({ events: total, rounds, medianMicrosPerEvent: micros[Math.floor(micros.length / 2)] }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
