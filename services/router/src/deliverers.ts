import { ConfigError, type KafkaConfig } from '@sluice/config';
import type { Deliverer } from '@sluice/delivery';
import {
  createRedisExecutor,
  destinations as libraryDestinations,
  type ConfiguredDestination,
  kafkaDestinationConfigSchema,
  redisDestinationConfigSchema,
  type KafkaDestinationConfig,
  type KafkaRecordBatch,
  type KafkaRecordProducer,
} from '@sluice/destinations';
import { createDurableProducer, createKafka, type Producer } from '@sluice/kafka';
import type { Logger } from '@sluice/observability';
import type { AvroSerde } from '@sluice/serde';
import { Redis } from 'ioredis';
import { DestinationDeliverer, type DestinationRuntime } from './destination-deliverer';
import { WebhookDeliverer, webhookConfigSchema } from './webhook';
import type { DestinationSpec } from './workspace';

export type DelivererFactory = (dest: DestinationSpec) => Deliverer;

function problems(dest: DestinationSpec, issues: string[]): ConfigError {
  return new ConfigError(
    'router',
    issues.map((i) => `destination ${dest.id}: config.${i}`),
  );
}

/** The destination's own settings: `config` without the router's `delivery` block. */
export function destinationSettings(dest: DestinationSpec): Record<string, unknown> {
  const { delivery: _ignored, ...rest } = dest.config;
  void _ignored;
  return rest;
}

function webhook(dest: DestinationSpec): Deliverer {
  const parsed = webhookConfigSchema.safeParse(destinationSettings(dest));
  if (!parsed.success)
    throw problems(
      dest,
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    );
  return new WebhookDeliverer(parsed.data);
}

/** What the library-backed deliverers need from the router process. */
export interface DelivererContext {
  log: Logger;
  /** The cluster Sluice runs on (a kafka destination without `cluster` produces there). */
  kafka: KafkaConfig;
  serde: AvroSerde;
  /** HTTP timeout per request. */
  httpTimeoutMs?: number;
  /** Events a destination does not take (dropped, counted). */
  onSkipped?: (destinationId: string, n: number) => void;
}

/** A KafkaJS producer from the destination's config (its own cluster, or Sluice's), connected on first use. */
export function kafkaRecordProducer(
  ctx: DelivererContext,
  dest: DestinationSpec,
  config: KafkaDestinationConfig,
): { producer: KafkaRecordProducer; close: () => Promise<void> } {
  const cluster: KafkaConfig = config.cluster
    ? {
        brokers: config.cluster.brokers,
        clientId: config.cluster.clientId,
        ssl: config.cluster.ssl,
        sasl: config.cluster.sasl,
        topicPrefix: '',
      }
    : { ...ctx.kafka, clientId: `${ctx.kafka.clientId}.${dest.id}` };
  const producer: Producer = createDurableProducer(createKafka(cluster, ctx.log.child({ destinationId: dest.id })));
  let connected: Promise<void> | undefined;
  const schemaIds = new Map<string, number>();
  const connect = () => {
    connected ??= producer.connect().catch((err: unknown) => {
      connected = undefined;
      throw err;
    });
    return connected;
  };
  const encode = async (batch: KafkaRecordBatch, value: Record<string, unknown>): Promise<Buffer> => {
    if (batch.format === 'json') return Buffer.from(JSON.stringify(value), 'utf8');
    const subject = batch.subject ?? `${batch.topic}-value`;
    let id = schemaIds.get(subject);
    if (id === undefined) {
      id = await ctx.serde.client.getLatestSchemaId(subject);
      schemaIds.set(subject, id);
    }
    return ctx.serde.client.encode(id, value);
  };
  return {
    producer: {
      async send(batch) {
        await connect();
        const messages = await Promise.all(
          batch.records.map(async (r) => ({ key: r.key, value: await encode(batch, r.value), headers: r.headers })),
        );
        await producer.send({ topic: batch.topic, acks: -1, messages });
      },
    },
    close: async () => {
      if (connected) await producer.disconnect();
    },
  };
}

/** Every type of `@sluice/destinations` as a deliverer factory. */
export function libraryDeliverers(ctx: DelivererContext): Record<string, DelivererFactory> {
  const out: Record<string, DelivererFactory> = {};
  for (const [type, registered] of Object.entries(libraryDestinations)) {
    out[type] = (dest) => {
      const settings = destinationSettings(dest);
      const r = registered.configure(settings);
      if (!r.ok) throw problems(dest, r.problems);
      const configured: ConfiguredDestination = r.destination;
      const runtime: DestinationRuntime = {
        timeoutMs: ctx.httpTimeoutMs ?? 10_000,
        onSkipped: (n) => ctx.onSkipped?.(dest.id, n),
      };
      if (configured.transport === 'kafka') {
        // configure() validated it; parse again for the typed config the producer needs.
        const { producer, close } = kafkaRecordProducer(ctx, dest, kafkaDestinationConfigSchema.parse(settings));
        runtime.producer = producer;
        runtime.close = close;
      } else if (configured.transport === 'redis') {
        const { url } = redisDestinationConfigSchema.parse(settings);
        const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
        client.on('error', (err: Error) => ctx.log.warn({ err, destinationId: dest.id }, 'redis connection error'));
        runtime.redis = createRedisExecutor(client);
        runtime.close = async () => {
          client.disconnect();
        };
      }
      return new DestinationDeliverer(configured, runtime);
    };
  }
  return out;
}

/**
 * Deliverers by destination type: every library type, with the router's own
 * webhook (decision 0610) kept for `webhook`.
 */
export function allDeliverers(ctx: DelivererContext): Record<string, DelivererFactory> {
  return { ...libraryDeliverers(ctx), webhook };
}

/** The router's webhook alone (tests). */
export const builtinDeliverers: Record<string, DelivererFactory> = { webhook };
