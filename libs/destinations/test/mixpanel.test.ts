import { mixpanel, mixpanelConfigSchema } from '../src';
import { insertIdFor } from '../src/mixpanel';
import { all, body, identify, networkError, response, track } from './fixtures';

const config = mixpanelConfigSchema.parse({ projectToken: 'TOKEN' });

describe('mixpanel transform', () => {
  it('sends track/page/screen to /import, identify to /engage, group to /groups, in event order', () => {
    const out = mixpanel.transform(all(), config);
    expect(out.skipped.map((s) => s.messageId)).toEqual(['msg-alias-1']);
    const paths = out.deliveries.map((d) => new URL(d.payload.url).pathname);
    expect(paths).toEqual(['/import', '/engage', '/import', '/groups']);
    expect(out.deliveries.map((d) => d.messageIds)).toEqual([
      ['msg-track-1'],
      ['msg-identify-1'],
      ['msg-page-1', 'msg-screen-1'],
      ['msg-group-1'],
    ]);

    const imp = out.deliveries[0]!.payload;
    expect(imp.url).toBe('https://api.mixpanel.com/import?strict=1');
    expect(imp.headers.authorization).toBe(`Basic ${Buffer.from('TOKEN:').toString('base64')}`);
    expect(body(imp.body)).toEqual([
      {
        event: 'Button Clicked',
        properties: {
          color: 'red',
          count: 3,
          time: Date.parse('2026-11-20T10:00:00.000Z'),
          distinct_id: 'user-12345',
          $insert_id: 'msg-track-1',
          $device_id: 'anon-12345',
          $user_id: 'user-12345',
          ip: '203.0.113.7',
          $os: 'iOS',
          $current_url: 'https://shop.example.com/cart',
        },
      },
    ]);
    expect(body(out.deliveries[1]!.payload.body)).toEqual([
      {
        $token: 'TOKEN',
        $distinct_id: 'user-12345',
        $set: {
          $email: 'ada@example.com',
          $first_name: 'Ada',
          $last_name: 'Lovelace',
          plan: 'pro',
          address: { city: 'London', country: 'UK' },
        },
        $ip: '203.0.113.7',
      },
    ]);
    expect((body(out.deliveries[2]!.payload.body) as { event: string }[]).map((e) => e.event)).toEqual([
      'Loaded a Page',
      'Loaded a Screen',
    ]);
    expect(body(out.deliveries[3]!.payload.body)).toEqual([
      { $token: 'TOKEN', $group_key: 'company', $group_id: 'acme-inc', $set: { name: 'Acme', employees: 42 } },
    ]);
  });

  it('anonymous events use $device:<anonymousId>; no id is rejected', () => {
    const out = mixpanel.transform(
      [track({ userId: null }), track({ messageId: 'x', userId: null, anonymousId: null })],
      config,
    );
    expect(
      (body(out.deliveries[0]!.payload.body) as { properties: { distinct_id: string } }[])[0]!.properties.distinct_id,
    ).toBe('$device:anon-12345');
    expect(out.rejected.map((r) => r.messageId)).toEqual(['x']);
  });

  it('$insert_id: valid ids kept, others hashed to 36 characters, deterministically', () => {
    expect(insertIdFor('abc-123')).toBe('abc-123');
    const long = insertIdFor('node-next-1700000000000-abcdef-ghijkl-mnopqr-stuvwx');
    expect(long).toMatch(/^[0-9a-f]{36}$/);
    expect(insertIdFor('node-next-1700000000000-abcdef-ghijkl-mnopqr-stuvwx')).toBe(long);
  });

  it('service account auth adds project_id; identify without traits is skipped', () => {
    const c = mixpanelConfigSchema.parse({
      projectToken: 'T',
      serviceAccount: { username: 'sa', secret: 's' },
      projectId: '42',
    });
    const out = mixpanel.transform([track(), identify({ traits: {} })], c);
    expect(out.deliveries[0]!.payload.url).toBe('https://api.mixpanel.com/import?strict=1&project_id=42');
    expect(out.deliveries[0]!.payload.headers.authorization).toBe(`Basic ${Buffer.from('sa:s').toString('base64')}`);
    expect(out.skipped.map((s) => s.messageId)).toEqual(['msg-identify-1']);
    expect(
      mixpanelConfigSchema.safeParse({ projectToken: 'T', serviceAccount: { username: 'a', secret: 'b' } }).success,
    ).toBe(false);
  });
});

describe('mixpanel classify', () => {
  const [imp, engage] = mixpanel.transform(
    [track({ messageId: 'a' }), track({ messageId: 'b' }), identify({ messageId: 'c' })],
    config,
  ).deliveries;
  it('/import 200 ok; 400 with failed_records aborts only those', () => {
    expect(
      mixpanel.classify!(response(200, { code: 200, num_records_imported: 2, status: 'OK' }), imp!, config),
    ).toEqual({ kind: 'ok' });
    expect(
      mixpanel.classify!(
        response(400, {
          code: 400,
          error: 'some data points in the request failed validation',
          num_records_imported: 1,
          failed_records: [{ index: 1, $insert_id: 'b', field: 'properties.time', message: 'invalid' }],
        }),
        imp!,
        config,
      ),
    ).toEqual({ kind: 'partial', events: { b: { kind: 'abort', reason: 'Mixpanel 400: properties.time invalid' } } });
  });
  it('401 aborts, 429/5xx/network retry', () => {
    expect(
      mixpanel.classify!(response(401, { code: 401, error: 'Invalid credentials', status: 'error' }), imp!, config),
    ).toEqual({ kind: 'abort', reason: 'Mixpanel 401: Invalid credentials' });
    expect(mixpanel.classify!(response(429, { code: 429, error: 'rate' }), imp!, config).kind).toBe('retry');
    expect(mixpanel.classify!(response(502), imp!, config).kind).toBe('retry');
    expect(mixpanel.classify!(networkError, imp!, config).kind).toBe('retry');
  });
  it('/engage verbose status 0 aborts even with HTTP 200', () => {
    expect(mixpanel.classify!(response(200, { status: 1, error: null }), engage!, config)).toEqual({ kind: 'ok' });
    expect(mixpanel.classify!(response(200, { status: 0, error: '$token, invalid' }), engage!, config)).toEqual({
      kind: 'abort',
      reason: 'Mixpanel: $token, invalid',
    });
  });
});
