import http from 'node:http';
import { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { kafkaConfigSchema, registryConfigSchema } from '@sluice/config';
import { DeadLetterRecord, DeliveryEnvelope, deliverySettingsSchema, DeliverySettings } from '@sluice/delivery';
import { createKafka, destinationTopic, ensureTopics, topicName, TOPICS, Kafka } from '@sluice/kafka';
import { createLogger, createMetricsRegistry } from '@sluice/observability';
import { AvroSerde } from '@sluice/serde';
import { RouterConfig, routerConfigSchema } from '../src/config';
import { Router, startRouter } from '../src/router';
import { DestinationSpec } from '../src/workspace';

export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
export const testLog = createLogger('router-test', process.env.LOG_LEVEL ?? 'warn');

export function uniquePrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}.`;
}

export function testKafka(): Kafka {
  return createKafka(kafkaConfigSchema.parse({ brokers, clientId: 'router-test' }), testLog);
}

export function testSerde(): AvroSerde {
  return new AvroSerde(registryConfigSchema.parse({ url: registryUrl }));
}

/** Fast retries and commits for tests; anything else as in production. */
export const fastDelivery: Partial<DeliverySettings> = {
  minBackoffMs: 200,
  maxBackoffMs: 1000,
  commitIntervalMs: 200,
  stopTimeoutMs: 5000,
};

export function testConfig(prefix: string, delivery: Partial<DeliverySettings> = {}): RouterConfig {
  return routerConfigSchema.parse({
    kafka: { brokers, clientId: 'router-test', topicPrefix: prefix },
    registry: { url: registryUrl },
    observability: { logLevel: 'warn', metricsPort: 0 },
    workspaceFile: 'unused',
    sessionTimeoutMs: 6000,
    delivery: deliverySettingsSchema.parse({ ...fastDelivery, ...delivery }),
  });
}

export function webhookDest(id: string, url: string, extra: Record<string, unknown> = {}): DestinationSpec {
  return { id, type: 'webhook', name: id, enabled: true, config: { url, ...extra } };
}

export async function runRouter(prefix: string, dests: DestinationSpec[], delivery: Partial<DeliverySettings> = {}) {
  const registry = createMetricsRegistry('router-test');
  const router = await startRouter(testConfig(prefix, delivery), { log: testLog, registry, destinations: dests });
  return { router, registry };
}

export async function counter(
  registry: ReturnType<typeof createMetricsRegistry>,
  name: string,
  labels: Record<string, string>,
) {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return v
    .filter((x) => Object.entries(labels).every(([k, val]) => String(x.labels[k]) === val))
    .reduce((a, x) => a + x.value, 0);
}

export interface TestEvent {
  user: string;
  seq: number;
  messageId: string;
  [k: string]: unknown;
}

/** Produces DeliveryEnvelopes (Avro via the registry) to a destination topic, keyed by user. */
export async function produceEvents(
  kafka: Kafka,
  serde: AvroSerde,
  prefix: string,
  destinationId: string,
  events: TestEvent[],
): Promise<void> {
  const topic = topicName(prefix, destinationTopic(destinationId).name);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [destinationTopic(destinationId), TOPICS.deadLetter], prefix);
  await admin.disconnect();
  await serde.bindTopic(topic, 'delivery-envelope');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < events.length; i += 500) {
    await producer.send({
      topic,
      acks: -1,
      messages: events.slice(i, i + 500).map((e) => {
        const env: DeliveryEnvelope = {
          destinationId,
          sourceId: 'test-source',
          messageId: e.messageId,
          partitionKey: e.user,
          acceptedAt: Date.now(),
          payload: JSON.stringify(e),
        };
        return { key: e.user, value: serde.encode(topic, 'delivery-envelope', env) };
      }),
    });
  }
  await producer.disconnect();
}

export function makeEvents(users: number, perUser: number, tag = ''): TestEvent[] {
  const out: TestEvent[] = [];
  for (let s = 0; s < perUser; s++) {
    for (let u = 0; u < users; u++) {
      out.push({ user: `user-${u}`, seq: s, messageId: `${tag}m-${u}-${s}` });
    }
  }
  return out;
}

export type Reply = { status: number; headers?: Record<string, string> };

/** A local webhook endpoint that records every event it accepted, per user, in arrival order. */
export class Receiver {
  private server!: http.Server;
  url = '';
  accepted: TestEvent[] = [];
  attempts: { at: number; events: TestEvent[]; status: number; headers: http.IncomingHttpHeaders }[] = [];
  decide: (events: TestEvent[]) => Reply = () => ({ status: 200 });
  delayMs = 0;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as TestEvent | TestEvent[];
        const events = Array.isArray(body) ? body : [body];
        const answer = () => {
          const reply = this.decide(events);
          this.attempts.push({ at: Date.now(), events, status: reply.status, headers: req.headers });
          if (reply.status >= 200 && reply.status < 300) this.accepted.push(...events);
          res.writeHead(reply.status, { 'content-type': 'application/json', ...(reply.headers ?? {}) });
          res.end('{}');
        };
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    this.server.keepAliveTimeout = 30000;
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Accepted seqs per user, in arrival order (duplicates included). */
  perUser(): Map<string, number[]> {
    const m = new Map<string, number[]>();
    for (const e of this.accepted) m.set(e.user, [...(m.get(e.user) ?? []), e.seq]);
    return m;
  }

  distinct(): number {
    return new Set(this.accepted.map((e) => e.messageId)).size;
  }
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads every dead letter currently in the (prefixed) dead-letter topic. */
export async function readDeadLetters(
  kafka: Kafka,
  serde: AvroSerde,
  prefix: string,
  min: number,
): Promise<DeadLetterRecord[]> {
  const topic = topicName(prefix, TOPICS.deadLetter.name);
  const consumer = kafka.consumer({ groupId: `${prefix}dl-reader-${randomBytes(3).toString('hex')}` });
  const out: DeadLetterRecord[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value) out.push(await serde.decode<DeadLetterRecord>(message.value, 'dead-letter'));
    },
  });
  try {
    await waitFor(() => out.length >= min, 30000, `${min} dead letters`);
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export function expectInOrder(perUser: Map<string, number[]>, perUserCount: number, users: number): void {
  if (perUser.size !== users) throw new Error(`expected ${users} users, got ${perUser.size}`);
  for (const [user, seqs] of perUser) {
    const expected = Array.from({ length: perUserCount }, (_, i) => i);
    if (JSON.stringify(seqs) !== JSON.stringify(expected)) {
      throw new Error(`user ${user} received ${JSON.stringify(seqs)}`);
    }
  }
}

export type { Router };
