import { createHash } from 'node:crypto';
import { z } from 'zod';
import { collect, unsupported, type Mapped } from '../core/collect';
import {
  at,
  contextTraits,
  eventTimeIso,
  isJsonObject,
  snakeCase,
  str,
  type JsonObject,
  type JsonValue,
  type SegmentEvent,
} from '../core/event';
import { defaultClassify, isRecord, joinUrl, jsonRequest, parseJson, parseRetryAfter } from '../core/http';
import type { Delivery, DeliveryVerdict, EventVerdict, HttpDestinationDefinition, HttpRequest } from '../core/types';

export const hubspotConfigSchema = z.object({
  /** Private app access token (Bearer). */
  accessToken: z.string().min(1),
  baseUrl: z.string().url().default('https://api.hubapi.com'),
  /** Segment event name → the custom event's fully qualified name (pe<portalId>_<name>). */
  eventNames: z.record(z.string().min(1)).default({}),
  /** When set, unmapped track events go to `pe<portalId>_<snake_case name>`; otherwise they are skipped. */
  portalId: z.union([z.string().min(1), z.number().int()]).optional(),
  /** Trait → HubSpot contact property, added to (and overriding) the built-in map. */
  propertyMap: z.record(z.string().min(1)).default({}),
  /** Batch upsert takes at most 100 inputs. */
  batchSize: z.number().int().min(1).max(100).default(100),
});
export type HubSpotConfig = z.infer<typeof hubspotConfigSchema>;

const DEFAULT_PROPERTY_MAP: Record<string, string> = {
  firstName: 'firstname',
  first_name: 'firstname',
  lastName: 'lastname',
  last_name: 'lastname',
  phone: 'phone',
  company: 'company',
  website: 'website',
  title: 'jobtitle',
  'address.street': 'address',
  'address.city': 'city',
  'address.state': 'state',
  'address.postalCode': 'zip',
  'address.postal_code': 'zip',
  'address.country': 'country',
};

type PropertyValue = string | number | boolean;

function propertyValue(v: JsonValue): PropertyValue | undefined {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(';');
  return undefined;
}

/** Traits → contact properties: mapped names first, other traits as lower-case internal names. */
export function contactProperties(traits: JsonObject, config: HubSpotConfig): Record<string, PropertyValue> {
  const map = { ...DEFAULT_PROPERTY_MAP, ...config.propertyMap };
  const out: Record<string, PropertyValue> = {};
  const visit = (obj: JsonObject, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (isJsonObject(v)) {
        visit(v, path);
        continue;
      }
      const value = v === null ? '' : propertyValue(v);
      if (value === undefined) continue;
      const name = map[path] ?? snakeCase(path);
      if (name) out[name] = value;
    }
  };
  visit(traits, '');
  return out;
}

interface HubSpotItem {
  kind: 'contact' | 'event';
  key: string;
  input: JsonObject;
}

/** HubSpot's idempotency uuid: the messageId when it is a UUID, else one derived from it. */
export function uuidFor(messageId: string): string {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(messageId)) return messageId.toLowerCase();
  const h = createHash('sha256').update(messageId).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function emailOf(traits: JsonObject): string | undefined {
  const e = str(traits.email);
  return e ? e.trim().toLowerCase() : undefined;
}

export function toHubSpot(ev: SegmentEvent, config: HubSpotConfig): Mapped<HubSpotItem> {
  switch (ev.type) {
    case 'identify': {
      const traits = ev.traits ?? {};
      const email = emailOf(traits) ?? emailOf(contextTraits(ev));
      if (!email) return { skip: 'HubSpot upserts contacts by email; identify has no traits.email' };
      const properties = contactProperties(traits, config);
      properties.email = email;
      return { ok: { kind: 'contact', key: email, input: { idProperty: 'email', id: email, properties } } };
    }
    case 'track': {
      const mapped = config.eventNames[ev.event];
      const eventName =
        mapped ?? (config.portalId !== undefined ? `pe${config.portalId}_${snakeCase(ev.event)}` : undefined);
      if (!eventName)
        return { skip: `no HubSpot custom event is mapped for "${ev.event}" (set eventNames or portalId)` };
      const email = emailOf(contextTraits(ev)) ?? (str(at(ev.properties, 'email')) ?? '').toLowerCase();
      if (!email)
        return { skip: 'HubSpot associates events by email; none in context.traits.email or properties.email' };
      const properties: JsonObject = {};
      for (const [k, v] of Object.entries(ev.properties ?? {})) {
        const value = v === null ? undefined : propertyValue(v);
        if (value !== undefined) properties[snakeCase(k)] = value;
      }
      return {
        ok: {
          kind: 'event',
          key: ev.messageId,
          input: { eventName, email, occurredAt: eventTimeIso(ev), properties, uuid: uuidFor(ev.messageId) },
        },
      };
    }
    default:
      return unsupported(ev, 'HubSpot');
  }
}

type HubSpotDef = HttpDestinationDefinition<HubSpotConfig>;

const HOUR_MS = 3_600_000;

/** Retry delay of a 429: Retry-After, else the rolling window the headers name, else an hour for the daily limit. */
export function hubspotRetryAfterMs(headers: Record<string, string>, body: unknown): number | undefined {
  const fromHeader = parseRetryAfter(headers['retry-after']);
  if (fromHeader !== undefined) return fromHeader;
  const policy = isRecord(body) && typeof body.policyName === 'string' ? body.policyName : '';
  if (policy === 'DAILY' || headers['x-hubspot-ratelimit-daily-remaining'] === '0') return HOUR_MS;
  const interval = Number(headers['x-hubspot-ratelimit-interval-milliseconds']);
  return Number.isFinite(interval) && interval > 0 ? interval : undefined;
}

function inputIds(request: HttpRequest): string[] {
  const body = parseJson(request.body ?? '');
  if (!isRecord(body) || !Array.isArray(body.inputs)) return [];
  return body.inputs.map((i) => (isRecord(i) && typeof i.id === 'string' ? i.id : ''));
}

function stringsIn(v: unknown, out: Set<string>): Set<string> {
  if (typeof v === 'string') out.add(v.toLowerCase());
  else if (Array.isArray(v)) v.forEach((x) => stringsIn(x, out));
  else if (isRecord(v)) Object.values(v).forEach((x) => stringsIn(x, out));
  return out;
}

function classifyMultiStatus(body: unknown, delivery: Delivery<HttpRequest>): DeliveryVerdict {
  const errors = isRecord(body) && Array.isArray(body.errors) ? body.errors : [];
  const ids = inputIds(delivery.payload);
  const events: Record<string, Exclude<EventVerdict, { kind: 'ok' }>> = {};
  for (const err of errors) {
    if (!isRecord(err)) continue;
    const named = stringsIn(err.context, new Set());
    const reason = `HubSpot ${String(err.category ?? 'error')}: ${String(err.message ?? '')}`;
    ids.forEach((id, i) => {
      const messageId = delivery.messageIds[i];
      if (messageId && named.has(id)) events[messageId] = { kind: 'abort', reason };
    });
  }
  if (Object.keys(events).length === 0 && errors.length > 0) {
    for (const id of delivery.messageIds)
      events[id] = { kind: 'abort', reason: `HubSpot 207 with unattributed errors` };
  }
  return Object.keys(events).length > 0 ? { kind: 'partial', events } : { kind: 'ok' };
}

export const hubspot: HubSpotDef = {
  transport: 'http',
  type: 'hubspot',
  displayName: 'HubSpot',
  configSchema: hubspotConfigSchema,
  maxBatchSize: (c) => c.batchSize,
  transform(events, config) {
    const { items, skipped, rejected } = collect(events, (ev) => toHubSpot(ev, config));
    // Runs keep event order across the two endpoints; a repeated email starts a new request
    // (batch upsert refuses duplicate ids), so every input matches one event.
    const deliveries: Delivery<HttpRequest>[] = [];
    let run: typeof items = [];
    let kind: HubSpotItem['kind'] | undefined;
    let keys = new Set<string>();
    const flush = () => {
      if (run.length === 0) return;
      const inputs = run.map((r) => r.item.input);
      const path = kind === 'contact' ? '/crm/v3/objects/contacts/batch/upsert' : '/events/v3/send/batch';
      deliveries.push({
        messageIds: run.map((r) => r.messageId),
        payload: jsonRequest(
          'POST',
          joinUrl(config.baseUrl, path),
          { inputs },
          { authorization: `Bearer ${config.accessToken}` },
        ),
      });
      run = [];
      keys = new Set();
    };
    for (const it of items) {
      if (it.item.kind !== kind || run.length >= config.batchSize || keys.has(it.item.key)) flush();
      kind = it.item.kind;
      keys.add(it.item.key);
      run.push(it);
    }
    flush();
    return { deliveries, skipped, rejected };
  },
  classify(outcome, delivery) {
    if (outcome.kind !== 'response') return defaultClassify(outcome);
    const { status, headers, body } = outcome.response;
    const parsed = parseJson(body);
    if (status === 207) return classifyMultiStatus(parsed, delivery);
    const message = isRecord(parsed) && typeof parsed.message === 'string' ? parsed.message : undefined;
    if (status === 429) {
      const retryAfterMs = hubspotRetryAfterMs(headers, parsed);
      const reason = `HubSpot 429: ${message ?? 'rate limited'}`;
      return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
    }
    const verdict = defaultClassify(outcome);
    if (verdict.kind === 'ok' || !message) return verdict;
    const category = isRecord(parsed) && typeof parsed.category === 'string' ? ` ${parsed.category}` : '';
    return { ...verdict, reason: `HubSpot ${status}${category}: ${message}` };
  },
};
