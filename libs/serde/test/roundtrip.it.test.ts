import { randomBytes } from 'node:crypto';
import { kafkaConfigSchema, registryConfigSchema } from '@sluice/config';
import { EventEnvelope, fromEnvelope, partitionKey, SegmentEvent, toEnvelope } from '@sluice/events';
import { createKafka, createTopicsAndWait } from '@sluice/kafka';
import { createLogger } from '@sluice/observability';
import { AvroSerde, wireSchemaId } from '../src';

const log = createLogger('serde-it', process.env.LOG_LEVEL ?? 'warn');
const kafka = createKafka(
  kafkaConfigSchema.parse({
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    clientId: 'serde-it',
  }),
  log,
);
const registry = registryConfigSchema.parse({ url: process.env.SCHEMA_REGISTRY_URL });

function sampleEvents(): SegmentEvent[] {
  const users = ['ana', 'bo', 'chen', 'dörte', '🚀-user'];
  return Array.from({ length: 50 }, (_, i) => ({
    type: i % 5 === 0 ? 'identify' : 'track',
    messageId: `m-${i}-${randomBytes(3).toString('hex')}`,
    anonymousId: i % 3 === 0 ? null : `anon-${users[i % users.length]}`,
    userId: `user-${users[i % users.length]}`,
    event: i % 5 === 0 ? undefined : `Event ${i}`,
    properties: {
      revenue: i * 1.25,
      count: i,
      maxSafe: Number.MAX_SAFE_INTEGER,
      minSafe: Number.MIN_SAFE_INTEGER,
      tiny: 1e-300,
      nothing: null,
      unicode: 'zażółć gęślą jaźń — 東京 — 🚀',
      nested: { deep: { deeper: [1, 'two', { three: true }, null, []] } },
      emptyObject: {},
    },
    traits: i % 5 === 0 ? { email: `u${i}@example.com`, plan: null } : undefined,
    context: { ip: '203.0.113.9', library: { name: 'analytics-node', version: '2.1.0' }, locale: 'de-DE' },
    integrations: { All: true, Amplitude: false, Webhook: { option: 1 } },
    originalTimestamp: '2026-05-01T12:00:00.123Z',
    sentAt: '2026-05-01T12:00:01.000Z',
    receivedAt: '2026-05-01T12:00:02.000Z',
    timestamp: '2026-05-01T12:00:01.123Z',
    channel: 'server',
  }));
}

describe('Avro over a real topic with the schema registry', () => {
  it('registers the envelope, produces keyed by user, and every field round-trips in another group', async () => {
    const suffix = randomBytes(4).toString('hex');
    const topic = `t-serde-${suffix}.events`;
    const serde = new AvroSerde(registry);
    const binding = await serde.bindTopic(topic, 'event-envelope');
    expect(binding.schemaId).toBeGreaterThan(0);
    // The registry holds the schema under the topic's subject.
    expect(await serde.client.getLatestSchemaId(`${topic}-value`)).toBe(binding.schemaId);

    const admin = kafka.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 6 }]);
    await admin.disconnect();

    const events = sampleEvents();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: events.map((e) => ({
        key: partitionKey(e),
        value: serde.encode(topic, 'event-envelope', toEnvelope(e, { sourceId: 'src-web', requestIp: '203.0.113.9' })),
      })),
    });
    await producer.disconnect();

    // A separate reader, as another service would be: its own serde and group.
    const readerSerde = new AvroSerde(registry);
    const consumer = kafka.consumer({ groupId: `t-serde-${suffix}-reader` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string; partition: number; event: SegmentEvent; env: EventEnvelope }[] = [];
    await new Promise<void>((resolve, reject) => {
      void consumer
        .run({
          eachMessage: async ({ message, partition }) => {
            expect(wireSchemaId(message.value as Buffer)).toBe(binding.schemaId);
            const env = await readerSerde.decode<EventEnvelope>(message.value as Buffer, 'event-envelope');
            received.push({ key: message.key!.toString(), partition, event: fromEnvelope(env), env });
            if (received.length === events.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();

    const byId = new Map(received.map((r) => [r.event.messageId, r]));
    for (const e of events) {
      const r = byId.get(e.messageId);
      expect(r).toBeDefined();
      const expected = { ...e };
      if (expected.anonymousId === null) delete expected.anonymousId;
      if (expected.event === undefined) delete expected.event;
      if (expected.traits === undefined) delete expected.traits;
      expect(r!.event).toEqual(expected);
      expect(r!.env.sourceId).toBe('src-web');
      expect(r!.env.requestIp).toBe('203.0.113.9');
      expect(r!.key).toBe(partitionKey(e));
    }
    // Keyed by user: every user's events sit in one partition.
    const partitionsByKey = new Map<string, Set<number>>();
    for (const r of received) {
      const set = partitionsByKey.get(r.key) ?? new Set<number>();
      set.add(r.partition);
      partitionsByKey.set(r.key, set);
    }
    for (const set of partitionsByKey.values()) expect(set.size).toBe(1);
  });

  it('decodes without a promise only once the writer schema is known', async () => {
    const topic = `t-serde-${randomBytes(4).toString('hex')}.sync`;
    const writer = new AvroSerde(registry);
    await writer.bindTopic(topic, 'event-envelope');
    const [event] = sampleEvents();
    const value = writer.encode(topic, 'event-envelope', toEnvelope(event, { sourceId: 'src-web' }));

    const reader = new AvroSerde(registry);
    expect(reader.decodeIfKnown<EventEnvelope>(value, 'event-envelope')).toBeUndefined();
    const decoded = await reader.decode<EventEnvelope>(value, 'event-envelope');
    expect(reader.decodeIfKnown<EventEnvelope>(value, 'event-envelope')).toEqual(decoded);
    expect(fromEnvelope(decoded).messageId).toBe(event.messageId);
  });

  it('encodes records larger than its slab, and many small ones across slabs, each kept intact', async () => {
    const topic = `t-serde-${randomBytes(4).toString('hex')}.large`;
    const serde = new AvroSerde(registry);
    const { schemaId } = await serde.bindTopic(topic, 'event-envelope');
    const [small, big] = sampleEvents();
    // ~300 KB of properties: several times the 64 KiB slab records are encoded into.
    big.properties = { ...big.properties, blob: 'x'.repeat(300_000), more: randomBytes(20_000).toString('hex') };
    // Records are views of shared slabs: all are encoded before any is read back, so a record
    // written over an earlier one would show.
    const events = [small, big, small];
    for (let i = 0; i < 400; i++) events.push({ ...small, messageId: `m-${i}`, properties: { i, pad: 'p'.repeat(i) } });
    events.push(big, small);
    const values = events.map((event) =>
      serde.encode(topic, 'event-envelope', toEnvelope(event, { sourceId: 'src-web' })),
    );
    for (let i = 0; i < events.length; i++) {
      expect(wireSchemaId(values[i])).toBe(schemaId);
      const decoded = await serde.decode<EventEnvelope>(values[i], 'event-envelope');
      expect(fromEnvelope(decoded)).toEqual(fromEnvelope(toEnvelope(events[i], { sourceId: 'src-web' })));
    }
  });
});
