import {
  backoffDelay,
  Clock,
  DeadLetterRecord,
  Deliverer,
  DeliveryEngine,
  DeliveryItem,
  DeliveryOutcome,
  DeliverySettings,
  deliverySettingsSchema,
  decodeRanges,
  encodeRanges,
  IncomingRecord,
  inRanges,
  RetryState,
  RetryStateSink,
  TokenBucket,
} from '../src';

/** Timers that only fire when the test moves time on. */
class FakeClock implements Clock {
  t = 1_000_000;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  now = () => this.t;
  setTimer = (fn: () => void, ms: number) => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimer = (h: unknown) => {
    this.timers.delete(h as number);
  };
  /** Moves time forward, firing due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
    await settle();
  }
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

type Script = (item: DeliveryItem) => DeliveryOutcome;

/** Records every request; answers with `script`, immediately or when released. */
class FakeDeliverer implements Deliverer {
  requests: DeliveryItem[][] = [];
  delivered: DeliveryItem[] = [];
  inFlight = 0;
  maxInFlight = 0;
  hold = false;
  private held: (() => void)[] = [];
  constructor(
    public maxBatchSize: number,
    public script: Script = () => ({ kind: 'ok' }),
  ) {}
  async deliver(items: DeliveryItem[]): Promise<DeliveryOutcome[]> {
    this.requests.push(items);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    this.inFlight--;
    const out = items.map((i) => this.script(i));
    items.forEach((it, n) => {
      if (out[n].kind === 'ok') this.delivered.push(it);
    });
    return out;
  }
  release(): void {
    const h = this.held;
    this.held = [];
    h.forEach((f) => f());
  }
}

function rec(offset: number, key: string, seq: number): IncomingRecord {
  return {
    offset: String(offset),
    key,
    envelope: { sourceId: 'src', messageId: `${key}-${seq}`, payload: JSON.stringify({ key, seq }), acceptedAt: 1 },
  };
}

/** Records what the engine reports for durable retry states. */
class RecordingRetryState implements RetryStateSink {
  events: string[] = [];
  latest = new Map<string, RetryState>();
  failed(partition: number, offset: number, state: RetryState): void {
    this.events.push(`failed ${partition}/${offset} #${state.attempts}`);
    this.latest.set(`${partition}/${offset}`, state);
  }
  finished(partition: number, offset: number): void {
    this.events.push(`finished ${partition}/${offset}`);
    this.latest.delete(`${partition}/${offset}`);
  }
}

function setup(deliverer: FakeDeliverer, overrides: Partial<DeliverySettings> = {}, retryState?: RetryStateSink) {
  const clock = new FakeClock();
  const deadLetters: DeadLetterRecord[] = [];
  const counts = { delivered: 0, retried: 0, dead: 0, redelivered: 0 };
  const settings = deliverySettingsSchema.parse({ jitter: 0, ...overrides });
  const engine = new DeliveryEngine({
    destinationId: 'd1',
    topic: 'sluice.dest.d1',
    deliverer,
    settings,
    clock,
    random: () => 0.5,
    retryState,
    deadLetters: {
      write: async (r) => {
        deadLetters.push(...r);
      },
    },
    metrics: {
      delivered: (n) => (counts.delivered += n),
      retried: (n) => (counts.retried += n),
      deadLettered: (n) => (counts.dead += n),
      redelivered: (n) => (counts.redelivered += n),
      requests: () => undefined,
    },
  });
  return { clock, engine, deadLetters, counts, settings };
}

const seqOf = (items: DeliveryItem[], key: string) =>
  items.filter((i) => i.key === key).map((i) => (JSON.parse(i.payload) as { seq: number }).seq);

describe('DeliveryEngine', () => {
  it('keeps one key in order while its head is retried, and lets other keys flow meanwhile', async () => {
    let failA = 3;
    const d = new FakeDeliverer(1, (i) => {
      if (i.key === 'A' && failA > 0) {
        failA--;
        return { kind: 'retry', status: 503, error: 'down' };
      }
      return { kind: 'ok' };
    });
    const { clock, engine } = setup(d);
    const records: IncomingRecord[] = [];
    for (let s = 0; s < 5; s++) {
      records.push(rec(records.length, 'A', s));
      records.push(rec(records.length, 'B', s));
    }
    engine.enqueue(0, records);
    await clock.advance(0);
    // B is done while A waits out its backoff; A has not moved past its head.
    expect(seqOf(d.delivered, 'B')).toEqual([0, 1, 2, 3, 4]);
    expect(seqOf(d.delivered, 'A')).toEqual([]);
    expect(
      d.requests
        .flat()
        .filter((i) => i.key === 'A')
        .map((i) => i.messageId),
    ).toEqual(['A-0']);
    await clock.advance(10 * 60 * 1000);
    expect(seqOf(d.delivered, 'A')).toEqual([0, 1, 2, 3, 4]);
    // A's head was tried 4 times (3 failures), never anything behind it in between.
    const aTries = d.requests
      .flat()
      .filter((i) => i.key === 'A')
      .map((i) => i.messageId);
    expect(aTries).toEqual(['A-0', 'A-0', 'A-0', 'A-0', 'A-1', 'A-2', 'A-3', 'A-4']);
    expect(engine.watermark(0)).toBe('10');
  });

  it('retries on the exponential schedule and honours Retry-After', async () => {
    const times: number[] = [];
    let n = 0;
    const d = new FakeDeliverer(1, () => {
      times.push(clock.now());
      n++;
      if (n === 3) return { kind: 'retry', status: 429, retryAfterMs: 7000, error: 'slow down' };
      if (n < 6) return { kind: 'retry', status: 500, error: 'boom' };
      return { kind: 'ok' };
    });
    const { clock, engine, counts } = setup(d, { minBackoffMs: 10_000, maxBackoffMs: 60_000 });
    engine.enqueue(0, [rec(0, 'A', 0)]);
    await clock.advance(0);
    await clock.advance(60 * 60 * 1000);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    // 10 s, 20 s, then Retry-After 7 s, then 80 s capped at 60 s, 60 s.
    expect(gaps).toEqual([10_000, 20_000, 7_000, 60_000, 60_000]);
    expect(counts).toMatchObject({ delivered: 1, retried: 5, dead: 0 });
  });

  it('backoff: doubles from min to max, jitter only shortens', () => {
    const s = deliverySettingsSchema.parse({});
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a, s, () => 0))).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000,
    ]);
    expect(backoffDelay(1, s, () => 1)).toBe(8_000);
  });

  it('dead-letters after the retry window with the last error, then the key moves on', async () => {
    const d = new FakeDeliverer(1, (i) =>
      i.messageId === 'A-0' ? { kind: 'retry', status: 502, error: 'bad gateway' } : { kind: 'ok' },
    );
    const { clock, engine, deadLetters, counts } = setup(d, { retryWindowMs: 60_000, minBackoffMs: 10_000 });
    engine.enqueue(3, [rec(40, 'A', 0), rec(41, 'A', 1)]);
    const start = clock.now();
    await clock.advance(0);
    await clock.advance(59_000);
    expect(deadLetters).toHaveLength(0);
    await clock.advance(5 * 60_000);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]).toMatchObject({
      stage: 'router',
      destinationId: 'd1',
      messageId: 'A-0',
      partitionKey: 'A',
      retriable: true,
      lastStatus: 502,
      errorMessage: 'bad gateway',
      errorClass: 'RetryWindowExceeded',
      firstAttemptAt: start,
      originalTopic: 'sluice.dest.d1',
      originalPartition: 3,
      originalOffset: '40',
      payloadFormat: 'json',
    });
    // Tries at 0, 10, 30 s and a last one at the end of the 60 s window.
    expect(deadLetters[0].attempts).toBe(4);
    expect(deadLetters[0].failedAt - start).toBe(60_000);
    expect(JSON.parse(deadLetters[0].payload.toString())).toEqual({ key: 'A', seq: 0 });
    expect(seqOf(d.delivered, 'A')).toEqual([1]);
    expect(counts.dead).toBe(1);
    expect(engine.watermark(3)).toBe('42');
  });

  it('reports the first failure and every retry of an event to the retry-state sink, and its end', async () => {
    let failures = 2;
    const d = new FakeDeliverer(1, (i) =>
      i.messageId === 'A-0' && failures-- > 0 ? { kind: 'retry', error: 'HTTP 503', status: 503 } : { kind: 'ok' },
    );
    const rs = new RecordingRetryState();
    const { clock, engine } = setup(d, { minBackoffMs: 1000 }, rs);
    engine.enqueue(2, [rec(7, 'A', 0), rec(8, 'A', 1), rec(9, 'B', 0)]);
    const start = clock.now();
    await clock.advance(0);
    expect(rs.latest.get('2/7')).toEqual({ messageId: 'A-0', firstAttemptAt: start, attempts: 1 });
    await clock.advance(1000);
    expect(rs.latest.get('2/7')).toEqual({ messageId: 'A-0', firstAttemptAt: start, attempts: 2 });
    await clock.advance(2000);
    // Events that never failed are not reported at all.
    expect(rs.events).toEqual(['failed 2/7 #1', 'failed 2/7 #2', 'finished 2/7']);
    expect(seqOf(d.delivered, 'A')).toEqual([0, 1]);
  });

  it('continues a restored retry window: dead-letters when the original window ends', async () => {
    const d = new FakeDeliverer(1, (i) =>
      i.messageId === 'A-0' ? { kind: 'retry', error: 'HTTP 503', status: 503 } : { kind: 'ok' },
    );
    const rs = new RecordingRetryState();
    const { clock, engine, deadLetters } = setup(d, { retryWindowMs: 60_000, minBackoffMs: 10_000 }, rs);
    // An earlier owner tried A-0 three times, the first 50 s ago; A-1's state names another event.
    const firstAttemptAt = clock.now() - 50_000;
    engine.assign(
      4,
      [],
      new Map([
        [20, { messageId: 'A-0', firstAttemptAt, attempts: 3 }],
        [21, { messageId: 'not-A-1', firstAttemptAt, attempts: 9 }],
      ]),
    );
    engine.enqueue(4, [rec(20, 'A', 0), rec(21, 'A', 1)]);
    await clock.advance(0);
    expect(deadLetters).toHaveLength(0);
    // Next try is due 10 × 2^3 s later, which the original window cuts to its end (10 s from now).
    await clock.advance(10_000);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]).toMatchObject({ messageId: 'A-0', firstAttemptAt, attempts: 5 });
    expect(deadLetters[0].failedAt - firstAttemptAt).toBe(60_000);
    // A-1 was not restored (another messageId at that offset): it starts with attempt 1 and is delivered.
    expect(d.delivered.map((i) => [i.messageId, i.attempt])).toEqual([['A-1', 1]]);
    expect(rs.events).toEqual(['failed 4/20 #4', 'finished 4/20']);
  });

  it('dead-letters a restored event whose window already ended after one more failed try', async () => {
    const d = new FakeDeliverer(1, () => ({ kind: 'retry', error: 'HTTP 503', status: 503 }));
    const { clock, engine, deadLetters } = setup(d, { retryWindowMs: 60_000 });
    const firstAttemptAt = clock.now() - 3 * 60_000;
    engine.assign(0, [], new Map([[5, { messageId: 'A-0', firstAttemptAt, attempts: 4 }]]));
    engine.enqueue(0, [rec(5, 'A', 0)]);
    await clock.advance(0);
    expect(d.requests).toHaveLength(1);
    expect(deadLetters).toEqual([
      expect.objectContaining({ messageId: 'A-0', firstAttemptAt, attempts: 5, errorClass: 'RetryWindowExceeded' }),
    ]);
  });

  it('dead-letters an abort at once and goes on with the key', async () => {
    const d = new FakeDeliverer(1, (i) =>
      i.messageId === 'A-0' ? { kind: 'abort', status: 400, error: 'invalid' } : { kind: 'ok' },
    );
    const { clock, engine, deadLetters } = setup(d);
    engine.enqueue(0, [rec(0, 'A', 0), rec(1, 'A', 1)]);
    await clock.advance(0);
    expect(deadLetters.map((x) => [x.messageId, x.retriable, x.attempts, x.lastStatus])).toEqual([
      ['A-0', false, 1, 400],
    ]);
    expect(seqOf(d.delivered, 'A')).toEqual([1]);
  });

  it('treats a thrown error as an abort unless it says retriable', async () => {
    let calls = 0;
    const d = new FakeDeliverer(1);
    d.deliver = async (items) => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('socket hang up'), { retriable: true });
      if (calls === 2) throw new Error('bug');
      return items.map(() => ({ kind: 'ok' as const }));
    };
    const { clock, engine, deadLetters } = setup(d);
    engine.enqueue(0, [rec(0, 'A', 0), rec(1, 'A', 1)]);
    await clock.advance(0);
    expect(deadLetters).toHaveLength(0);
    await clock.advance(10_000);
    expect(deadLetters.map((x) => [x.messageId, x.errorMessage, x.attempts])).toEqual([['A-0', 'bug', 2]]);
    expect(engine.watermark(0)).toBe('2');
  });

  it('dead-letters an undecodable record with its bytes, in its key order', async () => {
    const d = new FakeDeliverer(1);
    const { clock, engine, deadLetters } = setup(d);
    engine.enqueue(0, [
      { offset: '0', key: 'A', poison: { error: 'not avro', raw: Buffer.from([1, 2, 3]) } },
      rec(1, 'A', 1),
    ]);
    await clock.advance(0);
    expect(deadLetters[0]).toMatchObject({ payloadFormat: 'raw', errorClass: 'DecodeError', attempts: 0 });
    expect([...deadLetters[0].payload]).toEqual([1, 2, 3]);
    expect(seqOf(d.delivered, 'A')).toEqual([1]);
  });

  it('computes the watermark as the lowest unfinished offset and carries finished ranges above it', async () => {
    const d = new FakeDeliverer(1, (i) => (i.key === 'B' ? { kind: 'retry', error: 'x' } : { kind: 'ok' }));
    const { clock, engine } = setup(d);
    expect(engine.watermark(0)).toBeUndefined();
    // Offsets with gaps (as after compaction or transaction markers).
    engine.enqueue(0, [rec(10, 'A', 0), rec(12, 'B', 0), rec(13, 'A', 1), rec(15, 'C', 0), rec(16, 'B', 1)]);
    await clock.advance(0);
    expect(engine.watermark(0)).toBe('12');
    expect(decodeRanges(engine.commitMetadata(0))).toEqual([[13, 15]]);
    // A re-fetch of what is already held changes nothing.
    engine.enqueue(0, [rec(12, 'B', 0), rec(13, 'A', 1)]);
    expect(engine.queued(0)).toBe(2);
  });

  it('counts events delivered again that an earlier owner had finished', async () => {
    const d = new FakeDeliverer(1);
    const { clock, engine, counts } = setup(d);
    engine.assign(0, decodeRanges(encodeRanges([[13, 15]])));
    engine.enqueue(0, [rec(12, 'B', 0), rec(13, 'A', 1), rec(15, 'C', 0), rec(16, 'B', 1)]);
    await clock.advance(0);
    expect(counts).toMatchObject({ delivered: 4, redelivered: 2 });
  });

  it('assembles batches from heads of different keys, one per key', async () => {
    const d = new FakeDeliverer(3);
    d.hold = true;
    const { clock, engine } = setup(d, { maxInFlightRequests: 1 });
    engine.enqueue(0, [rec(0, 'A', 0), rec(1, 'A', 1), rec(2, 'B', 0), rec(3, 'C', 0), rec(4, 'D', 0)]);
    await clock.advance(0);
    expect(d.requests.map((r) => r.map((i) => i.messageId))).toEqual([['A-0', 'B-0', 'C-0']]);
    d.release();
    await clock.advance(0);
    expect(d.requests[1].map((i) => i.messageId)).toEqual(['D-0', 'A-1']);
    d.release();
    await clock.advance(0);
    expect(engine.watermark(0)).toBe('5');
  });

  it('bounds requests in flight', async () => {
    const d = new FakeDeliverer(1);
    d.hold = true;
    const { clock, engine } = setup(d, { maxInFlightRequests: 4 });
    engine.enqueue(
      0,
      Array.from({ length: 20 }, (_, i) => rec(i, `k${i}`, 0)),
    );
    await clock.advance(0);
    expect(d.requests).toHaveLength(4);
    for (let i = 0; i < 10 && d.delivered.length < 20; i++) {
      d.release();
      await clock.advance(0);
    }
    expect(d.delivered).toHaveLength(20);
    expect(d.maxInFlight).toBe(4);
  });

  it('limits the rate with a token bucket', async () => {
    const d = new FakeDeliverer(1);
    const { clock, engine } = setup(d, { ratePerSecond: 10 });
    engine.enqueue(
      0,
      Array.from({ length: 50 }, (_, i) => rec(i, `k${i}`, 0)),
    );
    await clock.advance(0);
    expect(d.delivered).toHaveLength(10); // the burst
    await clock.advance(1000);
    expect(d.delivered).toHaveLength(20);
    await clock.advance(2000);
    expect(d.delivered).toHaveLength(40);
    await clock.advance(5000);
    expect(d.delivered).toHaveLength(50);
  });

  it('token bucket grants whole tokens and tells the wait', () => {
    const b = new TokenBucket(4, 2, 0);
    expect(b.take(5, 0)).toBe(2);
    expect(b.take(1, 0)).toBe(0);
    expect(b.waitMs(0)).toBe(250);
    expect(b.take(5, 500)).toBe(2);
  });

  it('reports a partition over its cap and resolves once it drained to half', async () => {
    const d = new FakeDeliverer(1);
    d.hold = true;
    const { clock, engine } = setup(d, { maxQueuedPerPartition: 10, maxInFlightRequests: 100 });
    engine.enqueue(
      1,
      Array.from({ length: 12 }, (_, i) => rec(i, `k${i}`, 0)),
    );
    await clock.advance(0);
    expect(engine.overCap(1)).toBe(true);
    let drained = false;
    void engine.whenDrained(1).then(() => (drained = true));
    d.release();
    await clock.advance(0);
    expect(drained).toBe(true);
    expect(engine.overCap(1)).toBe(false);
  });

  it('drops revoked partitions, ignores their late outcomes, and takes them afresh', async () => {
    const d = new FakeDeliverer(1);
    d.hold = true;
    const { clock, engine, counts } = setup(d);
    engine.enqueue(2, [rec(0, 'A', 0), rec(1, 'A', 1)]);
    await clock.advance(0);
    engine.revoke([2]);
    expect(engine.watermark(2)).toBeUndefined();
    d.release();
    await clock.advance(0);
    expect(counts.delivered).toBe(0);
    expect(d.requests).toHaveLength(1);
    d.hold = false;
    engine.enqueue(2, [rec(0, 'A', 0), rec(1, 'A', 1)]);
    await clock.advance(0);
    expect(engine.watermark(2)).toBe('2');
  });

  it('holds new sends during a rebalance and resumes after it', async () => {
    const d = new FakeDeliverer(1);
    const { clock, engine } = setup(d);
    engine.hold(true);
    engine.enqueue(0, [rec(0, 'A', 0), rec(1, 'B', 0)]);
    await clock.advance(1000);
    expect(d.requests).toHaveLength(0);
    engine.hold(false);
    await clock.advance(0);
    expect(d.delivered).toHaveLength(2);
  });

  it('counts a deliverer that never answers as a retriable failure', async () => {
    const d = new FakeDeliverer(1);
    d.hold = true;
    const { clock, engine, counts } = setup(d, { deliveryTimeoutMs: 30_000 });
    engine.enqueue(0, [rec(0, 'A', 0)]);
    await clock.advance(29_000);
    expect(counts.retried).toBe(0);
    await clock.advance(1_000);
    expect(counts.retried).toBe(1);
    d.hold = false;
    d.release(); // the late answer is ignored
    await clock.advance(10_000);
    expect(counts.delivered).toBe(1);
    expect(d.requests).toHaveLength(2);
    expect(engine.watermark(0)).toBe('1');
  });

  it('stop waits for requests in flight and sends nothing new', async () => {
    const d = new FakeDeliverer(1);
    d.hold = true;
    const { clock, engine } = setup(d, { maxInFlightRequests: 1 });
    engine.enqueue(0, [rec(0, 'A', 0), rec(1, 'B', 0)]);
    await clock.advance(0);
    let stopped: boolean | undefined;
    void engine.stop(5000).then((r) => (stopped = r));
    await clock.advance(0);
    expect(stopped).toBeUndefined();
    d.release();
    await clock.advance(0);
    expect(stopped).toBe(true);
    expect(d.requests).toHaveLength(1);
    expect(engine.watermark(0)).toBe('1');
  });

  it('waits behind a failing dead-letter write instead of skipping the event', async () => {
    const d = new FakeDeliverer(1, () => ({ kind: 'abort', status: 400, error: 'no' }));
    const { clock, engine } = setup(d);
    let fail = 2;
    const written: string[] = [];
    (engine as unknown as { opts: { deadLetters: { write(r: DeadLetterRecord[]): Promise<void> } } }).opts.deadLetters =
      {
        write: async (r) => {
          if (fail-- > 0) throw new Error('kafka down');
          written.push(...r.map((x) => x.messageId ?? ''));
        },
      };
    engine.enqueue(0, [rec(0, 'A', 0), rec(1, 'A', 1)]);
    await clock.advance(0);
    expect(engine.watermark(0)).toBe('0');
    await clock.advance(3000);
    expect(written).toEqual(['A-0', 'A-1']);
    expect(engine.watermark(0)).toBe('2');
  });

  it('ranges: encode, decode, lookup, and a cap on size', () => {
    const r = decodeRanges(
      encodeRanges([
        [1, 3],
        [7, 7],
        [10, 20],
      ]),
    );
    expect(r).toEqual([
      [1, 3],
      [7, 7],
      [10, 20],
    ]);
    expect([0, 1, 3, 4, 7, 15, 21].map((o) => inRanges(r, o))).toEqual([false, true, true, false, true, true, false]);
    const many = Array.from({ length: 2000 }, (_, i) => [i * 10, i * 10 + 1] as [number, number]);
    expect(encodeRanges(many).length).toBeLessThanOrEqual(3000);
    expect(decodeRanges('something else')).toEqual([]);
  });
});
