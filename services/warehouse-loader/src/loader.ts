import { fromEnvelope, EventEnvelope } from '@sluice/events';
import type { IdentityEdge } from '@sluice/identity';
import type { Kafka } from 'kafkajs';
import { BatchConsumer, createKafka, ensureTopics, TOPICS, topicName } from '@sluice/kafka';
import type { Logger } from '@sluice/observability';
import {
  createMetricsRegistry,
  Lifecycle,
  serveMetricsToPrimary,
  signalWorkerReady,
  startOpsServer,
} from '@sluice/observability';
import { AvroSerde, SerdeError } from '@sluice/serde';
import type { LoaderConfig } from './config';
import { Decoder, EventLoader } from './event-loader';
import { IdentityStitcher } from './identity-stitcher';
import { createSink } from './lake-sink';
import { createLoaderMetrics } from './metrics';
import { createWarehouseSinks, WarehouseStage } from './warehouse-stage';

export interface RunningLoader {
  /** Port of /metrics and the health checks (0 in a cluster worker: the primary serves them). */
  metricsPort: number;
  stop(): Promise<void>;
}

export interface LoaderRole {
  /** A node:cluster worker of a LOADER_WORKERS > 1 instance: the primary made the topics and serves the ops port. */
  clusterWorker?: boolean;
}

/** Creates the loader's input topics when missing (done once per instance, before any consumer joins). */
export async function ensureLoaderTopics(kafka: Kafka, topicPrefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [TOPICS.eventsProcessed, TOPICS.identityEdges], topicPrefix);
  } finally {
    await admin.disconnect();
  }
}

/** Wires the loader: ops server, event loader, identity stitcher; stops in reverse order. */
export async function startLoader(
  config: LoaderConfig,
  log: Logger,
  lifecycle: Lifecycle,
  role: LoaderRole = {},
): Promise<RunningLoader> {
  const registry = createMetricsRegistry('warehouse-loader');
  if (role.clusterWorker) serveMetricsToPrimary(registry);
  const metrics = createLoaderMetrics(registry);
  const kafka = createKafka(config.kafka, log);
  const serde = new AvroSerde(config.registry);
  const prefix = config.kafka.topicPrefix;
  const eventsTopic = topicName(prefix, TOPICS.eventsProcessed.name);
  const edgesTopic = topicName(prefix, TOPICS.identityEdges.name);

  if (!role.clusterWorker) await ensureLoaderTopics(kafka, prefix);

  let ready = false;
  let metricsPort = 0;
  if (!role.clusterWorker) {
    const ops = await startOpsServer(config.observability.metricsPort, registry, () => ready);
    lifecycle.add('ops-server', () => ops.close());
    metricsPort = ops.port;
  }

  const { sink: lakeSink, store } = createSink(config);
  const warehouses = createWarehouseSinks(config, log);
  let sink = lakeSink;
  if (warehouses.length > 0) {
    const stage = new WarehouseStage(lakeSink, warehouses, log.child({ component: 'warehouse' }));
    // Added before the event loader, so stopped after it: its last flush still loads.
    lifecycle.add('warehouses', () => stage.close());
    sink = stage;
  }
  const decode: Decoder = async (value) => {
    if (!value) return null;
    try {
      return fromEnvelope(await serde.decode<EventEnvelope>(value, 'event-envelope'));
    } catch (err) {
      if (err instanceof SerdeError && err.retriable) throw err; // registry unreachable: the batch is fetched again
      log.warn({ topic: eventsTopic, err: (err as Error).message }, 'undecodable record skipped');
      return null;
    }
  };

  if (config.identity) {
    const stitcher = new IdentityStitcher(
      store,
      'delta',
      `${config.groupId}:identity-graph`,
      metrics,
      log.child({ component: 'identity' }),
    );
    await stitcher.load();
    const identity = new BatchConsumer(
      kafka,
      { groupId: `${config.groupId}.identity`, topics: [edgesTopic], fromBeginning: true, readCommitted: true },
      async (batch) => {
        const edges: IdentityEdge[] = [];
        for (const m of batch.messages) {
          if (!m.value) continue;
          try {
            edges.push(await serde.decode<IdentityEdge>(m.value, 'identity-edge'));
          } catch (err) {
            if (err instanceof SerdeError && err.retriable) throw err;
            metrics.identityEdges.inc({ outcome: 'rejected' });
            log.warn(
              { topic: edgesTopic, offset: m.offset, err: (err as Error).message },
              'undecodable identity edge skipped',
            );
          }
        }
        const out = await stitcher.apply(edges);
        metrics.identityEdges.inc({ outcome: 'applied' }, edges.length);
        metrics.rowsLoaded.inc({ table: 'identity_mappings' }, out.mappings);
        metrics.rowsLoaded.inc({ table: 'identity_merge_rules' }, out.rules);
      },
      log.child({ component: 'identity' }),
    );
    await identity.start();
    lifecycle.add('identity-consumer', () => identity.stop());
  }

  const loader = new EventLoader(
    kafka,
    {
      groupId: config.groupId,
      topic: eventsTopic,
      maxEvents: config.flush.maxEvents,
      intervalMs: config.flush.intervalMs,
      partitionsConcurrently: config.partitionsConcurrently,
      flushConcurrency: config.flushConcurrency,
      maxBufferedEvents: config.maxBufferedEvents,
      maxBytesPerPartition: config.maxBytesPerPartition,
    },
    decode,
    sink,
    metrics,
    log.child({ component: 'events' }),
  );
  await loader.start();
  lifecycle.add('event-loader', () => loader.stop());
  ready = true;
  if (role.clusterWorker) signalWorkerReady();
  log.info(
    {
      lake: config.lake.kind,
      format: config.format,
      warehouses: warehouses.map((w) => w.name),
      eventsTopic,
      edgesTopic,
    },
    'warehouse loader started',
  );
  return { metricsPort, stop: () => lifecycle.stop() };
}
