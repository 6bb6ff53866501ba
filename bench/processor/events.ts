import { randomBytes } from 'node:crypto';
import type { SegmentEvent } from '@sluice/events';

/** The processor benchmarks' events: 90 % track over three names, 10 % identify, a typical browser context. */
export function benchEvent(i: number): SegmentEvent {
  const now = new Date().toISOString();
  return {
    type: i % 10 === 0 ? 'identify' : 'track',
    messageId: `bench-${i}-${randomBytes(4).toString('hex')}`,
    anonymousId: `anon-${i % 5000}`,
    userId: i % 3 === 0 ? `user-${i % 5000}` : null,
    event: i % 10 === 0 ? undefined : ['Product Viewed', 'Order Completed', 'Signed Up'][i % 3],
    properties: { sku: `sku-${i % 400}`, price: (i % 1000) / 10, currency: 'EUR', quantity: 1 + (i % 4), coupon: null },
    traits: i % 10 === 0 ? { email: `u${i}@example.com`, plan: 'pro' } : undefined,
    context: {
      ip: '203.0.113.7',
      locale: 'en-GB',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
      page: { path: '/products/42', url: 'https://shop.example.com/products/42', referrer: 'https://www.example.com/' },
      library: { name: 'analytics.js', version: '5.2.0' },
      campaign: { source: 'newsletter', medium: 'email', name: 'autumn' },
    },
    originalTimestamp: now,
    sentAt: now,
    receivedAt: now,
    timestamp: now,
  };
}
