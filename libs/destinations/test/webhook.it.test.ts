import { startWebhookReceiver, type WebhookReceiver } from '@sluice/standins';
import { all, manyTracks, track } from './fixtures';
import { configureHttp, runtime, sendAll } from './it-helpers';

describe('webhook → receiver (HTTP)', () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver({ secret: 'shh' });
  });
  afterAll(() => receiver.close());
  beforeEach(() => receiver.reset());

  it('delivers every call type with a signature the receiver verifies', async () => {
    const dest = configureHttp('webhook', {
      url: `${receiver.url}/hooks/sluice`,
      secret: 'shh',
      headers: { 'X-Source': 'sluice' },
    });
    const verdicts = await sendAll(dest, all());
    expect(verdicts).toEqual(Array(6).fill({ kind: 'ok' }));
    expect(receiver.verified).toHaveLength(6);
    expect(receiver.received.map((r) => (r.json as { messageId: string }).messageId)).toEqual(
      all().map((e) => e.messageId),
    );
    expect(receiver.received[0]!.headers['x-source']).toBe('sluice');
    expect(receiver.received[0]!.path).toBe('/hooks/sluice');
  });

  it('a wrong secret gets 401 from the receiver, which classify aborts', async () => {
    const dest = configureHttp('webhook', { url: receiver.url, secret: 'wrong' });
    expect(await sendAll(dest, [track()])).toEqual([
      { kind: 'abort', reason: 'HTTP 401: {"error":"invalid signature"}' },
    ]);
    expect(receiver.received).toHaveLength(0);
  });

  it('batches, GET with a signed query, and PUT', async () => {
    const batched = configureHttp('webhook', { url: receiver.url, secret: 'shh', batchSize: 10 });
    expect(await sendAll(batched, manyTracks(12))).toEqual([{ kind: 'ok' }, { kind: 'ok' }]);
    expect((receiver.received[0]!.json as { batch: unknown[] }).batch).toHaveLength(10);
    const get = configureHttp('webhook', { url: `${receiver.url}/get?x=1`, method: 'GET', secret: 'shh' });
    expect(await sendAll(get, [track()])).toEqual([{ kind: 'ok' }]);
    expect(receiver.received[2]!).toMatchObject({ method: 'GET', query: { x: '1', event: 'Button Clicked' } });
    const put = configureHttp('webhook', { url: receiver.url, method: 'PUT', secret: 'shh' });
    expect(await sendAll(put, [track()])).toEqual([{ kind: 'ok' }]);
    expect(receiver.verified.map((r) => r.method)).toEqual(['POST', 'POST', 'GET', 'PUT']);
  });

  it('500, 429 with Retry-After, down and slow are classified as retriable', async () => {
    const dest = configureHttp('webhook', { url: receiver.url, secret: 'shh' });
    receiver.failNext(1, { status: 503 });
    receiver.rateLimitNext(1, 7);
    const [first, second] = [await sendAll(dest, [track()]), await sendAll(dest, [track()])];
    expect(first[0]!.kind).toBe('retry');
    expect(second[0]).toMatchObject({ kind: 'retry', retryAfterMs: 7000 });
    receiver.setDown(true);
    expect((await sendAll(dest, [track()]))[0]).toMatchObject({
      kind: 'retry',
      reason: expect.stringContaining('network error'),
    });
    receiver.setDown(false);
    receiver.setDelay(300);
    expect((await sendAll(dest, [track()], { timeoutMs: 100 }))[0]).toMatchObject({
      kind: 'retry',
      reason: expect.stringContaining('timed out'),
    });
    receiver.setDelay(0);
    expect(await sendAll(dest, [track()], runtime)).toEqual([{ kind: 'ok' }]);
  });
});
