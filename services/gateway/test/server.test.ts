import http from 'node:http';
import zlib from 'node:zlib';
import pino from 'pino';
import { Registry } from 'prom-client';
import { AcceptedEvent, toEnvelope } from '@sluice/events';
import { OutRecord, ProduceBatcher, RecordSink } from '../src/batcher';
import { GatewayConfig, gatewayConfigSchema } from '../src/config';
import { GatewayMetrics } from '../src/metrics';
import { basicAuthUser, closeServer, createGatewayServer, KafkaHealth, listen, ROUTES } from '../src/server';
import { StaticSourceResolver } from '../src/sources';
import { BAD_CASES, request } from './helpers';

const log = pino({ level: 'silent' });

class FakeSink implements RecordSink {
  records: OutRecord[] = [];
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  async send(records: OutRecord[]): Promise<void> {
    if (this.mode === 'fail') throw new Error('broker down');
    if (this.mode === 'hang') return new Promise(() => undefined);
    this.records.push(...records);
  }
  events(): Record<string, unknown>[] {
    return this.records.map((r) => JSON.parse(r.value.toString('utf8')) as Record<string, unknown>);
  }
}

interface Harness {
  url: string;
  sink: FakeSink;
  health: { ok: boolean };
  server: http.Server;
}

async function start(overrides: Partial<GatewayConfig> = {}): Promise<Harness> {
  const config: GatewayConfig = {
    ...gatewayConfigSchema.parse({
      workspaceFile: 'unused',
      kafka: {},
      registry: {},
      lingerMs: 1,
      ackDeadlineMs: 300,
      workers: 1,
    }),
    ...overrides,
  };
  const sink = new FakeSink();
  const health = { ok: true };
  const kafkaHealth: KafkaHealth = {
    ready: () => health.ok,
    failed: () => (health.ok = false),
    succeeded: () => undefined,
  };
  const server = createGatewayServer({
    config,
    log,
    sources: new StaticSourceResolver([
      { id: 'src-web', name: 'Web', writeKey: 'wk-web', enabled: true },
      { id: 'src-off', name: 'Off', writeKey: 'wk-off', enabled: false },
    ]),
    // JSON instead of Avro: this test is about HTTP, not the wire format.
    encode: (ev: AcceptedEvent, sourceId, ip) =>
      Buffer.from(JSON.stringify(toEnvelope(ev, { sourceId, requestIp: ip }))),
    batcher: new ProduceBatcher(sink, { lingerMs: 1, maxSendBytes: 1 << 20, deadlineMs: config.ackDeadlineMs }),
    health: kafkaHealth,
    metrics: new GatewayMetrics(new Registry()),
    metricsText: async () => ({ contentType: 'text/plain', body: '# metrics' }),
  });
  const port = await listen(server, 0, '127.0.0.1');
  return { url: `http://127.0.0.1:${port}`, sink, health, server };
}

describe('gateway HTTP (fake Kafka)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await start();
  });
  afterEach(async () => {
    await closeServer(h.server, 100);
  });

  it('serves every endpoint of the Segment and RudderStack APIs', async () => {
    const bodies: Record<string, object> = {
      track: { userId: 'u1', event: 'Clicked' },
      identify: { userId: 'u1', traits: { email: 'a@example.com' } },
      page: { anonymousId: 'a1', name: 'Home' },
      screen: { anonymousId: 'a1', name: 'Main' },
      group: { userId: 'u1', groupId: 'g1' },
      alias: { userId: 'u1', previousId: 'a1' },
    };
    for (const [path, route] of ROUTES) {
      const body =
        route.kind === 'single'
          ? bodies[route.type]
          : {
              batch: [
                { type: 'track', userId: 'u1', event: 'Batched' },
                { type: 'page', anonymousId: 'a1' },
              ],
            };
      const reply = await request(h.url, path, body, { writeKey: 'wk-web' });
      expect({ path, status: reply.status, body: reply.json }).toEqual({ path, status: 200, body: { success: true } });
    }
    const types = h.sink.events().map((e) => e.type);
    expect(types.filter((t) => t === 'track')).toHaveLength(2 + 4);
    expect(new Set(types)).toEqual(new Set(['track', 'identify', 'page', 'screen', 'group', 'alias']));
    expect(h.sink.events().every((e) => e.sourceId === 'src-web' && e.requestIp === '127.0.0.1')).toBe(true);
  });

  it.each(BAD_CASES)('answers $name with $status', async (c) => {
    const reply = await request(h.url, c.path, c.body, { writeKey: 'wk-web', headers: c.headers });
    expect(reply.status).toBe(c.status);
    expect(reply.json?.error).toContain(c.message);
    expect(h.sink.records).toHaveLength(0);
  });

  it('authenticates by Basic user, query writeKey or body writeKey', async () => {
    const ev = { userId: 'u', event: 'E' };
    expect((await request(h.url, '/v1/track', ev)).status).toBe(401);
    expect((await request(h.url, '/v1/track', ev)).json?.error).toContain('invalid write key');
    expect((await request(h.url, '/v1/track', ev, { writeKey: 'nope' })).json).toEqual({
      success: false,
      error: 'invalid write key',
    });
    const off = await request(h.url, '/v1/track', ev, { writeKey: 'wk-off' });
    expect([off.status, off.json?.error]).toEqual([404, 'source is disabled']);
    expect((await request(h.url, '/v1/track?writeKey=wk-web', ev)).status).toBe(200);
    expect(
      (await request(h.url, '/v1/t', { ...ev, writeKey: 'wk-web' }, { headers: { 'content-type': 'text/plain' } }))
        .status,
    ).toBe(200);
    expect(
      (await request(h.url, '/beacon/v1/batch?writeKey=wk-web', { batch: [{ ...ev, type: 'track' }] })).status,
    ).toBe(200);
    expect((await request(h.url, '/v1/t', { ...ev, writeKey: 'bad' })).status).toBe(401);
    // The key in the body is a credential: it is not stored with the event.
    expect(h.sink.records.some((r) => r.value.toString().includes('wk-web'))).toBe(false);
  });

  it('accepts gzip bodies and bounds what they expand to', async () => {
    const ok = await request(
      h.url,
      '/v1/batch',
      { batch: [{ type: 'track', userId: 'u', event: 'Zipped' }] },
      { writeKey: 'wk-web', gzip: true },
    );
    expect(ok.status).toBe(200);
    expect(h.sink.events()[0].event).toBe('Zipped');
    // ~10 MB of spaces compresses to ~10 KB: a zip bomb against a 500 KB limit.
    const bomb = zlib.gzipSync(
      Buffer.concat([Buffer.from('{"batch":['), Buffer.alloc(10 * 1024 * 1024, ' '), Buffer.from(']}')]),
    );
    expect(bomb.length).toBeLessThan(100 * 1024);
    const r = await request(h.url, '/v1/batch', bomb, { writeKey: 'wk-web', headers: { 'content-encoding': 'gzip' } });
    expect(r.status).toBe(413);
    expect(r.json?.error).toContain('decompressed request body exceeds');
    const br = await request(h.url, '/v1/track', 'x', { writeKey: 'wk-web', headers: { 'content-encoding': 'br' } });
    expect(br.status).toBe(415);
  });

  it('answers 413 for a request over the batch limit and an event over the event limit', async () => {
    const big = 'x'.repeat(40 * 1024);
    const single = await request(
      h.url,
      '/v1/track',
      { userId: 'u', event: 'E', properties: { big } },
      { writeKey: 'wk-web' },
    );
    expect(single.status).toBe(413);
    const item = await request(
      h.url,
      '/v1/batch',
      {
        batch: [
          { type: 'track', userId: 'u', event: 'small' },
          { type: 'track', userId: 'u', event: 'E', properties: { big } },
        ],
      },
      { writeKey: 'wk-web' },
    );
    expect(item.status).toBe(413);
    expect(item.json?.error).toContain('batch[1]: event is larger than 32768 bytes');
    const batch = Array.from({ length: 30 }, () => ({
      type: 'track',
      userId: 'u',
      event: 'E',
      properties: { s: 'y'.repeat(20 * 1024) },
    }));
    const whole = await request(h.url, '/v1/batch', { batch }, { writeKey: 'wk-web' });
    expect(whole.status).toBe(413);
    expect(h.sink.records).toHaveLength(0);
  });

  it('answers CORS preflights and adds CORS headers for browser origins', async () => {
    const pre = await request(h.url, '/v1/t', undefined, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://shop.example');
    expect(pre.headers['access-control-allow-methods']).toContain('POST');
    expect(pre.headers['access-control-allow-headers']).toBe('content-type');
    const post = await request(
      h.url,
      '/v1/p',
      { anonymousId: 'a', writeKey: 'wk-web' },
      { headers: { origin: 'https://shop.example', 'content-type': 'text/plain' } },
    );
    expect(post.status).toBe(200);
    expect(post.headers['access-control-allow-origin']).toBe('https://shop.example');
  });

  it('answers 503 with Retry-After when Kafka is not ready, fails or misses the deadline', async () => {
    const ev = { userId: 'u', event: 'E' };
    h.health.ok = false;
    let r = await request(h.url, '/v1/track', ev, { writeKey: 'wk-web' });
    expect([r.status, r.headers['retry-after']]).toEqual([503, '5']);
    expect((await request(h.url, '/health', undefined, { method: 'GET' })).status).toBe(503);
    h.health.ok = true;
    expect((await request(h.url, '/health', undefined, { method: 'GET' })).status).toBe(200);
    h.sink.mode = 'fail';
    r = await request(h.url, '/v1/track', ev, { writeKey: 'wk-web' });
    expect(r.status).toBe(503);
    expect(r.json?.error).toContain('could not write to Kafka');
    expect(h.health.ok).toBe(false);
    h.health.ok = true;
    h.sink.mode = 'hang';
    r = await request(h.url, '/v1/track', ev, { writeKey: 'wk-web' });
    expect(r.status).toBe(503);
    expect(r.json?.error).toContain('did not acknowledge within 300 ms');
  });

  it('answers 404 and 405 for unknown paths and methods, and serves /metrics', async () => {
    expect((await request(h.url, '/v2/track', {}, { writeKey: 'wk-web' })).status).toBe(404);
    expect((await request(h.url, '/v1/track', undefined, { method: 'GET', writeKey: 'wk-web' })).status).toBe(405);
    const m = await request(h.url, '/metrics', undefined, { method: 'GET' });
    expect([m.status, m.body]).toEqual([200, '# metrics']);
  });
});

describe('gateway HTTP limits', () => {
  it('rate-limits per source with 429', async () => {
    const h = await start({ rateLimit: { eventsPerSecond: 5, burst: 5 } });
    try {
      const batch = Array.from({ length: 4 }, () => ({ type: 'track', userId: 'u', event: 'E' }));
      expect((await request(h.url, '/v1/batch', { batch }, { writeKey: 'wk-web' })).status).toBe(200);
      const r = await request(h.url, '/v1/batch', { batch }, { writeKey: 'wk-web' });
      expect(r.status).toBe(429);
      expect(r.headers['retry-after']).toBeDefined();
      expect(h.sink.records).toHaveLength(4);
    } finally {
      await closeServer(h.server, 100);
    }
  });

  it('sheds load with 503 once the bytes in flight reach the cap', async () => {
    const h = await start({ maxInflightBytes: 1024 * 1024, ackDeadlineMs: 2000 });
    try {
      h.sink.mode = 'hang';
      const batch = Array.from({ length: 20 }, () => ({
        type: 'track',
        userId: 'u',
        event: 'E',
        properties: { s: 'z'.repeat(20000) },
      }));
      const replies = await Promise.all(
        Array.from({ length: 6 }, () => request(h.url, '/v1/batch', { batch }, { writeKey: 'wk-web' })),
      );
      const statuses = replies.map((r) => r.status);
      expect(statuses.every((s) => s === 503)).toBe(true);
      expect(replies.some((r) => r.json?.error?.includes('overloaded'))).toBe(true);
    } finally {
      await closeServer(h.server, 100);
    }
  });
});

describe('basicAuthUser', () => {
  it('reads the user of Basic auth', () => {
    expect(basicAuthUser(`Basic ${Buffer.from('key:').toString('base64')}`)).toBe('key');
    expect(basicAuthUser(`basic ${Buffer.from('key').toString('base64')}`)).toBe('key');
    expect(basicAuthUser(`Basic ${Buffer.from(':pw').toString('base64')}`)).toBeUndefined();
    expect(basicAuthUser('Bearer x')).toBeUndefined();
    expect(basicAuthUser(undefined)).toBeUndefined();
  });
});
