import http from 'node:http';
import https from 'node:https';
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
    return retryAfterMs === undefined ? { kind: 'retry', status, error } : { kind: 'retry', status, error, retryAfterMs };
  }
  return { kind: 'abort', status, error };
}

/**
 * A generic webhook: POSTs the event JSON (or an array of events) to a URL.
 * Network errors and timeouts are retried; the response body is not read
 * beyond a short excerpt for the error message.
 */
export class WebhookDeliverer implements Deliverer {
  readonly maxBatchSize: number;
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(private readonly config: WebhookConfig) {
    this.maxBatchSize = config.maxBatchSize;
    this.url = new URL(config.url);
    const Agent = this.url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: config.maxSockets });
  }

  deliver(items: DeliveryItem[]): Promise<DeliveryOutcome[]> {
    const body =
      this.config.maxBatchSize === 1 && items.length === 1 ? items[0].payload : `[${items.map((i) => i.payload).join(',')}]`;
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-sluice-destination': items[0].destinationId,
      ...this.config.headers,
    };
    if (items.length === 1) headers['x-sluice-message-id'] = items[0].messageId;
    const lib = this.url.protocol === 'https:' ? https : http;
    return new Promise<DeliveryOutcome>((resolve) => {
      const req = lib.request(
        this.url,
        { method: this.config.method, headers, agent: this.agent, timeout: this.config.timeoutMs },
        (res) => {
          const status = res.statusCode ?? 0;
          let excerpt = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (excerpt.length < 300) excerpt += chunk;
          });
          res.on('end', () => {
            const outcome = classifyStatus(status, res.headers['retry-after']);
            if (outcome.kind !== 'ok' && excerpt) outcome.error = `${outcome.error}: ${excerpt.slice(0, 300)}`;
            resolve(outcome);
          });
          res.on('error', (err) => resolve({ kind: 'retry', status, error: `response: ${err.message}` }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timeout after ${this.config.timeoutMs} ms`)));
      req.on('error', (err) => resolve({ kind: 'retry', error: `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim() }));
      req.end(body);
    }).then((outcome) => items.map(() => outcome));
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}
