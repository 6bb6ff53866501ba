import { acceptEvent, correctedTimestamp, parsePayload, RequestError } from '../src/payload';

const meta = { receivedAt: Date.parse('2026-11-22T10:00:10.000Z'), ip: '203.0.113.7' };

function errorOf(fn: () => unknown): RequestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RequestError) return err;
    throw err;
  }
  throw new Error('expected a RequestError');
}

describe('correctedTimestamp', () => {
  it('shifts the client time by the client clock skew when sentAt is known', () => {
    // Client clock 1 h fast: sent "at 11:00:05" an event from "11:00:00", received 10:00:10.
    const t = correctedTimestamp(
      meta.receivedAt,
      Date.parse('2026-11-22T11:00:05Z'),
      Date.parse('2026-11-22T11:00:00Z'),
    );
    expect(new Date(t).toISOString()).toBe('2026-11-22T10:00:05.000Z');
  });
  it('keeps the client time without sentAt, and falls back to receivedAt', () => {
    expect(correctedTimestamp(meta.receivedAt, NaN, 1000)).toBe(1000);
    expect(correctedTimestamp(meta.receivedAt, NaN, NaN)).toBe(meta.receivedAt);
    expect(correctedTimestamp(meta.receivedAt, 5000, NaN)).toBe(meta.receivedAt);
  });
});

describe('acceptEvent', () => {
  it('stamps messageId, receivedAt, timestamp, context.ip and keeps the rest', () => {
    const ev = acceptEvent(
      { userId: 'u1', event: 'Order Completed', properties: { total: 12.5, items: [1, 2] }, channel: 'server' },
      '',
      'track',
      undefined,
      meta,
    );
    expect(ev.type).toBe('track');
    expect(ev.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ev.receivedAt).toBe('2026-11-22T10:00:10.000Z');
    expect(ev.timestamp).toBe('2026-11-22T10:00:10.000Z');
    expect(ev.context).toEqual({ ip: '203.0.113.7' });
    expect(ev.properties).toEqual({ total: 12.5, items: [1, 2] });
    expect(ev.channel).toBe('server');
  });

  it('keeps a client messageId and context.ip, and removes writeKey', () => {
    const ev = acceptEvent(
      { anonymousId: 'a1', messageId: 'm-1', context: { ip: '198.51.100.1', locale: 'en' }, writeKey: 'secret' },
      '',
      'page',
      undefined,
      meta,
    );
    expect(ev.messageId).toBe('m-1');
    expect(ev.context).toEqual({ ip: '198.51.100.1', locale: 'en' });
    expect(ev).not.toHaveProperty('writeKey');
  });

  it('uses the batch sentAt for items without their own, and records originalTimestamp', () => {
    const ev = acceptEvent(
      { type: 'track', userId: 'u', event: 'e', timestamp: '2026-11-22T11:00:00.000Z' },
      'batch[0]: ',
      undefined,
      '2026-11-22T11:00:05.000Z',
      meta,
    );
    expect(ev.originalTimestamp).toBe('2026-11-22T11:00:00.000Z');
    expect(ev.sentAt).toBe('2026-11-22T11:00:05.000Z');
    expect(ev.timestamp).toBe('2026-11-22T10:00:05.000Z');
  });

  it("prefers the item's own sentAt and originalTimestamp (RudderStack SDKs)", () => {
    const ev = acceptEvent(
      {
        type: 'identify',
        anonymousId: 'a',
        originalTimestamp: '2026-11-22T10:00:00.000Z',
        sentAt: '2026-11-22T10:00:01.000Z',
      },
      '',
      undefined,
      '2030-01-01T00:00:00.000Z',
      meta,
    );
    expect(ev.timestamp).toBe('2026-11-22T10:00:09.000Z');
  });

  it('coerces numeric ids to strings', () => {
    const ev = acceptEvent({ userId: 42, groupId: 7 }, '', 'group', undefined, meta);
    expect(ev.userId).toBe('42');
    expect(ev.groupId).toBe('7');
  });

  it.each([
    [{ event: 'x' }, 'track', 'neither anonymousId nor userId is set'],
    [{ userId: '', anonymousId: null, event: 'x' }, 'track', 'neither anonymousId nor userId is set'],
    [{ userId: 'u' }, 'track', 'track call without "event"'],
    [{ userId: 'u', event: '' }, 'track', 'track call without "event"'],
    [{ userId: 'u' }, 'group', 'group call without "groupId"'],
    [{ userId: 'u' }, 'alias', 'alias call without "previousId"'],
    [{ userId: 'u', properties: [1] }, 'page', '"properties" must be a JSON object'],
    [{ userId: 'u', context: 'x' }, 'identify', '"context" must be a JSON object'],
    [{ userId: 'u', timestamp: 'yesterday' }, 'identify', '"timestamp" is not a valid ISO-8601 date'],
    [{ userId: 'u', name: 5 }, 'page', '"name" must be a string'],
  ] as const)('rejects %j as %s', (body, type, message) => {
    const err = errorOf(() => acceptEvent({ ...body }, '', type, undefined, meta));
    expect(err.status).toBe(400);
    expect(err.message).toContain(message);
  });
});

describe('parsePayload', () => {
  const batchRoute = { kind: 'batch' } as const;

  it('takes a Segment Node SDK batch', () => {
    const { events, bodyWriteKey } = parsePayload(
      {
        batch: [
          { type: 'track', userId: 'u', event: 'A', messageId: 'node-next-1', timestamp: '2026-11-22T10:00:00Z' },
          { type: 'identify', userId: 'u', traits: { plan: 'pro' }, messageId: 'node-next-2' },
        ],
        writeKey: 'wk',
        sentAt: '2026-11-22T10:00:00.500Z',
      },
      batchRoute,
      meta,
      2500,
    );
    expect(bodyWriteKey).toBe('wk');
    expect(events.map((e) => e.messageId)).toEqual(['node-next-1', 'node-next-2']);
    expect(events[0].timestamp).toBe('2026-11-22T10:00:09.500Z');
    expect(events[1].sentAt).toBe('2026-11-22T10:00:00.500Z');
  });

  it('names the bad item of a batch by index', () => {
    const err = errorOf(() =>
      parsePayload(
        {
          batch: [
            { type: 'track', userId: 'u', event: 'ok' },
            { userId: 'u', event: 'no type' },
          ],
        },
        batchRoute,
        meta,
        2500,
      ),
    );
    expect(err.status).toBe(400);
    expect(err.message).toBe('batch[1]: missing "type"');
    const err2 = errorOf(() => parsePayload({ batch: [{ type: 'track', event: 'e' }] }, batchRoute, meta, 2500));
    expect(err2.message).toBe('batch[0]: neither anonymousId nor userId is set');
    const err3 = errorOf(() => parsePayload({ batch: [{ type: 'click', userId: 'u' }] }, batchRoute, meta, 2500));
    expect(err3.message).toContain('batch[0]: unknown type "click"');
    const err4 = errorOf(() => parsePayload({ batch: ['x'] }, batchRoute, meta, 2500));
    expect(err4.message).toBe('batch[0]: event must be a JSON object');
  });

  it('rejects bodies that are not objects, and batches without a batch array', () => {
    for (const body of [[], 'x', 3, null]) {
      const err = errorOf(() => parsePayload(body, { kind: 'single', type: 'track' }, meta, 10));
      expect(err.status).toBe(400);
      expect(err.message).toBe('request body must be a JSON object');
    }
    expect(errorOf(() => parsePayload({}, batchRoute, meta, 10)).message).toContain('missing "batch"');
    expect(errorOf(() => parsePayload({ batch: {} }, batchRoute, meta, 10)).message).toContain('must be an array');
    expect(errorOf(() => parsePayload({ batch: [] }, batchRoute, meta, 10)).message).toContain('is empty');
  });

  it('limits the items of a batch with 413', () => {
    const batch = Array.from({ length: 3 }, () => ({ type: 'page', anonymousId: 'a' }));
    const err = errorOf(() => parsePayload({ batch }, batchRoute, meta, 2));
    expect(err.status).toBe(413);
  });

  it('types a single call by its route, whatever type the body says', () => {
    const { events } = parsePayload(
      { type: 'track', userId: 'u', name: 'Home' },
      { kind: 'single', type: 'page' },
      meta,
      1,
    );
    expect(events[0].type).toBe('page');
  });
});
