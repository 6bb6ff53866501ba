import {
  bind,
  classifyKafkaError,
  classifyRedisError,
  defaultClassify,
  deliver,
  destinations,
  destinationType,
  isEnabledFor,
  parseRetryAfter,
  snakeCase,
  type FetchLike,
  type HttpDestinationDefinition,
  type HttpRequest,
} from '../src';
import { z } from 'zod';
import { networkError, response, track } from './fixtures';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-20T10:00:00Z');
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 1.5 ', now)).toBe(1500);
  });
  it('reads an HTTP-date relative to now, never negative', () => {
    expect(parseRetryAfter('Fri, 20 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Fri, 20 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });
  it('ignores absent or garbage values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('defaultClassify', () => {
  it('2xx is ok', () => {
    expect(defaultClassify(response(200))).toEqual({ kind: 'ok' });
    expect(defaultClassify(response(204))).toEqual({ kind: 'ok' });
  });
  it.each([408, 429, 500, 502, 503, 504])('%i retries', (status) => {
    expect(defaultClassify(response(status, 'x')).kind).toBe('retry');
  });
  it.each([400, 401, 403, 404, 409, 413, 422])('%i aborts', (status) => {
    const v = defaultClassify(response(status, { error: 'bad' }));
    expect(v.kind).toBe('abort');
    if (v.kind === 'abort') expect(v.reason).toContain(`HTTP ${status}`);
  });
  it('honours Retry-After on 429 and 503', () => {
    expect(defaultClassify(response(429, '', { 'retry-after': '7' }))).toMatchObject({
      kind: 'retry',
      retryAfterMs: 7000,
    });
    expect(defaultClassify(response(503, '', { 'retry-after': '2' }))).toMatchObject({
      kind: 'retry',
      retryAfterMs: 2000,
    });
  });
  it('network errors retry', () => {
    expect(defaultClassify(networkError)).toMatchObject({ kind: 'retry' });
  });
});

describe('deliver', () => {
  const req: HttpRequest = { method: 'POST', url: 'http://x/y', headers: { a: 'b' }, body: '{}' };
  it('returns status, lower-cased headers and body', async () => {
    const fetch: FetchLike = async (url, init) => {
      expect(url).toBe('http://x/y');
      expect(init.method).toBe('POST');
      expect(init.body).toBe('{}');
      return { status: 201, headers: new Headers({ 'Retry-After': '3' }), text: async () => 'ok' };
    };
    await expect(deliver(req, { timeoutMs: 1000, fetch })).resolves.toEqual({
      kind: 'response',
      response: { status: 201, headers: { 'retry-after': '3' }, body: 'ok' },
    });
  });
  it('turns a thrown fetch into a network error', async () => {
    const fetch: FetchLike = async () => {
      throw new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') });
    };
    const out = await deliver(req, { timeoutMs: 1000, fetch });
    expect(out).toEqual({ kind: 'network-error', message: 'fetch failed: ECONNREFUSED', timedOut: false });
  });
  it('times out', async () => {
    const fetch: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) => init.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    const out = await deliver(req, { timeoutMs: 20, fetch });
    expect(out).toMatchObject({ kind: 'network-error', timedOut: true });
  });
});

describe('registry', () => {
  it('holds every destination under its type', () => {
    expect(Object.keys(destinations).sort()).toEqual(
      [
        'amplitude',
        'braze',
        'customerio',
        'ga4',
        'hubspot',
        'kafka',
        'mixpanel',
        'redis',
        'salesforce',
        'webhook',
      ].sort(),
    );
    for (const [type, d] of Object.entries(destinations)) expect(d.type).toBe(type);
  });
  it('configure validates settings and reports problems by path', () => {
    const bad = destinations.amplitude!.configure({ apiKey: '', batchSize: 5000 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems.join('\n')).toMatch(/apiKey[\s\S]*batchSize/);
    const good = destinations.amplitude!.configure({ apiKey: 'k' });
    expect(good.ok).toBe(true);
    if (good.ok) {
      expect(good.destination.transport).toBe('http');
      expect(good.destination.maxBatchSize).toBe(500);
    }
  });
  it('unknown types are undefined, not prototype members', () => {
    expect(destinationType('nope')).toBeUndefined();
    expect(destinationType('toString')).toBeUndefined();
    expect(destinationType('webhook')?.displayName).toBe('Webhook');
  });
});

describe('integrations object', () => {
  it('All defaults to true; a name can exclude or include', () => {
    expect(isEnabledFor(track({ integrations: undefined }), 'Amplitude')).toBe(true);
    expect(isEnabledFor(track({ integrations: { Amplitude: false } }), 'Amplitude')).toBe(false);
    expect(isEnabledFor(track({ integrations: { All: false } }), 'Amplitude')).toBe(false);
    expect(isEnabledFor(track({ integrations: { All: false, Amplitude: { x: 1 } } }), 'Amplitude')).toBe(true);
    expect(isEnabledFor(track({ integrations: { All: false, Amplitude: true } }), 'Amplitude')).toBe(true);
  });
});

describe('snakeCase', () => {
  it.each([
    ['Order Completed', 'order_completed'],
    ['signUp', 'sign_up'],
    ['  Hello -- World!! ', 'hello_world'],
  ])('%s → %s', (a, b) => expect(snakeCase(a)).toBe(b));
});

describe('runtime auth step', () => {
  // A destination whose auth step counts token fetches; the vendor says 401 to stale tokens.
  let tokenCalls = 0;
  let validToken = 'T1';
  const def: HttpDestinationDefinition<{ key: string }> = {
    transport: 'http',
    type: 't',
    displayName: 'T',
    configSchema: z.object({ key: z.string() }),
    maxBatchSize: () => 1,
    transform: () => ({ deliveries: [], skipped: [], rejected: [] }),
    auth: {
      async fetchToken() {
        tokenCalls++;
        return { ok: true, token: { accessToken: validToken, baseUrl: 'http://vendor' } };
      },
      apply: (r, t) => ({
        ...r,
        url: `${t.baseUrl}${r.url}`,
        headers: { ...r.headers, authorization: `Bearer ${t.accessToken}` },
      }),
      isExpired: (o) => o.kind === 'response' && o.response.status === 401,
    },
  };
  const seen: string[] = [];
  let serverToken = 'T1';
  const fetch: FetchLike = async (url, init) => {
    seen.push(`${url} ${init.headers.authorization}`);
    const ok = init.headers.authorization === `Bearer ${serverToken}`;
    return {
      status: ok ? 200 : 401,
      headers: new Headers(),
      text: async () => (ok ? 'ok' : '[{"errorCode":"INVALID_SESSION_ID"}]'),
    };
  };

  it('fetches a token once, reuses it, and refreshes it once on 401', async () => {
    const d = bind(def, { key: 'k' });
    if (d.transport !== 'http') throw new Error('http expected');
    const delivery = { messageIds: ['m'], payload: { method: 'POST' as const, url: '/x', headers: {} } };
    expect(await d.send(delivery, { timeoutMs: 1000, fetch })).toEqual({ kind: 'ok' });
    expect(await d.send(delivery, { timeoutMs: 1000, fetch })).toEqual({ kind: 'ok' });
    expect(tokenCalls).toBe(1);
    serverToken = 'T2';
    validToken = 'T2';
    expect(await d.send(delivery, { timeoutMs: 1000, fetch })).toEqual({ kind: 'ok' });
    expect(tokenCalls).toBe(2);
    expect(seen).toEqual([
      'http://vendor/x Bearer T1',
      'http://vendor/x Bearer T1',
      'http://vendor/x Bearer T1',
      'http://vendor/x Bearer T2',
    ]);
  });
});

describe('kafka and redis error classification', () => {
  it('retries broker trouble and aborts the rest', () => {
    const conn = Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError' });
    const retriable = Object.assign(new Error('Leader not available'), {
      name: 'KafkaJSProtocolError',
      retriable: true,
    });
    const tooLarge = Object.assign(new Error('Message too large'), { name: 'KafkaJSProtocolError', retriable: false });
    expect(classifyKafkaError(conn).kind).toBe('retry');
    expect(classifyKafkaError(retriable).kind).toBe('retry');
    expect(classifyKafkaError(tooLarge).kind).toBe('abort');
  });
  it('retries connection errors and LOADING, aborts reply errors', () => {
    expect(classifyRedisError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).kind).toBe(
      'retry',
    );
    expect(classifyRedisError(new Error('LOADING Redis is loading the dataset in memory')).kind).toBe('retry');
    expect(
      classifyRedisError(
        new Error('Reached the max retries per request limit (which is 2). Refer to "maxRetriesPerRequest"'),
      ).kind,
    ).toBe('retry');
    expect(
      classifyRedisError(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')).kind,
    ).toBe('abort');
  });
});
