import type { DeliveryItem } from '@sluice/delivery';
import { destinations, type FetchLike } from '@sluice/destinations';
import { DestinationDeliverer, outcomesOfDelivery, parseEvent, statusOf } from '../src/destination-deliverer';

function item(messageId: string, event: Record<string, unknown> | string, key = messageId): DeliveryItem {
  return {
    destinationId: 'd',
    sourceId: 's',
    messageId,
    key,
    payload: typeof event === 'string' ? event : JSON.stringify({ messageId, ...event }),
    acceptedAt: 0,
    attempt: 1,
  };
}

function fakeFetch(
  answer: (url: string, body: string) => { status: number; body?: string; headers?: Record<string, string> },
) {
  const calls: { url: string; body: string }[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, body: init.body ?? '' });
    const a = answer(url, init.body ?? '');
    return {
      status: a.status,
      headers: { forEach: (cb) => Object.entries(a.headers ?? {}).forEach(([k, v]) => cb(v, k)) },
      text: async () => a.body ?? '',
    };
  };
  return { fetch, calls };
}

function amplitude(fetch: FetchLike, skipped: number[] = []) {
  const r = destinations.amplitude!.configure({ apiKey: 'KEY', baseUrl: 'http://amp.test' });
  if (!r.ok) throw new Error(r.problems.join());
  return new DestinationDeliverer(r.destination, { timeoutMs: 1000, fetch, onSkipped: (n) => skipped.push(n) });
}

describe('DestinationDeliverer', () => {
  const track = (userId: string) => ({ type: 'track', event: 'Bought', userId, properties: { price: 3 } });

  it('parses payloads and falls back to the envelope messageId', () => {
    const ev = parseEvent(item('m1', '{"type":"track","event":"x","userId":"u"}'));
    expect(typeof ev).toBe('object');
    expect((ev as { messageId: string }).messageId).toBe('m1');
    expect(parseEvent(item('m2', 'not json'))).toMatch(/not JSON/);
    expect(parseEvent(item('m3', { type: 'nope' }))).toMatch(/unknown event type/);
  });

  it('maps statuses out of reasons', () => {
    expect(statusOf('HTTP 429: slow down')).toBe(429);
    expect(statusOf('Amplitude 400: missing_field')).toBe(400);
    expect(statusOf('network error: x')).toBeUndefined();
    expect(statusOf('Braze: code 500')).toBeUndefined();
  });

  it('delivers a batch in one request and answers ok per item, with the library maxBatchSize', async () => {
    const { fetch, calls } = fakeFetch(() => ({ status: 200, body: '{"code":200}' }));
    const d = amplitude(fetch);
    expect(d.maxBatchSize).toBeGreaterThan(1);
    const out = await d.deliver([item('a', track('user-1')), item('b', track('user-2'))]);
    expect(out).toEqual([{ kind: 'ok' }, { kind: 'ok' }]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toContain('"insert_id":"a"');
  });

  it('maps 429 with Retry-After to retry and 400 to abort with the status', async () => {
    let status = 429;
    const { fetch } = fakeFetch(() => ({ status, body: '{}', headers: { 'retry-after': '2' } }));
    const d = amplitude(fetch);
    const [r] = await d.deliver([item('a', track('user-1'))]);
    expect(r).toMatchObject({ kind: 'retry', status: 429 });
    status = 400;
    const [a] = await d.deliver([item('a', track('user-1'))]);
    expect(a).toMatchObject({ kind: 'abort', status: 400 });
  });

  it('aborts bad payloads and rejected events, counts skipped ones as delivered', async () => {
    const { fetch, calls } = fakeFetch(() => ({ status: 200, body: '{}' }));
    const skipped: number[] = [];
    const d = amplitude(fetch, skipped);
    const out = await d.deliver([
      item('bad', 'not json'),
      item('noid', { type: 'track', event: 'x' }),
      item('alias', { type: 'alias', userId: 'u', previousId: 'p' }),
      item('ok', track('user-3')),
    ]);
    expect(out[0]).toMatchObject({ kind: 'abort' });
    expect(out[3]).toEqual({ kind: 'ok' });
    // Amplitude rejects events without ids and skips alias (or rejects it): never a silent loss.
    expect(out[1]!.kind === 'abort' || out[1]!.kind === 'ok').toBe(true);
    expect(out[2]!.kind === 'abort' || out[2]!.kind === 'ok').toBe(true);
    expect(out.filter((o) => o.kind === 'ok').length).toBe(1 + skipped.reduce((a, b) => a + b, 0));
    expect(calls).toHaveLength(1);
  });

  it('maps a partial verdict onto the named events only', () => {
    const m = outcomesOfDelivery(
      { kind: 'partial', events: { b: { kind: 'retry', reason: 'HTTP 429: throttled', retryAfterMs: 30000 } } },
      ['a', 'b'],
    );
    expect(m.get('a')).toEqual({ kind: 'ok' });
    expect(m.get('b')).toEqual({ kind: 'retry', error: 'HTTP 429: throttled', retryAfterMs: 30000, status: 429 });
  });

  it('hands kafka batches to the producer and classifies its errors', async () => {
    const r = destinations.kafka!.configure({ topic: 'out' });
    if (!r.ok) throw new Error(r.problems.join());
    const sent: unknown[] = [];
    const state: { fail?: Error } = {};
    const d = new DestinationDeliverer(r.destination, {
      timeoutMs: 1000,
      producer: {
        send: async (b) => {
          if (state.fail) throw state.fail;
          sent.push(b);
        },
      },
    });
    expect(await d.deliver([item('a', track('user-1'))])).toEqual([{ kind: 'ok' }]);
    expect(sent).toHaveLength(1);
    state.fail = Object.assign(new Error('down'), { name: 'KafkaJSConnectionError' });
    expect((await d.deliver([item('a', track('user-1'))]))[0]!.kind).toBe('retry');
  });

  it('runs redis batches through the executor', async () => {
    const r = destinations.redis!.configure({});
    if (!r.ok) throw new Error(r.problems.join());
    const batches: unknown[] = [];
    const d = new DestinationDeliverer(r.destination, {
      timeoutMs: 1000,
      redis: { exec: async (b) => void batches.push(b) },
    });
    expect(await d.deliver([item('a', { type: 'identify', userId: 'u', traits: { plan: 'pro' } })])).toEqual([
      { kind: 'ok' },
    ]);
    expect(batches).toHaveLength(1);
  });
});
