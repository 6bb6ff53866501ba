import { ga4, ga4ConfigSchema } from '../src';
import { ga4Name, ga4Params } from '../src/ga4';
import { all, body, networkError, order, page, response, track } from './fixtures';

const config = ga4ConfigSchema.parse({ measurementId: 'G-ABC', apiSecret: 'sec' });
type Mp = {
  client_id: string;
  user_id?: string;
  events: { name: string; params: Record<string, unknown>; timestamp_micros: number }[];
};

describe('ga4 transform', () => {
  it('maps track/page/screen/group; identify and alias skipped', () => {
    const out = ga4.transform(all(), config);
    expect(out.skipped.map((s) => s.messageId)).toEqual(['msg-identify-1', 'msg-alias-1']);
    expect(out.deliveries).toHaveLength(1);
    const req = out.deliveries[0]!.payload;
    expect(req.url).toBe('https://www.google-analytics.com/mp/collect?measurement_id=G-ABC&api_secret=sec');
    const b = body(req.body) as Mp;
    expect(b.client_id).toBe('anon-12345');
    expect(b.user_id).toBe('user-12345');
    expect(b.events.map((e) => e.name)).toEqual(['button_clicked', 'page_view', 'screen_view', 'join_group']);
    expect(b.events[0]).toEqual({
      name: 'button_clicked',
      params: { color: 'red', count: 3 },
      timestamp_micros: Date.parse('2026-11-20T10:00:00.000Z') * 1000,
    });
    expect(b.events[1]!.params).toEqual({
      page_location: 'https://shop.example.com/cart',
      page_title: 'Cart',
      page_referrer: 'https://google.com/',
    });
    expect(b.events[3]!.params).toEqual({ group_id: 'acme-inc' });
  });

  it('maps the e-commerce spec to recommended events with items', () => {
    const out = ga4.transform([order()], config);
    const ev = (body(out.deliveries[0]!.payload.body) as Mp).events[0]!;
    expect(ev.name).toBe('purchase');
    expect(ev.params).toEqual({
      items: [
        { item_id: 'p-1', item_name: 'Socks', price: 10, quantity: 2 },
        { item_id: 'p-2', item_name: 'Hat', price: 10, quantity: 1 },
      ],
      currency: 'EUR',
      value: 30,
      transaction_id: 'o-1',
    });
  });

  it('one request per client, at most 25 events each, user order kept', () => {
    const a = Array.from({ length: 30 }, (_, i) => track({ messageId: `a${i}`, anonymousId: 'client-a' }));
    const b = [track({ messageId: 'b0', anonymousId: 'client-b', userId: null })];
    const out = ga4.transform([a[0]!, b[0]!, ...a.slice(1)], config);
    expect(out.deliveries.map((d) => d.messageIds.length)).toEqual([25, 5, 1]);
    expect(out.deliveries[0]!.messageIds.slice(0, 3)).toEqual(['a0', 'a1', 'a2']);
    expect((body(out.deliveries[2]!.payload.body) as Mp).client_id).toBe('client-b');
    expect((body(out.deliveries[2]!.payload.body) as Mp).user_id).toBeUndefined();
  });

  it('names: snake_case, letter first, 40 characters; reserved names skipped; no client rejected', () => {
    expect(ga4Name('Video Played')).toBe('video_played');
    expect(ga4Name('3D View')).toBe('e_3d_view');
    expect(ga4Name('x'.repeat(60))).toHaveLength(40);
    const out = ga4.transform(
      [track({ event: 'session_start' }), track({ messageId: 'n', anonymousId: null })],
      config,
    );
    expect(out.skipped[0]!.reason).toContain('reserves');
    expect(out.rejected.map((r) => r.messageId)).toEqual(['n']);
  });

  it('params: at most 25, values cut to 100 characters, nested values left out', () => {
    const props: Record<string, string | { a: number }> = { nested: { a: 1 }, long: 'y'.repeat(150) };
    for (let i = 0; i < 40; i++) props[`p${i}`] = 'v';
    const params = ga4Params(props);
    expect(Object.keys(params)).toHaveLength(25);
    expect(params.nested).toBeUndefined();
    expect(params.long).toHaveLength(100);
  });

  it('validationMode sends to /debug/mp/collect', () => {
    const c = ga4ConfigSchema.parse({ measurementId: 'G-ABC', apiSecret: 's', validationMode: true });
    expect(new URL(ga4.transform([page()], c).deliveries[0]!.payload.url).pathname).toBe('/debug/mp/collect');
  });
});

describe('ga4 classify', () => {
  const delivery = ga4.transform([track()], config).deliveries[0]!;
  it('2xx ok (the collection endpoint never reports bad payloads); validation messages abort', () => {
    expect(ga4.classify!(response(204), delivery, config)).toEqual({ kind: 'ok' });
    expect(ga4.classify!(response(200, { validationMessages: [] }), delivery, config)).toEqual({ kind: 'ok' });
    const v = ga4.classify!(
      response(200, {
        validationMessages: [{ fieldPath: 'events[0].name', description: 'bad', validationCode: 'NAME_INVALID' }],
      }),
      delivery,
      config,
    );
    expect(v).toMatchObject({ kind: 'abort', reason: expect.stringContaining('NAME_INVALID') });
  });
  it('429/5xx/network retry, other 4xx abort', () => {
    expect(ga4.classify!(response(429), delivery, config).kind).toBe('retry');
    expect(ga4.classify!(response(500), delivery, config).kind).toBe('retry');
    expect(ga4.classify!(networkError, delivery, config).kind).toBe('retry');
    expect(ga4.classify!(response(403), delivery, config).kind).toBe('abort');
  });
});
