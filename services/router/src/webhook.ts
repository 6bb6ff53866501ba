import { Pool } from 'undici';
import type { Deliverer, DeliveryItem, DeliveryOutcome } from '@sluice/delivery';
import { z } from '@sluice/config';

/** `config` of a destination of type `webhook`. */
export const webhookConfigSchema = z.object({
  url: z.string().url(),
  method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
  headers: z.record(z.string()).default({}),
  /** 1 sends each event as a JSON object; more sends a JSON array of up to this many events. */
  maxBatchSize: z.number().int().min(1).max(1000).default(1),
  timeoutMs: z.number().int().positive().default(10_000),
  /** Sockets kept open to the endpoint. */
  maxSockets: z.number().int().positive().default(64),
});
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;

/** Seconds or an HTTP date, as milliseconds from now. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** HTTP status → what to do: 2xx ok; 408, 429, 5xx retry; anything else abort. */
export function classifyStatus(status: number, retryAfter?: string | string[]): DeliveryOutcome {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  const error = `HTTP ${status}`;
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return retryAfterMs === undefined
      ? { kind: 'retry', status, error }
      : { kind: 'retry', status, error, retryAfterMs };
  }
  return { kind: 'abort', status, error };
}

const EXCERPT_BYTES = 300;

interface RawResponse {
  status: number;
  retryAfter?: string;
  excerpt: string;
}

/**
 * A generic webhook: POSTs the event JSON (or an array of events) to a URL
 * over a pool of keep-alive connections. Network errors and timeouts are
 * retried; only a short excerpt of an error response is read.
 */
export class WebhookDeliverer implements Deliverer {
  readonly maxBatchSize: number;
  private readonly pool: Pool;
  private readonly path: string;

  constructor(private readonly config: WebhookConfig) {
    this.maxBatchSize = config.maxBatchSize;
    const url = new URL(config.url);
    this.path = `${url.pathname}${url.search}`;
    this.pool = new Pool(url.origin, {
      connections: config.maxSockets,
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
      connectTimeout: Math.min(config.timeoutMs, 10_000),
    });
  }

  async deliver(items: DeliveryItem[]): Promise<DeliveryOutcome[]> {
    const body =
      this.config.maxBatchSize === 1 && items.length === 1
        ? items[0].payload
        : `[${items.map((i) => i.payload).join(',')}]`;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-sluice-destination': items[0].destinationId,
      ...this.config.headers,
    };
    if (items.length === 1) headers['x-sluice-message-id'] = items[0].messageId;
    let outcome: DeliveryOutcome;
    try {
      const res = await this.send(headers, body);
      outcome = classifyStatus(res.status, res.retryAfter);
      if (outcome.kind !== 'ok' && res.excerpt) outcome.error = `${outcome.error}: ${res.excerpt}`;
    } catch (err) {
      const e = err as Error & { code?: string };
      outcome = { kind: 'retry', error: `${e.code ?? e.name}: ${e.message}` };
    }
    return items.map(() => outcome);
  }

  /**
   * One request through undici's dispatch API rather than `request()`: no
   * response stream is built for the common empty 2xx answer, which is a
   * sixth of the per-request cost at one event per request.
   */
  private send(headers: Record<string, string>, body: string): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      let status = 0;
      let retryAfter: string | undefined;
      const excerpt: Buffer[] = [];
      let excerptBytes = 0;
      this.pool.dispatch(
        { path: this.path, method: this.config.method, headers, body },
        {
          onConnect: () => undefined,
          onHeaders: (statusCode: number, rawHeaders: Buffer[]) => {
            status = statusCode;
            for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
              if (rawHeaders[i].toString('latin1').toLowerCase() === 'retry-after') {
                retryAfter = rawHeaders[i + 1].toString('latin1');
              }
            }
            return true;
          },
          onData: (chunk: Buffer) => {
            if (status >= 300 && excerptBytes < EXCERPT_BYTES) {
              excerpt.push(chunk);
              excerptBytes += chunk.length;
            }
            return true;
          },
          onComplete: () =>
            resolve({
              status,
              retryAfter,
              excerpt: Buffer.concat(excerpt).toString('utf8').slice(0, EXCERPT_BYTES),
            }),
          onError: reject,
        },
      );
    });
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
