import http, { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AcceptedEvent } from '@sluice/events';
import type { Logger } from '@sluice/observability';
import type { OutRecord, ProduceBatcher } from './batcher';
import { readBody } from './body';
import type { GatewayConfig } from './config';
import type { GatewayMetrics } from './metrics';
import { EncodeContext, encodeEvents, parseRequest } from './encode-request';
import type { RequestEncoder } from './encoder-pool';
import { RequestError, RouteKind } from './payload';
import { RateLimiter } from './rate-limit';
import type { Source, SourceResolver } from './sources';

/** Paths of the Segment and RudderStack HTTP APIs, with analytics.js's short forms. */
export const ROUTES: ReadonlyMap<string, RouteKind> = new Map<string, RouteKind>([
  ['/v1/track', { kind: 'single', type: 'track' }],
  ['/v1/t', { kind: 'single', type: 'track' }],
  ['/v1/identify', { kind: 'single', type: 'identify' }],
  ['/v1/i', { kind: 'single', type: 'identify' }],
  ['/v1/page', { kind: 'single', type: 'page' }],
  ['/v1/p', { kind: 'single', type: 'page' }],
  ['/v1/screen', { kind: 'single', type: 'screen' }],
  ['/v1/s', { kind: 'single', type: 'screen' }],
  ['/v1/group', { kind: 'single', type: 'group' }],
  ['/v1/g', { kind: 'single', type: 'group' }],
  ['/v1/alias', { kind: 'single', type: 'alias' }],
  ['/v1/a', { kind: 'single', type: 'alias' }],
  ['/v1/batch', { kind: 'batch' }],
  ['/v1/b', { kind: 'batch' }],
  ['/v1/import', { kind: 'batch' }],
  ['/beacon/v1/batch', { kind: 'batch' }],
]);

/** Encodes an accepted event as its Kafka record value (Avro, Confluent wire format). */
export type EventEncoder = (event: AcceptedEvent, sourceId: string, requestIp: string | null) => Buffer;

/** Whether Kafka takes writes: probes set it, produce failures clear it. */
export interface KafkaHealth {
  ready(): boolean;
  /** A produce call failed: stop accepting until a probe succeeds. */
  failed(err: Error): void;
  succeeded(): void;
}

export interface GatewayServerDeps {
  config: GatewayConfig;
  log: Logger;
  sources: SourceResolver;
  encode: EventEncoder;
  batcher: ProduceBatcher;
  health: KafkaHealth;
  metrics: GatewayMetrics;
  /** Encoder threads for requests whose source the headers name (decision 0508); none: this thread encodes. */
  encoder?: RequestEncoder;
  /** The Prometheus exposition for /metrics (the cluster's, when workers run). */
  metricsText: () => Promise<{ contentType: string; body: string }>;
}

export interface GatewayServer {
  server: http.Server;
  port: number;
  /** Stops accepting connections and waits for in-flight requests to be answered. */
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const OK_BODY = '{"success":true}';

function clientIp(req: IncomingMessage, trustProxy: boolean): string | null {
  if (trustProxy) {
    const xff = req.headers['x-forwarded-for'];
    const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
    if (first) return first;
  }
  const addr = req.socket.remoteAddress;
  if (!addr) return null;
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

/** The write key from HTTP Basic auth (the user; the password is ignored). */
export function basicAuthUser(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^\s*basic\s+(\S+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon >= 0 ? decoded.slice(0, colon) : decoded;
  return user.length > 0 ? user : undefined;
}

function queryParam(query: string, name: string): string | undefined {
  if (!query) return undefined;
  const v = new URLSearchParams(query).get(name);
  return v ? v : undefined;
}

export function createGatewayServer(deps: GatewayServerDeps): http.Server {
  const { config, log, sources, encode, batcher, health, metrics } = deps;
  // Workers share connections evenly, so each enforces its share of the per-source limit.
  const share = 1 / Math.max(1, config.workers);
  const limiter = new RateLimiter(
    config.rateLimit.eventsPerSecond * share,
    (config.rateLimit.burst ?? Math.max(1, config.rateLimit.eventsPerSecond)) * share,
  );
  const corsAny = config.corsOrigins.includes('*');
  const corsAllowed = new Set(config.corsOrigins);
  let inflightBytes = 0;

  const setInflight = (delta: number) => {
    inflightBytes += delta;
    metrics.bytesInFlight.set(inflightBytes);
  };

  const cors = (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    if (!origin || !(corsAny || corsAllowed.has(origin))) return;
    // Echo the origin (not `*`) so SDKs that send credentials are served too.
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Vary', 'Origin');
  };

  const send = (
    res: ServerResponse,
    route: string,
    status: number,
    body: string,
    headers: http.OutgoingHttpHeaders = {},
  ) => {
    metrics.requests.inc({ route, status: String(status) });
    if (res.headersSent) return;
    // Once shutting down, keep-alive connections close after their last answer.
    if (!server.listening) headers = { ...headers, Connection: 'close' };
    res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };

  const fail = (res: ServerResponse, route: string, err: RequestError, reason: string) => {
    metrics.eventsRejected.inc({ reason });
    const headers: http.OutgoingHttpHeaders = {};
    if (err.retryAfter !== undefined) headers['Retry-After'] = String(err.retryAfter);
    // A body we did not read (or a request too large) is not worth draining.
    if (err.status === 413) headers.Connection = 'close';
    send(res, route, err.status, JSON.stringify({ success: false, error: err.message }), headers);
  };

  const resolveSource = (key: string | undefined): Source => {
    if (!key) {
      throw new RequestError(401, 'invalid write key: none given (send it as the HTTP Basic user, or as writeKey)');
    }
    const source = sources.resolve(key);
    if (!source) throw new RequestError(401, 'invalid write key');
    if (!source.enabled) throw new RequestError(404, 'source is disabled');
    return source;
  };

  const reasonOf = (status: number): string =>
    status === 401 || status === 404
      ? 'auth'
      : status === 413
        ? 'too_large'
        : status === 429
          ? 'rate_limited'
          : status === 503
            ? 'unavailable'
            : 'invalid';

  const handleEvents = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: string,
    route: RouteKind,
  ) => {
    const started = performance.now();
    metrics.requestsInFlight.inc();
    let held = 0;
    const hold = (n: number) => {
      held += n;
      setInflight(n);
    };
    try {
      if (req.method !== 'POST') {
        throw new RequestError(405, `use POST for ${path}`);
      }
      // Fail fast on what the headers already tell.
      const headerKey = basicAuthUser(req.headers.authorization) ?? queryParam(query, 'writeKey');
      let source = headerKey ? resolveSource(headerKey) : undefined;
      if (!health.ready()) {
        throw new RequestError(503, 'Kafka is unavailable; retry later', config.retryAfterSeconds);
      }
      const maxBytes = route.kind === 'single' ? config.limits.maxEventBytes : config.limits.maxBatchBytes;
      const declared = Number(req.headers['content-length']);
      const expected = Number.isFinite(declared) ? Math.min(declared, maxBytes) : 0;
      if (inflightBytes + expected > config.maxInflightBytes) {
        throw new RequestError(503, 'gateway overloaded; retry later', config.retryAfterSeconds);
      }
      hold(expected);
      const body = await readBody(req, { maxBytes });
      hold(body.length);
      if (inflightBytes > config.maxInflightBytes) {
        throw new RequestError(503, 'gateway overloaded; retry later', config.retryAfterSeconds);
      }
      const ctx: EncodeContext = {
        route,
        receivedAt: Date.now(),
        ip: clientIp(req, config.trustProxy),
        maxBatchEvents: config.limits.maxBatchEvents,
        maxEventBytes: config.limits.maxEventBytes,
      };
      let records: OutRecord[];
      if (source && deps.encoder) {
        metrics.encodedBy.inc({ encoder: 'thread' });
        records = await deps.encoder.encode(body, source.id, ctx);
      } else {
        metrics.encodedBy.inc({ encoder: 'http' });
        const { events, bodyWriteKey } = parseRequest(body, ctx);
        if (!source) source = resolveSource(bodyWriteKey);
        records = encodeEvents(events, source.id, ctx, encode);
      }

      if (limiter.enabled && !limiter.take(source.id, records.length)) {
        throw new RequestError(
          429,
          `rate limit of source ${source.id} exceeded`,
          limiter.waitSeconds(source.id, records.length),
        );
      }
      let encodedBytes = 0;
      for (const r of records) encodedBytes += r.value.length;
      hold(encodedBytes);

      const outcome = await batcher.submit(records);
      if (outcome.ok) {
        metrics.eventsAccepted.inc({ source: source.id }, records.length);
        metrics.ackLatency.observe((performance.now() - started) / 1000);
        send(res, path, 200, OK_BODY);
        return;
      }
      if (outcome.reason === 'kafka') {
        health.failed(outcome.error ?? new Error('produce failed'));
        throw new RequestError(
          503,
          `could not write to Kafka: ${outcome.error?.message ?? 'unknown error'}`,
          config.retryAfterSeconds,
        );
      }
      if (outcome.reason === 'deadline') {
        throw new RequestError(
          503,
          `Kafka did not acknowledge within ${config.ackDeadlineMs} ms; retry later`,
          config.retryAfterSeconds,
        );
      }
      throw new RequestError(503, 'gateway is shutting down; retry later', config.retryAfterSeconds);
    } catch (err) {
      if (err instanceof RequestError) {
        fail(res, path, err, reasonOf(err.status));
      } else {
        log.error({ err, path }, 'unexpected error handling a request');
        fail(res, path, new RequestError(500, 'internal error'), 'internal');
      }
    } finally {
      setInflight(-held);
      metrics.requestsInFlight.dec();
    }
  };

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    const query = q >= 0 ? url.slice(q + 1) : '';
    cors(req, res);

    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader(
        'Access-Control-Allow-Headers',
        req.headers['access-control-request-headers'] ?? 'Content-Type, Content-Encoding, Authorization, AnonymousId',
      );
      res.setHeader('Access-Control-Max-Age', '86400');
      metrics.requests.inc({ route: 'OPTIONS', status: '204' });
      res.writeHead(204);
      res.end();
      return;
    }
    const route = ROUTES.get(path);
    if (route) {
      void handleEvents(req, res, path, query, route);
      return;
    }
    if (path === '/health' || path === '/health/ready') {
      const ok = health.ready();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': JSON_TYPE });
      res.end(JSON.stringify({ status: ok ? 'ready' : 'not ready', kafka: ok ? 'reachable' : 'unreachable' }));
      return;
    }
    if (path === '/health/live') {
      res.writeHead(200, { 'Content-Type': JSON_TYPE });
      res.end('{"status":"live"}');
      return;
    }
    if (path === '/metrics') {
      deps.metricsText().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'Content-Type': contentType });
          res.end(body);
        },
        (err: unknown) => {
          log.error({ err }, 'metrics failed');
          res.writeHead(500);
          res.end();
        },
      );
      return;
    }
    send(res, 'unknown', 404, JSON.stringify({ success: false, error: `no such endpoint: ${path}` }));
  });
  // Keep-alive connections of SDKs outlive load balancers' idle timeouts less often this way.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = Math.max(30_000, config.ackDeadlineMs * 2);
  return server;
}

export async function listen(server: http.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Stops accepting, closes idle keep-alive connections and waits for in-flight
 * requests; connections still open after `graceMs` are cut.
 */
export function closeServer(server: http.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    cut.unref();
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
