import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import { partitionKey } from '@sluice/events';
import type { Gateway } from '../src/gateway';
import { runId } from './helpers';
import { GatewayUnderTest, ReadEvent, startGatewayUnderTest, TopicReader } from './it-helpers';

jest.setTimeout(120_000);

function parse(text: string | null): unknown {
  return text === null ? undefined : JSON.parse(text);
}

describe('real SDKs pointed at the gateway', () => {
  const run = runId();
  const prefix = `it-gw-sdk-${run}.`;
  const segmentKey = `wk-segment-${run}`;
  const rudderKey = `wk-rudder-${run}`;
  let under: GatewayUnderTest | undefined;
  let gw: Gateway;
  let reader: TopicReader;

  beforeAll(async () => {
    under = await startGatewayUnderTest(
      [
        { id: 'src-segment-node', name: 'Segment Node SDK', writeKey: segmentKey, enabled: true },
        { id: 'src-rudder-node', name: 'RudderStack Node SDK', writeKey: rudderKey, enabled: true },
      ],
      prefix,
    );
    ({ gw, reader } = under);
  });

  afterAll(() => under?.close());

  const find = (pred: (e: ReadEvent) => boolean) => reader.events.filter(pred);

  it('@segment/analytics-node: every call arrives with its fields intact', async () => {
    const analytics = new SegmentAnalytics({
      writeKey: segmentKey,
      host: gw.url,
      flushAt: 5,
      flushInterval: 200,
      maxRetries: 2,
    });
    const errors: unknown[] = [];
    analytics.on('error', (err) => errors.push(err));
    const user = `seg-user-${run}`;
    const anon = `seg-anon-${run}`;
    const ts = new Date(Date.now() - 60_000);
    analytics.identify({
      userId: user,
      anonymousId: anon,
      traits: { email: 'ada@example.com', plan: 'pro', seats: 3 },
    });
    analytics.track({
      userId: user,
      event: 'Order Completed',
      messageId: `seg-order-${run}`,
      timestamp: ts,
      properties: { revenue: 42.5, products: [{ sku: 'A-1', qty: 2 }], coupon: null, nested: { a: { b: [1, 'two'] } } },
      context: { campaign: { name: 'fall', source: 'newsletter', medium: 'email' } },
      integrations: { All: true, Mixpanel: false },
    });
    analytics.page({
      userId: user,
      name: 'Pricing',
      category: 'Docs',
      properties: { url: 'https://example.com/pricing' },
    });
    analytics.screen({ userId: user, name: 'Home Screen', properties: { variant: 'b' } });
    analytics.group({ userId: user, groupId: `grp-${run}`, traits: { name: 'Acme', employees: 120 } });
    analytics.alias({ userId: user, previousId: anon });
    for (let i = 0; i < 20; i++) analytics.track({ anonymousId: anon, event: 'Scrolled', properties: { i } });
    await analytics.closeAndFlush({ timeout: 20_000 });
    expect(errors).toEqual([]);

    const mine = (e: ReadEvent) => e.envelope.sourceId === 'src-segment-node';
    await reader.waitFor(() => find(mine).length >= 26);
    const events = find(mine);
    expect(events).toHaveLength(26);
    expect(new Set(events.map((e) => e.envelope.messageId)).size).toBe(26);

    const order = reader.byMessageId(`seg-order-${run}`)!;
    expect(order.key).toBe(partitionKey({ userId: user }));
    expect(order.envelope).toMatchObject({
      type: 'track',
      userId: user,
      event: 'Order Completed',
      originalTimestamp: ts.getTime(),
    });
    expect(parse(order.envelope.properties)).toEqual({
      revenue: 42.5,
      products: [{ sku: 'A-1', qty: 2 }],
      coupon: null,
      nested: { a: { b: [1, 'two'] } },
    });
    expect(parse(order.envelope.integrations)).toEqual({ All: true, Mixpanel: false });
    const ctx = parse(order.envelope.context) as Record<string, unknown>;
    expect(ctx.campaign).toEqual({ name: 'fall', source: 'newsletter', medium: 'email' });
    expect(ctx.library).toMatchObject({ name: '@segment/analytics-node' });
    expect(ctx.ip).toBe('127.0.0.1');
    // Skew correction: the SDK's clock is ours, so timestamp ≈ the event time.
    expect(Math.abs(order.envelope.timestamp - ts.getTime())).toBeLessThan(5_000);
    expect(order.envelope.sentAt).not.toBeNull();

    const identify = events.find((e) => e.envelope.type === 'identify')!;
    expect(identify.key).toBe(partitionKey({ anonymousId: anon }));
    expect(parse(identify.envelope.traits)).toEqual({ email: 'ada@example.com', plan: 'pro', seats: 3 });
    const page = events.find((e) => e.envelope.type === 'page')!;
    expect(page.envelope.name).toBe('Pricing');
    expect(parse(page.envelope.properties)).toMatchObject({ url: 'https://example.com/pricing', category: 'Docs' });
    expect(events.find((e) => e.envelope.type === 'screen')!.envelope.name).toBe('Home Screen');
    const group = events.find((e) => e.envelope.type === 'group')!;
    expect(group.envelope.groupId).toBe(`grp-${run}`);
    expect(parse(group.envelope.traits)).toEqual({ name: 'Acme', employees: 120 });
    expect(events.find((e) => e.envelope.type === 'alias')!.envelope.previousId).toBe(anon);
    const scrolled = events.filter((e) => e.envelope.event === 'Scrolled');
    expect(scrolled.map((e) => (parse(e.envelope.properties) as { i: number }).i).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    // One user's events share one partition. (The SDK posts its batches concurrently, so
    // their relative order is the client's to lose; sequential requests keep it, see gateway.it.)
    expect(new Set(scrolled.map((e) => e.partition)).size).toBe(1);
  });

  it('@rudderstack/rudder-sdk-node (gzip by default): every call arrives with its fields intact', async () => {
    const client = new RudderAnalytics(rudderKey, {
      dataPlaneUrl: gw.url,
      flushAt: 7,
      flushInterval: 200,
      logLevel: 'error',
    });
    const user = `rs-user-${run}`;
    const anon = `rs-anon-${run}`;
    const track = {
      userId: user,
      event: 'Signed Up',
      properties: { method: 'email', score: 0.75, flags: [true, false], meta: { x: null } },
      messageId: `rs-signup-${run}`,
    };
    client.identify({ userId: user, anonymousId: anon, traits: { name: 'Grace', age: 85 } });
    client.track(track as Parameters<RudderAnalytics['track']>[0]);
    client.page({ anonymousId: anon, name: 'Landing', properties: { path: '/landing' } });
    client.screen({ userId: user, name: 'Onboarding' });
    client.group({ userId: user, groupId: `rs-grp-${run}`, traits: { tier: 'gold' } });
    client.alias({ userId: user, previousId: anon });
    for (let i = 0; i < 30; i++) client.track({ userId: user, event: 'Clicked', properties: { i } });
    await client.flush();
    // flush() sends one batch (flushAt items); keep flushing until the queue is empty.
    const queue = (client as unknown as { queue: unknown[] }).queue;
    while (queue.length > 0) await client.flush();

    const mine = (e: ReadEvent) => e.envelope.sourceId === 'src-rudder-node';
    await reader.waitFor(() => find(mine).length >= 36);
    const events = find(mine);
    expect(events).toHaveLength(36);

    const signup = reader.byMessageId(`rs-signup-${run}`)!;
    expect(signup.envelope).toMatchObject({ type: 'track', userId: user, event: 'Signed Up' });
    expect(parse(signup.envelope.properties)).toEqual(track.properties);
    expect(signup.envelope.originalTimestamp).not.toBeNull();
    expect(Math.abs(signup.envelope.timestamp - signup.envelope.originalTimestamp!)).toBeLessThan(5_000);
    const ctx = parse(signup.envelope.context) as Record<string, unknown>;
    expect(ctx.library).toMatchObject({ name: 'analytics-node' });
    const extras = parse(signup.envelope.extras) as Record<string, unknown> | undefined;
    expect(extras?.channel).toBe('server');

    const identify = events.find((e) => e.envelope.type === 'identify')!;
    expect(parse(identify.envelope.traits)).toMatchObject({ name: 'Grace', age: 85 });
    expect(identify.envelope.anonymousId).toBe(anon);
    expect(events.find((e) => e.envelope.type === 'page')!.envelope.name).toBe('Landing');
    expect(events.find((e) => e.envelope.type === 'screen')!.envelope.name).toBe('Onboarding');
    expect(events.find((e) => e.envelope.type === 'group')!.envelope.groupId).toBe(`rs-grp-${run}`);
    expect(events.find((e) => e.envelope.type === 'alias')!.envelope.previousId).toBe(anon);
    const clicks = events.filter((e) => e.envelope.event === 'Clicked');
    expect(clicks.map((e) => (parse(e.envelope.properties) as { i: number }).i).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => i),
    );
    expect(new Set(clicks.map((e) => e.partition)).size).toBe(1);
  });
});
