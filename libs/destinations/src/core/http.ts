import type { DeliveryVerdict, EventVerdict, HttpExecutor, HttpOutcome, HttpRequest, HttpResponse } from './types';

/** The part of the WHATWG fetch that the executor uses (global fetch, undici's, or a test double). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<{
  status: number;
  headers: { forEach(cb: (value: string, key: string) => void): void };
  text(): Promise<string>;
}>;

export interface DeliverOptions {
  timeoutMs: number;
  fetch?: FetchLike;
}

/**
 * Sends one request and never throws: a response of any status is a
 * `response`; a refused connection, reset or timeout is a `network-error`.
 */
export async function deliver(request: HttpRequest, opts: DeliverOptions): Promise<HttpOutcome> {
  const fetchImpl: FetchLike = opts.fetch ?? (globalThis.fetch as unknown as FetchLike);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  try {
    const res = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.method === 'GET' ? undefined : request.body,
      signal: controller.signal,
    });
    const body = await res.text();
    const headers: Record<string, string> = {};
    res.headers.forEach((value, key) => {
      headers[key.toLowerCase()] = value;
    });
    return { kind: 'response', response: { status: res.status, headers, body } };
  } catch (err) {
    const timedOut = controller.signal.aborted;
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    const message = timedOut
      ? `timed out after ${opts.timeoutMs} ms`
      : `${err instanceof Error ? err.message : String(err)}${cause}`;
    return { kind: 'network-error', message, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

export function httpExecutor(opts: DeliverOptions): HttpExecutor {
  return (request) => deliver(request, opts);
}

/**
 * `Retry-After` as milliseconds from `nowMs`: delta-seconds or an HTTP-date.
 * Undefined when absent or unparseable; never negative.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - nowMs);
}

export function isRetriableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** First 300 characters of a body, for reasons in logs and dead letters. */
export function excerpt(body: string, max = 300): string {
  const oneLine = body.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
}

/**
 * 2xx ok; 408, 429, 5xx and network errors retriable (honouring Retry-After);
 * other statuses (4xx, and 1xx/3xx which fetch should not surface) abort.
 */
export function defaultClassify(outcome: HttpOutcome, nowMs: number = Date.now()): EventVerdict {
  if (outcome.kind === 'network-error') {
    return { kind: 'retry', reason: `network error: ${outcome.message}` };
  }
  const { status, headers, body } = outcome.response;
  if (status >= 200 && status < 300) return { kind: 'ok' };
  const reason = `HTTP ${status}${body ? `: ${excerpt(body)}` : ''}`;
  if (isRetriableStatus(status)) {
    const retryAfterMs = parseRetryAfter(headers['retry-after'], nowMs);
    return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
  }
  return { kind: 'abort', reason };
}

export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function jsonRequest(
  method: HttpRequest['method'],
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): HttpRequest {
  return {
    method,
    url,
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/** Joins a base URL (trailing slash or not) and a path. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** Splits items into chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Lists every event in a delivery under one verdict (for partial results). */
export function verdictForAll(
  messageIds: readonly string[],
  verdict: Exclude<EventVerdict, { kind: 'ok' }>,
): DeliveryVerdict {
  const events: Record<string, Exclude<EventVerdict, { kind: 'ok' }>> = {};
  for (const id of messageIds) events[id] = verdict;
  return { kind: 'partial', events };
}

export function responseOf(outcome: HttpOutcome): HttpResponse | undefined {
  return outcome.kind === 'response' ? outcome.response : undefined;
}
