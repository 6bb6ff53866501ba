import { startGa4StandIn, type Ga4StandIn } from '@sluice/standins';
import { deliver, jsonRequest } from '../src';
import { all, order, track } from './fixtures';
import { configureHttp, runtime, sendAll } from './it-helpers';

describe('ga4 → stand-in (Measurement Protocol)', () => {
  let ga: Ga4StandIn;
  beforeAll(async () => {
    ga = await startGa4StandIn({ measurementId: 'G-TEST', apiSecret: 'secret' });
  });
  afterAll(() => ga.close());
  beforeEach(() => ga.reset());
  const dest = (over: Record<string, unknown> = {}) =>
    configureHttp('ga4', { measurementId: 'G-TEST', apiSecret: 'secret', baseUrl: ga.url, ...over });

  it('records the events of valid payloads', async () => {
    expect(await sendAll(dest(), [...all(), order()])).toEqual([{ kind: 'ok' }]);
    expect(ga.events.map((e) => e.event.name)).toEqual([
      'button_clicked',
      'page_view',
      'screen_view',
      'join_group',
      'purchase',
    ]);
    expect(ga.events[0]).toMatchObject({ client_id: 'anon-12345', user_id: 'user-12345' });
    expect(ga.dropped).toEqual([]);
  });

  it('a wrong api_secret still gets 2xx and is silently dropped, as GA4 does; validation mode reports it', async () => {
    expect(await sendAll(dest({ apiSecret: 'wrong' }), [track()])).toEqual([{ kind: 'ok' }]);
    expect(ga.events).toHaveLength(0);
    expect(ga.dropped[0]!.reason).toContain('api_secret');
    const verdicts = await sendAll(dest({ apiSecret: 'wrong', validationMode: true }), [track()]);
    expect(verdicts[0]).toMatchObject({ kind: 'abort', reason: expect.stringContaining('api_secret') });
  });

  it('the validation endpoint names what is wrong in a malformed payload', async () => {
    const d = dest({ validationMode: true });
    const payload = jsonRequest('POST', `${ga.url}/debug/mp/collect?measurement_id=G-TEST&api_secret=secret`, {
      events: [
        { name: 'session_start', params: {} },
        { name: 'Bad Name!', params: {} },
      ],
    });
    const out = await deliver(payload, runtime);
    expect(out).toMatchObject({ response: { status: 200 } });
    const v = d.classify(out, { messageIds: ['a', 'b'], payload });
    expect(v).toMatchObject({ kind: 'abort' });
    if (v.kind === 'abort') {
      expect(v.reason).toContain('client_id');
      expect(v.reason).toContain('NAME_RESERVED');
      expect(v.reason).toContain('NAME_INVALID');
    }
  });

  it('429 and 5xx injected failures retry', async () => {
    ga.rateLimitNext(1, 4);
    expect((await sendAll(dest(), [track()]))[0]).toMatchObject({ kind: 'retry', retryAfterMs: 4000 });
    ga.failNext(1, { status: 500 });
    expect((await sendAll(dest(), [track()]))[0]!.kind).toBe('retry');
  });
});
