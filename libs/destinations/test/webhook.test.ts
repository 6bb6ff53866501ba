import { bind, webhook, webhookConfigSchema, webhookSignature } from '../src';
import { all, body, manyTracks, networkError, response, track } from './fixtures';

const config = (over: Record<string, unknown> = {}) =>
  webhookConfigSchema.parse({ url: 'https://hooks.example.com/in', ...over });

describe('webhook', () => {
  it('forwards every call type, one event per request by default', () => {
    const out = webhook.transform(all(), config());
    expect(out.skipped).toEqual([]);
    expect(out.deliveries).toHaveLength(6);
    expect(out.deliveries.map((d) => (body(d.payload.body) as { type: string }).type)).toEqual([
      'track',
      'identify',
      'page',
      'screen',
      'group',
      'alias',
    ]);
    const first = out.deliveries[0]!;
    expect(first.messageIds).toEqual(['msg-track-1']);
    expect(first.payload).toMatchObject({
      method: 'POST',
      url: 'https://hooks.example.com/in',
      headers: { 'content-type': 'application/json' },
    });
  });

  it('batches as {"batch": [...]} up to batchSize', () => {
    const out = webhook.transform(manyTracks(5), config({ batchSize: 2 }));
    expect(out.deliveries.map((d) => d.messageIds.length)).toEqual([2, 2, 1]);
    expect((body(out.deliveries[0]!.payload.body) as { batch: unknown[] }).batch).toHaveLength(2);
  });

  it('signs the exact body with HMAC-SHA256 and sends custom headers', () => {
    const out = webhook.transform(
      [track()],
      config({ secret: 's3cret', headers: { 'X-Api-Key': 'abc' }, method: 'PUT' }),
    );
    const req = out.deliveries[0]!.payload;
    expect(req.method).toBe('PUT');
    expect(req.headers['x-api-key']).toBe('abc');
    expect(req.headers['x-sluice-signature']).toBe(webhookSignature('s3cret', req.body!));
    expect(req.headers['x-sluice-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('GET puts scalar fields in the query, signs the query, and refuses batching', () => {
    const out = webhook.transform([track()], config({ method: 'GET', secret: 'k' }));
    const req = out.deliveries[0]!.payload;
    const url = new URL(req.url);
    expect(req.body).toBeUndefined();
    expect(url.searchParams.get('event')).toBe('Button Clicked');
    expect(url.searchParams.get('color')).toBe('red');
    expect(req.headers['x-sluice-signature']).toBe(webhookSignature('k', url.search.slice(1)));
    expect(webhookConfigSchema.safeParse({ url: 'https://x.y', method: 'GET', batchSize: 5 }).success).toBe(false);
  });

  it('classifies with the defaults', () => {
    const d = bind(webhook, config());
    if (d.transport !== 'http') throw new Error();
    const delivery = webhook.transform([track()], config()).deliveries[0]!;
    expect(d.classify(response(200), delivery)).toEqual({ kind: 'ok' });
    expect(d.classify(response(429, '', { 'retry-after': '10' }), delivery)).toMatchObject({
      kind: 'retry',
      retryAfterMs: 10_000,
    });
    expect(d.classify(response(404), delivery).kind).toBe('abort');
    expect(d.classify(networkError, delivery).kind).toBe('retry');
  });
});
