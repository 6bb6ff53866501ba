import {
  DeliveryEngine,
  DestinationConsumer,
  deliveryEnvelopeDecoder,
  kafkaDeadLetterSink,
  type Deliverer,
} from '@sluice/delivery';
import {
  createDurableProducer,
  createKafka,
  destinationTopic,
  ensureTopics,
  topicName,
  TOPICS,
  type Producer,
} from '@sluice/kafka';
import type { Logger } from '@sluice/observability';
import { AvroSerde } from '@sluice/serde';
import type { Registry } from 'prom-client';
import type { RouterConfig } from './config';
import { allDeliverers, type DelivererFactory } from './deliverers';
import { RouterMetrics } from './metrics';
import { deliverySettingsFor, type DestinationSpec } from './workspace';

export interface RunningDestination {
  spec: DestinationSpec;
  topic: string;
  groupId: string;
  engine: DeliveryEngine;
  consumer: DestinationConsumer;
  deliverer: Deliverer;
}

export interface Router {
  destinations: RunningDestination[];
  skipped: { id: string; reason: string }[];
  metrics: RouterMetrics;
  stop(): Promise<void>;
}

export interface RouterDeps {
  log: Logger;
  registry: Registry;
  destinations: DestinationSpec[];
  /** A destination's consumer died for good (default: log only). */
  onFatal?: (destinationId: string, err: unknown) => void;
  /** Deliverers by destination type; defaults to every type of `@sluice/destinations` (`allDeliverers`). */
  deliverers?: Record<string, DelivererFactory>;
}

/** The consumer group of one destination (with the install's topic prefix). */
export function routerGroupId(prefix: string, destinationId: string): string {
  return `${prefix}sluice-router.${destinationId}`;
}

/**
 * Starts one consumer group and one delivery engine per destination; a slow
 * or dead destination holds back nothing but itself.
 */
export async function startRouter(config: RouterConfig, deps: RouterDeps): Promise<Router> {
  const { log } = deps;
  const prefix = config.kafka.topicPrefix;
  const kafka = createKafka(config.kafka, log);
  const serde = new AvroSerde(config.registry);
  const metrics = new RouterMetrics(deps.registry);
  const factories =
    deps.deliverers ??
    allDeliverers({
      log,
      kafka: config.kafka,
      serde,
      onSkipped: (destinationId, n) => metrics.skipped.inc({ destination: destinationId }, n),
    });
  const deadLetterTopic = topicName(prefix, TOPICS.deadLetter.name);

  const runnable: { spec: DestinationSpec; deliverer: Deliverer }[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const spec of deps.destinations) {
    const factory = factories[spec.type];
    if (!factory) {
      const reason = `no deliverer for type "${spec.type}" (known: ${Object.keys(factories).join(', ')})`;
      log.error({ destinationId: spec.id }, reason);
      skipped.push({ id: spec.id, reason });
      continue;
    }
    runnable.push({ spec, deliverer: factory(spec) });
  }

  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [TOPICS.deadLetter, ...runnable.map((r) => destinationTopic(r.spec.id))], prefix);
  } finally {
    await admin.disconnect();
  }
  await serde.bindTopic(deadLetterTopic, 'dead-letter');
  const producer: Producer = createDurableProducer(kafka);
  await producer.connect();
  const sink = kafkaDeadLetterSink(producer, serde, deadLetterTopic);
  const decode = deliveryEnvelopeDecoder(serde);

  const running: RunningDestination[] = [];
  const stopAll = async () => {
    await Promise.all(
      running.map(async (d) => {
        try {
          await d.consumer.stop();
        } catch (err) {
          log.error({ err, destinationId: d.spec.id }, 'destination did not stop cleanly');
        }
        await d.deliverer.close?.();
      }),
    );
    await producer.disconnect();
  };
  try {
    for (const { spec, deliverer } of runnable) {
      const settings = deliverySettingsFor(spec, config.delivery);
      const topic = topicName(prefix, destinationTopic(spec.id).name);
      const groupId = routerGroupId(prefix, spec.id);
      const dlog = log.child({ destinationId: spec.id });
      const engine = new DeliveryEngine({
        destinationId: spec.id,
        topic,
        deliverer,
        deadLetters: sink,
        settings,
        metrics: metrics.forDestination(spec.id),
        log: dlog,
      });
      metrics.watch(spec.id, engine);
      const consumer = new DestinationConsumer(
        kafka,
        engine,
        decode,
        {
          groupId,
          topic,
          commitIntervalMs: settings.commitIntervalMs,
          sessionTimeoutMs: config.sessionTimeoutMs,
          onFatal: (err) => deps.onFatal?.(spec.id, err),
        },
        dlog,
      );
      running.push({ spec, topic, groupId, engine, consumer, deliverer });
      await consumer.start();
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  log.info({ destinations: running.map((d) => d.spec.id), skipped }, 'router started');
  return { destinations: running, skipped, metrics, stop: stopAll };
}
