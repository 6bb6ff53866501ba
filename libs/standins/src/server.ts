import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';

/** One request as the stand-in saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The query string as sent, without the '?'. */
  rawQuery: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string;
  /** The body parsed as JSON, or undefined. */
  json: unknown;
  atMs: number;
}

export interface VendorResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Whether the vendor took the request (it goes to `received`). */
  accepted: boolean;
}

export interface FailureSpec {
  status: number;
  /** Body to answer with; default: the vendor's error body for that status. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Seconds (number) or an HTTP-date (string) for `Retry-After`. */
  retryAfter?: number | string;
}

export interface StandIn {
  url: string;
  port: number;
  /** Requests the vendor accepted, in arrival order. */
  received: RecordedRequest[];
  /** Every request that reached the handler, accepted or not (not those dropped while down). */
  requests: RecordedRequest[];
  /** The next `n` requests fail with `spec` (default 500 with the vendor's error body). */
  failNext(n: number, spec?: FailureSpec): void;
  /** The next `n` requests get 429 with `Retry-After: retryAfterSeconds` (and the vendor's rate-limit body/headers). */
  rateLimitNext(n: number, retryAfterSeconds?: number): void;
  /** Down: connections are reset without an answer (clients see a network error). */
  setDown(down: boolean): void;
  /** Delay every answer by `ms` (to trigger client timeouts). */
  setDelay(ms: number): void;
  /** Forget recorded requests and pending failures. */
  reset(): void;
  close(): Promise<void>;
}

export type VendorHandler = (req: RecordedRequest) => VendorResponse;

export interface VendorSpec {
  name: string;
  handle: VendorHandler;
  /** The vendor's error body for an injected failure with this status. */
  errorBody(status: number): unknown;
  /** Extra headers the vendor sends with a 429. */
  rateLimitHeaders?(retryAfterSeconds: number): Record<string, string>;
  /** Called by reset() to clear vendor state. */
  reset?(): void;
}

export interface StandInOptions {
  port?: number;
  host?: string;
}

function parseJson(body: string): unknown {
  if (body === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

export async function startStandIn(spec: VendorSpec, opts: StandInOptions = {}): Promise<StandIn> {
  const received: RecordedRequest[] = [];
  const requests: RecordedRequest[] = [];
  const failures: FailureSpec[] = [];
  let down = false;
  let delayMs = 0;
  const sockets = new Set<Socket>();

  const server = http.createServer((req, res) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams.entries()),
        rawQuery: url.search.slice(1),
        headers,
        body,
        json: parseJson(body),
        atMs: Date.now(),
      };
      requests.push(recorded);

      let response: VendorResponse;
      const failure = failures.shift();
      if (failure) {
        const h: Record<string, string> = { ...(failure.headers ?? {}) };
        if (failure.retryAfter !== undefined) h['retry-after'] = String(failure.retryAfter);
        response = {
          status: failure.status,
          body: failure.body ?? spec.errorBody(failure.status),
          headers: h,
          accepted: false,
        };
      } else {
        try {
          response = spec.handle(recorded);
        } catch (err) {
          response = { status: 500, body: { error: String(err) }, accepted: false };
        }
      }
      if (response.accepted) received.push(recorded);

      const send = () => {
        if (res.destroyed) return;
        const h: Record<string, string> = { ...(response.headers ?? {}) };
        let payload = '';
        if (response.body !== undefined) {
          payload = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
          if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
            h['content-type'] = typeof response.body === 'string' ? 'text/plain' : 'application/json';
          }
        }
        res.writeHead(response.status, h);
        res.end(payload);
      };
      if (delayMs > 0) setTimeout(send, delayMs);
      else send();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 1000;

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}`,
    port,
    received,
    requests,
    failNext(n, failure = { status: 500 }) {
      for (let i = 0; i < n; i++) failures.push(failure);
    },
    rateLimitNext(n, retryAfterSeconds = 1) {
      const headers = spec.rateLimitHeaders?.(retryAfterSeconds) ?? {};
      for (let i = 0; i < n; i++) failures.push({ status: 429, retryAfter: retryAfterSeconds, headers });
    },
    setDown(d) {
      down = d;
      if (d) for (const s of sockets) s.destroy();
    },
    setDelay(ms) {
      delayMs = ms;
    },
    reset() {
      received.length = 0;
      requests.length = 0;
      failures.length = 0;
      spec.reset?.();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** user:password of a Basic header, or undefined. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  if (!header || !header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

export function bearer(header: string | undefined): string | undefined {
  return header && header.startsWith('Bearer ') ? header.slice(7) : undefined;
}

export function isJsonContentType(headers: Record<string, string>): boolean {
  return (headers['content-type'] ?? '').toLowerCase().startsWith('application/json');
}
