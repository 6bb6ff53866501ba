import {
  DeliveryEngine,
  DestinationConsumer,
  deliveryEnvelopeDecoder,
  KafkaRetryStateStore,
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
import { deliverySettingsFor, sameDelivery, type DestinationSpec } from './workspace';

export interface RunningDestination {
  spec: DestinationSpec;
  topic: string;
  groupId: string;
  engine: DeliveryEngine;
  consumer: DestinationConsumer;
  deliverer: Deliverer;
}

/** What one `apply` did, by destination id. */
export interface ApplyReport {
  started: string[];
  stopped: string[];
  /** Stopped and started again with a changed type or config. */
  restarted: string[];
  /** Could not be started with the new spec (the previous one, if any, keeps running). */
  failed: { id: string; reason: string }[];
}

export interface Router {
  /** The destinations running now (changes with `apply`). */
  readonly destinations: readonly RunningDestination[];
  /** Destinations of the last spec list whose type has no deliverer. */
  readonly skipped: readonly { id: string; reason: string }[];
  metrics: RouterMetrics;
  /**
   * Brings the running destinations in line with `specs` (the enabled ones
   * to run): starts new ones, stops removed ones (finishing requests in flight
   * and committing), restarts changed ones. Calls run one after another.
   */
  apply(specs: DestinationSpec[]): Promise<ApplyReport>;
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

/** Running destinations that `specs` no longer wants, wants anew, or wants changed. */
export function planApply(
  running: readonly DestinationSpec[],
  specs: readonly DestinationSpec[],
): { start: DestinationSpec[]; stop: DestinationSpec[]; restart: DestinationSpec[] } {
  const wanted = new Map(specs.map((s) => [s.id, s]));
  const have = new Map(running.map((s) => [s.id, s]));
  return {
    start: specs.filter((s) => !have.has(s.id)),
    stop: running.filter((s) => !wanted.has(s.id)),
    restart: specs.filter((s) => have.has(s.id) && !sameDelivery(have.get(s.id)!, s)),
  };
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
  const retryStateTopic = topicName(prefix, TOPICS.routerRetryState.name);
  let skipped: { id: string; reason: string }[] = [];

  /** Deliverers for the specs with a known type; an invalid config throws (ConfigError). */
  const build = (specs: DestinationSpec[]) => {
    const runnable: { spec: DestinationSpec; deliverer: Deliverer }[] = [];
    const unknown: { id: string; reason: string }[] = [];
    for (const spec of specs) {
      const factory = factories[spec.type];
      if (!factory) {
        const reason = `no deliverer for type "${spec.type}" (known: ${Object.keys(factories).join(', ')})`;
        log.error({ destinationId: spec.id }, reason);
        unknown.push({ id: spec.id, reason });
        continue;
      }
      runnable.push({ spec, deliverer: factory(spec) });
    }
    return { runnable, unknown };
  };

  // Invalid settings stop the router at start; later reloads only log them.
  const initial = build(deps.destinations);
  skipped = initial.unknown;

  // Kept connected: destinations added by a reload get their topics through it.
  const admin = kafka.admin();
  const producer: Producer = createDurableProducer(kafka);
  try {
    await admin.connect();
    await ensureTopics(
      admin,
      [TOPICS.deadLetter, TOPICS.routerRetryState, ...initial.runnable.map((r) => destinationTopic(r.spec.id))],
      prefix,
    );
    await serde.bindTopic(deadLetterTopic, 'dead-letter');
    await producer.connect();
  } catch (err) {
    await admin.disconnect();
    throw err;
  }
  const sink = kafkaDeadLetterSink(producer, serde, deadLetterTopic);
  const decode = deliveryEnvelopeDecoder(serde);

  const running = new Map<string, RunningDestination & { retryState: KafkaRetryStateStore }>();

  const startOne = async (spec: DestinationSpec, deliverer: Deliverer) => {
    const settings = deliverySettingsFor(spec, config.delivery);
    const topic = topicName(prefix, destinationTopic(spec.id).name);
    const groupId = routerGroupId(prefix, spec.id);
    const dlog = log.child({ destinationId: spec.id });
    const retryState = new KafkaRetryStateStore(
      kafka,
      producer,
      {
        topic: retryStateTopic,
        partitions: TOPICS.routerRetryState.partitions,
        destinationId: spec.id,
        groupPrefix: groupId,
      },
      dlog,
    );
    const engine = new DeliveryEngine({
      destinationId: spec.id,
      topic,
      deliverer,
      deadLetters: sink,
      settings,
      metrics: metrics.forDestination(spec.id),
      log: dlog,
      retryState,
    });
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
        retryState,
      },
      dlog,
    );
    const d = { spec, topic, groupId, engine, consumer, deliverer, retryState };
    running.set(spec.id, d);
    metrics.watch(spec.id, engine);
    await consumer.start();
  };

  const stopOne = async (id: string) => {
    const d = running.get(id);
    if (!d) return;
    running.delete(id);
    metrics.unwatch(id);
    try {
      await d.consumer.stop();
    } catch (err) {
      log.error({ err, destinationId: id }, 'destination did not stop cleanly');
    }
    await d.retryState.close();
    try {
      await d.deliverer.close?.();
    } catch (err) {
      log.warn({ err, destinationId: id }, 'deliverer did not close cleanly');
    }
  };

  let stopped = false;
  const stopAll = async () => {
    stopped = true;
    await chain.catch(() => undefined);
    await Promise.all([...running.keys()].map((id) => stopOne(id)));
    await producer.disconnect();
    await admin.disconnect();
  };

  let chain: Promise<unknown> = Promise.resolve();
  const apply = (specs: DestinationSpec[]): Promise<ApplyReport> => {
    const next = chain.then(() => doApply(specs));
    chain = next.catch(() => undefined);
    return next;
  };

  const doApply = async (specs: DestinationSpec[]): Promise<ApplyReport> => {
    const report: ApplyReport = { started: [], stopped: [], restarted: [], failed: [] };
    if (stopped) return report;
    const known = specs.filter((s) => factories[s.type] !== undefined);
    skipped = specs
      .filter((s) => factories[s.type] === undefined)
      .map((s) => ({ id: s.id, reason: `no deliverer for type "${s.type}"` }));
    for (const s of skipped) log.error({ destinationId: s.id }, s.reason);
    const plan = planApply(
      [...running.values()].map((d) => d.spec),
      known,
    );
    for (const s of plan.stop) {
      await stopOne(s.id);
      report.stopped.push(s.id);
    }
    for (const s of [...plan.start, ...plan.restart]) {
      const restart = running.has(s.id);
      let deliverer: Deliverer;
      try {
        // Everything that can reject the new spec runs before the running destination is stopped.
        deliverySettingsFor(s, config.delivery);
        deliverer = factories[s.type]!(s);
        if (!restart) await ensureTopics(admin, [destinationTopic(s.id)], prefix);
      } catch (err) {
        report.failed.push({ id: s.id, reason: (err as Error).message });
        continue;
      }
      if (restart) await stopOne(s.id);
      try {
        await startOne(s, deliverer);
        (restart ? report.restarted : report.started).push(s.id);
      } catch (err) {
        report.failed.push({ id: s.id, reason: (err as Error).message });
        await stopOne(s.id);
      }
    }
    if (report.failed.length > 0) {
      log.error({ failed: report.failed }, 'workspace change not fully applied; those destinations are as before');
    }
    log.info(
      {
        started: report.started,
        stopped: report.stopped,
        restarted: report.restarted,
        destinations: [...running.keys()],
      },
      'destinations updated',
    );
    return report;
  };

  try {
    for (const { spec, deliverer } of initial.runnable) await startOne(spec, deliverer);
  } catch (err) {
    await stopAll();
    throw err;
  }
  log.info({ destinations: [...running.keys()], skipped }, 'router started');
  return {
    get destinations() {
      return [...running.values()];
    },
    get skipped() {
      return skipped;
    },
    metrics,
    apply,
    stop: stopAll,
  };
}
