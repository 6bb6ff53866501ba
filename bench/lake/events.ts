// Realistic synthetic events for the lake benchmarks (deterministic PRNG).
import type { WarehouseEvent } from '../../libs/lake/src';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS = ['Order Completed', 'Product Viewed', 'Product Added', 'Checkout Started', 'Signed Up'];
const PAGES = ['/', '/pricing', '/docs', '/blog/launch', '/checkout'];
const BROWSERS = [
  'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0',
  'Mozilla/5.0 (Macintosh) Safari/17.1',
  'Mozilla/5.0 Firefox/121.0',
];

export interface MakeOptions {
  seed?: number;
  base?: number;
  /** Only track events with these names (default: a realistic mix of types and names). */
  trackOnly?: readonly string[];
}

export function makeEvents(count: number, options: MakeOptions = {}): WarehouseEvent[] {
  const seed = options.seed ?? 42;
  const base = options.base ?? Date.parse('2026-11-22T00:00:00Z');
  const names = options.trackOnly ?? EVENTS;
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: WarehouseEvent[] = [];
  for (let i = 0; i < count; i++) {
    const t = base + i * 37;
    const user = Math.floor(rnd() * 50_000);
    const anonymousId = `anon-${user.toString(36)}-${Math.floor(rnd() * 1e6).toString(36)}`;
    const context = {
      library: { name: 'analytics-node', version: '1.3.0' },
      ip: `10.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}`,
      userAgent: pick(BROWSERS),
      locale: rnd() < 0.8 ? 'en-US' : 'de-DE',
      page: { path: pick(PAGES), referrer: rnd() < 0.5 ? 'https://www.example.com/' : null },
      campaign: rnd() < 0.3 ? { name: 'winter', source: 'newsletter', medium: 'email' } : undefined,
    };
    const common = {
      messageId: `msg-${seed}-${i}`,
      anonymousId,
      userId: rnd() < 0.7 ? `user-${user}` : null,
      context,
      timestamp: new Date(t).toISOString(),
      originalTimestamp: new Date(t - 120).toISOString(),
      sentAt: new Date(t - 20).toISOString(),
      receivedAt: new Date(t).toISOString(),
    };
    const r = rnd();
    if (options.trackOnly || r < 0.85) {
      out.push({
        ...common,
        type: 'track',
        event: pick(names),
        properties: {
          orderId: `ord-${i}`,
          revenue: Math.round(rnd() * 50_000) / 100,
          quantity: 1 + Math.floor(rnd() * 5),
          currency: 'USD',
          coupon: rnd() < 0.2 ? 'WINTER10' : null,
          firstPurchase: rnd() < 0.1,
          products: rnd() < 0.5 ? [{ sku: `sku-${Math.floor(rnd() * 100)}`, price: 9.99 }] : undefined,
          shipping: { method: rnd() < 0.5 ? 'ground' : 'air', days: 1 + Math.floor(rnd() * 7) },
          deliveredAt: rnd() < 0.3 ? new Date(t + 86_400_000).toISOString() : undefined,
        },
      });
    } else if (r < 0.93) {
      out.push({ ...common, type: 'page', name: 'Docs', properties: { path: pick(PAGES), title: 'Sluice docs' } });
    } else {
      out.push({
        ...common,
        type: 'identify',
        userId: `user-${user}`,
        traits: {
          email: `user${user}@example.com`,
          plan: rnd() < 0.5 ? 'free' : 'pro',
          logins: Math.floor(rnd() * 100),
        },
      });
    }
  }
  return out;
}
