import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { collect } from '../core/collect';
import { isJsonObject, type SegmentEvent } from '../core/event';
import { chunk } from '../core/http';
import type { HttpDestinationDefinition, HttpRequest } from '../core/types';

export const webhookConfigSchema = z
  .object({
    url: z.string().url(),
    method: z.enum(['POST', 'PUT', 'PATCH', 'GET']).default('POST'),
    headers: z.record(z.string()).default({}),
    /** When set, every request carries `signatureHeader: sha256=<hex HMAC-SHA256 of the body>` (GET: of the query string). */
    secret: z.string().min(1).optional(),
    signatureHeader: z.string().min(1).default('x-sluice-signature'),
    /** 1 sends one event per request (the event as the body); more sends `{"batch": [...]}`. */
    batchSize: z.number().int().min(1).max(1000).default(1),
  })
  .refine((c) => c.method !== 'GET' || c.batchSize === 1, {
    message: 'GET sends one event per request (batchSize must be 1)',
    path: ['batchSize'],
  });
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;

/** `sha256=<hex>` of the payload under the secret; receivers compare it in constant time. */
export function webhookSignature(secret: string, payload: string): string {
  return `sha256=${createHmac('sha256', secret).update(payload, 'utf8').digest('hex')}`;
}

/** GET: top-level scalar fields and scalar properties/traits as query parameters. */
function queryFor(ev: SegmentEvent): string {
  const params = new URLSearchParams();
  const flat: Record<string, unknown> = { ...ev };
  for (const [k, v] of Object.entries(flat)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') params.set(k, String(v));
  }
  const extra =
    ev.type === 'identify' || ev.type === 'group' ? ev.traits : 'properties' in ev ? ev.properties : undefined;
  if (isJsonObject(extra)) {
    for (const [k, v] of Object.entries(extra)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') params.set(k, String(v));
    }
  }
  return params.toString();
}

function sign(config: WebhookConfig, headers: Record<string, string>, payload: string): Record<string, string> {
  return config.secret
    ? { ...headers, [config.signatureHeader.toLowerCase()]: webhookSignature(config.secret, payload) }
    : headers;
}

export const webhook: HttpDestinationDefinition<WebhookConfig> = {
  transport: 'http',
  type: 'webhook',
  displayName: 'Webhook',
  configSchema: webhookConfigSchema,
  maxBatchSize: (c) => c.batchSize,
  transform(events, config) {
    // Every call type is forwarded as is.
    const { items, skipped, rejected } = collect(events, (ev) => ({ ok: ev }));
    const base: Record<string, string> = {};
    for (const [k, v] of Object.entries(config.headers)) base[k.toLowerCase()] = v;

    const deliveries = chunk(items, config.batchSize).map((group) => {
      let request: HttpRequest;
      if (config.method === 'GET') {
        const query = queryFor(group[0]!.item);
        const url = `${config.url}${config.url.includes('?') ? '&' : '?'}${query}`;
        request = { method: 'GET', url, headers: sign(config, base, url.slice(url.indexOf('?') + 1)) };
      } else {
        const body = JSON.stringify(config.batchSize === 1 ? group[0]!.item : { batch: group.map((g) => g.item) });
        request = {
          method: config.method,
          url: config.url,
          headers: sign(config, { 'content-type': 'application/json', ...base }, body),
          body,
        };
      }
      return { messageIds: group.map((g) => g.messageId), payload: request };
    });
    return { deliveries, skipped, rejected };
  },
};
