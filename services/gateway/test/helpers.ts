import http from 'node:http';
import zlib from 'node:zlib';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: { success?: boolean; error?: string; status?: string } | undefined;
}

export interface PostOptions {
  writeKey?: string;
  headers?: Record<string, string>;
  gzip?: boolean;
  method?: string;
}

/** A plain HTTP request to the gateway (a fresh connection each time). */
export function request(
  baseUrl: string,
  path: string,
  body: string | Buffer | object | undefined,
  opts: PostOptions = {},
): Promise<Reply> {
  const url = new URL(path, baseUrl);
  let payload: Buffer | undefined =
    body === undefined
      ? undefined
      : Buffer.isBuffer(body)
        ? body
        : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (opts.gzip && payload) {
    payload = zlib.gzipSync(payload);
    headers['content-encoding'] = 'gzip';
  }
  if (opts.writeKey !== undefined)
    headers.authorization = `Basic ${Buffer.from(`${opts.writeKey}:`).toString('base64')}`;
  if (payload) headers['content-length'] = String(payload.length);
  return new Promise<Reply>((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Reply['json'];
        try {
          json = text ? (JSON.parse(text) as Reply['json']) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json });
      });
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

export const runId = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

/** Something near the ~1 KB event of the benchmark. */
export function sampleTrack(i: number, userId = `user-${i % 50}`): Record<string, unknown> {
  return {
    type: 'track',
    userId,
    anonymousId: `anon-${i % 50}`,
    event: 'Product Viewed',
    messageId: `msg-${i}-${Math.random().toString(36).slice(2)}`,
    properties: {
      product_id: `p-${i}`,
      price: 19.99,
      currency: 'USD',
      tags: ['a', 'b'],
      nested: { depth: 2, ok: true },
    },
    context: { library: { name: 'test', version: '1.0.0' }, locale: 'en-US' },
    timestamp: new Date().toISOString(),
  };
}

/**
 * Bad inputs and what the gateway must answer, shared by the unit test (fake
 * Kafka) and the integration test (real Kafka).
 */
export interface BadCase {
  name: string;
  path: string;
  body: string | object;
  status: number;
  message: string;
  headers?: Record<string, string>;
}

export const BAD_CASES: BadCase[] = [
  { name: 'invalid JSON', path: '/v1/track', body: '{"userId": "u", ', status: 400, message: 'invalid JSON' },
  {
    name: 'a body that is not an object',
    path: '/v1/track',
    body: '[1,2]',
    status: 400,
    message: 'request body must be a JSON object',
  },
  {
    name: 'a batch item without type',
    path: '/v1/batch',
    body: {
      batch: [
        { type: 'track', userId: 'u', event: 'ok' },
        { userId: 'u', event: 'no type' },
      ],
    },
    status: 400,
    message: 'batch[1]: missing "type"',
  },
  {
    name: 'no userId nor anonymousId',
    path: '/v1/identify',
    body: { traits: { a: 1 } },
    status: 400,
    message: 'neither anonymousId nor userId is set',
  },
  {
    name: 'no ids in a batch item',
    path: '/v1/batch',
    body: { batch: [{ type: 'page', anonymousId: 'a' }, { type: 'page', anonymousId: 'a' }, { type: 'page' }] },
    status: 400,
    message: 'batch[2]: neither anonymousId nor userId is set',
  },
  {
    name: 'a track without event',
    path: '/v1/track',
    body: { userId: 'u', properties: {} },
    status: 400,
    message: 'track call without "event"',
  },
  {
    name: 'a batch that is not an array',
    path: '/v1/batch',
    body: { batch: 'x' },
    status: 400,
    message: '"batch" must be an array',
  },
  {
    name: 'a bad gzip body',
    path: '/v1/track',
    body: 'not gzip',
    status: 400,
    message: 'invalid gzip body',
    headers: { 'content-encoding': 'gzip' },
  },
];
