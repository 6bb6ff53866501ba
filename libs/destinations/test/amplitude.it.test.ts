import { startAmplitudeStandIn, type AmplitudeStandIn } from '@sluice/standins';
import { deliver, jsonRequest, type Delivery, type HttpRequest } from '../src';
import { all, manyTracks, track } from './fixtures';
import { configureHttp, runtime, sendAll } from './it-helpers';

describe('amplitude → stand-in (HTTP V2 API)', () => {
  let amp: AmplitudeStandIn;
  beforeAll(async () => {
    amp = await startAmplitudeStandIn({ apiKeys: ['amp-key'] });
  });
  afterAll(() => amp.close());
  beforeEach(() => amp.reset());
  const dest = () => configureHttp('amplitude', { apiKey: 'amp-key', baseUrl: amp.url });

  it('ingests every supported call in order', async () => {
    expect(await sendAll(dest(), all())).toEqual([{ kind: 'ok' }]);
    expect(amp.events.map((e) => e.event_type)).toEqual([
      'Button Clicked',
      '$identify',
      'Viewed Cart Page',
      'Viewed Home Screen',
      '$identify',
    ]);
    expect(amp.events.every((e) => e.user_id === 'user-12345' && e.device_id === 'anon-12345')).toBe(true);
  });

  it('keeps per-user order across batches, and the batch API path works', async () => {
    const d = configureHttp('amplitude', { apiKey: 'amp-key', baseUrl: amp.url, api: 'batch', batchSize: 7 });
    const events = [...manyTracks(10, 'user-aaaaa'), ...manyTracks(10, 'user-bbbbb')];
    expect(await sendAll(d, events)).toEqual(Array(3).fill({ kind: 'ok' }));
    expect(amp.received.map((r) => r.path)).toEqual(['/batch', '/batch', '/batch']);
    for (const u of ['user-aaaaa', 'user-bbbbb']) {
      const order = amp.events.filter((e) => e.user_id === u).map((e) => (e.event_properties as { i: number }).i);
      expect(order).toEqual([...Array(10).keys()]);
    }
  });

  it('a retried delivery after a 500 is deduplicated by insert_id', async () => {
    const d = dest();
    const delivery = d.transform(manyTracks(3))!.deliveries[0]!;
    amp.failNext(1, { status: 500 });
    expect((await d.send(delivery, runtime)).kind).toBe('retry');
    expect(await d.send(delivery, runtime)).toEqual({ kind: 'ok' });
    expect(await d.send(delivery, runtime)).toEqual({ kind: 'ok' });
    expect(amp.events).toHaveLength(3);
  });

  it('429 with Retry-After and 503 retry; down is a network error', async () => {
    const d = dest();
    amp.rateLimitNext(1, 3);
    expect((await sendAll(d, [track()]))[0]).toMatchObject({
      kind: 'retry',
      retryAfterMs: 3000,
      reason: expect.stringContaining('Too many requests'),
    });
    amp.failNext(1, { status: 503 });
    expect((await sendAll(d, [track()]))[0]!.kind).toBe('retry');
    amp.setDown(true);
    expect((await sendAll(d, [track()]))[0]!.kind).toBe('retry');
    amp.setDown(false);
  });

  it('429 for a throttled user: its events wait 30 s, the others go again at once; all land after', async () => {
    const d = dest();
    const events = [...manyTracks(2, 'user-hot00'), ...manyTracks(2, 'user-cool0')];
    const delivery = d.transform(events).deliveries[0]!;
    amp.throttle(['user-hot00']);
    const v = await d.send(delivery, runtime);
    expect(v.kind).toBe('partial');
    if (v.kind === 'partial') {
      expect(Object.entries(v.events).map(([id, e]) => [id, e.kind === 'retry' ? e.retryAfterMs : e.kind])).toEqual([
        ['msg-user-hot00-0', 30_000],
        ['msg-user-hot00-1', 30_000],
        ['msg-user-cool0-0', 0],
        ['msg-user-cool0-1', 0],
      ]);
    }
    expect(amp.events).toHaveLength(0);
    amp.throttle([]);
    expect(await d.send(delivery, runtime)).toEqual({ kind: 'ok' });
    expect(amp.events).toHaveLength(4);
  });

  it('rejects malformed requests the way Amplitude does, and classify handles them', async () => {
    const d = dest();
    const url = `${amp.url}/2/httpapi`;
    const send = async (body: unknown, messageIds: string[]) => {
      const payload: HttpRequest = jsonRequest('POST', url, body);
      const delivery: Delivery<HttpRequest> = { messageIds, payload };
      const outcome = await deliver(payload, runtime);
      return { outcome, verdict: d.classify(outcome, delivery) };
    };
    const noKey = await send({ events: [{ event_type: 'x', user_id: 'user-1' }] }, ['a']);
    expect(noKey.outcome).toMatchObject({ response: { status: 400 } });
    expect(noKey.verdict).toEqual({
      kind: 'abort',
      reason: 'Amplitude 400: Request missing required field (missing field api_key)',
    });
    const badKey = await send({ api_key: 'nope', events: [] }, []);
    expect(badKey.verdict).toMatchObject({ kind: 'abort', reason: expect.stringContaining('Invalid API key') });
    const mixed = await send(
      {
        api_key: 'amp-key',
        events: [{ event_type: 'ok', user_id: 'user-1' }, { user_id: 'user-1' }, { event_type: 'x', user_id: 'u1' }],
      },
      ['a', 'b', 'c'],
    );
    expect(mixed.verdict).toEqual({
      kind: 'partial',
      events: {
        a: { kind: 'retry', reason: expect.any(String), retryAfterMs: 0 },
        b: { kind: 'abort', reason: expect.stringContaining('event 1') },
        c: { kind: 'abort', reason: expect.stringContaining('event 2') },
      },
    });
    const tooMany = await send(
      { api_key: 'amp-key', events: Array.from({ length: 2001 }, () => ({ event_type: 'x', user_id: 'user-1' })) },
      [],
    );
    expect(tooMany.verdict).toMatchObject({ kind: 'abort', reason: expect.stringContaining('413') });
    expect(amp.events).toHaveLength(0);
  });
});
