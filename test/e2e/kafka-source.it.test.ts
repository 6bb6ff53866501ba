import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { createTopicsAndWait } from '@sluice/kafka';
import { createLogger, createMetricsRegistry, Lifecycle } from '@sluice/observability';
import { WorkspaceStore, type KafkaSource } from '@sluice/workspace';
import { createKafkaSourceMetrics, kafkaSourceConfigSchema, startKafkaSources } from '../../services/kafka-source/src';
import { loadProcessorConfig, startProcessor } from '../../services/processor/src';
import { sandboxRunner } from '../../services/processor/src/sandbox-runner';
import { destinationsOf, selectDestinations } from '../../services/router/src';
import {
  brokers,
  readDeadLetters,
  Receiver,
  registryUrl,
  runRouter,
  testKafka,
  testSerde,
  uniquePrefix,
  waitFor,
} from '../../services/router/test/support';
import { loaderConfigSchema } from '../../services/warehouse-loader/src/config';
import { startLoader } from '../../services/warehouse-loader/src/loader';
import { waitForLake } from '../../services/warehouse-loader/test/support/harness';

jest.setTimeout(300000);

const log = createLogger('e2e', process.env.LOG_LEVEL ?? 'warn');
const kafka = testKafka();
const serde = testSerde();

/** A producer's own Avro schema for Segment-spec events (objects as JSON text, times as epoch ms). */
const avroSchema = {
  type: 'record',
  name: 'AppEvent',
  namespace: 'test.e2e',
  fields: [
    { name: 'type', type: 'string' },
    { name: 'messageId', type: 'string' },
    { name: 'userId', type: ['null', 'string'], default: null },
    { name: 'event', type: ['null', 'string'], default: null },
    { name: 'properties', type: ['null', 'string'], default: null },
    { name: 'originalTimestamp', type: ['null', 'long'], default: null },
  ],
};

/** The payload a webhook receives: the processed Segment event. */
interface Delivered {
  messageId: string;
  userId: string;
  properties: { seq: number };
}

describe('internal Kafka topics to a webhook and the lake', () => {
  it('delivers every event of a JSON and an Avro topic once, in per-user order, loads each into Delta, and dead-letters a bad record', async () => {
    const prefix = uniquePrefix('e2e');
    // Source topics are read as named (no prefix): the prefix in the name keeps this run's apart.
    const jsonTopic = `${prefix}app.events.json`;
    const avroTopic = `${prefix}app.events.avro`;
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [
      { topic: jsonTopic, numPartitions: 3, replicationFactor: 1 },
      { topic: avroTopic, numPartitions: 1, replicationFactor: 1 },
    ]);
    await admin.disconnect();

    const rx = await new Receiver().start();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-e2e-'));
    const lake = path.join(dir, 'lake');
    const workspaceFile = path.join(dir, 'workspace.json');
    fs.writeFileSync(
      workspaceFile,
      JSON.stringify({
        sources: [
          { id: 'app-json', name: 'App JSON', type: 'kafka', topics: [jsonTopic], format: 'json' },
          { id: 'app-avro', name: 'App Avro', type: 'kafka', topics: [avroTopic], format: 'avro' },
        ],
        destinations: [
          { id: 'hook', name: 'Hook', type: 'webhook', config: { url: rx.url } },
          { id: 'lake', name: 'Lake', type: 'delta', config: { location: lake } },
        ],
        connections: [
          { sourceId: 'app-json', destinationId: 'hook' },
          { sourceId: 'app-avro', destinationId: 'hook' },
          { sourceId: 'app-json', destinationId: 'lake' },
          { sourceId: 'app-avro', destinationId: 'lake' },
        ],
      }),
    );

    // Several events per user: 4 JSON users × 5, 3 Avro users × 4.
    const jsonUsers = 4;
    const jsonPerUser = 5;
    const avroUsers = 3;
    const avroPerUser = 4;
    const expected = new Map<string, number>();
    const ids: string[] = [];
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const jsonMessages: { key: string; value: string }[] = [];
    for (let s = 0; s < jsonPerUser; s++) {
      for (let u = 0; u < jsonUsers; u++) {
        const userId = `json-user-${u}`;
        const messageId = `${prefix}j-${u}-${s}`;
        ids.push(messageId);
        expected.set(userId, jsonPerUser);
        jsonMessages.push({
          key: userId,
          value: JSON.stringify({
            type: 'track',
            event: 'Step Done',
            userId,
            messageId,
            properties: { seq: s },
            originalTimestamp: new Date().toISOString(),
          }),
        });
      }
    }
    jsonMessages.splice(7, 0, { key: 'broken', value: '{"type":"track","event":' });
    await producer.send({ topic: jsonTopic, acks: -1, messages: jsonMessages });

    const { id: schemaId } = await serde.client.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(avroSchema) },
      { subject: `${avroTopic}-value` },
    );
    const avroMessages: { key: string; value: Buffer }[] = [];
    for (let s = 0; s < avroPerUser; s++) {
      for (let u = 0; u < avroUsers; u++) {
        const userId = `avro-user-${u}`;
        const messageId = `${prefix}a-${u}-${s}`;
        ids.push(messageId);
        expected.set(userId, avroPerUser);
        avroMessages.push({
          key: userId,
          value: await serde.client.encode(schemaId, {
            type: 'track',
            messageId,
            userId,
            event: 'Step Done',
            properties: JSON.stringify({ seq: s }),
            originalTimestamp: Date.now(),
          }),
        });
      }
    }
    await producer.send({ topic: avroTopic, acks: -1, messages: avroMessages });
    await producer.disconnect();
    const total = ids.length;

    // Every stage in this process, as their mains wire them.
    const workspace = await WorkspaceStore.open(workspaceFile, { log, watch: false, pollIntervalMs: 0 });
    const snapshot = workspace.current();
    workspace.close();
    const kafkaSources = [...snapshot.sourceById.values()].filter((s) => s.type === 'kafka') as KafkaSource[];
    const lifecycle = new Lifecycle(log);
    try {
      const processorConfig = loadProcessorConfig({
        KAFKA_BROKERS: brokers.join(','),
        SCHEMA_REGISTRY_URL: registryUrl,
        SLUICE_TOPIC_PREFIX: prefix,
        WORKSPACE_FILE: workspaceFile,
        METRICS_PORT: '0',
        PROCESSOR_GROUP_ID: `${prefix}processor`,
        PROCESSOR_INSTANCE_ID: 'e2e',
        PROCESSOR_SESSION_TIMEOUT_MS: '8000',
        LOG_LEVEL: 'warn',
      });
      const processor = await startProcessor(processorConfig, log, (store) =>
        sandboxRunner(store, processorConfig, log),
      );
      lifecycle.add('processor', () => processor.stop());

      const { router } = await runRouter(prefix, selectDestinations(destinationsOf(snapshot)));
      lifecycle.add('router', () => router.stop());
      expect(router.destinations.map((d) => d.spec.id)).toEqual(['hook']);

      const loader = await startLoader(
        loaderConfigSchema.parse({
          kafka: { brokers, clientId: 'e2e-loader', topicPrefix: prefix },
          registry: { url: registryUrl },
          observability: { logLevel: 'warn', metricsPort: 0 },
          lake: { kind: 'local', root: lake },
          format: 'delta',
          groupId: `${prefix}loader`,
          flush: { intervalMs: 500 },
          identity: false,
        }),
        log,
        new Lifecycle(log),
      );
      lifecycle.add('loader', () => loader.stop());

      const sources = await startKafkaSources(
        kafkaSourceConfigSchema.parse({
          kafka: { brokers, clientId: 'e2e-source', topicPrefix: prefix },
          registry: { url: registryUrl },
          observability: { logLevel: 'warn', metricsPort: 0 },
          workspaceFile,
          instanceId: 'e2e',
          sessionTimeoutMs: 6000,
        }),
        kafkaSources,
        { log, metrics: createKafkaSourceMetrics(createMetricsRegistry('e2e-source')) },
      );
      lifecycle.add('kafka sources', () => sources.stop());

      // The webhook: every event once, each user's in the order produced.
      const delivered = () => rx.accepted as unknown as Delivered[];
      await waitFor(() => delivered().length >= total, 180000, `${total} events at the webhook`);
      const seqs = new Map<string, number[]>();
      for (const e of delivered()) seqs.set(e.userId, [...(seqs.get(e.userId) ?? []), e.properties.seq]);
      expect([...seqs.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [user, n] of expected) {
        expect({ user, seqs: seqs.get(user) }).toEqual({ user, seqs: Array.from({ length: n }, (_, i) => i) });
      }
      expect(
        delivered()
          .map((e) => e.messageId)
          .sort(),
      ).toEqual([...ids].sort());

      // The lake, read back by delta-rs: every event once, by id.
      const read = await waitForLake(
        { root: path.join(lake, 'delta'), tables: ['tracks'], rows_of: ['tracks'] },
        (r) => r.tracks !== undefined && !r.tracks.missing && (r.tracks.distinct_ids ?? 0) >= total,
        180000,
      );
      expect(read.tracks!.rows).toBe(total);
      expect(read.tracks!.duplicates).toEqual([]);
      expect(read.tracks!.all_rows!.map((row) => String(row.id)).sort()).toEqual([...ids].sort());

      // The bad record: a dead letter naming why and where it was.
      const deadLetters = await readDeadLetters(kafka, serde, prefix, 1);
      expect(deadLetters).toEqual([
        expect.objectContaining({
          stage: 'source',
          sourceId: 'app-json',
          errorClass: 'InvalidJson',
          errorMessage: expect.stringMatching(/not JSON/),
          originalTopic: jsonTopic,
        }),
      ]);
      expect(Buffer.from(deadLetters[0]!.payload).toString()).toBe('{"type":"track","event":');
      // Still exactly once at the webhook after the dead letter was read (nothing arrived late twice).
      expect(rx.accepted).toHaveLength(total);
    } finally {
      await lifecycle.stop();
      await rx.stop();
    }
  });
});
