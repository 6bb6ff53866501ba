/** One Kafka record as the gateway produces it. */
export interface OutRecord {
  key: string;
  value: Buffer;
}

/** Where batches go: resolves once every record is acknowledged (acks=all), rejects otherwise. */
export interface RecordSink {
  send(records: OutRecord[]): Promise<void>;
}

export type AckOutcome = { ok: true } | { ok: false; reason: 'deadline' | 'kafka' | 'closed'; error?: Error };

export interface BatcherOptions {
  /** How long records collect before a produce call when no call is in flight. */
  lingerMs: number;
  /** Upper bound on the bytes (keys + values) of one produce call. */
  maxSendBytes: number;
  /** A submission not acknowledged in this time settles as `deadline`. */
  deadlineMs: number;
  /** Produce calls in flight at once (1 for an idempotent producer, which serialises them anyway). */
  maxInflightSends?: number;
}

export interface SendStats {
  records: number;
  bytes: number;
  ms: number;
  ok: boolean;
  error?: Error;
}

interface Submission {
  remaining: number;
  /** Chunks of this submission in a produce call now: its next chunk waits (order within a request). */
  sending: number;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  done: (outcome: AckOutcome) => void;
}

interface Chunk {
  sub: Submission;
  records: OutRecord[];
  bytes: number;
}

function recordBytes(r: OutRecord): number {
  return r.value.length + Buffer.byteLength(r.key) + 16;
}

/**
 * Collects the records of many concurrent requests into few produce calls.
 * Up to `maxInflightSends` calls are in flight; records that arrive meanwhile
 * form the next call, so batches grow with load and latency stays near one
 * round trip. The chunks of one request go out one after the other, so a
 * request's events keep their order. Each request's promise
 * settles when all of its records are acknowledged, when a call carrying them
 * fails, or at its deadline — whichever comes first. A request that settled
 * without `ok` has its waiting records withdrawn; records already handed to
 * Kafka may still land (a client retry then writes them twice: the processor
 * dedupes by messageId).
 */
export class ProduceBatcher {
  private queue: Chunk[] = [];
  private queuedBytes = 0;
  private inflight = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly sink: RecordSink,
    private readonly opts: BatcherOptions,
    private readonly onSend: (stats: SendStats) => void = () => undefined,
  ) {}

  /** Bytes of records waiting for a produce call. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  get busy(): boolean {
    return this.inflight > 0 || this.queue.length > 0;
  }

  private get maxInflight(): number {
    return Math.max(1, this.opts.maxInflightSends ?? 1);
  }

  submit(records: OutRecord[]): Promise<AckOutcome> {
    if (this.closed) return Promise.resolve({ ok: false, reason: 'closed' });
    if (records.length === 0) return Promise.resolve({ ok: true });
    return new Promise<AckOutcome>((resolve) => {
      const sub: Submission = { remaining: 0, sending: 0, settled: false, timer: undefined, done: resolve };
      let chunk: Chunk = { sub, records: [], bytes: 0 };
      for (const r of records) {
        const b = recordBytes(r);
        if (chunk.records.length > 0 && chunk.bytes + b > this.opts.maxSendBytes) {
          this.enqueue(chunk);
          chunk = { sub, records: [], bytes: 0 };
        }
        chunk.records.push(r);
        chunk.bytes += b;
      }
      this.enqueue(chunk);
      sub.timer = setTimeout(() => this.settle(sub, { ok: false, reason: 'deadline' }), this.opts.deadlineMs);
      this.schedule();
    });
  }

  private enqueue(chunk: Chunk): void {
    chunk.sub.remaining++;
    this.queue.push(chunk);
    this.queuedBytes += chunk.bytes;
  }

  private settle(sub: Submission, outcome: AckOutcome): void {
    if (sub.settled) return;
    sub.settled = true;
    if (sub.timer) clearTimeout(sub.timer);
    if (!outcome.ok) this.withdraw(sub);
    sub.done(outcome);
  }

  /** Drops a failed submission's records that no produce call has taken yet. */
  private withdraw(sub: Submission): void {
    if (!this.queue.some((c) => c.sub === sub)) return;
    this.queue = this.queue.filter((c) => {
      if (c.sub !== sub) return true;
      this.queuedBytes -= c.bytes;
      return false;
    });
    this.notifyIdle();
  }

  private schedule(): void {
    if (this.inflight >= this.maxInflight || this.queue.length === 0) return;
    if (this.closed || this.opts.lingerMs <= 0 || this.queuedBytes >= this.opts.maxSendBytes) {
      this.sendNext();
    } else if (!this.lingerTimer) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        this.sendNext();
      }, this.opts.lingerMs);
    }
  }

  private sendNext(): void {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    if (this.inflight >= this.maxInflight) return;
    const taken: Chunk[] = [];
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (next.sub.settled) {
        this.queue.shift();
        this.queuedBytes -= next.bytes;
        continue;
      }
      // An earlier chunk of the same request is still in flight: keep FIFO order.
      if (next.sub.sending > 0) break;
      if (taken.length > 0 && bytes + next.bytes > this.opts.maxSendBytes) break;
      this.queue.shift();
      this.queuedBytes -= next.bytes;
      taken.push(next);
      bytes += next.bytes;
    }
    if (taken.length === 0) {
      this.notifyIdle();
      return;
    }
    for (const c of taken) c.sub.sending++;
    const records = taken.length === 1 ? taken[0].records : taken.flatMap((c) => c.records);
    this.inflight++;
    const started = performance.now();
    this.sink.send(records).then(
      () => {
        this.onSend({ records: records.length, bytes, ms: performance.now() - started, ok: true });
        for (const c of taken) {
          c.sub.sending--;
          c.sub.remaining--;
          if (c.sub.remaining === 0) this.settle(c.sub, { ok: true });
        }
        this.afterSend();
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        this.onSend({ records: records.length, bytes, ms: performance.now() - started, ok: false, error });
        for (const c of taken) {
          c.sub.sending--;
          this.settle(c.sub, { ok: false, reason: 'kafka', error });
        }
        this.afterSend();
      },
    );
    // More than one call's worth waiting and a free slot: go on.
    if (this.queue.length > 0) this.schedule();
  }

  private afterSend(): void {
    this.inflight--;
    // What arrived during the call has waited long enough: send it now.
    if (this.queue.length > 0) this.sendNext();
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.inflight > 0 || this.queue.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Sends what is waiting without lingering and resolves when nothing is queued or in flight. */
  drain(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      this.sendNext();
    });
  }

  /** Refuses new submissions, then drains. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }
}
