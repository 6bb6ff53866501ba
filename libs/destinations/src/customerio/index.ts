import { z } from 'zod';
import { collect, unsupported, type Mapped } from '../core/collect';
import { anonymousIdOf, at, eventTimeMs, str, userIdOf, type JsonObject, type SegmentEvent } from '../core/event';
import { basicAuth, defaultClassify, isRecord, joinUrl, jsonRequest, parseJson } from '../core/http';
import type { HttpDestinationDefinition, HttpRequest } from '../core/types';

export const customerioConfigSchema = z.object({
  siteId: z.string().min(1),
  apiKey: z.string().min(1),
  /** https://track.customer.io, https://track-eu.customer.io (EU), or a stand-in. */
  baseUrl: z.string().url().default('https://track.customer.io'),
  /** Events per transform call; the Track API v1 takes one call per request. */
  batchSize: z.number().int().min(1).max(500).default(50),
});
export type CustomerioConfig = z.infer<typeof customerioConfigSchema>;

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;

function seconds(ev: SegmentEvent): number {
  return Math.floor(eventTimeMs(ev) / 1000);
}

/** created_at must be a unix timestamp in seconds; ISO strings and milliseconds are converted. */
function toUnixSeconds(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v > 1e11 ? Math.floor(v / 1000) : Math.floor(v);
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    if (Number.isFinite(ms)) return Math.floor(ms / 1000);
  }
  return undefined;
}

function eventBody(ev: SegmentEvent, name: string, data: JsonObject, type?: 'page' | 'screen'): JsonObject {
  const body: JsonObject = { name, data, timestamp: seconds(ev) };
  if (type) body.type = type;
  // Customer.io deduplicates by `id` only when it is a ULID.
  if (ULID.test(ev.messageId)) body.id = ev.messageId.toUpperCase();
  return body;
}

function customerPath(id: string): string {
  return `/api/v1/customers/${encodeURIComponent(id)}`;
}

export function toCustomerio(ev: SegmentEvent, config: CustomerioConfig): Mapped<HttpRequest> {
  const userId = userIdOf(ev);
  const anonymousId = anonymousIdOf(ev);
  const auth = { authorization: basicAuth(config.siteId, config.apiKey) };
  const url = (path: string) => joinUrl(config.baseUrl, path);

  const activity = (name: string, data: JsonObject, type?: 'page' | 'screen'): Mapped<HttpRequest> => {
    const body = eventBody(ev, name, data, type);
    if (userId) return { ok: jsonRequest('POST', url(`${customerPath(userId)}/events`), body, auth) };
    if (anonymousId)
      return { ok: jsonRequest('POST', url('/api/v1/events'), { ...body, anonymous_id: anonymousId }, auth) };
    return { reject: 'Customer.io needs a userId or an anonymousId' };
  };

  switch (ev.type) {
    case 'identify': {
      if (!userId) return { skip: 'Customer.io identifies people by userId; anonymous identify is not sent' };
      const attributes: JsonObject = { ...(ev.traits ?? {}) };
      const created = toUnixSeconds(attributes.createdAt ?? attributes.created_at);
      delete attributes.createdAt;
      if (created !== undefined) attributes.created_at = created;
      // Ties earlier anonymous events to this person.
      if (anonymousId) attributes.anonymous_id = anonymousId;
      return { ok: jsonRequest('PUT', url(customerPath(userId)), attributes, auth) };
    }
    case 'track':
      return activity(ev.event, ev.properties ?? {});
    case 'page': {
      const pageUrl = str(ev.properties?.url) ?? str(at(ev.context, 'page.url')) ?? ev.name;
      if (!pageUrl) return { reject: 'Customer.io page events are named by URL: page has no url or name' };
      return activity(pageUrl, ev.properties ?? {}, 'page');
    }
    case 'screen':
      if (!ev.name) return { reject: 'Customer.io screen events need a screen name' };
      return activity(ev.name, ev.properties ?? {}, 'screen');
    case 'alias':
      if (!userId) return { reject: 'alias needs userId' };
      return {
        ok: jsonRequest(
          'POST',
          url('/api/v1/merge_customers'),
          { primary: { id: userId }, secondary: { id: ev.previousId } },
          auth,
        ),
      };
    case 'group':
      return unsupported(ev, 'Customer.io Track API v1');
  }
}

export const customerio: HttpDestinationDefinition<CustomerioConfig> = {
  transport: 'http',
  type: 'customerio',
  displayName: 'Customer.io',
  configSchema: customerioConfigSchema,
  maxBatchSize: (c) => c.batchSize,
  transform(events, config) {
    const { items, skipped, rejected } = collect(events, (ev) => toCustomerio(ev, config));
    return { deliveries: items.map((i) => ({ messageIds: [i.messageId], payload: i.item })), skipped, rejected };
  },
  classify(outcome) {
    const verdict = defaultClassify(outcome);
    if (verdict.kind === 'ok' || outcome.kind !== 'response') return verdict;
    const parsed = parseJson(outcome.response.body);
    const meta = isRecord(parsed) && isRecord(parsed.meta) ? parsed.meta : undefined;
    const detail = meta
      ? typeof meta.error === 'string'
        ? meta.error
        : JSON.stringify(meta.errors ?? meta)
      : undefined;
    return detail ? { ...verdict, reason: `Customer.io ${outcome.response.status}: ${detail}` } : verdict;
  },
};
