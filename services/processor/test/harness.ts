import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kafkaConfigSchema, registryConfigSchema } from '@sluice/config';
import { EventEnvelope, fromEnvelope, partitionKey, SegmentEvent, toEnvelope } from '@sluice/events';
import { createKafka, destinationTopic, ensureTopics, TOPICS, topicName } from '@sluice/kafka';
import { createLogger } from '@sluice/observability';
import { AvroSerde } from '@sluice/serde';
import type { Consumer, Kafka, Producer } from 'kafkajs';

export const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
export const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
export const log = createLogger('processor-it', process.env.LOG_LEVEL ?? 'warn');

export function uniquePrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}.`;
}

export function writeWorkspace(workspace: object): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-ws-'));
  const file = path.join(dir, 'workspace.json');
  fs.writeFileSync(file, JSON.stringify(workspace, null, 2));
  return file;
}

export interface DeliveryRecord {
  destinationId: string;
  messageId: string;
  partitionKey: string;
  event: SegmentEvent;
}

export interface DeadLetterRecord {
  stage: string;
  destinationId: string | null;
  messageId: string | null;
  errorClass: string;
  errorMessage: string;
}

/** Produces events to events.raw and reads every output topic back, read_committed, as a downstream stage would. */
export class Harness {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  private producer!: Producer;
  private consumer!: Consumer;
  readonly deliveries: DeliveryRecord[] = [];
  readonly processed: SegmentEvent[] = [];
  readonly edges: Record<string, unknown>[] = [];
  readonly deadLetters: DeadLetterRecord[] = [];
  readonly raw: string;

  constructor(
    readonly prefix: string,
    readonly destinationIds: string[],
  ) {
    this.kafka = createKafka(kafkaConfigSchema.parse({ brokers: brokers.split(','), clientId: 'processor-it' }), log);
    this.serde = new AvroSerde(registryConfigSchema.parse({ url: registryUrl }));
    this.raw = topicName(prefix, TOPICS.eventsRaw.name);
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const specs = [
      TOPICS.eventsRaw,
      TOPICS.eventsProcessed,
      TOPICS.identityEdges,
      TOPICS.deadLetter,
      TOPICS.dedupeChangelog,
      ...this.destinationIds.map(destinationTopic),
    ];
    await ensureTopics(admin, specs, this.prefix);
    await admin.disconnect();
    await this.serde.bindTopic(this.raw, 'event-envelope');
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    this.consumer = this.kafka.consumer({ groupId: `${this.prefix}reader`, readUncommitted: false });
    await this.consumer.connect();
    const outputs = [
      topicName(this.prefix, TOPICS.eventsProcessed.name),
      topicName(this.prefix, TOPICS.identityEdges.name),
      topicName(this.prefix, TOPICS.deadLetter.name),
      ...this.destinationIds.map((d) => topicName(this.prefix, destinationTopic(d).name)),
    ];
    for (const topic of outputs) await this.consumer.subscribe({ topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ topic, message }) => {
        const value = message.value as Buffer;
        if (topic.endsWith(TOPICS.eventsProcessed.name)) {
          this.processed.push(fromEnvelope(await this.serde.decode<EventEnvelope>(value, 'event-envelope')));
        } else if (topic.endsWith(TOPICS.identityEdges.name)) {
          this.edges.push(await this.serde.decode(value, 'identity-edge'));
        } else if (topic.endsWith(TOPICS.deadLetter.name)) {
          this.deadLetters.push(await this.serde.decode<DeadLetterRecord>(value, 'dead-letter'));
        } else {
          const d = await this.serde.decode<{
            destinationId: string;
            messageId: string;
            partitionKey: string;
            payload: string;
          }>(value, 'delivery-envelope');
          this.deliveries.push({ ...d, event: JSON.parse(d.payload) as SegmentEvent });
        }
      },
    });
  }

  async send(events: Partial<SegmentEvent>[], sourceId = 'web'): Promise<void> {
    const now = new Date().toISOString();
    await this.producer.send({
      topic: this.raw,
      acks: -1,
      messages: events.map((e) => {
        const full = { type: 'track', receivedAt: now, timestamp: now, ...e } as SegmentEvent;
        return {
          key: partitionKey(full),
          value: this.serde.encode(this.raw, 'event-envelope', toEnvelope(full, { sourceId })),
        };
      }),
    });
  }

  deliveredTo(destinationId: string): DeliveryRecord[] {
    return this.deliveries.filter((d) => d.destinationId === destinationId);
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 60000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits a little longer to be sure nothing more arrives (for "never reaches" checks). */
export const settle = (ms = 1500) => new Promise((r) => setTimeout(r, ms));
