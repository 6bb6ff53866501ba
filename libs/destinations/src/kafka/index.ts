import { z } from 'zod';
import { collect } from '../core/collect';
import type { SegmentEvent } from '../core/event';
import { chunk } from '../core/http';
import type { KafkaDestinationDefinition, KafkaRecord } from '../core/types';

export const kafkaDestinationConfigSchema = z
  .object({
    topic: z
      .string()
      .min(1)
      .max(249)
      .regex(/^[A-Za-z0-9._-]+$/, 'Kafka topic names use [A-Za-z0-9._-]'),
    format: z.enum(['json', 'avro']).default('json'),
    /** Schema registry subject of the value schema (avro); default `<topic>-value`. */
    subject: z.string().min(1).optional(),
    /** Record key: the user's partition key (anonymousId, else userId), or one id. */
    key: z.enum(['partitionKey', 'userId', 'anonymousId', 'messageId', 'none']).default('partitionKey'),
    /** Another cluster; absent = the cluster Sluice runs on. The router builds the producer from it. */
    cluster: z
      .object({
        brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1),
        clientId: z.string().min(1).default('sluice-destination'),
        ssl: z.boolean().default(false),
        sasl: z
          .object({
            mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
            username: z.string().min(1),
            password: z.string().min(1),
          })
          .optional(),
      })
      .optional(),
    headers: z.record(z.string()).default({}),
    batchSize: z.number().int().min(1).max(10000).default(500),
  })
  .transform((c) => ({ ...c, subject: c.subject ?? `${c.topic}-value` }));
export type KafkaDestinationConfig = z.infer<typeof kafkaDestinationConfigSchema>;

function keyOf(ev: SegmentEvent, key: KafkaDestinationConfig['key']): string | null {
  switch (key) {
    case 'partitionKey':
      return ev.anonymousId || ev.userId || null;
    case 'userId':
      return ev.userId || null;
    case 'anonymousId':
      return ev.anonymousId || null;
    case 'messageId':
      return ev.messageId;
    case 'none':
      return null;
  }
}

export const kafkaDestination: KafkaDestinationDefinition<KafkaDestinationConfig> = {
  transport: 'kafka',
  type: 'kafka',
  displayName: 'Kafka',
  configSchema: kafkaDestinationConfigSchema,
  maxBatchSize: (c) => c.batchSize,
  transform(events, config) {
    const { items, skipped, rejected } = collect<KafkaRecord>(events, (ev) => ({
      ok: {
        key: keyOf(ev, config.key),
        value: { ...ev },
        headers: {
          ...config.headers,
          'sluice-message-id': ev.messageId,
          'sluice-type': ev.type,
          ...(ev.type === 'track' ? { 'sluice-event': ev.event } : {}),
        },
      },
    }));
    const deliveries = chunk(items, config.batchSize).map((group) => ({
      messageIds: group.map((g) => g.messageId),
      payload: {
        topic: config.topic,
        format: config.format,
        ...(config.format === 'avro' ? { subject: config.subject } : {}),
        records: group.map((g) => g.item),
      },
    }));
    return { deliveries, skipped, rejected };
  },
};
