import {
  createKafka,
  destinationTopic,
  ensureTopics,
  TopicSpec,
  TOPICS,
  topicName,
  TransactionalStage,
} from '@sluice/kafka';
import { createMetricsRegistry, Logger, startOpsServer } from '@sluice/observability';
import { DedupeIndex } from '@sluice/processing';
import { AvroSerde } from '@sluice/serde';
import { WorkspaceSnapshot, WorkspaceStore } from '@sluice/workspace';
import type { Registry } from 'prom-client';
import type { ProcessorConfig } from './config';
import { restoreDedupe } from './dedupe-restore';
import { createProcessorMetrics } from './metrics';
import { ProcessorPipeline } from './pipeline';
import type { TransformationRunner } from './transformations';

export interface RunningProcessor {
  metricsPort: number;
  registry: Registry;
  stop(): Promise<void>;
}

/** Destination topics for every non-lake destination in the workspace. */
function destinationTopics(snapshot: WorkspaceSnapshot): TopicSpec[] {
  return [...snapshot.destinationById.values()].filter((d) => !d.lake).map((d) => destinationTopic(d.destination.id));
}

export interface ProcessorHooks {
  /** This instance can no longer commit (another took over its transactional ids): stop it. */
  onFatal?: (err: unknown) => void;
}

/**
 * Starts in order (workspace, topics, schemas, ops server, stage) and returns
 * a stop that undoes it in reverse: stop fetching and finish the batch in
 * hand (its transaction commits or aborts), then the rest.
 */
export async function startProcessor(
  config: ProcessorConfig,
  log: Logger,
  makeRunner: (store: WorkspaceStore) => TransformationRunner,
  hooks: ProcessorHooks = {},
): Promise<RunningProcessor> {
  const prefix = config.kafka.topicPrefix;
  const workspace = await WorkspaceStore.open(config.workspaceFile, {
    log: log.child({ component: 'workspace' }),
  });
  const kafka = createKafka(config.kafka, log);
  const admin = kafka.admin();
  await admin.connect();
  const fixed = [
    TOPICS.eventsRaw,
    TOPICS.eventsProcessed,
    TOPICS.identityEdges,
    TOPICS.deadLetter,
    TOPICS.dedupeChangelog,
  ];
  await ensureTopics(admin, [...fixed, ...destinationTopics(workspace.current())], prefix);

  const serde = new AvroSerde(config.registry);
  const bindDestinations = async (snapshot: WorkspaceSnapshot) => {
    for (const spec of destinationTopics(snapshot)) {
      await serde.bindTopic(topicName(prefix, spec.name), 'delivery-envelope');
    }
  };
  await serde.bindTopic(topicName(prefix, TOPICS.eventsRaw.name), 'event-envelope');
  await serde.bindTopic(topicName(prefix, TOPICS.eventsProcessed.name), 'event-envelope');
  await serde.bindTopic(topicName(prefix, TOPICS.identityEdges.name), 'identity-edge');
  await serde.bindTopic(topicName(prefix, TOPICS.deadLetter.name), 'dead-letter');
  await bindDestinations(workspace.current());

  // A destination added by a reload gets its topic before any event is routed to it.
  let current = workspace.current();
  let pendingReload: Promise<void> = Promise.resolve();
  workspace.onChange((next) => {
    pendingReload = pendingReload.then(async () => {
      try {
        await ensureTopics(admin, destinationTopics(next), prefix);
        await bindDestinations(next);
        current = next;
        log.info({ fingerprint: next.fingerprint }, 'workspace reloaded');
      } catch (err) {
        log.error({ err }, 'could not prepare topics for the reloaded workspace; keeping the previous one');
      }
    });
  });

  const registry = createMetricsRegistry('processor');
  const metrics = createProcessorMetrics(registry);
  const dedupe = new DedupeIndex({
    windowMs: config.dedupeWindowMs,
    maxEntriesPerPartition: config.dedupeMaxEntriesPerPartition,
  });
  const transformations = makeRunner(workspace);
  const pipeline = new ProcessorPipeline({
    serde,
    dedupe,
    snapshot: () => current,
    transformations,
    metrics,
    log,
    topicPrefix: prefix,
  });

  const rawTopic = topicName(prefix, TOPICS.eventsRaw.name);
  const changelogTopic = topicName(prefix, TOPICS.dedupeChangelog.name);
  const restored = new Map<number, Promise<unknown>>();
  let ready = false;
  let stopping = false;
  const stage = new TransactionalStage(
    kafka,
    {
      groupId: config.groupId,
      topics: [rawTopic],
      transactionalId: `${config.groupId}-${config.instanceId}`,
      maxBytesPerPartition: config.maxBytesPerPartition,
      sessionTimeoutMs: config.sessionTimeoutMs,
      transactionTimeoutMs: config.transactionTimeoutMs,
      concurrency: config.concurrency,
      transactionalClient: config.transactionalClient,
      kafkaConfig: config.kafka,
      onFenced: (err) => hooks.onFatal?.(err),
    },
    async (batch) => {
      let restoring = restored.get(batch.partition);
      if (!restoring) {
        restoring = restoreDedupe(kafka, admin, changelogTopic, [batch.partition], dedupe, log);
        restored.set(batch.partition, restoring);
      }
      try {
        await restoring;
      } catch (err) {
        // The next delivery of this batch starts a fresh restore.
        if (restored.get(batch.partition) === restoring) restored.delete(batch.partition);
        throw err;
      }
      await pendingReload;
      const end = metrics.batchSeconds.startTimer();
      const result = await pipeline.handleBatch(batch);
      const onCommit = result.onCommit;
      return { ...result, onCommit: () => (onCommit?.(), end()) };
    },
    log,
  );
  stage.rawConsumer.on(stage.rawConsumer.events.GROUP_JOIN, (e) => {
    const assigned = e.payload.memberAssignment[rawTopic] ?? [];
    restored.clear();
    for (const p of dedupe.partitions()) if (!assigned.includes(p)) dedupe.dropPartition(p);
    const all = restoreDedupe(kafka, admin, changelogTopic, assigned, dedupe, log);
    // A failure surfaces in the partition's next batch, which retries the restore; here it is only logged.
    all.catch((err: unknown) => {
      if (!stopping) log.warn({ err, partitions: assigned }, 'dedupe restore failed; retried on the next batch');
    });
    for (const p of assigned) restored.set(p, all);
    ready = true;
    log.info({ partitions: assigned }, 'partitions assigned');
  });

  const ops = await startOpsServer(config.observability.metricsPort, registry, () => ready);
  await stage.start();
  log.info({ groupId: config.groupId, instanceId: config.instanceId }, 'processor started');

  return {
    metricsPort: ops.port,
    registry,
    stop: async () => {
      ready = false;
      stopping = true;
      await stage.stop();
      await transformations.close();
      workspace.close();
      await admin.disconnect();
      await ops.close();
    },
  };
}
