import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { createPipelineConsumer } from '@sluice/kafka';
import type { WarehouseEvent } from '@sluice/lake';
import type { Logger } from '@sluice/observability';
import type { LakeSink } from './lake-sink';
import type { LoaderMetrics } from './metrics';
import { appIdFor, BufferedRecord, PartitionBuffer } from './partition-buffer';

export interface EventLoaderOptions {
  groupId: string;
  topic: string;
  maxEvents: number;
  intervalMs: number;
  partitionsConcurrently: number;
  maxBytesPerPartition: number;
  /**
   * Partition batches committed at once by this instance (default 1): the
   * batches of different partitions write the same tables, so concurrent
   * commits mostly lose optimistic races and redo their work.
   */
  flushConcurrency?: number;
  /** Hard cap on one partition's buffer while its flushes fail (default 4 × maxEvents). */
  maxPartitionBufferedEvents?: number;
  /**
   * Events buffered over all partitions past which a partition whose buffer is due waits for its
   * flush before its next fetch (default 4 × maxEvents). Bounds memory; it also helps
   * throughput, since a heap of decoded events costs more in GC than the fetch wait.
   */
  maxBufferedEvents?: number;
}

/** Turns one Kafka record into an event, or null when it cannot be decoded (counted, skipped). */
export type Decoder = (value: Buffer | null) => Promise<WarehouseEvent | null>;

interface PartitionState {
  buffer: PartitionBuffer<WarehouseEvent | null>;
  /** Serializes the flushes of the partition. */
  chain: Promise<void>;
  /** A flush is queued on the chain and has not taken its snapshot yet: another would find nothing new. */
  queued: boolean;
  failures: number;
  retryAt: number;
  highWatermark: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Consumes the processed-events topic (read_committed), keeps a buffer per
 * partition and commits a partition's buffer to the lake once it is due (size
 * or age). The Delta txn of every table is (appId = group:topic:partition,
 * version = last offset of the batch); the Kafka offset is committed only after
 * the lake commit. A batch replayed after a crash is skipped by the txn, and
 * rows of an overlapping range (two members during a rebalance) are dropped per
 * row by their offset (see docs/decisions/0700).
 *
 * It drives kafkajs directly instead of BatchConsumer: BatchConsumer commits
 * after every fetched batch, while the loader must hold many fetches in memory
 * and commit them as one lake batch.
 */
export class EventLoader {
  private readonly consumer: Consumer;
  private readonly partitions = new Map<number, PartitionState>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private slots = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    kafka: Kafka,
    private readonly opts: EventLoaderOptions,
    private readonly decode: Decoder,
    private readonly sink: LakeSink,
    private readonly metrics: LoaderMetrics,
    private readonly log: Logger,
  ) {
    this.consumer = createPipelineConsumer(kafka, {
      groupId: opts.groupId,
      maxBytesPerPartition: opts.maxBytesPerPartition,
    });
  }

  private state(partition: number): PartitionState {
    let s = this.partitions.get(partition);
    if (!s) {
      s = {
        buffer: new PartitionBuffer(),
        chain: Promise.resolve(),
        queued: false,
        failures: 0,
        retryAt: 0,
        highWatermark: 0,
      };
      this.partitions.set(partition, s);
    }
    return s;
  }

  get bufferedEvents(): number {
    let n = 0;
    for (const s of this.partitions.values()) n += s.buffer.size;
    return n;
  }

  async start(): Promise<void> {
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const assigned = new Set(e.payload.memberAssignment[this.opts.topic] ?? []);
      for (const [p, s] of this.partitions) {
        // Not ours any more: another member reads it from the committed offset.
        if (!assigned.has(p)) s.buffer.clear();
      }
      this.log.info({ partitions: [...assigned] }, 'partitions assigned');
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: this.opts.partitionsConcurrently,
      eachBatch: (payload) => this.onBatch(payload),
    });
    const tick = Math.max(50, Math.min(500, Math.floor(this.opts.intervalMs / 4)));
    this.timer = setInterval(() => this.flushDue(false), tick);
    this.log.info({ groupId: this.opts.groupId, topic: this.opts.topic }, 'event loader started');
  }

  private async onBatch({ batch, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0 || isStale()) return;
    const records: BufferedRecord<WarehouseEvent | null>[] = [];
    for (const m of batch.messages) {
      const value = await this.decode(m.value);
      if (value === null) this.metrics.rejected.inc();
      records.push({ offset: Number(m.offset), value });
    }
    const s = this.state(batch.partition);
    s.highWatermark = Number(batch.highWatermark);
    s.buffer.append(records, Date.now());
    const buffered = this.bufferedEvents;
    this.metrics.buffered.set(buffered);
    if (s.buffer.size < this.opts.maxEvents || !this.running) return;
    // The flush runs while the next fetch is on the wire, so the broker round trip overlaps the
    // flush's CPU work. Backpressure: when the instance holds too many events, or this buffer is at
    // its hard cap, the next fetch of this partition waits for the flush (and backs off while
    // flushes fail).
    const flushing = this.flush(batch.partition);
    const cap = this.opts.maxPartitionBufferedEvents ?? this.opts.maxEvents * 4;
    const instanceCap = this.opts.maxBufferedEvents ?? this.opts.maxEvents * 4;
    if (s.buffer.size < cap && buffered < instanceCap) return;
    await flushing;
    await heartbeat();
    while (s.buffer.size >= cap && this.running) {
      await sleep(Math.min(5000, 200 * 2 ** Math.min(s.failures, 5)));
      await this.flush(batch.partition);
      await heartbeat();
    }
  }

  private flushDue(force: boolean): Promise<void>[] {
    const now = Date.now();
    const out: Promise<void>[] = [];
    for (const [p, s] of this.partitions) {
      if (s.buffer.size === 0) continue;
      if (force || (s.buffer.due(now, this.opts.maxEvents, this.opts.intervalMs) && now >= s.retryAt))
        out.push(this.flush(p));
    }
    return out;
  }

  /** Commits the partition's buffer to the lake, then its offset to Kafka. Never throws. */
  flush(partition: number): Promise<void> {
    const s = this.state(partition);
    if (s.queued) return s.chain;
    s.queued = true;
    s.chain = s.chain.then(() => this.flushNow(partition, s));
    return s.chain;
  }

  private async acquire(): Promise<void> {
    if (this.slots < Math.max(1, this.opts.flushConcurrency ?? 1)) {
      this.slots++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.slots--;
  }

  private async flushNow(partition: number, s: PartitionState): Promise<void> {
    await this.acquire();
    try {
      await this.flushLocked(partition, s);
    } finally {
      this.releaseSlot();
    }
  }

  private async flushLocked(partition: number, s: PartitionState): Promise<void> {
    s.queued = false;
    const records = s.buffer.snapshot();
    if (records.length === 0) return;
    const generation = s.buffer.generation;
    const last = records[records.length - 1]!.offset;
    const events: WarehouseEvent[] = [];
    const offsetOf = new Map<string, number>();
    for (const r of records) {
      if (r.value === null) continue;
      events.push(r.value);
      if (typeof r.value.messageId === 'string') offsetOf.set(r.value.messageId, r.offset);
    }
    const appId = appIdFor(this.opts.groupId, this.opts.topic, partition);
    const started = process.hrtime.bigint();
    const outcome = await this.sink
      .write(events, {
        appId,
        version: last,
        uuidTs: new Date().toISOString(),
        eventVersion: (id) => offsetOf.get(id),
      })
      .catch((err: unknown) => ({
        status: 'failed' as const,
        retriable: true,
        rows: {},
        discards: 0,
        rejected: 0,
        error: (err as Error).message,
      }));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (outcome.status === 'failed') {
      s.failures++;
      s.retryAt = Date.now() + Math.min(30000, 500 * 2 ** Math.min(s.failures, 6));
      this.metrics.batches.inc({ outcome: 'failed' });
      this.log.error(
        { partition, appId, version: last, events: events.length, error: outcome.error, retriable: outcome.retriable },
        'lake commit failed; the batch is kept and retried',
      );
      return;
    }
    s.failures = 0;
    this.metrics.commitSeconds.observe(seconds);
    const written = Object.values(outcome.rows).reduce((a, b) => a + b, 0);
    this.metrics.batches.inc({ outcome: written > 0 || events.length === 0 ? 'committed' : 'skipped' });
    for (const [table, n] of Object.entries(outcome.rows)) this.metrics.rowsLoaded.inc({ table }, n);
    this.metrics.discards.inc(outcome.discards);
    this.metrics.rejected.inc(outcome.rejected);
    s.buffer.release(records.length, generation, Date.now());
    this.metrics.buffered.set(this.bufferedEvents);
    try {
      await this.consumer.commitOffsets([{ topic: this.opts.topic, partition, offset: String(last + 1) }]);
      this.metrics.lag.set({ partition: String(partition) }, Math.max(0, s.highWatermark - (last + 1)));
    } catch (err) {
      // The partition moved to another member (rebalance): it resumes from the
      // older committed offset and the lake's txn drops what is already there.
      this.log.warn(
        { partition, offset: last + 1, err: (err as Error).message },
        'offset commit failed after the lake commit',
      );
    }
    this.log.debug({ partition, appId, version: last, events: events.length, seconds }, 'batch committed');
  }

  /** SIGTERM: stop fetching, commit every buffer, commit offsets, leave the group. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.consumer.pause([{ topic: this.opts.topic }]);
    await Promise.all(this.flushDue(true));
    await this.consumer.disconnect();
  }
}
