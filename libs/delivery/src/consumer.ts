import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { createPipelineConsumer } from '@sluice/kafka';
import type { Logger } from '@sluice/observability';
import type { DeliveryEngine } from './engine';
import { decodeRanges } from './ranges';
import type { RestoredRetries, RetryStateStore } from './retry-state';
import type { IncomingRecord } from './types';

/** Turns a consumed message into a record; throws an error with `retriable: true` to be tried again. */
export type RecordDecoder = (message: KafkaMessage) => Promise<IncomingRecord>;

export interface DestinationConsumerOptions {
  groupId: string;
  topic: string;
  commitIntervalMs: number;
  sessionTimeoutMs?: number;
  maxBytesPerPartition?: number;
  /** The consumer crashed and will not restart by itself: the process should exit and be restarted. */
  onFatal?: (err: unknown) => void;
  /** Called after each commit round with the partitions held and their watermark. */
  onCommit?: (committed: { partition: number; offset: string }[]) => void;
  /** Durable retry states (decision 0607): read back for newly assigned partitions, flushed before they move. */
  retryState?: RetryStateStore;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Feeds one destination topic into a DeliveryEngine through its own consumer
 * group, commits each partition's watermark periodically and on stop, pauses
 * a partition whose queue reached the cap, and drops revoked partitions.
 */
export class DestinationConsumer {
  readonly consumer: Consumer;
  private readonly admin: Admin;
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> = Promise.resolve();
  private readonly lastCommitted = new Map<number, string>();
  private readonly paused = new Set<number>();
  private stopping = false;
  private assigned = new Set<number>();
  /** Retry states being read for partitions assigned at the last join and not yet held by the engine. */
  private readonly restoring = new Map<number, Promise<RestoredRetries>>();

  constructor(
    kafka: Kafka,
    private readonly engine: DeliveryEngine,
    private readonly decode: RecordDecoder,
    private readonly opts: DestinationConsumerOptions,
    private readonly log: Logger,
  ) {
    this.consumer = createPipelineConsumer(kafka, {
      groupId: opts.groupId,
      sessionTimeoutMs: opts.sessionTimeoutMs,
      maxBytesPerPartition: opts.maxBytesPerPartition,
      retry: { retries: 100, initialRetryTime: 300, maxRetryTime: 10000 },
    });
    this.admin = kafka.admin();
  }

  async start(): Promise<void> {
    await this.admin.connect();
    await this.consumer.connect();
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const parts = e.payload.memberAssignment[this.opts.topic] ?? [];
      this.onAssignment(parts);
      this.engine.hold(false);
    });
    // A rebalance starts: send nothing new and commit what is finished before the partitions move.
    this.consumer.on(this.consumer.events.REBALANCING, () => {
      this.engine.hold(true);
      this.committing = this.committing.then(async () => {
        await this.commit();
        // The next owner reads the retry states at its join: have ours written by then.
        await this.opts.retryState?.flush();
      });
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      if (e.payload.restart || this.stopping) return;
      this.log.error({ err: e.payload.error, topic: this.opts.topic }, 'consumer crashed and will not restart');
      this.opts.onFatal?.(e.payload.error);
    });
    await this.consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isStale, isRunning }) => {
        if (batch.messages.length === 0 || isStale() || this.stopping) return;
        const p = batch.partition;
        if (!this.engine.hasPartition(p)) {
          const restored = this.restoring.get(p) ?? this.restore([p]).get(p)!;
          // Restoring can take a group join of its own: keep this member's session alive meanwhile.
          let settled = false;
          void restored.finally(() => (settled = true));
          while (!settled) {
            await Promise.race([restored, sleep(1000)]);
            if (!isRunning() || this.stopping || isStale()) return;
            await heartbeat();
          }
          const doneBefore = await this.doneBefore(p);
          if (isStale() || this.stopping || !this.assigned.has(p)) return;
          this.engine.assign(p, doneBefore, await restored);
          this.restoring.delete(p);
        }
        const records: IncomingRecord[] = [];
        for (const m of batch.messages) {
          for (let attempt = 0; ; attempt++) {
            try {
              records.push(await this.decode(m));
              break;
            } catch (err) {
              if (!isRunning() || this.stopping || isStale()) return;
              this.log.warn({ err, topic: this.opts.topic, offset: m.offset, attempt }, 'decode failed; retrying');
              await sleep(Math.min(10000, 200 * 2 ** attempt));
              await heartbeat();
            }
          }
        }
        if (isStale() || this.stopping || !this.assigned.has(p)) return;
        this.engine.enqueue(p, records);
        resolveOffset(batch.messages[batch.messages.length - 1].offset);
        if (this.engine.overCap(p) && !this.paused.has(p)) this.pausePartition(p);
        await heartbeat();
      },
    });
    this.commitTimer = setInterval(() => {
      this.committing = this.committing.then(() => this.commit());
    }, this.opts.commitIntervalMs);
    this.log.info({ groupId: this.opts.groupId, topic: this.opts.topic }, 'destination consumer started');
  }

  /** The partitions the group gave this instance at its last join. */
  assignment(): number[] {
    return [...this.assigned];
  }

  private onAssignment(partitions: number[]): void {
    const next = new Set(partitions);
    const revoked = this.engine.assignedPartitions().filter((p) => !next.has(p));
    if (revoked.length > 0) {
      this.engine.revoke(revoked);
      this.log.info({ topic: this.opts.topic, revoked }, 'partitions revoked: their queues are dropped');
    }
    for (const p of [...this.lastCommitted.keys()]) if (!next.has(p)) this.lastCommitted.delete(p);
    // A partition paused before a rebalance starts afresh.
    const resume = [...this.paused].filter((p) => !next.has(p) || !this.engine.overCap(p));
    if (resume.length > 0) {
      for (const p of resume) this.paused.delete(p);
      this.consumer.resume([{ topic: this.opts.topic, partitions: resume }]);
    }
    this.assigned = next;
    for (const p of [...this.restoring.keys()]) if (!next.has(p)) this.restoring.delete(p);
    const fresh = partitions.filter((p) => !this.engine.hasPartition(p) && !this.restoring.has(p));
    if (fresh.length > 0) for (const [p, loading] of this.restore(fresh)) this.restoring.set(p, loading);
    this.log.info({ topic: this.opts.topic, partitions }, 'assignment');
  }

  /**
   * Starts reading the retry states of these partitions. A failed read is
   * logged and yields none: those events' windows start again (never shorter).
   */
  private restore(partitions: number[]): Map<number, Promise<RestoredRetries>> {
    const out = new Map<number, Promise<RestoredRetries>>();
    const store = this.opts.retryState;
    if (!store) {
      for (const p of partitions) out.set(p, Promise.resolve(new Map()));
      return out;
    }
    const all = store.load(partitions).catch((err: unknown) => {
      if (!this.stopping) {
        this.log.warn(
          { err, topic: this.opts.topic, partitions },
          'could not read retry states; their windows restart',
        );
      }
      return new Map<number, Map<number, never>>();
    });
    for (const p of partitions)
      out.set(
        p,
        all.then((m): RestoredRetries => m.get(p) ?? new Map()),
      );
    return out;
  }

  /** Offsets the previous owner had finished above its watermark (from the commit metadata). */
  private async doneBefore(partition: number) {
    try {
      const res = await this.admin.fetchOffsets({ groupId: this.opts.groupId, topics: [this.opts.topic] });
      const meta = res.find((t) => t.topic === this.opts.topic)?.partitions.find((x) => x.partition === partition);
      return decodeRanges(meta?.metadata);
    } catch (err) {
      this.log.warn({ err, partition }, 'could not read commit metadata; redeliveries will not be counted');
      return [];
    }
  }

  private pausePartition(p: number): void {
    this.paused.add(p);
    this.consumer.pause([{ topic: this.opts.topic, partitions: [p] }]);
    this.log.debug({ topic: this.opts.topic, partition: p }, 'queue cap reached: fetching paused');
    void this.engine.whenDrained(p).then(() => {
      if (!this.paused.delete(p) || this.stopping) return;
      this.consumer.resume([{ topic: this.opts.topic, partitions: [p] }]);
      this.log.debug({ topic: this.opts.topic, partition: p }, 'queue drained: fetching resumed');
    });
  }

  /** Commits each held partition's watermark (with the finished-above ranges as metadata). */
  async commit(): Promise<void> {
    const offsets: { topic: string; partition: number; offset: string; metadata: string }[] = [];
    for (const p of this.engine.assignedPartitions()) {
      if (!this.assigned.has(p)) continue;
      const w = this.engine.watermark(p);
      if (w === undefined) continue;
      const metadata = this.engine.commitMetadata(p);
      const sig = `${w}|${metadata}`;
      if (this.lastCommitted.get(p) === sig) continue;
      offsets.push({ topic: this.opts.topic, partition: p, offset: w, metadata });
    }
    if (offsets.length === 0) return;
    try {
      await this.consumer.commitOffsets(offsets);
      for (const o of offsets) this.lastCommitted.set(o.partition, `${o.offset}|${o.metadata}`);
      this.opts.onCommit?.(offsets.map((o) => ({ partition: o.partition, offset: o.offset })));
    } catch (err) {
      this.log.warn({ err, topic: this.opts.topic }, 'commit failed; retried on the next round');
    }
  }

  /** Stops fetching, lets requests in flight finish (bounded), commits the watermarks, leaves the group. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.commitTimer) clearInterval(this.commitTimer);
    try {
      this.consumer.pause([{ topic: this.opts.topic }]);
    } catch {
      // not running yet
    }
    const finished = await this.engine.stop();
    if (!finished) this.log.warn({ topic: this.opts.topic }, 'stop timeout: requests still in flight are left');
    await this.committing;
    await this.commit();
    await this.opts.retryState?.flush();
    await this.consumer.disconnect();
    await this.admin.disconnect();
  }
}
