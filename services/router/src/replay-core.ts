import { randomBytes } from 'node:crypto';
import type { DeadLetterRecord, DeliveryEnvelope } from '@sluice/delivery';
import { EventEnvelope, fromEnvelope, partitionKey } from '@sluice/events';
import {
  destinationTopic,
  ensureTopics,
  topicName,
  TOPICS,
  type Kafka,
  type KafkaMessage,
  type Message,
  type Producer,
} from '@sluice/kafka';
import type { Logger } from '@sluice/observability';
import type { AvroSerde } from '@sluice/serde';

export interface ReplayContext {
  kafka: Kafka;
  producer: Producer;
  serde: AvroSerde;
  topicPrefix: string;
  log: Logger;
}

export interface TimeRange {
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
}

export interface ReplayReport {
  read: number;
  /** Re-produced records by destination id. */
  produced: Record<string, number>;
  skipped: number;
  dryRun: boolean;
}

const inRange = (t: number, r: TimeRange) => (r.from === undefined || t >= r.from) && (r.to === undefined || t < r.to);

/**
 * Reads `topic` from the first record at or after `range.from` (by record
 * timestamp) up to the end offsets as they were when the read started (or the
 * first record at `range.to`), and hands each batch to `handle`, which returns
 * the records to produce. Batches are produced (acks=all) in order.
 */
export async function readRange(
  ctx: ReplayContext,
  topic: string,
  range: TimeRange,
  handle: (messages: KafkaMessage[], partition: number) => Promise<{ topic: string; message: Message }[]>,
): Promise<void> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  const groupId = `${ctx.topicPrefix}sluice-replay.${randomBytes(6).toString('hex')}`;
  try {
    const bounds = await admin.fetchTopicOffsets(topic);
    const starts = new Map<number, bigint>(bounds.map((b) => [b.partition, BigInt(b.low)]));
    const ends = new Map<number, bigint>(bounds.map((b) => [b.partition, BigInt(b.high)]));
    if (range.from !== undefined) {
      for (const o of await admin.fetchTopicOffsetsByTimestamp(topic, range.from)) {
        starts.set(o.partition, BigInt(o.offset));
      }
    }
    if (range.to !== undefined) {
      for (const o of await admin.fetchTopicOffsetsByTimestamp(topic, range.to)) {
        const end = ends.get(o.partition) ?? 0n;
        if (BigInt(o.offset) < end) ends.set(o.partition, BigInt(o.offset));
      }
    }
    const pending = new Set([...ends].filter(([p, end]) => (starts.get(p) ?? end) < end).map(([p]) => p));
    if (pending.size === 0) return;
    await admin.setOffsets({
      groupId,
      topic,
      partitions: [...ends.keys()].map((p) => ({
        partition: p,
        offset: String(pending.has(p) ? starts.get(p) : ends.get(p)),
      })),
    });
    const consumer = ctx.kafka.consumer({ groupId, allowAutoTopicCreation: false, readUncommitted: false });
    await consumer.connect();
    let failure: unknown;
    try {
      await new Promise<void>((resolve, reject) => {
        // Batches of only transaction markers never reach eachBatch; their end event still tells the position.
        const reached = (partition: number, lastOffset: string) => {
          if (pending.has(partition) && BigInt(lastOffset) + 1n >= (ends.get(partition) ?? 0n)) {
            pending.delete(partition);
            if (pending.size === 0) resolve();
          }
        };
        consumer.on(consumer.events.END_BATCH_PROCESS, (e) => reached(e.payload.partition, e.payload.lastOffset));
        void consumer.subscribe({ topic, fromBeginning: true }).then(
          () =>
            consumer.run({
              autoCommit: false,
              eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
                const end = ends.get(batch.partition) ?? 0n;
                if (!pending.has(batch.partition)) return;
                const within = batch.messages.filter((m) => BigInt(m.offset) < end);
                try {
                  const out = await handle(within, batch.partition);
                  if (out.length > 0) {
                    const byTopic = new Map<string, Message[]>();
                    for (const o of out) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o.message]);
                    await ctx.producer.sendBatch({
                      acks: -1,
                      topicMessages: [...byTopic].map(([t, messages]) => ({ topic: t, messages })),
                    });
                  }
                } catch (err) {
                  failure = err;
                  reject(err);
                  return;
                }
                for (const m of within) resolveOffset(m.offset);
                reached(batch.partition, batch.lastOffset());
                await heartbeat();
              },
            }),
          reject,
        );
      });
    } finally {
      await consumer.disconnect();
    }
    if (failure) throw failure;
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

export interface DeadLetterReplayOptions extends TimeRange {
  /** Only dead letters of this destination (default: every router dead letter). */
  destinationId?: string;
  dryRun?: boolean;
}

/** The event's own receivedAt when it has one, else the given time. */
function acceptedAtOf(payload: string, fallback: number): number {
  try {
    const v = (JSON.parse(payload) as { receivedAt?: unknown }).receivedAt;
    const t = typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : NaN;
    return Number.isFinite(t) ? t : fallback;
  } catch {
    return fallback;
  }
}

/**
 * Re-delivers dead-lettered events: router dead letters (optionally of one
 * destination, failed within a time range) go back to their destination topic
 * as DeliveryEnvelopes, keyed by user. Records whose payload was not JSON
 * (undecodable originals) are skipped and counted.
 */
export async function replayDeadLetters(ctx: ReplayContext, opts: DeadLetterReplayOptions): Promise<ReplayReport> {
  const dlTopic = topicName(ctx.topicPrefix, TOPICS.deadLetter.name);
  const report: ReplayReport = { read: 0, produced: {}, skipped: 0, dryRun: opts.dryRun ?? false };
  const bound = new Set<string>();
  await readRange(ctx, dlTopic, { from: opts.from, to: opts.to }, async (messages) => {
    const out: { topic: string; message: Message }[] = [];
    for (const m of messages) {
      if (!m.value) continue;
      report.read++;
      let dl: DeadLetterRecord;
      try {
        dl = await ctx.serde.decode<DeadLetterRecord>(m.value, 'dead-letter');
      } catch (err) {
        ctx.log.warn({ err, offset: m.offset }, 'unreadable dead letter skipped');
        report.skipped++;
        continue;
      }
      if (dl.stage !== 'router' || !dl.destinationId) continue;
      if (opts.destinationId !== undefined && dl.destinationId !== opts.destinationId) continue;
      if (!inRange(Number(dl.failedAt), opts)) continue;
      if (dl.payloadFormat !== 'json') {
        report.skipped++;
        continue;
      }
      const payload = Buffer.from(dl.payload).toString('utf8');
      const topic = topicName(ctx.topicPrefix, destinationTopic(dl.destinationId).name);
      const env: DeliveryEnvelope = {
        destinationId: dl.destinationId,
        sourceId: dl.sourceId ?? '',
        messageId: dl.messageId ?? '',
        partitionKey: dl.partitionKey ?? '',
        acceptedAt: acceptedAtOf(payload, Number(dl.failedAt)),
        payload,
      };
      report.produced[dl.destinationId] = (report.produced[dl.destinationId] ?? 0) + 1;
      if (report.dryRun) continue;
      if (!bound.has(topic)) {
        await ensureTopics(await adminFor(ctx), [destinationTopic(dl.destinationId)], ctx.topicPrefix);
        await ctx.serde.bindTopic(topic, 'delivery-envelope');
        bound.add(topic);
      }
      out.push({
        topic,
        message: { key: env.partitionKey || null, value: ctx.serde.encode(topic, 'delivery-envelope', env) },
      });
    }
    return out;
  });
  await closeAdmin(ctx);
  return report;
}

export interface BackfillOptions extends TimeRange {
  sourceId: string;
  destinationId: string;
  /** Topic to read (without prefix); default sluice.events.raw. */
  fromTopic?: string;
  dryRun?: boolean;
}

/**
 * Re-sends a source's events accepted within a time range (by receivedAt) from
 * the raw events topic to one destination's topic, keyed by user.
 */
export async function backfill(ctx: ReplayContext, opts: BackfillOptions): Promise<ReplayReport> {
  const inTopic = topicName(ctx.topicPrefix, opts.fromTopic ?? TOPICS.eventsRaw.name);
  const outTopic = topicName(ctx.topicPrefix, destinationTopic(opts.destinationId).name);
  const report: ReplayReport = { read: 0, produced: {}, skipped: 0, dryRun: opts.dryRun ?? false };
  if (!report.dryRun) {
    await ensureTopics(await adminFor(ctx), [destinationTopic(opts.destinationId)], ctx.topicPrefix);
    await ctx.serde.bindTopic(outTopic, 'delivery-envelope');
  }
  await readRange(ctx, inTopic, { from: opts.from, to: opts.to }, async (messages) => {
    const out: { topic: string; message: Message }[] = [];
    for (const m of messages) {
      if (!m.value) continue;
      report.read++;
      let ev: EventEnvelope;
      try {
        ev = await ctx.serde.decode<EventEnvelope>(m.value, 'event-envelope');
      } catch (err) {
        ctx.log.warn({ err, offset: m.offset }, 'unreadable event skipped');
        report.skipped++;
        continue;
      }
      if (ev.sourceId !== opts.sourceId || !inRange(Number(ev.receivedAt), opts)) continue;
      const event = fromEnvelope(ev);
      let key: string;
      try {
        key = m.key?.toString('utf8') || partitionKey(event);
      } catch {
        report.skipped++;
        continue;
      }
      const env: DeliveryEnvelope = {
        destinationId: opts.destinationId,
        sourceId: ev.sourceId,
        messageId: ev.messageId,
        partitionKey: key,
        acceptedAt: Number(ev.receivedAt),
        payload: JSON.stringify(event),
      };
      report.produced[opts.destinationId] = (report.produced[opts.destinationId] ?? 0) + 1;
      if (!report.dryRun) {
        out.push({ topic: outTopic, message: { key, value: ctx.serde.encode(outTopic, 'delivery-envelope', env) } });
      }
    }
    return out;
  });
  await closeAdmin(ctx);
  return report;
}

const admins = new WeakMap<ReplayContext, Promise<import('@sluice/kafka').Admin>>();

function adminFor(ctx: ReplayContext) {
  let a = admins.get(ctx);
  if (!a) {
    const admin = ctx.kafka.admin();
    a = admin.connect().then(() => admin);
    admins.set(ctx, a);
  }
  return a;
}

async function closeAdmin(ctx: ReplayContext): Promise<void> {
  const a = admins.get(ctx);
  if (a) {
    admins.delete(ctx);
    await (await a).disconnect();
  }
}
