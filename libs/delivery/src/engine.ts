import type { Logger } from '@sluice/observability';
import { MinHeap } from './heap';
import { encodeRanges, inRanges, OffsetRange } from './ranges';
import type { RestoredRetries, RetryStateSink } from './retry-state';
import { backoffDelay, DeliverySettings } from './settings';
import { TokenBucket } from './token-bucket';
import {
  Clock,
  DeadLetterRecord,
  DeadLetterSink,
  Deliverer,
  DeliveryItem,
  DeliveryMetrics,
  DeliveryOutcome,
  IncomingRecord,
  noMetrics,
  systemClock,
} from './types';

/** One consumed record while the engine holds it. */
interface Entry {
  readonly offset: number;
  readonly record: IncomingRecord;
  readonly keyState: KeyState;
  attempts: number;
  firstAttemptAt: number | null;
  lastError: string;
  lastStatus: number | null;
  done: boolean;
  /** An earlier run had finished this offset (commit metadata): delivering it again is a redelivery. */
  redelivery: boolean;
  /** Its retry state was reported to (or restored from) the retry-state sink: it needs a tombstone when done. */
  persisted: boolean;
}

/** One user's FIFO queue on one partition. */
interface KeyState {
  readonly key: string;
  readonly partition: PartitionState;
  readonly queue: Entry[];
  head: number;
  /** The head is in a request, or its dead letter is being written. */
  busy: boolean;
  /** In the ready queue. */
  ready: boolean;
  /** Epoch ms before which the head must not be tried (backoff). */
  notBefore: number;
}

interface PartitionState {
  readonly partition: number;
  /** Offset order; entries before `head` are finished. */
  entries: Entry[];
  head: number;
  /** The offset after the last enqueued record; -1 before the first. */
  nextOffset: number;
  unfinished: number;
  readonly keys: Map<string, KeyState>;
  revoked: boolean;
  /** Offsets an earlier owner had finished above its committed watermark. */
  doneBefore: OffsetRange[];
  /** Retry states an earlier owner recorded, by offset. */
  restored: RestoredRetries;
  drainWaiters: (() => void)[];
}

interface WaitingKey {
  at: number;
  keyState: KeyState;
}

export interface DeliveryEngineOptions {
  destinationId: string;
  topic: string;
  deliverer: Deliverer;
  deadLetters: DeadLetterSink;
  settings: DeliverySettings;
  clock?: Clock;
  metrics?: DeliveryMetrics;
  log?: Logger;
  random?: () => number;
  /** Durable retry states (decision 0607); without it attempts and first-attempt times live in memory only. */
  retryState?: RetryStateSink;
}

export interface EngineStats {
  queued: number;
  inFlightRequests: number;
  waitingKeys: number;
  readyKeys: number;
  partitions: number;
}

/**
 * Per-destination delivery scheduler. Records are queued per partition and per
 * key (user); at most one event per key is in flight, so each user's events
 * reach the destination in order even when deliveries fail and are retried.
 * A key whose head failed waits out its backoff while other keys go on. The
 * commit position of a partition is its watermark: the lowest offset not yet
 * delivered or dead-lettered.
 */
export class DeliveryEngine {
  private readonly partitions = new Map<number, PartitionState>();
  /** Keys whose head may be sent now, oldest first. */
  private ready: KeyState[] = [];
  private readyHead = 0;
  private readonly waiting = new MinHeap<WaitingKey>();
  private readonly bucket: TokenBucket;
  private readonly clock: Clock;
  private readonly metrics: DeliveryMetrics;
  private readonly random: () => number;
  private readonly batchSize: number;
  private inFlight = 0;
  private stopped = false;
  private held = false;
  private wakeTimer: unknown = undefined;
  private wakeAt = Infinity;
  private readonly dlQueue: { entry: Entry; retriable: boolean }[] = [];
  private dlWriting = false;
  private dlRetryTimer: unknown = undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: DeliveryEngineOptions) {
    this.clock = opts.clock ?? systemClock;
    this.metrics = opts.metrics ?? noMetrics;
    this.random = opts.random ?? Math.random;
    const s = opts.settings;
    this.bucket = new TokenBucket(s.ratePerSecond, s.rateBurst ?? Math.max(1, s.ratePerSecond), this.clock.now());
    this.batchSize = Math.max(1, Math.min(opts.deliverer.maxBatchSize, s.maxBatchSize ?? Infinity));
  }

  // ---- partitions -------------------------------------------------------

  hasPartition(partition: number): boolean {
    return this.partitions.has(partition);
  }

  /**
   * Starts holding a partition; `doneBefore` comes from the committed metadata,
   * `restored` from the retry-state topic (events that keep their window).
   */
  assign(partition: number, doneBefore: OffsetRange[] = [], restored: RestoredRetries = new Map()): void {
    if (this.partitions.has(partition)) return;
    this.partitions.set(partition, {
      partition,
      entries: [],
      head: 0,
      nextOffset: -1,
      unfinished: 0,
      keys: new Map(),
      revoked: false,
      doneBefore,
      restored,
      drainWaiters: [],
    });
  }

  /** Forgets revoked partitions: their queued events are the next owner's (read again from the watermark). */
  revoke(partitions: number[]): void {
    for (const p of partitions) {
      const ps = this.partitions.get(p);
      if (!ps) continue;
      ps.revoked = true;
      this.partitions.delete(p);
      for (const w of ps.drainWaiters) w();
      ps.drainWaiters = [];
    }
    // Ready queue entries of revoked partitions are skipped when popped.
  }

  assignedPartitions(): number[] {
    return [...this.partitions.keys()];
  }

  /** Records in offset order; ones already enqueued (a re-fetch after a rejoin) are skipped. */
  enqueue(partition: number, records: IncomingRecord[]): void {
    this.assign(partition);
    const ps = this.partitions.get(partition) as PartitionState;
    for (const record of records) {
      const offset = Number(record.offset);
      if (offset < ps.nextOffset) continue;
      ps.nextOffset = offset + 1;
      let ks = ps.keys.get(record.key);
      if (!ks) {
        ks = { key: record.key, partition: ps, queue: [], head: 0, busy: false, ready: false, notBefore: 0 };
        ps.keys.set(record.key, ks);
      }
      const entry: Entry = {
        offset,
        record,
        keyState: ks,
        attempts: 0,
        firstAttemptAt: null,
        lastError: '',
        lastStatus: null,
        done: false,
        redelivery: ps.doneBefore.length > 0 && inRanges(ps.doneBefore, offset),
        persisted: false,
      };
      const restored = ps.restored.size > 0 ? ps.restored.get(offset) : undefined;
      if (restored && 'envelope' in record && record.envelope.messageId === restored.messageId) {
        // The window goes on from the first attempt of whichever instance tried first.
        entry.attempts = restored.attempts;
        entry.firstAttemptAt = restored.firstAttemptAt;
        entry.persisted = true;
      }
      ps.entries.push(entry);
      ps.unfinished++;
      ks.queue.push(entry);
      if (ks.queue.length - ks.head === 1 && !ks.busy) this.makeReady(ks);
    }
    this.pump();
  }

  /** Events held for a partition and not yet finished. */
  queued(partition: number): number {
    return this.partitions.get(partition)?.unfinished ?? 0;
  }

  overCap(partition: number): boolean {
    return this.queued(partition) >= this.opts.settings.maxQueuedPerPartition;
  }

  /** Resolves once the partition holds at most half its cap (or is revoked). */
  whenDrained(partition: number): Promise<void> {
    const ps = this.partitions.get(partition);
    if (!ps || ps.unfinished <= this.opts.settings.maxQueuedPerPartition / 2) return Promise.resolve();
    return new Promise((resolve) => ps.drainWaiters.push(resolve));
  }

  /**
   * The offset to commit: the lowest offset not yet finished, or the one after
   * the last enqueued record when all are finished; undefined before any record.
   */
  watermark(partition: number): string | undefined {
    const ps = this.partitions.get(partition);
    if (!ps || ps.nextOffset < 0) return undefined;
    return String(ps.head < ps.entries.length ? ps.entries[ps.head].offset : ps.nextOffset);
  }

  /** Commit metadata: offsets above the watermark already finished. */
  commitMetadata(partition: number): string {
    const ps = this.partitions.get(partition);
    const ranges: OffsetRange[] = [];
    if (ps) {
      let start = -1;
      let last = -1;
      for (let i = ps.head; i < ps.entries.length; i++) {
        const e = ps.entries[i];
        if (e.done) {
          if (start < 0) start = e.offset;
          last = e.offset;
        } else if (start >= 0) {
          ranges.push([start, last]);
          start = -1;
        }
      }
      if (start >= 0) ranges.push([start, last]);
    }
    return encodeRanges(ranges);
  }

  stats(): EngineStats {
    let queued = 0;
    for (const ps of this.partitions.values()) queued += ps.unfinished;
    return {
      queued,
      inFlightRequests: this.inFlight,
      waitingKeys: this.waiting.size,
      readyKeys: this.ready.length - this.readyHead,
      partitions: this.partitions.size,
    };
  }

  /**
   * Holds new sends (requests in flight go on) while the group rebalances, so the
   * next owner of a partition does not race this instance; `false` resumes.
   */
  hold(on: boolean): void {
    this.held = on;
    if (!on) this.pump();
  }

  // ---- stopping ---------------------------------------------------------

  /** Sends nothing new; resolves when requests and dead-letter writes in flight are done, or after timeoutMs. */
  async stop(timeoutMs = this.opts.settings.stopTimeoutMs): Promise<boolean> {
    this.stopped = true;
    if (this.wakeTimer !== undefined) this.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = undefined;
    if (this.isIdle()) return true;
    let timer: unknown;
    const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const timeout = new Promise<boolean>((resolve) => {
      timer = this.clock.setTimer(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([idle, timeout]);
    this.clock.clearTimer(timer);
    return result;
  }

  private isIdle(): boolean {
    return this.inFlight === 0 && !this.dlWriting;
  }

  private checkIdle(): void {
    if (this.idleWaiters.length > 0 && this.isIdle()) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  // ---- scheduling -------------------------------------------------------

  private makeReady(ks: KeyState): void {
    if (ks.ready || ks.busy) return;
    ks.ready = true;
    this.ready.push(ks);
  }

  private popReady(): KeyState | undefined {
    while (this.readyHead < this.ready.length) {
      const ks = this.ready[this.readyHead++];
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.readyHead);
        this.readyHead = 0;
      }
      ks.ready = false;
      if (ks.partition.revoked || ks.busy || ks.head >= ks.queue.length) continue;
      return ks;
    }
    return undefined;
  }

  private hasReady(): boolean {
    return this.readyHead < this.ready.length;
  }

  private releaseDueWaiting(now: number): void {
    for (;;) {
      const top = this.waiting.peek();
      if (!top || top.at > now) break;
      this.waiting.pop();
      if (!top.keyState.partition.revoked) this.makeReady(top.keyState);
    }
  }

  /** Sends the heads of ready keys while concurrency and rate allow. */
  private pump(): void {
    if (this.stopped || this.held) return;
    const now = this.clock.now();
    this.releaseDueWaiting(now);
    while (this.inFlight < this.opts.settings.maxInFlightRequests && this.hasReady()) {
      const granted = this.bucket.take(Math.min(this.batchSize, this.ready.length - this.readyHead), now);
      if (granted === 0) break;
      const batch: Entry[] = [];
      while (batch.length < granted) {
        const ks = this.popReady();
        if (!ks) break;
        ks.busy = true;
        batch.push(ks.queue[ks.head]);
      }
      if (batch.length < granted) this.bucket.refund(granted - batch.length);
      if (batch.length === 0) break;
      this.send(batch, now);
    }
    this.scheduleWake(now);
  }

  private scheduleWake(now: number): void {
    let at = Infinity;
    const top = this.waiting.peek();
    if (top) at = top.at;
    if (this.hasReady() && this.inFlight < this.opts.settings.maxInFlightRequests) {
      at = Math.min(at, now + Math.max(1, this.bucket.waitMs(now)));
    }
    if (at === Infinity || at >= this.wakeAt) {
      if (at === Infinity && this.wakeTimer === undefined) this.wakeAt = Infinity;
      return;
    }
    if (this.wakeTimer !== undefined) this.clock.clearTimer(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = this.clock.setTimer(
      () => {
        this.wakeTimer = undefined;
        this.wakeAt = Infinity;
        this.pump();
      },
      Math.max(0, at - now),
    );
  }

  private send(batch: Entry[], now: number): void {
    const items: DeliveryItem[] = [];
    const sendable: Entry[] = [];
    for (const e of batch) {
      if (e.firstAttemptAt === null) e.firstAttemptAt = now;
      if ('poison' in e.record) {
        // Undecodable: nothing to send, straight to the dead-letter topic (in the key's order).
        e.lastError = e.record.poison.error;
        this.toDeadLetter(e, false, 'DecodeError');
        continue;
      }
      e.attempts++;
      sendable.push(e);
      const env = e.record.envelope;
      items.push({
        destinationId: this.opts.destinationId,
        sourceId: env.sourceId,
        messageId: env.messageId,
        key: e.keyState.key,
        payload: env.payload,
        acceptedAt: env.acceptedAt,
        attempt: e.attempts,
      });
    }
    if (items.length === 0) return;
    this.inFlight++;
    let promise: Promise<DeliveryOutcome[]>;
    try {
      promise = this.opts.deliverer.deliver(items);
    } catch (err) {
      promise = Promise.reject(err);
    }
    // A deliverer that never answers must not block its users forever.
    const timeoutMs = this.opts.settings.deliveryTimeoutMs;
    let timer: unknown;
    const timeout = new Promise<DeliveryOutcome[]>((resolve) => {
      timer = this.clock.setTimer(
        () =>
          resolve(items.map(() => ({ kind: 'retry', error: `no answer from the deliverer within ${timeoutMs} ms` }))),
        timeoutMs,
      );
    });
    Promise.race([promise.finally(() => this.clock.clearTimer(timer)), timeout])
      .then(
        (outcomes) => outcomes,
        (err: unknown): DeliveryOutcome[] => {
          const error = err instanceof Error ? err.message : String(err);
          const retriable = (err as { retriable?: unknown } | null)?.retriable === true;
          return items.map(() => (retriable ? { kind: 'retry', error } : { kind: 'abort', error }));
        },
      )
      .then((outcomes) => {
        this.inFlight--;
        this.complete(sendable, outcomes);
        this.checkIdle();
        this.pump();
      })
      .catch((err: unknown) => {
        this.opts.log?.error({ err, destinationId: this.opts.destinationId }, 'delivery bookkeeping failed');
      });
  }

  private complete(entries: Entry[], outcomes: DeliveryOutcome[]): void {
    const now = this.clock.now();
    const kinds = new Set<string>();
    entries.forEach((e, i) => {
      const outcome: DeliveryOutcome = outcomes[i] ?? {
        kind: 'abort',
        error: `deliverer answered ${outcomes.length} outcomes for ${entries.length} items`,
      };
      kinds.add(outcome.kind);
      if (e.keyState.partition.revoked) return;
      if (outcome.kind === 'ok') {
        this.metrics.delivered(1);
        if (e.redelivery) this.metrics.redelivered(1);
        this.finish(e);
        return;
      }
      e.lastError = outcome.error;
      e.lastStatus = outcome.status ?? null;
      if (outcome.kind === 'abort') {
        this.toDeadLetter(e, false, 'DeliveryAborted');
        return;
      }
      const s = this.opts.settings;
      const first = e.firstAttemptAt ?? now;
      const windowEnd = first + s.retryWindowMs;
      if (now >= windowEnd && e.attempts >= s.minAttempts) {
        this.toDeadLetter(e, true, 'RetryWindowExceeded');
        return;
      }
      this.metrics.retried(1);
      let delay =
        outcome.retryAfterMs !== undefined
          ? Math.min(Math.max(0, outcome.retryAfterMs), s.maxRetryAfterMs)
          : backoffDelay(e.attempts, s, this.random);
      // The last try happens at the end of the window, not after it.
      if (now + delay > windowEnd && e.attempts >= s.minAttempts - 1) delay = Math.max(0, windowEnd - now);
      if (this.opts.retryState && 'envelope' in e.record) {
        this.opts.retryState.failed(e.keyState.partition.partition, e.offset, {
          messageId: e.record.envelope.messageId,
          firstAttemptAt: first,
          attempts: e.attempts,
        });
        e.persisted = true;
      }
      const ks = e.keyState;
      ks.busy = false;
      ks.notBefore = now + delay;
      this.waiting.push({ at: ks.notBefore, keyState: ks });
    });
    const kind = kinds.size === 1 ? ([...kinds][0] as 'ok' | 'retry' | 'abort') : 'mixed';
    if (kinds.size > 0) this.metrics.requests(kind);
  }

  /** Marks the head of its key finished and lets the key go on. */
  private finish(e: Entry): void {
    const ks = e.keyState;
    const ps = ks.partition;
    e.done = true;
    if (e.persisted) this.opts.retryState?.finished(ps.partition, e.offset);
    ks.head++;
    ks.busy = false;
    ps.unfinished--;
    if (ks.head >= ks.queue.length) {
      ps.keys.delete(ks.key);
    } else {
      if (ks.head > 64 && ks.head * 2 > ks.queue.length) {
        ks.queue.splice(0, ks.head);
        ks.head = 0;
      }
      this.makeReady(ks);
    }
    while (ps.head < ps.entries.length && ps.entries[ps.head].done) ps.head++;
    if (ps.head > 1024 && ps.head * 2 > ps.entries.length) {
      ps.entries = ps.entries.slice(ps.head);
      ps.head = 0;
    }
    if (ps.drainWaiters.length > 0 && ps.unfinished <= this.opts.settings.maxQueuedPerPartition / 2) {
      const w = ps.drainWaiters;
      ps.drainWaiters = [];
      for (const f of w) f();
    }
  }

  // ---- dead letters -----------------------------------------------------

  private toDeadLetter(e: Entry, retriable: boolean, errorClass: string): void {
    e.keyState.busy = true;
    this.dlQueue.push({ entry: e, retriable });
    (e as Entry & { errorClass?: string }).errorClass = errorClass;
    this.flushDeadLetters();
  }

  private deadLetterRecord(e: Entry, retriable: boolean): DeadLetterRecord {
    const ps = e.keyState.partition;
    const r = e.record;
    const env = 'envelope' in r ? r.envelope : null;
    return {
      stage: 'router',
      sourceId: env?.sourceId ?? null,
      destinationId: this.opts.destinationId,
      messageId: env?.messageId ?? null,
      partitionKey: e.keyState.key,
      payload: env ? Buffer.from(env.payload, 'utf8') : (r as { poison: { raw: Buffer } }).poison.raw,
      payloadFormat: env ? 'json' : 'raw',
      errorClass: (e as Entry & { errorClass?: string }).errorClass ?? 'DeliveryFailed',
      errorMessage: e.lastError.slice(0, 4000),
      retriable,
      attempts: e.attempts,
      lastStatus: e.lastStatus,
      firstAttemptAt: e.firstAttemptAt,
      failedAt: this.clock.now(),
      originalTopic: this.opts.topic,
      originalPartition: ps.partition,
      originalOffset: String(e.offset),
    };
  }

  private flushDeadLetters(): void {
    if (this.dlWriting || this.dlQueue.length === 0) return;
    const batch = this.dlQueue.splice(0, this.dlQueue.length);
    const live = batch.filter((b) => !b.entry.keyState.partition.revoked);
    if (live.length === 0) return;
    this.dlWriting = true;
    this.opts.deadLetters.write(live.map((b) => this.deadLetterRecord(b.entry, b.retriable))).then(
      () => {
        this.dlWriting = false;
        for (const b of live) {
          if (b.entry.keyState.partition.revoked) continue;
          this.metrics.deadLettered(1, b.retriable);
          this.finish(b.entry);
        }
        this.checkIdle();
        this.flushDeadLetters();
        this.pump();
      },
      (err: unknown) => {
        this.dlWriting = false;
        this.opts.log?.error(
          { err, destinationId: this.opts.destinationId, count: live.length },
          'dead-letter write failed; retrying in 1 s (those users wait)',
        );
        this.dlQueue.unshift(...live);
        this.checkIdle();
        if (!this.stopped && this.dlRetryTimer === undefined) {
          this.dlRetryTimer = this.clock.setTimer(() => {
            this.dlRetryTimer = undefined;
            this.flushDeadLetters();
          }, 1000);
        }
      },
    );
  }
}
