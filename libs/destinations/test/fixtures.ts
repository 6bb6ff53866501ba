import type { AliasEvent, GroupEvent, IdentifyEvent, PageEvent, ScreenEvent, SegmentEvent, TrackEvent } from '../src';

const base = {
  anonymousId: 'anon-12345',
  userId: 'user-12345',
  timestamp: '2026-11-20T10:00:00.000Z',
  receivedAt: '2026-11-20T10:00:01.000Z',
  context: {
    ip: '203.0.113.7',
    locale: 'en-US',
    os: { name: 'iOS', version: '17.1' },
    page: { url: 'https://shop.example.com/cart', title: 'Cart', referrer: 'https://google.com/' },
    traits: { email: 'ada@example.com' },
  },
};

export function track(over: Partial<TrackEvent> = {}): TrackEvent {
  return {
    ...base,
    type: 'track',
    messageId: 'msg-track-1',
    event: 'Button Clicked',
    properties: { color: 'red', count: 3 },
    ...over,
  };
}
export function identify(over: Partial<IdentifyEvent> = {}): IdentifyEvent {
  return {
    ...base,
    type: 'identify',
    messageId: 'msg-identify-1',
    traits: {
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
      plan: 'pro',
      address: { city: 'London', country: 'UK' },
    },
    ...over,
  };
}
export function page(over: Partial<PageEvent> = {}): PageEvent {
  return {
    ...base,
    type: 'page',
    messageId: 'msg-page-1',
    name: 'Cart',
    properties: { url: 'https://shop.example.com/cart', title: 'Cart' },
    ...over,
  };
}
export function screen(over: Partial<ScreenEvent> = {}): ScreenEvent {
  return { ...base, type: 'screen', messageId: 'msg-screen-1', name: 'Home', properties: { tab: 'feed' }, ...over };
}
export function group(over: Partial<GroupEvent> = {}): GroupEvent {
  return {
    ...base,
    type: 'group',
    messageId: 'msg-group-1',
    groupId: 'acme-inc',
    traits: { name: 'Acme', employees: 42 },
    ...over,
  };
}
export function alias(over: Partial<AliasEvent> = {}): AliasEvent {
  return { ...base, type: 'alias', messageId: 'msg-alias-1', previousId: 'anon-12345', ...over };
}
export function order(over: Partial<TrackEvent> = {}): TrackEvent {
  return track({
    messageId: 'msg-order-1',
    event: 'Order Completed',
    properties: {
      order_id: 'o-1',
      revenue: 30,
      currency: 'eur',
      products: [
        { product_id: 'p-1', name: 'Socks', price: 10, quantity: 2 },
        { product_id: 'p-2', name: 'Hat', price: 10, quantity: 1 },
      ],
    },
    ...over,
  });
}

export function all(): SegmentEvent[] {
  return [track(), identify(), page(), screen(), group(), alias()];
}

export function manyTracks(n: number, user = 'user-12345'): TrackEvent[] {
  return Array.from({ length: n }, (_, i) => track({ messageId: `msg-${user}-${i}`, userId: user, properties: { i } }));
}

export function body(b: string | undefined): unknown {
  return JSON.parse(b ?? 'null') as unknown;
}

export function response(status: number, json?: unknown, headers: Record<string, string> = {}) {
  return {
    kind: 'response' as const,
    response: {
      status,
      headers,
      body: json === undefined ? '' : typeof json === 'string' ? json : JSON.stringify(json),
    },
  };
}
export const networkError = { kind: 'network-error' as const, message: 'connect ECONNREFUSED', timedOut: false };
