import { javaPartition } from '@sluice/kafka';
import type { Gateway } from '../src/gateway';
import { BAD_CASES, request, runId } from './helpers';
import { GatewayUnderTest, startGatewayUnderTest, TopicReader } from './it-helpers';

jest.setTimeout(120_000);

// Requests parsed and encoded on encoder threads (decision 0508), set explicitly here so the
// path is covered whatever the machine's core count (the default is one thread per core).
describe('gateway with encoder threads', () => {
  const run = runId();
  const prefix = `it-gw-enc-${run}.`;
  const key = `wk-${run}`;
  let under: GatewayUnderTest | undefined;
  let gw: Gateway;
  let reader: TopicReader;

  beforeAll(async () => {
    under = await startGatewayUnderTest([{ id: 'src-enc', name: 'Encoded', writeKey: key, enabled: true }], prefix, {
      ENCODER_THREADS: '3',
      MAX_EVENT_BYTES: '4096',
    });
    ({ gw, reader } = under);
  });

  afterAll(() => under?.close());

  it('writes every acknowledged event, enriched, keyed and partitioned as Kafka would, users in order', async () => {
    const batches = Array.from({ length: 6 }, (_, b) =>
      Array.from({ length: 40 }, (_, i) => ({
        type: 'track',
        event: 'Encoded',
        userId: `user-${i % 7}`,
        messageId: `${run}-${b}-${i}`,
        properties: { b, i },
      })),
    );
    // Concurrent requests, so several threads take part.
    const replies = await Promise.all(
      batches.map((batch) => request(gw.url, '/v1/batch', { batch }, { writeKey: key })),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(6).fill(200));
    const single = await request(
      gw.url,
      '/v1/identify',
      { anonymousId: 'anon-1', traits: { plan: 'pro' } },
      {
        writeKey: key,
      },
    );
    expect(single.status).toBe(200);

    const encoded = await gw.registry.getSingleMetric('sluice_gateway_requests_encoded_total')?.get();
    expect(encoded?.values.find((v) => v.labels.encoder === 'thread')?.value).toBe(7);
    expect(encoded?.values.find((v) => v.labels.encoder === 'http')).toBeUndefined();

    await reader.waitFor((events) => events.length >= 241);
    expect(reader.events).toHaveLength(241);
    const ids = new Set(reader.events.map((e) => e.envelope.messageId));
    for (const batch of batches) for (const e of batch) expect(ids.has(e.messageId)).toBe(true);
    for (const e of reader.events) {
      expect(e.envelope.sourceId).toBe('src-enc');
      expect(e.envelope.requestIp).toBe('127.0.0.1');
      expect(typeof e.envelope.receivedAt).toBe('number');
      expect(e.partition).toBe(javaPartition(Buffer.from(e.key), 12));
    }
    const identify = reader.events.find((e) => e.envelope.type === 'identify')!;
    expect(identify.key).toBe('a:anon-1');
    expect(identify.envelope.messageId).toBeTruthy(); // assigned by the thread
    // Within one request, a user's events keep the request's order.
    for (const [b, batch] of batches.entries()) {
      const got = reader.events
        .filter((e) => e.envelope.userId === 'user-3' && e.envelope.messageId.startsWith(`${run}-${b}-`))
        .map((e) => e.envelope.messageId);
      expect(got).toEqual(batch.filter((e) => e.userId === 'user-3').map((e) => e.messageId));
    }
  });

  it.each(BAD_CASES.filter((c) => !c.headers))('answers $status for $name, from the thread', async (c) => {
    const r = await request(gw.url, c.path, c.body, { writeKey: key });
    expect(r.status).toBe(c.status);
    expect(r.json?.error).toContain(c.message);
  });

  it('answers 413 naming the batch item whose record is over the event limit', async () => {
    const batch = [
      { type: 'track', userId: 'u', event: 'small' },
      { type: 'track', userId: 'u', event: 'big', properties: { blob: 'x'.repeat(5000) } },
    ];
    const r = await request(gw.url, '/v1/batch', { batch }, { writeKey: key });
    expect(r.status).toBe(413);
    expect(r.json?.error).toContain('batch[1]: event is larger than 4096 bytes');
  });

  it('still takes the write key from the body (encoded on the HTTP thread)', async () => {
    const r = await request(gw.url, '/v1/track', {
      writeKey: key,
      userId: 'body-key',
      event: 'Body',
      messageId: `${run}-body`,
    });
    expect(r.status).toBe(200);
    await reader.waitFor((events) => events.some((e) => e.envelope.messageId === `${run}-body`));
    const encoded = await gw.registry.getSingleMetric('sluice_gateway_requests_encoded_total')?.get();
    expect(encoded?.values.find((v) => v.labels.encoder === 'http')?.value).toBe(1);
  });
});
