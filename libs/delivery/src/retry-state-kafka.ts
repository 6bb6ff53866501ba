import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { fetchTopicOffsetsWhenReady } from '@sluice/kafka';
import type { Logger } from '@sluice/observability';
import {
  encodeRetryState,
  foldRetryStates,
  retryStateKey,
  retryStatePartition,
  type RetryState,
  type RetryStateStore,
} from './retry-state';

export interface KafkaRetryStateOptions {
  /** The (prefixed) compacted state topic. */
  topic: string;
  /** Its declared partition count (TOPICS.routerRetryState.partitions). */
  partitions: number;
  destinationId: string;
  /** Prefix of the throw-away consumer groups that read the state back. */
  groupPrefix: string;
  /** Reported states are coalesced and written this often. */
  flushIntervalMs?: number;
  /** A restore that has not reached the end of its partitions by then goes on with what it read. */
  loadTimeoutMs?: number;
  /** After joining, a restore that sees no record for this long is done (a compacted-away tail). */
  loadIdleMs?: number;
}

/**
 * Retry states of one destination in the compacted `sluice.router.retry-state`
 * topic. Writes are coalesced per key and sent one request at a time on the
 * router's idempotent producer, so a key's tombstone never overtakes its state.
 * Nothing waits for these writes: a state lost in a crash only means that
 * event's window starts again, as it did before states were kept.
 */
export class KafkaRetryStateStore implements RetryStateStore {
  private readonly pending = new Map<string, { partition: number; value: Buffer | null }>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** Ends restores still reading when the destination stops. */
  private readonly aborts = new Set<() => void>();

  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly opts: KafkaRetryStateOptions,
    private readonly log: Logger,
  ) {}

  failed(partition: number, offset: number, state: RetryState): void {
    this.put(partition, offset, encodeRetryState(state));
  }

  finished(partition: number, offset: number): void {
    this.put(partition, offset, null);
  }

  private put(partition: number, offset: number, value: Buffer | null): void {
    this.pending.set(retryStateKey(this.opts.destinationId, partition, offset), {
      partition: retryStatePartition(partition, this.opts.partitions),
      value,
    });
    this.schedule(this.opts.flushIntervalMs ?? 100);
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, ms);
    this.timer.unref();
  }

  flush(): Promise<void> {
    this.chain = this.chain.then(() => this.write());
    return this.chain;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.entries()];
    this.pending.clear();
    try {
      await this.producer.send({
        topic: this.opts.topic,
        acks: -1,
        messages: batch.map(([key, r]) => ({ key, value: r.value, partition: r.partition })),
      });
    } catch (err) {
      // A newer value reported meanwhile replaces the failed one.
      for (const [key, r] of batch) if (!this.pending.has(key)) this.pending.set(key, r);
      this.log.warn(
        { err, destinationId: this.opts.destinationId, count: batch.length },
        'retry state write failed; retrying in 1 s',
      );
      this.schedule(1000);
    }
  }

  /** Stops the timer and any restore still reading; what is still pending is written once more. */
  async close(): Promise<void> {
    for (const abort of this.aborts) abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  async load(partitions: number[]): Promise<Map<number, Map<number, RetryState>>> {
    const wanted = new Set(partitions);
    const statePartitions = new Set(partitions.map((p) => retryStatePartition(p, this.opts.partitions)));
    const admin = this.kafka.admin();
    await admin.connect();
    let offsets: Awaited<ReturnType<typeof fetchTopicOffsetsWhenReady>>;
    try {
      offsets = await fetchTopicOffsetsWhenReady(admin, this.opts.topic);
    } finally {
      await admin.disconnect();
    }
    // The last offset to read per state partition; empty partitions need no reader at all.
    const remaining = new Map<number, bigint>();
    for (const o of offsets) {
      if (statePartitions.has(o.partition) && BigInt(o.high) > BigInt(o.low)) {
        remaining.set(o.partition, BigInt(o.high) - 1n);
      }
    }
    const records: { key: string | null; value: Buffer | null }[] = [];
    if (remaining.size > 0) await this.read(remaining, records);
    const states = foldRetryStates(records, this.opts.destinationId, wanted);
    let restored = 0;
    for (const s of states.values()) restored += s.size;
    this.log.info({ destinationId: this.opts.destinationId, partitions, restored }, 'retry states restored');
    return states;
  }

  /** Reads the state partitions from the start up to the offsets noted before. */
  private async read(
    remaining: Map<number, bigint>,
    out: { key: string | null; value: Buffer | null }[],
  ): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: `${this.opts.groupPrefix}.retry-restore-${randomUUID()}`,
      allowAutoTopicCreation: false,
    });
    const loadTimeoutMs = this.opts.loadTimeoutMs ?? 60000;
    const idleMs = this.opts.loadIdleMs ?? 5000;
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
      type Ending = 'done' | 'idle' | 'timeout' | 'stopped';
      let end: (how: Ending) => void = () => undefined;
      const done = new Promise<Ending>((resolve, reject) => {
        let idle: NodeJS.Timeout | undefined;
        const overall = setTimeout(() => end('timeout'), loadTimeoutMs);
        const clear = () => {
          if (idle) clearTimeout(idle);
          clearTimeout(overall);
        };
        end = (how) => {
          clear();
          resolve(how);
        };
        const bump = () => {
          if (idle) clearTimeout(idle);
          idle = setTimeout(() => end('idle'), idleMs);
        };
        // Idle counts only from the join: before it, silence says nothing about the topic.
        consumer.on(consumer.events.GROUP_JOIN, bump);
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const last = remaining.get(batch.partition);
              if (last === undefined) return;
              bump();
              for (const m of batch.messages) {
                if (BigInt(m.offset) > last) break;
                out.push({ key: m.key ? m.key.toString('utf8') : null, value: m.value });
              }
              if (BigInt(batch.lastOffset()) >= last) remaining.delete(batch.partition);
              if (remaining.size === 0) end('done');
            },
          })
          .catch((err: unknown) => {
            clear();
            reject(err);
          });
      });
      const abort = () => end('stopped');
      this.aborts.add(abort);
      const how = await done.finally(() => this.aborts.delete(abort));
      if (how !== 'done' && how !== 'stopped') {
        this.log.warn(
          { destinationId: this.opts.destinationId, how, unread: [...remaining.keys()] },
          'retry state restore stopped before the end; windows of unread events start again',
        );
      }
    } finally {
      await consumer.disconnect();
    }
  }
}
