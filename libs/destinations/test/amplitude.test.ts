import { amplitude, amplitudeConfigSchema } from '../src';
import { all, body, identify, manyTracks, networkError, page, response, screen, track } from './fixtures';

const config = amplitudeConfigSchema.parse({ apiKey: 'KEY' });
type Body = { api_key: string; events: Record<string, unknown>[]; options?: { min_id_length: number } };

describe('amplitude transform', () => {
  it('maps each call type; alias is skipped', () => {
    const out = amplitude.transform(all(), config);
    expect(out.skipped).toEqual([{ messageId: 'msg-alias-1', reason: expect.stringContaining('alias') }]);
    expect(out.deliveries).toHaveLength(1);
    const req = out.deliveries[0]!.payload;
    expect(req.url).toBe('https://api2.amplitude.com/2/httpapi');
    const b = body(req.body) as Body;
    expect(b.api_key).toBe('KEY');
    expect(b.events.map((e) => e.event_type)).toEqual([
      'Button Clicked',
      '$identify',
      'Viewed Cart Page',
      'Viewed Home Screen',
      '$identify',
    ]);
    expect(b.events[0]).toMatchObject({
      user_id: 'user-12345',
      device_id: 'anon-12345',
      time: Date.parse('2026-11-20T10:00:00.000Z'),
      insert_id: 'msg-track-1',
      event_properties: { color: 'red', count: 3 },
      ip: '203.0.113.7',
      os_name: 'iOS',
      language: 'en-US',
    });
    expect(b.events[1]!.user_properties).toEqual({ $set: identify().traits });
    expect(b.events[4]).toMatchObject({ groups: { company: 'acme-inc' } });
    expect(out.deliveries[0]!.messageIds).toEqual([
      'msg-track-1',
      'msg-identify-1',
      'msg-page-1',
      'msg-screen-1',
      'msg-group-1',
    ]);
  });

  it('unnamed page/screen are Loaded a Page/Screen; revenue fields are lifted', () => {
    const out = amplitude.transform(
      [
        page({ name: undefined }),
        screen({ name: undefined }),
        track({ properties: { revenue: 9.5, price: 9.5, quantity: 1, productId: 'p1' } }),
      ],
      config,
    );
    const events = (body(out.deliveries[0]!.payload.body) as Body).events;
    expect(events.map((e) => e.event_type)).toEqual(['Loaded a Page', 'Loaded a Screen', 'Button Clicked']);
    expect(events[2]).toMatchObject({ revenue: 9.5, price: 9.5, quantity: 1, productId: 'p1' });
  });

  it('rejects events without ids or with ids shorter than min_id_length', () => {
    const out = amplitude.transform(
      [track({ userId: null, anonymousId: null }), track({ messageId: 'short', userId: 'u1', anonymousId: null })],
      config,
    );
    expect(out.rejected.map((r) => r.messageId)).toEqual(['msg-track-1', 'short']);
    const relaxed = amplitudeConfigSchema.parse({ apiKey: 'K', minIdLength: 1 });
    const ok = amplitude.transform([track({ userId: 'u1', anonymousId: null })], relaxed);
    expect((body(ok.deliveries[0]!.payload.body) as Body).options).toEqual({ min_id_length: 1 });
  });

  it('batches up to batchSize and uses /batch for the batch API', () => {
    const c = amplitudeConfigSchema.parse({
      apiKey: 'K',
      batchSize: 2,
      api: 'batch',
      baseUrl: 'https://api.eu.amplitude.com',
    });
    const out = amplitude.transform(manyTracks(5), c);
    expect(out.deliveries.map((d) => d.messageIds.length)).toEqual([2, 2, 1]);
    expect(out.deliveries[0]!.payload.url).toBe('https://api.eu.amplitude.com/batch');
    expect(amplitudeConfigSchema.safeParse({ apiKey: 'K', batchSize: 2001 }).success).toBe(false);
  });
});

describe('amplitude classify', () => {
  const delivery = amplitude.transform(
    [track({ messageId: 'a' }), track({ messageId: 'b' }), track({ messageId: 'c' })],
    config,
  ).deliveries[0]!;
  const classify = (o: Parameters<NonNullable<typeof amplitude.classify>>[0]) =>
    amplitude.classify!(o, delivery, config);

  it('200 ok, 5xx and network retry', () => {
    expect(classify(response(200, { code: 200, events_ingested: 3 }))).toEqual({ kind: 'ok' });
    expect(classify(response(503)).kind).toBe('retry');
    expect(classify(networkError).kind).toBe('retry');
  });
  it('400 naming events aborts those and resends the rest', () => {
    const v = classify(
      response(400, {
        code: 400,
        error: 'Request missing required field',
        events_with_invalid_fields: { time: [1] },
        events_with_missing_fields: { event_type: [2] },
      }),
    );
    expect(v).toEqual({
      kind: 'partial',
      events: {
        a: { kind: 'retry', reason: expect.any(String), retryAfterMs: 0 },
        b: { kind: 'abort', reason: expect.stringContaining('event 1') },
        c: { kind: 'abort', reason: expect.stringContaining('event 2') },
      },
    });
  });
  it('400 for the whole request (missing api_key) aborts', () => {
    expect(
      classify(response(400, { code: 400, error: 'Request missing required field', missing_field: 'api_key' })),
    ).toEqual({
      kind: 'abort',
      reason: 'Amplitude 400: Request missing required field (missing field api_key)',
    });
  });
  it('413 aborts with advice; 429 retries throttled events later', () => {
    expect(classify(response(413, { code: 413, error: 'Payload too large' }))).toMatchObject({
      kind: 'abort',
      reason: expect.stringContaining('batchSize'),
    });
    expect(classify(response(429, { code: 429, error: 'Too many requests', throttled_events: [0] }))).toEqual({
      kind: 'partial',
      events: {
        a: { kind: 'retry', reason: expect.stringContaining('throttled'), retryAfterMs: 30_000 },
        b: { kind: 'retry', reason: expect.any(String), retryAfterMs: 0 },
        c: { kind: 'retry', reason: expect.any(String), retryAfterMs: 0 },
      },
    });
    expect(classify(response(429, { code: 429, error: 'x' }, { 'retry-after': '5' }))).toMatchObject({
      kind: 'retry',
      retryAfterMs: 5000,
    });
  });
});
