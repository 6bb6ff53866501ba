import { flatten, mapEvent, mapEvents, WarehouseEvent } from '../src';

const uuidTs = '2026-11-22T03:00:00.000Z';
const base = {
  messageId: 'm-1',
  anonymousId: 'anon-1',
  userId: 'u-1',
  timestamp: '2026-11-22T01:00:00.000Z',
  originalTimestamp: '2026-11-22T00:59:59.000Z',
  sentAt: '2026-11-22T01:00:01.000Z',
  receivedAt: '2026-11-22T01:00:02.000Z',
  context: { library: { name: 'analytics.js', version: '2.0' }, ip: '10.0.0.1', page: { path: '/x' } },
};

function rowsOf(event: WarehouseEvent) {
  const out = mapEvent(event, { uuidTs });
  if (!out.ok) throw new Error(out.reason);
  return out;
}

describe('flatten', () => {
  it('flattens nested objects with _, stringifies arrays, skips nulls and empty objects', () => {
    expect(
      flatten({ a: { b: { c: 1 } }, listOfThings: [1, { x: 2 }], n: null, e: {}, s: 'x', t: true, inf: Infinity }),
    ).toEqual({ a_b_c: 1, list_of_things: '[1,{"x":2}]', s: 'x', t: true });
  });
  it('keeps objects deeper than the limit as JSON', () => {
    expect(flatten({ a: { b: { c: { d: 1 } } } }, '', { maxDepth: 2 })).toEqual({ a_b: '{"c":{"d":1}}' });
  });
  it('prefixes with the parent name', () => {
    expect(flatten({ userAgent: 'ua' }, 'context')).toEqual({ context_user_agent: 'ua' });
  });
});

describe('mapEvent', () => {
  it('maps a track to a tracks row and an event-table row with the properties', () => {
    const out = rowsOf({
      ...base,
      type: 'track',
      event: 'Order Completed',
      properties: { orderId: 'o-1', revenue: 12.5, items: [{ sku: 'a' }], shipping: { method: 'air' } },
    });
    expect(out.rows.map((r) => r.table)).toEqual(['tracks', 'order_completed']);
    const standard = {
      id: 'm-1',
      anonymous_id: 'anon-1',
      user_id: 'u-1',
      received_at: '2026-11-22T01:00:02.000Z',
      sent_at: '2026-11-22T01:00:01.000Z',
      timestamp: '2026-11-22T01:00:00.000Z',
      original_timestamp: '2026-11-22T00:59:59.000Z',
      uuid_ts: uuidTs,
      event: 'order_completed',
      event_text: 'Order Completed',
      context_library_name: 'analytics.js',
      context_library_version: '2.0',
      context_ip: '10.0.0.1',
      context_page_path: '/x',
    };
    expect(out.rows[0]!.row).toEqual(standard);
    expect(out.rows[1]!.row).toEqual({
      ...standard,
      order_id: 'o-1',
      revenue: 12.5,
      items: '[{"sku":"a"}]',
      shipping_method: 'air',
    });
    expect(out.discards).toEqual([]);
  });

  it('gives an unnamed track only a tracks row', () => {
    expect(rowsOf({ ...base, type: 'track', event: '' }).rows.map((r) => r.table)).toEqual(['tracks']);
  });

  it('sends properties that collide with standard columns to the discards', () => {
    const out = rowsOf({ ...base, type: 'track', event: 'X', properties: { id: 'mine', plain: 1 } });
    expect(out.rows[1]!.row.id).toBe('m-1');
    expect(out.rows[1]!.row.plain).toBe(1);
    expect(out.discards).toEqual([
      expect.objectContaining({
        table_name: 'x',
        row_id: 'm-1',
        column_name: 'id',
        column_value: 'mine',
        uuid_ts: uuidTs,
      }),
    ]);
  });

  it('maps identify to identifies and users with traits from traits and context.traits', () => {
    const out = rowsOf({
      ...base,
      type: 'identify',
      traits: { email: 'a@b.c', plan: 'pro' },
      context: { traits: { name: 'Ann', plan: 'free' } },
    });
    expect(out.rows.map((r) => r.table)).toEqual(['identifies', 'users']);
    expect(out.rows[0]!.row).toMatchObject({
      id: 'm-1',
      user_id: 'u-1',
      email: 'a@b.c',
      plan: 'pro',
      name: 'Ann',
      context_traits_name: 'Ann',
    });
    expect(out.rows[1]!.row).toEqual({
      id: 'u-1',
      received_at: '2026-11-22T01:00:02.000Z',
      uuid_ts: uuidTs,
      name: 'Ann',
      plan: 'pro',
      email: 'a@b.c',
    });
  });

  it('gives an anonymous identify no users row', () => {
    expect(rowsOf({ ...base, userId: null, type: 'identify', traits: { a: 1 } }).rows.map((r) => r.table)).toEqual([
      'identifies',
    ]);
  });

  it('maps page and screen with name, category and properties', () => {
    const page = rowsOf({
      ...base,
      type: 'page',
      name: 'Home',
      category: 'Docs',
      properties: { title: 'T', path: '/' },
    });
    expect(page.rows[0]).toEqual({
      table: 'pages',
      row: expect.objectContaining({ name: 'Home', category: 'Docs', title: 'T', path: '/' }),
    });
    const screen = rowsOf({ ...base, type: 'screen', properties: { name: 'Main' } });
    expect(screen.rows[0]).toEqual({ table: 'screens', row: expect.objectContaining({ name: 'Main' }) });
  });

  it('maps group with group_id and traits, and alias with previous_id', () => {
    expect(rowsOf({ ...base, type: 'group', groupId: 'g-1', traits: { employees: 10 } }).rows[0]).toEqual({
      table: 'groups',
      row: expect.objectContaining({ group_id: 'g-1', employees: 10, user_id: 'u-1' }),
    });
    expect(rowsOf({ ...base, type: 'alias', previousId: 'old-1' }).rows[0]).toEqual({
      table: 'aliases',
      row: expect.objectContaining({ previous_id: 'old-1', user_id: 'u-1', id: 'm-1' }),
    });
  });

  it('stringifies numeric ids and rejects unknown types', () => {
    expect(rowsOf({ ...base, type: 'alias', userId: 42 }).rows[0]!.row.user_id).toBe('42');
    expect(mapEvent({ ...base, type: 'bogus' }, { uuidTs })).toEqual({
      ok: false,
      reason: 'unsupported event type "bogus"',
    });
  });
});

describe('mapEvents', () => {
  it('groups rows by table in event order and lists rejected events', () => {
    const batch = mapEvents(
      [
        { ...base, messageId: 'a', type: 'track', event: 'A' },
        { ...base, messageId: 'b', type: 'nope' },
        { ...base, messageId: 'c', type: 'track', event: 'B' },
        { ...base, messageId: 'd', type: 'track', event: 'A' },
      ],
      { uuidTs },
    );
    expect([...batch.tables.keys()]).toEqual(['tracks', 'a', 'b']);
    expect(batch.tables.get('tracks')!.map((r) => r.id)).toEqual(['a', 'c', 'd']);
    expect(batch.tables.get('a')!.map((r) => r.id)).toEqual(['a', 'd']);
    expect(batch.rejected).toEqual([{ index: 1, messageId: 'b', reason: 'unsupported event type "nope"' }]);
  });
});
