import { randomBytes } from 'node:crypto';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { kafkaConfigSchema, registryConfigSchema } from '@sluice/config';
import { fromEnvelope, type EventEnvelope } from '@sluice/events';
import { createKafka, createTopicsAndWait, topicName, TOPICS, type Kafka } from '@sluice/kafka';
import { createLogger, createMetricsRegistry } from '@sluice/observability';
import { AvroSerde } from '@sluice/serde';
import type { KafkaSource } from '@sluice/workspace';
import { kafkaSourceConfigSchema } from '../src/config';
import { createKafkaSourceMetrics, startKafkaSources } from '../src/source';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
const log = createLogger('kafka-source-test', process.env.LOG_LEVEL ?? 'warn');
const kafka: Kafka = createKafka(kafkaConfigSchema.parse({ brokers, clientId: 'kafka-source-test' }), log);
const serde = new AvroSerde(registryConfigSchema.parse({ url: registryUrl }));

interface DeadLetter {
  stage: string;
  sourceId: string | null;
  errorClass: string;
  errorMessage: string;
  payload: Buffer;
  originalTopic: string | null;
  originalPartition: number | null;
  originalOffset: string | null;
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads a topic (read_committed) from the beginning into `out` until stopped. */
async function readTopic<T>(topic: string, decode: (v: Buffer) => Promise<T>, out: { key: string | null; value: T }[]) {
  const consumer = kafka.consumer({ groupId: `reader-${randomBytes(4).toString('hex')}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      out.push({ key: message.key ? message.key.toString() : null, value: await decode(message.value!) });
    },
  });
  return consumer;
}

function sourceConfig(prefix: string, instanceId: string) {
  return kafkaSourceConfigSchema.parse({
    kafka: { brokers, clientId: 'kafka-source-test', topicPrefix: prefix },
    registry: { url: registryUrl },
    observability: { logLevel: 'warn', metricsPort: 0 },
    workspaceFile: 'unused',
    instanceId,
    sessionTimeoutMs: 6000,
  });
}

const segmentAvroSchema = {
  type: 'record',
  name: 'ShopEvent',
  namespace: 'test.shop',
  fields: [
    { name: 'type', type: 'string' },
    { name: 'messageId', type: ['null', 'string'], default: null },
    { name: 'userId', type: ['null', 'string'], default: null },
    { name: 'anonymousId', type: ['null', 'string'], default: null },
    { name: 'event', type: ['null', 'string'], default: null },
    { name: 'properties', type: ['null', 'string'], default: null },
    { name: 'originalTimestamp', type: ['null', 'long'], default: null },
  ],
};

describe('kafka source on real Kafka and the registry', () => {
  it('turns JSON and Avro topics into EventEnvelopes on events.raw, in per-user order, and bad records into dead letters', async () => {
    const prefix = `t-ksrc-${randomBytes(4).toString('hex')}.`;
    const jsonTopic = `${prefix}shop.json`;
    const avroTopic = `${prefix}shop.avro`;
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [
      { topic: jsonTopic, numPartitions: 3, replicationFactor: 1 },
      { topic: avroTopic, numPartitions: 1, replicationFactor: 1 },
    ]);
    await admin.disconnect();

    // JSON: 3 users × 4 events in order, keyed by user; plus bad JSON and an event without ids.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const jsonMessages = [];
    for (let s = 0; s < 4; s++) {
      for (let u = 0; u < 3; u++) {
        jsonMessages.push({
          key: `user-${u}`,
          value: JSON.stringify({
            type: 'track',
            event: 'Step',
            userId: `user-${u}`,
            messageId: `j-${u}-${s}`,
            properties: { seq: s, nested: { ok: true } },
            context: { library: { name: 'backend' } },
            timestamp: '2026-11-21T10:00:00.000Z',
          }),
        });
      }
    }
    jsonMessages.push({ key: 'bad', value: '{"type":"track",' });
    jsonMessages.push({ key: 'noid', value: JSON.stringify({ type: 'track', event: 'Orphan' }) });
    await producer.send({ topic: jsonTopic, acks: -1, messages: jsonMessages });

    // Avro (Confluent wire format) with a schema of the producer's own; plus bytes that are not Avro.
    const { id } = await serde.client.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(segmentAvroSchema) },
      { subject: `${avroTopic}-value` },
    );
    const avroValue = await serde.client.encode(id, {
      type: 'identify',
      messageId: 'a-1',
      userId: 'user-avro',
      anonymousId: null,
      event: null,
      properties: null,
      originalTimestamp: Date.parse('2026-11-20T08:00:00Z'),
    });
    const avroTrack = await serde.client.encode(id, {
      type: 'track',
      messageId: null,
      userId: null,
      anonymousId: 'anon-avro',
      event: 'Viewed',
      properties: '{"sku":"s-1"}',
      originalTimestamp: null,
    });
    await producer.send({
      topic: avroTopic,
      acks: -1,
      messages: [
        { key: 'user-avro', value: avroValue },
        { key: 'x', value: Buffer.from('plain text, not avro') },
        { key: 'y', value: Buffer.from([0, 0, 0x7f, 0xff, 0xff, 1, 2]) },
        { key: 'anon-avro', value: avroTrack },
      ],
    });
    await producer.disconnect();

    const sources: KafkaSource[] = [
      { id: 'shop-json', name: 'Shop JSON', type: 'kafka', topics: [jsonTopic], format: 'json', enabled: true },
      { id: 'shop-avro', name: 'Shop Avro', type: 'kafka', topics: [avroTopic], format: 'avro', enabled: true },
    ];
    const config = sourceConfig(prefix, 'it');
    const registry = createMetricsRegistry('kafka-source-test');
    const running = await startKafkaSources(config, sources, { log, metrics: createKafkaSourceMetrics(registry) });
    const raw: { key: string | null; value: EventEnvelope }[] = [];
    const dead: { key: string | null; value: DeadLetter }[] = [];
    const c1 = await readTopic(
      topicName(prefix, TOPICS.eventsRaw.name),
      (v) => serde.decode<EventEnvelope>(v, 'event-envelope'),
      raw,
    );
    const c2 = await readTopic(
      topicName(prefix, TOPICS.deadLetter.name),
      (v) => serde.decode<DeadLetter>(v, 'dead-letter'),
      dead,
    );
    try {
      await waitFor(() => raw.length >= 14 && dead.length >= 4, 60000, 'events.raw and dead letters');
      await new Promise((r) => setTimeout(r, 1000));
      expect(raw).toHaveLength(14);
      expect(dead).toHaveLength(4);

      // JSON: fields intact, stamped, keyed by user, in per-user order.
      const json = raw.filter((r) => r.value.sourceId === 'shop-json');
      expect(json).toHaveLength(12);
      for (let u = 0; u < 3; u++) {
        const mine = json.filter((r) => r.key === `u:user-${u}`).map((r) => fromEnvelope(r.value));
        expect(mine.map((e) => e.messageId)).toEqual([0, 1, 2, 3].map((s) => `j-${u}-${s}`));
        expect(mine[2]).toMatchObject({
          type: 'track',
          event: 'Step',
          userId: `user-${u}`,
          properties: { seq: 2, nested: { ok: true } },
          context: { library: { name: 'backend' } },
          timestamp: '2026-11-21T10:00:00.000Z',
        });
        expect(Date.parse(mine[2]!.receivedAt)).toBeGreaterThan(Date.now() - 120000);
      }

      // Avro: decoded with the producer's schema and converted.
      // The two users land on different events.raw partitions: read back in no fixed order, so match by key.
      const avro = raw
        .filter((r) => r.value.sourceId === 'shop-avro')
        .map((r) => ({ key: r.key, ev: fromEnvelope(r.value) }))
        .sort((x, y) => String(x.key).localeCompare(String(y.key)));
      expect(avro.map((r) => r.key)).toEqual(['a:anon-avro', 'u:user-avro']);
      const [anon, identified] = avro;
      expect(identified).toMatchObject({
        key: 'u:user-avro',
        ev: { type: 'identify', messageId: 'a-1', userId: 'user-avro', timestamp: '2026-11-20T08:00:00.000Z' },
      });
      expect(anon!.ev).toMatchObject({
        type: 'track',
        anonymousId: 'anon-avro',
        event: 'Viewed',
        properties: { sku: 's-1' },
      });
      expect(anon!.ev.messageId).toMatch(/^kafka-shop-avro-/);

      // Dead letters: the reason and where the record was.
      const byClass = (c: string) => dead.map((d) => d.value).filter((d) => d.errorClass === c);
      expect(byClass('InvalidJson')).toEqual([
        expect.objectContaining({
          stage: 'source',
          sourceId: 'shop-json',
          originalTopic: jsonTopic,
          errorMessage: expect.stringMatching(/not JSON/),
        }),
      ]);
      expect(byClass('InvalidJson')[0]!.payload.toString()).toBe('{"type":"track",');
      expect(byClass('InvalidEvent')).toEqual([
        expect.objectContaining({
          sourceId: 'shop-json',
          errorMessage: expect.stringMatching(/neither anonymousId nor userId/),
        }),
      ]);
      const undecodable = byClass('UndecodableAvro');
      expect(undecodable).toHaveLength(2);
      expect(undecodable.map((d) => d.originalOffset).sort()).toEqual(['1', '2']);
      expect(undecodable.every((d) => d.originalTopic === avroTopic && d.originalPartition === 0)).toBe(true);
    } finally {
      await c1.disconnect();
      await c2.disconnect();
      await running.stop();
    }
  }, 120000);

  it('reports a fatal error once another instance with its instance id fences it, and loses or repeats nothing', async () => {
    const prefix = `t-ksrc-${randomBytes(4).toString('hex')}.`;
    const topic = `${prefix}fence.json`;
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 3, replicationFactor: 1 }]);
    await admin.disconnect();
    const sources: KafkaSource[] = [
      { id: 'fence', name: 'Fence', type: 'kafka', topics: [topic], format: 'json', enabled: true },
    ];
    const config = sourceConfig(prefix, 'same');
    const start = (onFatal: (err: unknown) => void) =>
      startKafkaSources(config, sources, {
        log,
        metrics: createKafkaSourceMetrics(createMetricsRegistry('kafka-source-test')),
        onFatal,
      });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let sent = 0;
    let sending = true;
    // Records keep arriving on every partition, so the first instance has transactions to be refused.
    const sender = (async () => {
      while (sending) {
        await producer.send({
          topic,
          acks: -1,
          messages: Array.from({ length: 30 }, (_, j) => ({
            key: `user-${(sent + j) % 17}`,
            value: JSON.stringify({
              type: 'track',
              event: 'Tick',
              userId: `user-${(sent + j) % 17}`,
              messageId: `f-${sent + j}`,
            }),
          })),
        });
        sent += 30;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let firstFatal: unknown;
    const first = await start((err) => (firstFatal ??= err));
    // events.raw exists once the source has started.
    const raw: { key: string | null; value: EventEnvelope }[] = [];
    const reader = await readTopic(
      topicName(prefix, TOPICS.eventsRaw.name),
      (v) => serde.decode<EventEnvelope>(v, 'event-envelope'),
      raw,
    );
    let second: Awaited<ReturnType<typeof start>> | undefined;
    let secondFatal: unknown;
    try {
      await waitFor(() => raw.length > 0, 60000, 'records from the first instance');
      second = await start((err) => (secondFatal ??= err));
      await waitFor(() => firstFatal !== undefined, 60000, 'the first instance to be fenced');
      await first.stop();
      sending = false;
      await sender;
      await waitFor(() => new Set(raw.map((r) => r.value.messageId)).size >= sent, 90000, 'every record converted');
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      sending = false;
      await sender;
      await producer.disconnect();
      await reader.disconnect();
      await first.stop().catch(() => undefined);
      await second?.stop();
    }
    expect(secondFatal).toBeUndefined();
    const ids = raw.map((r) => r.value.messageId);
    expect(ids).toHaveLength(sent);
    expect(new Set(ids).size).toBe(sent);
  }, 240000);
});
