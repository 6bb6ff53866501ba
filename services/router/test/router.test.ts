import { ConfigError } from '@sluice/config';
import { classifyStatus, parseRetryAfter } from '../src/webhook';
import { loadRouterConfig } from '../src/config';
import { deliverySettingsFor, parseWorkspace, selectDestinations } from '../src/workspace';
import { builtinDeliverers } from '../src/deliverers';
import { reloadSelection } from '../src/follow';
import { planApply } from '../src/router';
import { sameDelivery, type DestinationSpec } from '../src/workspace';
import type { Logger } from '@sluice/observability';

describe('webhook classification', () => {
  it('2xx ok, 408/429/5xx retry, other statuses abort', () => {
    expect(classifyStatus(204)).toEqual({ kind: 'ok' });
    expect(classifyStatus(503)).toEqual({ kind: 'retry', status: 503, error: 'HTTP 503' });
    expect(classifyStatus(408).kind).toBe('retry');
    expect(classifyStatus(429, '3')).toEqual({ kind: 'retry', status: 429, error: 'HTTP 429', retryAfterMs: 3000 });
    expect(classifyStatus(400)).toEqual({ kind: 'abort', status: 400, error: 'HTTP 400' });
    expect(classifyStatus(404).kind).toBe('abort');
    expect(classifyStatus(301).kind).toBe('abort');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-22T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('Sun, 22 Nov 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sat, 21 Nov 2026 00:00:30 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('router config and workspace', () => {
  const ws = {
    sources: [{ id: 's1', writeKey: 'x' }],
    destinations: [
      {
        id: 'hook',
        type: 'webhook',
        name: 'Hook',
        enabled: true,
        config: { url: 'http://127.0.0.1:1/x', delivery: { ratePerSecond: 50 } },
      },
      { id: 'off', type: 'webhook', name: 'Off', enabled: false, config: { url: 'http://127.0.0.1:1/y' } },
      { id: 'amp', type: 'amplitude', name: 'Amp', enabled: true, config: { apiKey: 'k' }, extra: 1 },
    ],
  };

  it('reads the environment with defaults', () => {
    const c = loadRouterConfig({
      WORKSPACE_FILE: 'ws.json',
      KAFKA_BROKERS: 'k1:9092,k2:9092',
      ROUTER_RETRY_WINDOW_MS: '60000',
      ROUTER_DESTINATIONS: 'hook',
    });
    expect(c.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(c.delivery.retryWindowMs).toBe(60000);
    expect(c.delivery.minBackoffMs).toBe(10_000);
    expect(c.delivery.maxBackoffMs).toBe(300_000);
    expect(c.only).toEqual(['hook']);
    expect(() => loadRouterConfig({})).toThrow(ConfigError);
    expect(() => loadRouterConfig({ WORKSPACE_FILE: 'x', ROUTER_MAX_IN_FLIGHT: '0' })).toThrow(/maxInFlightRequests/);
  });

  it('selects enabled destinations, ignores other keys, applies per-destination overrides', () => {
    const dests = parseWorkspace(ws);
    expect(selectDestinations(dests).map((d) => d.id)).toEqual(['hook', 'amp']);
    expect(selectDestinations(dests, ['amp']).map((d) => d.id)).toEqual(['amp']);
    expect(() => selectDestinations(dests, ['nope'])).toThrow(/unknown ids nope/);
    const defaults = loadRouterConfig({ WORKSPACE_FILE: 'x' }).delivery;
    expect(deliverySettingsFor(dests[0], defaults).ratePerSecond).toBe(50);
    expect(deliverySettingsFor(dests[2], defaults).ratePerSecond).toBe(0);
    expect(() => parseWorkspace({ destinations: [{ id: 'bad id', type: 'webhook' }] })).toThrow(ConfigError);
  });

  it('builds a webhook deliverer and names a bad config', () => {
    const dests = parseWorkspace(ws);
    expect(builtinDeliverers.webhook(dests[0]).maxBatchSize).toBe(1);
    expect(() => builtinDeliverers.webhook({ ...dests[0], config: { url: 'not a url' } })).toThrow(/config.url/);
  });
});

describe('WebhookDeliverer against a local server', () => {
  const item = (n: number): import('@sluice/delivery').DeliveryItem => ({
    destinationId: 'd',
    sourceId: 's',
    messageId: `m${n}`,
    key: `u${n}`,
    payload: JSON.stringify({ n }),
    acceptedAt: 0,
    attempt: 1,
  });

  it('posts one event as an object and a batch as an array, and classifies answers', async () => {
    const http = await import('node:http');
    const bodies: unknown[] = [];
    const headers: Record<string, unknown>[] = [];
    const methods: (string | undefined)[] = [];
    let status = 200;
    const server = http.createServer((req, res) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(b));
        headers.push(req.headers);
        methods.push(req.method);
        res.writeHead(status, status === 429 ? { 'retry-after': '5' } : {});
        res.end(status === 400 ? 'field x is invalid' : '');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as import('node:net').AddressInfo).port;
    const { WebhookDeliverer, webhookConfigSchema } = await import('../src/webhook');
    const single = new WebhookDeliverer(
      webhookConfigSchema.parse({ url: `http://127.0.0.1:${port}/in`, headers: { 'x-token': 't' } }),
    );
    const batch = new WebhookDeliverer(
      webhookConfigSchema.parse({ url: `http://127.0.0.1:${port}/in`, maxBatchSize: 10 }),
    );
    const patch = new WebhookDeliverer(
      webhookConfigSchema.parse({ url: `http://127.0.0.1:${port}/in`, method: 'PATCH' }),
    );
    try {
      expect(await single.deliver([item(1)])).toEqual([{ kind: 'ok' }]);
      expect(bodies[0]).toEqual({ n: 1 });
      expect(headers[0]).toMatchObject({
        'x-token': 't',
        'x-sluice-message-id': 'm1',
        'content-type': 'application/json',
      });
      expect(await batch.deliver([item(2), item(3)])).toEqual([{ kind: 'ok' }, { kind: 'ok' }]);
      expect(bodies[1]).toEqual([{ n: 2 }, { n: 3 }]);
      status = 429;
      expect(await single.deliver([item(4)])).toEqual([
        { kind: 'retry', status: 429, error: 'HTTP 429', retryAfterMs: 5000 },
      ]);
      status = 400;
      expect(await single.deliver([item(5)])).toEqual([
        { kind: 'abort', status: 400, error: 'HTTP 400: field x is invalid' },
      ]);
      status = 200;
      expect(await patch.deliver([item(6)])).toEqual([{ kind: 'ok' }]);
      expect(methods).toEqual(['POST', 'POST', 'POST', 'POST', 'PATCH']);
    } finally {
      await single.close();
      await batch.close();
      await patch.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('retries when nothing listens and when the endpoint does not answer in time', async () => {
    const http = await import('node:http');
    const net = await import('node:net');
    const { WebhookDeliverer, webhookConfigSchema } = await import('../src/webhook');
    // A port that was free a moment ago: connection refused.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const freePort = (probe.address() as import('node:net').AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const refused = new WebhookDeliverer(webhookConfigSchema.parse({ url: `http://127.0.0.1:${freePort}/x` }));
    const [r1] = await refused.deliver([item(1)]);
    expect(r1.kind).toBe('retry');
    await refused.close();

    const silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    const slow = new WebhookDeliverer(webhookConfigSchema.parse({ url: `http://127.0.0.1:${port}/x`, timeoutMs: 300 }));
    const [r2] = await slow.deliver([item(2)]);
    expect(r2.kind).toBe('retry');
    expect((r2 as { error: string }).error).toMatch(/timeout/i);
    await slow.close();
    silent.closeAllConnections();
    await new Promise<void>((r) => silent.close(() => r()));
  });
});

describe('following workspace changes', () => {
  const spec = (id: string, config: Record<string, unknown>, type = 'webhook'): DestinationSpec => ({
    id,
    type,
    name: id,
    enabled: true,
    config,
  });

  it('plans starts, stops and restarts; a reordered config or a new name is no change', () => {
    const running = [
      spec('a', { url: 'http://a', headers: { x: '1', y: '2' } }),
      spec('b', { url: 'http://b' }),
      spec('c', { url: 'http://c' }),
    ];
    const next = [
      { ...spec('a', { headers: { y: '2', x: '1' }, url: 'http://a' }), name: 'renamed' },
      spec('b', { url: 'http://b2' }),
      spec('d', { url: 'http://d' }),
    ];
    const plan = planApply(running, next);
    expect(plan.start.map((s) => s.id)).toEqual(['d']);
    expect(plan.stop.map((s) => s.id)).toEqual(['c']);
    expect(plan.restart.map((s) => s.id)).toEqual(['b']);
    expect(sameDelivery(spec('x', { url: 'u' }), spec('x', { url: 'u' }, 'amplitude'))).toBe(false);
    expect(sameDelivery(spec('x', { url: 'u', delivery: { ratePerSecond: 1 } }), spec('x', { url: 'u' }))).toBe(false);
  });

  it('selects enabled destinations on reload and leaves out ROUTER_DESTINATIONS ids that are gone', () => {
    const warnings: unknown[] = [];
    const log = { warn: (o: unknown) => warnings.push(o) } as unknown as Logger;
    const all = [spec('a', {}), { ...spec('b', {}), enabled: false }, spec('c', {})];
    expect(reloadSelection(all, undefined, log).map((d) => d.id)).toEqual(['a', 'c']);
    expect(reloadSelection(all, ['c', 'gone'], log).map((d) => d.id)).toEqual(['c']);
    expect(warnings).toEqual([{ missing: ['gone'] }]);
  });
});
