import { startBrazeStandIn, type BrazeStandIn } from '@sluice/standins';
import { deliver, jsonRequest } from '../src';
import { all, identify, order, track } from './fixtures';
import { configureHttp, runtime, sendAll } from './it-helpers';

describe('braze → stand-in', () => {
  let bz: BrazeStandIn;
  beforeAll(async () => {
    bz = await startBrazeStandIn({ apiKeys: ['braze-key'] });
  });
  afterAll(() => bz.close());
  beforeEach(() => bz.reset());
  const dest = (apiKey = 'braze-key') => configureHttp('braze', { apiKey, baseUrl: bz.url });

  it('tracks attributes, events and purchases; anonymous users by alias', async () => {
    const events = [...all(), order(), track({ messageId: 'anon', userId: null, event: 'Browsed' })];
    expect(await sendAll(dest(), events)).toEqual([{ kind: 'ok' }]);
    expect(bz.attributes).toEqual([
      expect.objectContaining({ external_id: 'user-12345', email: 'ada@example.com', first_name: 'Ada' }),
    ]);
    expect(bz.events.map((e) => e.name)).toEqual(['Button Clicked', 'Browsed']);
    expect(bz.events[1]).toMatchObject({ user_alias: { alias_name: 'anon-12345', alias_label: 'anonymous_id' } });
    expect(bz.purchases.map((p) => [p.product_id, p.currency, p.price, p.quantity])).toEqual([
      ['p-1', 'EUR', 10, 2],
      ['p-2', 'EUR', 10, 1],
    ]);
  });

  it("splits at 75 objects per array and keeps each user's order", async () => {
    const events = Array.from({ length: 80 }, (_, i) =>
      track({ messageId: `m${i}`, userId: i % 2 ? 'odd' : 'even', event: `E${i}` }),
    );
    expect(await sendAll(dest(), events)).toEqual([{ kind: 'ok' }, { kind: 'ok' }]);
    for (const u of ['odd', 'even']) {
      const names = bz.events.filter((e) => e.external_id === u).map((e) => Number(String(e.name).slice(1)));
      expect(names).toEqual([...names].sort((a, b) => a - b));
      expect(names).toHaveLength(40);
    }
  });

  it('invalid key → 401 abort; 429 waits for X-RateLimit-Reset; 5xx retries', async () => {
    expect(await sendAll(dest('nope'), [identify()])).toEqual([
      { kind: 'abort', reason: 'Braze 401: Invalid API key: nope' },
    ]);
    bz.rateLimitNext(1, 5);
    const limited = (await sendAll(dest(), [identify()]))[0]!;
    expect(limited.kind).toBe('retry');
    if (limited.kind === 'retry') expect(limited.retryAfterMs).toBe(5000);
    bz.failNext(1, { status: 500 });
    expect((await sendAll(dest(), [identify()]))[0]!.kind).toBe('retry');
  });

  it('a request with no valid object gets the fatal 400; minor errors apply the rest and abort only the bad event', async () => {
    const d = dest();
    const url = `${bz.url}/users/track`;
    const auth = { authorization: 'Bearer braze-key' };
    const fatal = jsonRequest('POST', url, { events: [{ external_id: 'u', time: '2026-01-01T00:00:00Z' }] }, auth);
    const out = await deliver(fatal, runtime);
    expect(out).toMatchObject({ response: { status: 400 } });
    expect(d.classify(out, { messageIds: ['a'], payload: fatal })).toMatchObject({
      kind: 'abort',
      reason: expect.stringContaining('Valid data must be provided'),
    });
    const minor = jsonRequest(
      'POST',
      url,
      {
        events: [
          { external_id: 'u', name: 'ok', time: '2026-01-01T00:00:00Z' },
          { name: 'no-id', time: '2026-01-01T00:00:00Z' },
        ],
      },
      auth,
    );
    const minorOut = await deliver(minor, runtime);
    expect(minorOut).toMatchObject({ response: { status: 201 } });
    expect(d.classify(minorOut, { messageIds: ['a', 'b'], payload: minor, itemIds: { events: ['a', 'b'] } })).toEqual({
      kind: 'partial',
      events: { b: { kind: 'abort', reason: expect.stringContaining('events[1]') } },
    });
    expect(bz.events.map((e) => e.name)).toEqual(['ok']);
  });
});
