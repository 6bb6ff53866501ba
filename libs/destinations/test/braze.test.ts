import { braze, brazeConfigSchema } from '../src';
import { all, body, identify, networkError, order, response, track } from './fixtures';

const config = brazeConfigSchema.parse({ apiKey: 'KEY', baseUrl: 'https://rest.iad-01.braze.com', appId: 'app-1' });
type Track = {
  attributes?: Record<string, unknown>[];
  events?: Record<string, unknown>[];
  purchases?: Record<string, unknown>[];
};

describe('braze transform', () => {
  it('identify → attributes, track → events, others skipped; one /users/track request', () => {
    const out = braze.transform(all(), config);
    expect(out.skipped.map((s) => s.messageId)).toEqual(['msg-page-1', 'msg-screen-1', 'msg-group-1', 'msg-alias-1']);
    expect(out.deliveries).toHaveLength(1);
    const req = out.deliveries[0]!.payload;
    expect(req.url).toBe('https://rest.iad-01.braze.com/users/track');
    expect(req.headers.authorization).toBe('Bearer KEY');
    const b = body(req.body) as Track;
    expect(b.events).toEqual([
      {
        external_id: 'user-12345',
        app_id: 'app-1',
        name: 'Button Clicked',
        time: '2026-11-20T10:00:00.000Z',
        properties: { color: 'red', count: 3 },
      },
    ]);
    expect(b.attributes).toEqual([
      {
        external_id: 'user-12345',
        email: 'ada@example.com',
        first_name: 'Ada',
        last_name: 'Lovelace',
        plan: 'pro',
        home_city: 'London',
        country: 'UK',
      },
    ]);
    expect(b.purchases).toBeUndefined();
  });

  it('Order Completed → one purchase per product', () => {
    const out = braze.transform([order()], config);
    const b = body(out.deliveries[0]!.payload.body) as Track;
    expect(b.events).toBeUndefined();
    expect(b.purchases).toEqual([
      {
        external_id: 'user-12345',
        app_id: 'app-1',
        product_id: 'p-1',
        currency: 'EUR',
        price: 10,
        quantity: 2,
        time: '2026-11-20T10:00:00.000Z',
        properties: { name: 'Socks', order_id: 'o-1' },
      },
      {
        external_id: 'user-12345',
        app_id: 'app-1',
        product_id: 'p-2',
        currency: 'EUR',
        price: 10,
        quantity: 1,
        time: '2026-11-20T10:00:00.000Z',
        properties: { name: 'Hat', order_id: 'o-1' },
      },
    ]);
  });

  it('anonymous users are tracked by alias; gender and birthday normalised', () => {
    const out = braze.transform(
      [identify({ userId: null, traits: { gender: 'female', birthday: '1990-12-10T00:00:00Z' } })],
      config,
    );
    expect((body(out.deliveries[0]!.payload.body) as Track).attributes![0]).toEqual({
      user_alias: { alias_name: 'anon-12345', alias_label: 'anonymous_id' },
      _update_existing_only: false,
      gender: 'F',
      dob: '1990-12-10',
    });
  });

  it('no array exceeds 75 objects per request', () => {
    const c = brazeConfigSchema.parse({ apiKey: 'K', baseUrl: 'https://b.example' });
    const tracks = Array.from({ length: 76 }, (_, i) => track({ messageId: `t${i}` }));
    const out = braze.transform([...tracks, identify()], c);
    expect(out.deliveries.map((d) => d.messageIds.length)).toEqual([75, 2]);
    expect((body(out.deliveries[1]!.payload.body) as Track).attributes).toHaveLength(1);
    const big = (id: string) =>
      order({
        messageId: id,
        properties: { products: Array.from({ length: 40 }, (_, i) => ({ product_id: `p${i}`, price: 1 })) },
      });
    const orders = braze.transform([big('o1'), big('o2')], c);
    expect(orders.deliveries.map((d) => d.messageIds)).toEqual([['o1'], ['o2']]);
    expect((body(orders.deliveries[0]!.payload.body) as Track).purchases).toHaveLength(40);
  });

  it('products without price are rejected; no id is rejected', () => {
    const out = braze.transform(
      [
        order({ properties: { products: [{ product_id: 'x' }] } }),
        track({ messageId: 'n', userId: null, anonymousId: null }),
      ],
      config,
    );
    expect(out.rejected.map((r) => r.messageId)).toEqual(['msg-order-1', 'n']);
  });
});

describe('braze classify', () => {
  const delivery = braze.transform([track()], config).deliveries[0]!;
  const classify = (o: Parameters<NonNullable<typeof braze.classify>>[0]) => braze.classify!(o, delivery, config);
  it('success is ok, minor errors abort the events behind them; a fatal message aborts', () => {
    expect(classify(response(201, { message: 'success', events_processed: 1 }))).toEqual({ kind: 'ok' });
    expect(
      classify(response(201, { message: 'success', errors: [{ type: 'x', input_array: 'events', index: 0 }] })),
    ).toEqual({
      kind: 'partial',
      events: { 'msg-track-1': { kind: 'abort', reason: 'Braze: x (events[0])' } },
    });
    expect(
      classify(response(201, { message: 'success', errors: [{ type: 'x', input_array: 'events', index: 9 }] })),
    ).toEqual({ kind: 'ok' });
    expect(
      classify(
        response(400, {
          message: "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.",
          errors: [],
        }),
      ).kind,
    ).toBe('abort');
    expect(classify(response(401, { message: 'Invalid API key: x' }))).toEqual({
      kind: 'abort',
      reason: 'Braze 401: Invalid API key: x',
    });
  });
  it('429 waits until X-RateLimit-Reset; 5xx and network retry', () => {
    const reset = String(Math.floor(Date.now() / 1000) + 20);
    const v = classify(response(429, { message: 'Rate limit exceeded' }, { 'x-ratelimit-reset': reset }));
    expect(v.kind).toBe('retry');
    if (v.kind === 'retry') expect(v.retryAfterMs).toBeGreaterThan(15_000);
    expect(classify(response(503)).kind).toBe('retry');
    expect(classify(networkError).kind).toBe('retry');
  });
});
