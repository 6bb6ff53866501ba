/**
 * Transform throughput per destination (pure CPU, no I/O):
 *   npx tsx libs/destinations/test/bench/transform.bench.ts [events]
 * Events are a mix of 70% track, 20% identify, 10% page over 1,000 users.
 */
import { destinations, type SegmentEvent } from '../../src';

const n = Number(process.argv[2] ?? 100_000);

function makeEvents(count: number): SegmentEvent[] {
  const out: SegmentEvent[] = [];
  for (let i = 0; i < count; i++) {
    const user = `user-${String(i % 1000).padStart(5, '0')}`;
    const base = {
      messageId: `bench-${i}`,
      userId: user,
      anonymousId: `anon-${user}`,
      timestamp: new Date(1_790_000_000_000 + i).toISOString(),
      context: {
        ip: '203.0.113.9',
        locale: 'en-US',
        traits: { email: `${user}@example.com` },
        page: { url: 'https://example.com/p' },
      },
    };
    const r = i % 10;
    if (r < 7)
      out.push({
        ...base,
        type: 'track',
        event: 'Product Viewed',
        properties: { product_id: `p${i % 50}`, price: 9.99, category: 'socks', position: i % 20 },
      });
    else if (r < 9)
      out.push({
        ...base,
        type: 'identify',
        traits: { email: `${user}@example.com`, firstName: 'Ada', lastName: 'Lovelace', plan: 'pro' },
      });
    else
      out.push({
        ...base,
        type: 'page',
        name: 'Product',
        properties: { url: 'https://example.com/p', title: 'Product' },
      });
  }
  return out;
}

const settings: Record<string, unknown> = {
  webhook: { url: 'https://hooks.example.com/x', secret: 's', batchSize: 100 },
  kafka: { topic: 'bench' },
  redis: {},
  amplitude: { apiKey: 'k' },
  mixpanel: { projectToken: 't' },
  hubspot: { accessToken: 't', portalId: 1 },
  braze: { apiKey: 'k', baseUrl: 'https://rest.example.com' },
  ga4: { measurementId: 'G-X', apiSecret: 's' },
  customerio: { siteId: 's', apiKey: 'k' },
  salesforce: { auth: { flow: 'client_credentials', clientId: 'c', clientSecret: 's' } },
};

const events = makeEvents(n);
console.log(`transform throughput, ${n} events (node ${process.version})`);
for (const [type, raw] of Object.entries(settings)) {
  const r = destinations[type]!.configure(raw);
  if (!r.ok) throw new Error(`${type}: ${r.problems.join('; ')}`);
  const dest = r.destination;
  const size = dest.maxBatchSize;
  // warm-up
  dest.transform(events.slice(0, Math.min(size, 1000)));
  const t0 = process.hrtime.bigint();
  let deliveries = 0;
  for (let i = 0; i < events.length; i += size)
    deliveries += dest.transform(events.slice(i, i + size)).deliveries.length;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `${type.padEnd(11)} batch ${String(size).padStart(4)}  ${Math.round(n / secs)
      .toLocaleString('en-US')
      .padStart(10)} events/s  ${deliveries} deliveries`,
  );
}
