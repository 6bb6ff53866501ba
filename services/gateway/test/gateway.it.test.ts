import { partitionKey } from '@sluice/events';
import type { Gateway } from '../src/gateway';
import { ROUTES } from '../src/server';
import { BAD_CASES, request, runId } from './helpers';
import { GatewayUnderTest, startGatewayUnderTest, TopicReader, Workspace } from './it-helpers';

jest.setTimeout(120_000);

describe('gateway against Kafka and the schema registry', () => {
  const run = runId();
  const prefix = `it-gw-${run}.`;
  let under: GatewayUnderTest | undefined;
  let ws: Workspace;
  let gw: Gateway;
  let reader: TopicReader;

  beforeAll(async () => {
    under = await startGatewayUnderTest(
      [
        { id: 'src-web', name: 'Web', writeKey: `wk-web-${run}`, enabled: true },
        { id: 'src-off', name: 'Off', writeKey: `wk-off-${run}`, enabled: false },
      ],
      prefix,
      { WORKSPACE_RELOAD_MS: '200' },
    );
    ({ ws, gw, reader } = under);
  });

  afterAll(() => under?.close());

  const key = () => `wk-web-${run}`;

  it('is ready and serves metrics', async () => {
    const health = await request(gw.url, '/health', undefined, { method: 'GET' });
    expect([health.status, health.json?.status]).toEqual([200, 'ready']);
  });

  it('writes the events of every endpoint to events.raw, Avro-encoded and keyed by user', async () => {
    const calls: { path: string; body: Record<string, unknown>; ids: string[] }[] = [];
    const single: Record<string, (id: string) => Record<string, unknown>> = {
      track: (id) => ({
        messageId: id,
        userId: 'u-1',
        event: 'Order Completed',
        properties: { total: 12.5, items: [{ sku: 'a', n: 2 }], gift: null },
      }),
      identify: (id) => ({
        messageId: id,
        userId: 'u-1',
        anonymousId: 'anon-1',
        traits: { email: 'a@example.com', plan: 'pro' },
      }),
      page: (id) => ({ messageId: id, anonymousId: 'anon-1', name: 'Home', properties: { path: '/' } }),
      screen: (id) => ({ messageId: id, userId: 'u-2', name: 'Settings' }),
      group: (id) => ({ messageId: id, userId: 'u-1', groupId: 'acme', traits: { employees: 30 } }),
      alias: (id) => ({ messageId: id, userId: 'u-1', previousId: 'anon-1' }),
    };
    for (const [path, route] of ROUTES) {
      const id = `${run}-${path}`;
      if (route.kind === 'single') {
        calls.push({ path, body: single[route.type](id), ids: [id] });
      } else {
        calls.push({
          path,
          body: {
            batch: [
              { type: 'track', messageId: `${id}-0`, userId: 'u-3', event: 'Batched', context: { app: { name: 'x' } } },
              { type: 'identify', messageId: `${id}-1`, anonymousId: 'anon-3', traits: { n: 1 } },
            ],
            sentAt: new Date().toISOString(),
          },
          ids: [`${id}-0`, `${id}-1`],
        });
      }
    }
    for (const c of calls) {
      const path = c.path.startsWith('/beacon') ? `${c.path}?writeKey=${key()}` : c.path;
      const reply = await request(gw.url, path, c.body, c.path.startsWith('/beacon') ? {} : { writeKey: key() });
      expect({ path: c.path, status: reply.status }).toEqual({ path: c.path, status: 200 });
    }
    const ids = calls.flatMap((c) => c.ids);
    await reader.waitFor(() => ids.every((id) => reader.byMessageId(id)));

    const track = reader.byMessageId(`${run}-/v1/track`)!;
    expect(track.key).toBe(partitionKey({ userId: 'u-1' }));
    expect(track.envelope).toMatchObject({
      type: 'track',
      sourceId: 'src-web',
      userId: 'u-1',
      event: 'Order Completed',
      requestIp: '127.0.0.1',
    });
    expect(JSON.parse(track.envelope.properties!)).toEqual({ total: 12.5, items: [{ sku: 'a', n: 2 }], gift: null });
    expect(JSON.parse(track.envelope.context!)).toEqual({ ip: '127.0.0.1' });
    const identify = reader.byMessageId(`${run}-/v1/identify`)!;
    expect(identify.key).toBe(partitionKey({ anonymousId: 'anon-1' }));
    expect(JSON.parse(identify.envelope.traits!)).toEqual({ email: 'a@example.com', plan: 'pro' });
    expect(reader.byMessageId(`${run}-/v1/group`)!.envelope.groupId).toBe('acme');
    expect(reader.byMessageId(`${run}-/v1/alias`)!.envelope.previousId).toBe('anon-1');
    expect(reader.byMessageId(`${run}-/v1/s`)!.envelope.type).toBe('screen');
    expect(reader.byMessageId(`${run}-/v1/p`)!.envelope.name).toBe('Home');
    const batched = reader.byMessageId(`${run}-/v1/import-0`)!;
    expect(batched.envelope.sentAt).not.toBeNull();
    expect(JSON.parse(batched.envelope.context!)).toEqual({ app: { name: 'x' }, ip: '127.0.0.1' });
  });

  it("keeps one user's events in the order they were acknowledged", async () => {
    const ids: string[] = [];
    for (let r = 0; r < 10; r++) {
      const batch = [0, 1, 2].map((i) => {
        const messageId = `${run}-order-${r}-${i}`;
        ids.push(messageId);
        return { type: 'track', messageId, anonymousId: `ordered-${run}`, event: 'Step', properties: { r, i } };
      });
      expect((await request(gw.url, '/v1/batch', { batch }, { writeKey: key() })).status).toBe(200);
    }
    await reader.waitFor(() => ids.every((id) => reader.byMessageId(id)));
    const mine = reader.events.filter((e) => e.envelope.anonymousId === `ordered-${run}`);
    expect(new Set(mine.map((e) => e.partition)).size).toBe(1);
    expect(mine.map((e) => e.envelope.messageId)).toEqual(ids);
  });

  it('corrects the timestamp for client clock skew', async () => {
    const id = `${run}-skew`;
    // The client's clock is an hour fast; the event happened 2 s before it was sent.
    const clientNow = Date.now() + 3600_000;
    const before = Date.now();
    const reply = await request(
      gw.url,
      '/v1/batch',
      {
        batch: [
          {
            type: 'track',
            messageId: id,
            userId: 'u',
            event: 'Skewed',
            timestamp: new Date(clientNow - 2000).toISOString(),
          },
        ],
        sentAt: new Date(clientNow).toISOString(),
      },
      { writeKey: key() },
    );
    expect(reply.status).toBe(200);
    await reader.waitFor(() => !!reader.byMessageId(id));
    const env = reader.byMessageId(id)!.envelope;
    expect(env.receivedAt).toBeGreaterThanOrEqual(before);
    expect(env.timestamp).toBe(env.receivedAt - 2000);
    expect(env.originalTimestamp).toBe(clientNow - 2000);
  });

  it.each(BAD_CASES)('answers $name with $status', async (c) => {
    const reply = await request(gw.url, c.path, c.body, { writeKey: key(), headers: c.headers });
    expect(reply.status).toBe(c.status);
    expect(reply.json?.error).toContain(c.message);
  });

  it('rejects a whole batch for one bad item, naming it, and writes none of it', async () => {
    const id = `${run}-allornothing`;
    const reply = await request(
      gw.url,
      '/v1/batch',
      {
        batch: [
          { type: 'track', messageId: `${id}-0`, userId: 'u', event: 'Good' },
          { type: 'track', messageId: `${id}-1`, userId: 'u', event: 'Good' },
          { type: 'track', messageId: `${id}-2`, userId: 'u' },
        ],
      },
      { writeKey: key() },
    );
    expect(reply.status).toBe(400);
    expect(reply.json?.error).toBe('batch[2]: track call without "event" (the event name)');
    // A marker written after it: once it is there, anything of the bad batch would be too.
    const marker = `${run}-marker`;
    expect(
      (await request(gw.url, '/v1/track', { messageId: marker, userId: 'u', event: 'Marker' }, { writeKey: key() }))
        .status,
    ).toBe(200);
    await reader.waitFor(() => !!reader.byMessageId(marker));
    expect(reader.events.filter((e) => e.envelope.messageId.startsWith(id))).toHaveLength(0);
  });

  it('answers auth failures: 401 unknown or missing key, 404 disabled source', async () => {
    const ev = { userId: 'u', event: 'E' };
    const none = await request(gw.url, '/v1/track', ev);
    expect([none.status, none.json?.error]).toEqual([401, expect.stringContaining('invalid write key')]);
    const wrong = await request(gw.url, '/v1/track', ev, { writeKey: 'nope' });
    expect([wrong.status, wrong.json?.error]).toEqual([401, 'invalid write key']);
    const off = await request(gw.url, '/v1/track', ev, { writeKey: `wk-off-${run}` });
    expect([off.status, off.json?.error]).toEqual([404, 'source is disabled']);
  });

  it('accepts gzip bodies (RudderStack SDK style) and refuses zip bombs', async () => {
    const id = `${run}-gzip`;
    const reply = await request(
      gw.url,
      '/v1/batch',
      {
        batch: [
          {
            type: 'track',
            messageId: id,
            anonymousId: 'a',
            event: 'Zipped',
            originalTimestamp: new Date().toISOString(),
          },
        ],
        sentAt: new Date().toISOString(),
        timestamp: new Date().toISOString(),
      },
      { writeKey: key(), gzip: true },
    );
    expect(reply.status).toBe(200);
    await reader.waitFor(() => !!reader.byMessageId(id));
    expect(reader.byMessageId(id)!.envelope.event).toBe('Zipped');
    const bomb = Buffer.concat([Buffer.from('{"batch":['), Buffer.alloc(20 * 1024 * 1024, ' '), Buffer.from(']}')]);
    const r = await request(gw.url, '/v1/batch', bomb, { writeKey: key(), gzip: true });
    expect(r.status).toBe(413);
  });

  it('answers 413 past the limits', async () => {
    const big = { userId: 'u', event: 'Big', properties: { s: 'x'.repeat(33 * 1024) } };
    expect((await request(gw.url, '/v1/track', big, { writeKey: key() })).status).toBe(413);
    const batch = Array.from({ length: 20 }, () => ({
      type: 'track',
      userId: 'u',
      event: 'E',
      properties: { s: 'x'.repeat(30 * 1024) },
    }));
    const r = await request(gw.url, '/v1/batch', { batch }, { writeKey: key() });
    expect([r.status, r.json?.error]).toEqual([413, 'request body exceeds the limit of 512000 bytes']);
  });

  it('picks up new write keys without a restart', async () => {
    const newKey = `wk-new-${run}`;
    expect((await request(gw.url, '/v1/track', { userId: 'u', event: 'E' }, { writeKey: newKey })).status).toBe(401);
    ws.write([
      { id: 'src-web', name: 'Web', writeKey: `wk-web-${run}`, enabled: true },
      { id: 'src-new', name: 'New', writeKey: newKey, enabled: true },
    ]);
    const until = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < until) {
      status = (await request(gw.url, '/v1/track', { userId: 'u', event: 'E' }, { writeKey: newKey })).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });

  it('counts requests and accepted events in /metrics', async () => {
    const m = await request(gw.url, '/metrics', undefined, { method: 'GET' });
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/sluice_gateway_requests_total\{route="\/v1\/track",status="200"/);
    expect(m.body).toMatch(/sluice_gateway_events_accepted_total\{source="src-web"/);
    expect(m.body).toContain('sluice_gateway_produce_latency_seconds_bucket');
    expect(m.body).toContain('sluice_gateway_bytes_in_flight');
  });
});
