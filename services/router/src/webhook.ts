import { Pool } from 'undici';
import type { Deliverer, DeliveryItem, DeliveryOutcome } from '@sluice/delivery';
import { z } from '@sluice/config';

/** `config` of a destination of type `webhook`. */
export const webhookConfigSchema = z.object({
  url: z.string().url(),
  method: z.enum(['POST', 'PUT']).default('POST'),
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
      const res = await this.pool.request({ path: this.path, method: this.config.method, headers, body });
      outcome = classifyStatus(res.statusCode, res.headers['retry-after']);
      if (outcome.kind === 'ok') {
        await res.body.dump();
      } else {
        const excerpt = (await res.body.text().catch(() => '')).slice(0, 300);
        if (excerpt) outcome.error = `${outcome.error}: ${excerpt}`;
      }
    } catch (err) {
      const e = err as Error & { code?: string };
      outcome = { kind: 'retry', error: `${e.code ?? e.name}: ${e.message}` };
    }
    return items.map(() => outcome);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
