import { acceptRecordEvent, avroRecordToEvent, convertJson, originMessageId, type RecordOrigin } from '../src/convert';

const origin: RecordOrigin = {
  sourceId: 'orders',
  topic: 'shop.events',
  partition: 3,
  offset: '42',
  receivedAt: Date.parse('2026-11-22T04:00:00Z'),
};
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('kafka source conversion', () => {
  it('accepts a Segment track as the gateway does and stamps receivedAt and timestamp', () => {
    const r = convertJson(
      json({ type: 'track', event: 'Order Completed', userId: 'u1', messageId: 'm1', properties: { total: 3 } }),
      origin,
    );
    expect(r).toMatchObject({
      ok: true,
      event: {
        type: 'track',
        event: 'Order Completed',
        userId: 'u1',
        messageId: 'm1',
        properties: { total: 3 },
        receivedAt: '2026-11-22T04:00:00.000Z',
        timestamp: '2026-11-22T04:00:00.000Z',
      },
    });
  });

  it('keeps the client time as timestamp when there is no sentAt', () => {
    const r = convertJson(json({ type: 'identify', anonymousId: 'a1', timestamp: '2026-11-21T10:00:00Z' }), origin);
    expect(r.ok && r.event.timestamp).toBe('2026-11-21T10:00:00.000Z');
  });

  it('fills a messageId that is the same each time the record is read', () => {
    const a = convertJson(json({ type: 'page', userId: 'u' }), origin);
    const b = convertJson(json({ type: 'page', userId: 'u' }), origin);
    expect(a.ok && a.event.messageId).toBe(originMessageId(origin));
    expect(b.ok && b.event.messageId).toBe(originMessageId(origin));
  });

  it('rejects bad JSON, missing ids, unknown types and tracks without event', () => {
    expect(convertJson(Buffer.from('{nope'), origin)).toMatchObject({ ok: false, errorClass: 'InvalidJson' });
    expect(convertJson(null, origin)).toMatchObject({ ok: false, errorClass: 'InvalidJson' });
    expect(convertJson(json({ type: 'track', event: 'x' }), origin)).toMatchObject({
      ok: false,
      errorClass: 'InvalidEvent',
      reason: expect.stringMatching(/neither anonymousId nor userId/),
    });
    expect(convertJson(json({ type: 'nope', userId: 'u' }), origin)).toMatchObject({
      ok: false,
      errorClass: 'InvalidEvent',
    });
    expect(convertJson(json({ type: 'track', userId: 'u' }), origin)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/without "event"/),
    });
    expect(convertJson(json([1, 2]), origin)).toMatchObject({ ok: false, errorClass: 'InvalidEvent' });
  });

  it('turns an Avro record (JSON-text objects, epoch-ms times, nulls, extras) into a Segment event', () => {
    const ev = avroRecordToEvent({
      type: 'track',
      messageId: 'm9',
      userId: 'u9',
      anonymousId: null,
      event: 'Signed Up',
      properties: '{"plan":"pro"}',
      context: { ip: '10.0.0.1' },
      originalTimestamp: Date.parse('2026-11-21T09:00:00Z'),
      receivedAt: 1,
      sourceId: 'elsewhere',
      extras: '{"channel":"server"}',
      amount: BigInt(5),
    });
    expect(ev).toEqual({
      type: 'track',
      messageId: 'm9',
      userId: 'u9',
      event: 'Signed Up',
      properties: { plan: 'pro' },
      context: { ip: '10.0.0.1' },
      originalTimestamp: '2026-11-21T09:00:00.000Z',
      channel: 'server',
      amount: 5,
    });
    const r = acceptRecordEvent(ev, origin);
    expect(r).toMatchObject({
      ok: true,
      event: { timestamp: '2026-11-21T09:00:00.000Z', properties: { plan: 'pro' } },
    });
    expect(avroRecordToEvent({ type: 'track', properties: '{bad' })).toMatch(/not JSON text/);
  });
});
