import { hubspot, hubspotConfigSchema } from '../src';
import { hubspotRetryAfterMs, uuidFor } from '../src/hubspot';
import { all, body, identify, networkError, response, track } from './fixtures';

const config = hubspotConfigSchema.parse({
  accessToken: 'pat-1',
  eventNames: { 'Button Clicked': 'pe123_button_clicked' },
});
type Inputs = { inputs: Record<string, unknown>[] };

describe('hubspot transform', () => {
  it('identify → batch upsert by email; track → custom event; other calls skipped', () => {
    const out = hubspot.transform(all(), config);
    expect(out.skipped.map((s) => s.messageId)).toEqual(['msg-page-1', 'msg-screen-1', 'msg-group-1', 'msg-alias-1']);
    expect(out.deliveries.map((d) => d.payload.url)).toEqual([
      'https://api.hubapi.com/events/v3/send/batch',
      'https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert',
    ]);
    expect(out.deliveries[0]!.payload.headers.authorization).toBe('Bearer pat-1');
    expect(body(out.deliveries[0]!.payload.body)).toEqual({
      inputs: [
        {
          eventName: 'pe123_button_clicked',
          email: 'ada@example.com',
          occurredAt: '2026-11-20T10:00:00.000Z',
          properties: { color: 'red', count: 3 },
          uuid: uuidFor('msg-track-1'),
        },
      ],
    });
    expect(body(out.deliveries[1]!.payload.body)).toEqual({
      inputs: [
        {
          idProperty: 'email',
          id: 'ada@example.com',
          properties: {
            email: 'ada@example.com',
            firstname: 'Ada',
            lastname: 'Lovelace',
            plan: 'pro',
            city: 'London',
            country: 'UK',
          },
        },
      ],
    });
  });

  it('a repeated email starts a new request; batches cap at batchSize', () => {
    const c = hubspotConfigSchema.parse({ accessToken: 't', batchSize: 2 });
    const events = [
      identify({ messageId: 'a', traits: { email: 'x@example.com' } }),
      identify({ messageId: 'b', traits: { email: 'X@example.com', plan: 'pro' } }),
      identify({ messageId: 'c', traits: { email: 'y@example.com' } }),
      identify({ messageId: 'd', traits: { email: 'z@example.com' } }),
    ];
    const out = hubspot.transform(events, c);
    expect(out.deliveries.map((d) => d.messageIds)).toEqual([['a'], ['b', 'c'], ['d']]);
    expect((body(out.deliveries[1]!.payload.body) as Inputs).inputs[0]!.id).toBe('x@example.com');
  });

  it('skips identify without email and unmapped events; portalId names unmapped events', () => {
    const out = hubspot.transform(
      [identify({ traits: { plan: 'x' }, context: {} }), track({ event: 'Other Thing' })],
      config,
    );
    expect(out.skipped.map((s) => s.reason)).toEqual([
      expect.stringContaining('email'),
      expect.stringContaining('Other Thing'),
    ]);
    const withPortal = hubspotConfigSchema.parse({ accessToken: 't', portalId: 987 });
    const ev = hubspot.transform([track({ event: 'Other Thing' })], withPortal);
    expect((body(ev.deliveries[0]!.payload.body) as Inputs).inputs[0]!.eventName).toBe('pe987_other_thing');
  });

  it('uuid: UUID messageIds kept, others derived deterministically', () => {
    expect(uuidFor('6F9619FF-8B86-D011-B42D-00C04FC964FF')).toBe('6f9619ff-8b86-d011-b42d-00c04fc964ff');
    expect(uuidFor('node-1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidFor('node-1')).toBe(uuidFor('node-1'));
  });
});

describe('hubspot classify', () => {
  const delivery = hubspot.transform(
    [identify({ messageId: 'a' }), identify({ messageId: 'b', traits: { email: 'b@example.com' } })],
    config,
  ).deliveries[0]!;
  const classify = (o: Parameters<NonNullable<typeof hubspot.classify>>[0]) => hubspot.classify!(o, delivery, config);

  it('200/204 ok; 401/400 abort with category; 5xx/network retry', () => {
    expect(classify(response(200, { status: 'COMPLETE', results: [] }))).toEqual({ kind: 'ok' });
    expect(classify(response(204))).toEqual({ kind: 'ok' });
    expect(
      classify(
        response(401, {
          status: 'error',
          message: 'Authentication credentials not found.',
          category: 'INVALID_AUTHENTICATION',
        }),
      ),
    ).toEqual({
      kind: 'abort',
      reason: 'HubSpot 401 INVALID_AUTHENTICATION: Authentication credentials not found.',
    });
    expect(
      classify(
        response(400, { status: 'error', message: 'Property values were not valid', category: 'VALIDATION_ERROR' }),
      ).kind,
    ).toBe('abort');
    expect(classify(response(502)).kind).toBe('retry');
    expect(classify(networkError).kind).toBe('retry');
  });

  it('429 retries after the rolling window, or an hour for the daily limit', () => {
    const secondly = { 'x-hubspot-ratelimit-interval-milliseconds': '10000', 'x-hubspot-ratelimit-remaining': '0' };
    expect(
      classify(
        response(
          429,
          {
            status: 'error',
            message: 'You have reached your ten_secondly_rolling limit.',
            errorType: 'RATE_LIMIT',
            policyName: 'TEN_SECONDLY_ROLLING',
          },
          secondly,
        ),
      ),
    ).toEqual({
      kind: 'retry',
      reason: 'HubSpot 429: You have reached your ten_secondly_rolling limit.',
      retryAfterMs: 10_000,
    });
    expect(hubspotRetryAfterMs({}, { policyName: 'DAILY' })).toBe(3_600_000);
    expect(hubspotRetryAfterMs({ 'retry-after': '3' }, {})).toBe(3000);
  });

  it('207 aborts only the inputs its errors name', () => {
    const v = classify(
      response(207, {
        status: 'COMPLETE',
        results: [{}],
        errors: [
          {
            status: 'error',
            category: 'VALIDATION_ERROR',
            message: 'bad property',
            context: { ids: ['b@example.com'] },
          },
        ],
      }),
    );
    expect(v).toEqual({
      kind: 'partial',
      events: { b: { kind: 'abort', reason: 'HubSpot VALIDATION_ERROR: bad property' } },
    });
  });
});
