import { OutRecord, ProduceBatcher, RecordSink } from '../src/batcher';
import { RateLimiter } from '../src/rate-limit';

function rec(i: number, size = 10): OutRecord {
  return { key: `k${i}`, value: Buffer.alloc(size, i % 256) };
}

/** A sink whose calls the test completes by hand. */
class ManualSink implements RecordSink {
  calls: { records: OutRecord[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  send(records: OutRecord[]): Promise<void> {
    return new Promise((resolve, reject) => this.calls.push({ records, resolve, reject }));
  }
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('ProduceBatcher', () => {
  it('collects records of concurrent requests into one produce call and acks each request', async () => {
    const sink = new ManualSink();
    const b = new ProduceBatcher(sink, { lingerMs: 5, maxSendBytes: 1 << 20, deadlineMs: 5000 });
    const p1 = b.submit([rec(1), rec(2)]);
    const p2 = b.submit([rec(3)]);
    await tick(20);
    expect(sink.calls).toHaveLength(1);
    expect(sink.calls[0].records.map((r) => r.key)).toEqual(['k1', 'k2', 'k3']);
    sink.calls[0].resolve();
    await expect(p1).resolves.toEqual({ ok: true });
    await expect(p2).resolves.toEqual({ ok: true });
  });

  it('keeps one call in flight and sends what arrived meanwhile right after it', async () => {
    const sink = new ManualSink();
    const b = new ProduceBatcher(sink, { lingerMs: 1, maxSendBytes: 1 << 20, deadlineMs: 5000 });
    const p1 = b.submit([rec(1)]);
    await tick(10);
    const p2 = b.submit([rec(2)]);
    const p3 = b.submit([rec(3)]);
    await tick(10);
    expect(sink.calls).toHaveLength(1);
    sink.calls[0].resolve();
    await p1;
    await tick(0);
    expect(sink.calls).toHaveLength(2);
    expect(sink.calls[1].records.map((r) => r.key)).toEqual(['k2', 'k3']);
    sink.calls[1].resolve();
    await expect(Promise.all([p2, p3])).resolves.toEqual([{ ok: true }, { ok: true }]);
  });

  it('splits by maxSendBytes and acks a request only when all its parts are acked', async () => {
    const sink = new ManualSink();
    const b = new ProduceBatcher(sink, { lingerMs: 0, maxSendBytes: 100, deadlineMs: 5000 });
    let settled = false;
    const p = b.submit([rec(1, 60), rec(2, 60), rec(3, 60)]).then((o) => {
      settled = true;
      return o;
    });
    await tick();
    expect(sink.calls).toHaveLength(1);
    expect(sink.calls[0].records).toHaveLength(1);
    sink.calls[0].resolve();
    await tick();
    sink.calls[1].resolve();
    await tick();
    expect(settled).toBe(false);
    sink.calls[2].resolve();
    await expect(p).resolves.toEqual({ ok: true });
  });

  it('fails every request of a failed call with reason kafka', async () => {
    const sink = new ManualSink();
    const b = new ProduceBatcher(sink, { lingerMs: 0, maxSendBytes: 1 << 20, deadlineMs: 5000 });
    const p = b.submit([rec(1)]);
    await tick();
    sink.calls[0].reject(new Error('broker down'));
    const out = await p;
    expect(out).toMatchObject({ ok: false, reason: 'kafka' });
  });

  it('settles at the deadline and withdraws records no call has taken', async () => {
    const sink = new ManualSink();
    const b = new ProduceBatcher(sink, { lingerMs: 0, maxSendBytes: 1 << 20, deadlineMs: 50 });
    const p1 = b.submit([rec(1)]);
    await tick();
    const p2 = b.submit([rec(2)]); // waits behind the stuck call
    expect(b.pendingBytes).toBeGreaterThan(0);
    await expect(p1).resolves.toMatchObject({ ok: false, reason: 'deadline' });
    await expect(p2).resolves.toMatchObject({ ok: false, reason: 'deadline' });
    expect(b.pendingBytes).toBe(0);
    sink.calls[0].resolve();
    await tick();
    expect(sink.calls).toHaveLength(1); // k2 was withdrawn, never sent
  });

  it('pipelines up to maxInflightSends calls, but never two chunks of one request at once', async () => {
    const sink = new ManualSink();
    const b = new ProduceBatcher(sink, { lingerMs: 0, maxSendBytes: 110, deadlineMs: 5000, maxInflightSends: 2 });
    const big = b.submit([rec(1, 60), rec(2, 60), rec(3, 60)]); // three chunks
    const small = b.submit([rec(4, 10)]);
    await tick();
    // Chunk 1 of `big` is in flight; its chunk 2 must wait, and holds the queue behind it.
    expect(sink.calls.map((c) => c.records.map((r) => r.key))).toEqual([['k1']]);
    sink.calls[0].resolve();
    await tick();
    expect(sink.calls.map((c) => c.records.map((r) => r.key))).toEqual([['k1'], ['k2']]);
    sink.calls[1].resolve();
    await tick();
    // Chunk 3 and the small request fit one call.
    expect(sink.calls[2].records.map((r) => r.key)).toEqual(['k3', 'k4']);
    sink.calls[2].resolve();
    await expect(Promise.all([big, small])).resolves.toEqual([{ ok: true }, { ok: true }]);

    const p1 = b.submit([rec(5, 60)]);
    await tick();
    const p2 = b.submit([rec(6, 60)]);
    await tick();
    expect(sink.calls).toHaveLength(5); // two calls in flight together
    sink.calls[4].resolve();
    await expect(p2).resolves.toEqual({ ok: true });
    sink.calls[3].resolve();
    await expect(p1).resolves.toEqual({ ok: true });
  });

  it('drains on close and refuses new work', async () => {
    const sink: RecordSink = { send: async () => undefined };
    const b = new ProduceBatcher(sink, { lingerMs: 1000, maxSendBytes: 1 << 20, deadlineMs: 5000 });
    const p = b.submit([rec(1)]);
    await b.close();
    await expect(p).resolves.toEqual({ ok: true });
    await expect(b.submit([rec(2)])).resolves.toMatchObject({ ok: false, reason: 'closed' });
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then the rate', () => {
    let now = 0;
    const rl = new RateLimiter(10, 20, () => now);
    expect(rl.take('s', 20)).toBe(true);
    expect(rl.take('s', 1)).toBe(false);
    expect(rl.waitSeconds('s', 5)).toBe(1);
    now += 500; // 5 tokens back
    expect(rl.take('s', 5)).toBe(true);
    expect(rl.take('s', 1)).toBe(false);
    expect(rl.take('other', 20)).toBe(true);
  });
  it('lets a request larger than the bucket through only when it is full', () => {
    let now = 0;
    const rl = new RateLimiter(10, 10, () => now);
    expect(rl.take('s', 50)).toBe(true);
    expect(rl.take('s', 1)).toBe(false);
    now += 4000;
    expect(rl.take('s', 1)).toBe(false); // still repaying the debt
    now += 2000;
    expect(rl.take('s', 1)).toBe(true);
  });
  it('is off at rate 0', () => {
    const rl = new RateLimiter(0, 0);
    expect(rl.enabled).toBe(false);
    expect(rl.take('s', 1e6)).toBe(true);
  });
});
