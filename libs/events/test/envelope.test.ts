import { envelopeJson, fromEnvelope, partitionKey, SegmentEvent, toEnvelope } from '../src';

const event: SegmentEvent = {
  type: 'track',
  messageId: 'm-1',
  anonymousId: 'anon-1',
  userId: 'user-1',
  event: 'Order Completed',
  properties: { total: 12.5, items: [{ sku: 'a', qty: 2 }], note: null, big: 9007199254740991, emoji: '🚀 ü' },
  context: { library: { name: 'analytics-node', version: '1.0' }, ip: '10.0.0.1' },
  integrations: { All: true, Mixpanel: false },
  originalTimestamp: '2026-01-01T00:00:00.000Z',
  sentAt: '2026-01-01T00:00:01.000Z',
  receivedAt: '2026-01-01T00:00:02.500Z',
  timestamp: '2026-01-01T00:00:01.500Z',
  channel: 'server',
  version: 2,
};

describe('event envelope', () => {
  it('round-trips a Segment event through its envelope', () => {
    const env = toEnvelope(event, { sourceId: 'src-1', requestIp: '10.0.0.1' });
    expect(env.sourceId).toBe('src-1');
    expect(env.receivedAt).toBe(Date.parse('2026-01-01T00:00:02.500Z'));
    expect(JSON.parse(env.extras ?? 'null')).toEqual({ channel: 'server', version: 2 });
    expect(fromEnvelope(env)).toEqual(event);
  });

  it('refuses to encode an event the gateway has not stamped', () => {
    const { receivedAt: _r, ...unstamped } = event;
    expect(() => toEnvelope(unstamped as SegmentEvent, { sourceId: 's' })).toThrow(/m-1.*receivedAt/);
  });
});

describe('envelopeJson', () => {
  const minimal: SegmentEvent = {
    type: 'identify',
    messageId: 'm-2 "quoted" \u2028',
    userId: 'ü-1',
    traits: { email: 'a@example.com', nested: { deep: [1, 'two', null] } },
    receivedAt: '2026-03-04T05:06:07.089Z',
    timestamp: '2026-03-04T05:06:07.089Z',
  };
  it.each([
    ['every field and extras', event],
    ['only the required fields', minimal],
    ['an unknown type, kept as track', { ...minimal, type: 'bogus' } as unknown as SegmentEvent],
    ['empty objects', { ...minimal, properties: {}, context: {} }],
  ])('is the JSON of the decoded event (%s)', (_label, e) => {
    const env = toEnvelope(e, { sourceId: 's' });
    expect(JSON.parse(envelopeJson(env))).toEqual(JSON.parse(JSON.stringify(fromEnvelope(env))));
  });
});

describe('partitionKey', () => {
  it('prefers anonymousId so a session keeps one partition across login', () => {
    expect(partitionKey({ anonymousId: 'a1', userId: 'u1' })).toBe('a:a1');
    expect(partitionKey({ anonymousId: null, userId: 'u1' })).toBe('u:u1');
    expect(partitionKey({ anonymousId: '', userId: 'u1' })).toBe('u:u1');
  });

  it('refuses an event without identity', () => {
    expect(() => partitionKey({})).toThrow(/anonymousId or a userId/);
  });
});
