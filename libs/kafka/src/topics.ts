import type { Admin, ITopicConfig } from 'kafkajs';
import { topicName } from './client';

export interface TopicSpec {
  /** Name without the install's prefix. */
  name: string;
  partitions: number;
  /** Milliseconds; -1 keeps records forever. */
  retentionMs?: number;
  compacted?: boolean;
  /** With `compacted`: also delete segments older than retentionMs (cleanup.policy=compact,delete). */
  alsoDelete?: boolean;
  purpose: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Event topics are partitioned by user; 12 lets a group grow to 12 consumers per stage. */
export const EVENT_PARTITIONS = 12;

/**
 * Every topic Sluice uses, declared once. Services create what they need from
 * this list at start-up; per-destination topics come from `destinationTopic`.
 */
export const TOPICS = {
  eventsRaw: {
    name: 'sluice.events.raw',
    partitions: EVENT_PARTITIONS,
    retentionMs: 7 * DAY_MS,
    purpose: 'events accepted by the gateway and Kafka sources, keyed by user',
  },
  eventsProcessed: {
    name: 'sluice.events.processed',
    partitions: EVENT_PARTITIONS,
    retentionMs: 7 * DAY_MS,
    purpose: 'deduplicated, filtered, validated events for the lake loaders',
  },
  identityEdges: {
    name: 'sluice.identity.edges',
    partitions: EVENT_PARTITIONS,
    retentionMs: 30 * DAY_MS,
    purpose: 'pairs of identifiers seen together (identify, alias)',
  },
  deadLetter: {
    name: 'sluice.deadletter',
    partitions: EVENT_PARTITIONS,
    retentionMs: 30 * DAY_MS,
    purpose: 'what a stage finally failed to handle, with the error',
  },
  dedupeChangelog: {
    name: 'sluice.processor.dedupe-changelog',
    partitions: EVENT_PARTITIONS,
    compacted: true,
    // Compacted to one entry per id, and deleted after twice the default window: the longest window supported.
    alsoDelete: true,
    retentionMs: 2 * DAY_MS,
    purpose: 'messageIds seen per partition, to rebuild dedupe state after restarts and rebalances',
  },
  routerRetryState: {
    name: 'sluice.router.retry-state',
    partitions: EVENT_PARTITIONS,
    compacted: true,
    // Compacted to one entry per waiting event; entries older than a destination topic's retention name nothing.
    alsoDelete: true,
    retentionMs: 7 * DAY_MS,
    purpose:
      'first-attempt time and attempt count of router events waiting for a retry, keyed by destination/partition/offset',
  },
  schemas: {
    name: '_sluice_schemas',
    partitions: 1,
    compacted: true,
    retentionMs: -1,
    purpose: 'the schema registry store',
  },
} as const satisfies Record<string, TopicSpec>;

export function destinationTopic(destinationId: string): TopicSpec {
  if (!/^[A-Za-z0-9._-]+$/.test(destinationId)) {
    throw new Error(`destination id "${destinationId}" cannot name a Kafka topic (use letters, digits, . _ -)`);
  }
  return {
    name: `sluice.dest.${destinationId}`,
    partitions: EVENT_PARTITIONS,
    retentionMs: 7 * DAY_MS,
    purpose: `events routed to destination ${destinationId}`,
  };
}

export function topicConfig(spec: TopicSpec, prefix: string): ITopicConfig {
  const configEntries: { name: string; value: string }[] = [];
  if (spec.compacted)
    configEntries.push({ name: 'cleanup.policy', value: spec.alsoDelete ? 'compact,delete' : 'compact' });
  if (spec.retentionMs !== undefined) configEntries.push({ name: 'retention.ms', value: String(spec.retentionMs) });
  return {
    topic: topicName(prefix, spec.name),
    numPartitions: spec.partitions,
    replicationFactor: -1,
    configEntries,
  };
}

/**
 * Creates the topics that do not exist yet. An existing topic with fewer
 * partitions than declared is an error: per-user order depends on the count.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[], prefix: string): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(topicName(prefix, s.name)));
  if (missing.length > 0) {
    try {
      await createTopicsAndWait(
        admin,
        missing.map((s) => topicConfig(s, prefix)),
      );
    } catch (err) {
      // Another instance may have created them in between.
      if (!(err instanceof Error && /already exists/i.test(err.message))) throw err;
    }
  }
  const present = specs.filter((s) => existing.has(topicName(prefix, s.name)));
  if (present.length > 0) {
    const meta = await admin.fetchTopicMetadata({ topics: present.map((s) => topicName(prefix, s.name)) });
    for (const t of meta.topics) {
      const spec = present.find((s) => topicName(prefix, s.name) === t.name);
      if (spec && t.partitions.length < spec.partitions) {
        throw new Error(
          `topic ${t.name} has ${t.partitions.length} partitions but Sluice declares ${spec.partitions}; ` +
            'add partitions with kafka-topics --alter before starting',
        );
      }
    }
  }
}

/**
 * Creates topics and waits until every partition has a leader. KafkaJS's own
 * `waitForLeaders` gives up when a KRaft broker briefly answers
 * UNKNOWN_TOPIC_OR_PARTITION right after creation, so this polls instead.
 */
export async function createTopicsAndWait(admin: Admin, topics: ITopicConfig[], timeoutMs = 30000): Promise<void> {
  await admin.createTopics({ topics, waitForLeaders: false });
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: names });
      const ready = meta.topics.every(
        (t) =>
          t.partitions.length === (topics.find((c) => c.topic === t.name)?.numPartitions ?? t.partitions.length) &&
          t.partitions.every((p) => p.leader >= 0),
      );
      if (ready) return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`topics ${names.join(', ')} had no leaders after ${timeoutMs} ms: ${String(lastError ?? '')}`);
}

/**
 * Low and high offsets of a topic's partitions. KafkaJS's admin gives up on NOT_LEADER and
 * similar answers, which a KRaft broker gives for a short while after a topic is created or a
 * leader moves: those are waited out. Missing metadata means the admin was disconnected (its
 * owner is stopping) and fails at once.
 */
export async function fetchTopicOffsetsWhenReady(
  admin: Admin,
  topic: string,
  timeoutMs = 30000,
): Promise<Awaited<ReturnType<Admin['fetchTopicOffsets']>>> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (err) {
      const retriable =
        err instanceof Error &&
        err.name !== 'KafkaJSTopicMetadataNotLoaded' &&
        (err as { retriable?: boolean }).retriable === true;
      if (!retriable || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.min(100 * attempt, 1000)));
    }
  }
}
