import { startCustomerioStandIn, type CustomerioStandIn } from '@sluice/standins';
import { basicAuth, deliver, jsonRequest } from '../src';
import { all, manyTracks, page, track } from './fixtures';
import { configureHttp, runtime, sendAll } from './it-helpers';

describe('customer.io → stand-in (Track API v1)', () => {
  let cio: CustomerioStandIn;
  beforeAll(async () => {
    cio = await startCustomerioStandIn({ siteId: 'site-1', apiKey: 'key-1' });
  });
  afterAll(() => cio.close());
  beforeEach(() => cio.reset());
  const dest = (apiKey = 'key-1') => configureHttp('customerio', { siteId: 'site-1', apiKey, baseUrl: cio.url });

  it('identifies people, tracks events, pages and screens, merges on alias', async () => {
    expect(await sendAll(dest(), all())).toEqual(Array(5).fill({ kind: 'ok' }));
    expect(cio.people.get('user-12345')).toMatchObject({ email: 'ada@example.com', anonymous_id: 'anon-12345' });
    expect(cio.activities.map((a) => [a.customerId, a.event.type ?? 'event', a.event.name])).toEqual([
      ['user-12345', 'event', 'Button Clicked'],
      ['user-12345', 'page', 'https://shop.example.com/cart'],
      ['user-12345', 'screen', 'Home'],
    ]);
    expect(cio.merges).toEqual([{ primary: { id: 'user-12345' }, secondary: { id: 'anon-12345' } }]);
  });

  it('anonymous events go to /api/v1/events; per-user order is kept', async () => {
    expect(await sendAll(dest(), [page({ userId: null }), ...manyTracks(5, 'u-1')])).toEqual(
      Array(6).fill({ kind: 'ok' }),
    );
    expect(cio.activities[0]).toMatchObject({ anonymousId: 'anon-12345' });
    expect(cio.activities.slice(1).map((a) => (a.event.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
  });

  it('bad credentials → 401 abort; 429 with Retry-After and 5xx retry; recovers after going down', async () => {
    expect(await sendAll(dest('wrong'), [track()])).toEqual([
      { kind: 'abort', reason: 'Customer.io 401: Unauthorized request' },
    ]);
    cio.rateLimitNext(1, 2);
    expect((await sendAll(dest(), [track()]))[0]).toMatchObject({ kind: 'retry', retryAfterMs: 2000 });
    cio.failNext(2, { status: 503 });
    expect((await sendAll(dest(), [track(), track()])).map((v) => v.kind)).toEqual(['retry', 'retry']);
    cio.setDown(true);
    expect((await sendAll(dest(), [track()]))[0]!.kind).toBe('retry');
    cio.setDown(false);
    expect(await sendAll(dest(), [track()])).toEqual([{ kind: 'ok' }]);
  });

  it('retrying each delivery until ok (as the router does) keeps per-user order with no duplicates', async () => {
    const d = dest();
    const events = [...manyTracks(4, 'u-a'), ...manyTracks(4, 'u-b')].sort((x, y) =>
      x.messageId.localeCompare(y.messageId),
    );
    cio.failNext(1, { status: 500 });
    cio.rateLimitNext(1, 1);
    cio.failNext(1, { status: 503 });
    let attempts = 0;
    for (const delivery of d.transform(events).deliveries) {
      for (;;) {
        attempts++;
        const v = await d.send(delivery, runtime);
        if (v.kind === 'ok') break;
        expect(v.kind).toBe('retry');
      }
    }
    expect(attempts).toBe(events.length + 3);
    for (const u of ['u-a', 'u-b']) {
      expect(cio.activities.filter((a) => a.customerId === u).map((a) => (a.event.data as { i: number }).i)).toEqual([
        0, 1, 2, 3,
      ]);
    }
    expect(cio.activities).toHaveLength(8);
  });

  it('an event without a name gets 400 with the meta error, which classify aborts', async () => {
    const d = dest();
    const payload = jsonRequest(
      'POST',
      `${cio.url}/api/v1/customers/u/events`,
      { data: {} },
      { authorization: basicAuth('site-1', 'key-1') },
    );
    const out = await deliver(payload, runtime);
    expect(d.classify(out, { messageIds: ['m'], payload })).toEqual({
      kind: 'abort',
      reason: "Customer.io 400: missing required parameter 'name'",
    });
  });
});
