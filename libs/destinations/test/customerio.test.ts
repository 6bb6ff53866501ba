import { customerio, customerioConfigSchema } from '../src';
import { alias, all, body, identify, networkError, page, response, screen, track } from './fixtures';

const config = customerioConfigSchema.parse({ siteId: 'site', apiKey: 'key' });
const auth = `Basic ${Buffer.from('site:key').toString('base64')}`;

describe('customerio transform', () => {
  it('one request per call; group skipped', () => {
    const out = customerio.transform(all(), config);
    expect(out.skipped.map((s) => s.messageId)).toEqual(['msg-group-1']);
    expect(out.deliveries.map((d) => `${d.payload.method} ${new URL(d.payload.url).pathname}`)).toEqual([
      'POST /api/v1/customers/user-12345/events',
      'PUT /api/v1/customers/user-12345',
      'POST /api/v1/customers/user-12345/events',
      'POST /api/v1/customers/user-12345/events',
      'POST /api/v1/merge_customers',
    ]);
    for (const d of out.deliveries) expect(d.payload.headers.authorization).toBe(auth);
  });

  it('track → named event with data and unix seconds', () => {
    const req = customerio.transform([track()], config).deliveries[0]!.payload;
    expect(body(req.body)).toEqual({
      name: 'Button Clicked',
      data: { color: 'red', count: 3 },
      timestamp: Date.parse('2026-11-20T10:00:00Z') / 1000,
    });
  });

  it('identify → attributes with created_at in seconds and the anonymous id', () => {
    const req = customerio.transform(
      [identify({ traits: { email: 'a@b.c', createdAt: '2026-01-01T00:00:00Z' } })],
      config,
    ).deliveries[0]!.payload;
    expect(body(req.body)).toEqual({
      email: 'a@b.c',
      created_at: Date.parse('2026-01-01T00:00:00Z') / 1000,
      anonymous_id: 'anon-12345',
    });
  });

  it('page is named by URL, screen by name; anonymous events go to /api/v1/events', () => {
    const out = customerio.transform([page({ userId: null }), screen()], config);
    expect(out.deliveries[0]!.payload.url).toBe('https://track.customer.io/api/v1/events');
    expect(body(out.deliveries[0]!.payload.body)).toMatchObject({
      name: 'https://shop.example.com/cart',
      type: 'page',
      anonymous_id: 'anon-12345',
    });
    expect(body(out.deliveries[1]!.payload.body)).toMatchObject({ name: 'Home', type: 'screen' });
  });

  it('ULID messageIds become the dedupe id; ids are URL-encoded', () => {
    const ulid = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
    const out = customerio.transform([track({ messageId: ulid, userId: 'a/b c' })], config);
    expect(out.deliveries[0]!.payload.url).toBe('https://track.customer.io/api/v1/customers/a%2Fb%20c/events');
    expect(body(out.deliveries[0]!.payload.body)).toMatchObject({ id: ulid });
  });

  it('alias → merge_customers; anonymous identify skipped', () => {
    const out = customerio.transform([alias(), identify({ userId: null })], config);
    expect(body(out.deliveries[0]!.payload.body)).toEqual({
      primary: { id: 'user-12345' },
      secondary: { id: 'anon-12345' },
    });
    expect(out.skipped.map((s) => s.messageId)).toEqual(['msg-identify-1']);
  });
});

describe('customerio classify', () => {
  const delivery = customerio.transform([track()], config).deliveries[0]!;
  it('200 ok; 400/401 abort with the meta error; 429/5xx/network retry', () => {
    expect(customerio.classify!(response(200, {}), delivery, config)).toEqual({ kind: 'ok' });
    expect(
      customerio.classify!(response(400, { meta: { error: "missing required parameter 'name'" } }), delivery, config),
    ).toEqual({
      kind: 'abort',
      reason: "Customer.io 400: missing required parameter 'name'",
    });
    expect(
      customerio.classify!(response(401, { meta: { error: 'Unauthorized request' } }), delivery, config).kind,
    ).toBe('abort');
    expect(
      customerio.classify!(response(429, { meta: { error: 'slow down' } }, { 'retry-after': '4' }), delivery, config),
    ).toMatchObject({ kind: 'retry', retryAfterMs: 4000 });
    expect(customerio.classify!(response(500), delivery, config).kind).toBe('retry');
    expect(customerio.classify!(networkError, delivery, config).kind).toBe('retry');
  });
});
