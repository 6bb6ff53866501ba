import { z } from 'zod';
import { collect, unsupported, type Mapped } from '../core/collect';
import {
  anonymousIdOf,
  at,
  eventTimeMs,
  num,
  str,
  userIdOf,
  type JsonObject,
  type JsonValue,
  type SegmentEvent,
} from '../core/event';
import { chunk, defaultClassify, isRecord, joinUrl, jsonRequest, parseJson, parseRetryAfter } from '../core/http';
import type { DeliveryVerdict, EventVerdict, HttpDestinationDefinition } from '../core/types';

export const amplitudeConfigSchema = z.object({
  apiKey: z.string().min(1),
  /** `http` = HTTP V2 API (/2/httpapi); `batch` = Batch Event Upload API (/batch), for high volume per user. */
  api: z.enum(['http', 'batch']).default('http'),
  /** https://api2.amplitude.com, or https://api.eu.amplitude.com for EU residency; a stand-in in tests. */
  baseUrl: z.string().url().default('https://api2.amplitude.com'),
  /** Sent as options.min_id_length; Amplitude's default is 5. */
  minIdLength: z.number().int().min(1).optional(),
  /** Amplitude takes up to 2,000 events per request (and 1 MB). */
  batchSize: z.number().int().min(1).max(2000).default(500),
  /** Group type for group calls (`groups: {<groupType>: groupId}`). */
  groupType: z.string().min(1).default('company'),
});
export type AmplitudeConfig = z.infer<typeof amplitudeConfigSchema>;

export interface AmplitudeEvent {
  event_type: string;
  user_id?: string;
  device_id?: string;
  time: number;
  insert_id: string;
  event_properties?: JsonObject;
  user_properties?: JsonObject;
  groups?: Record<string, string>;
  ip?: string;
  platform?: string;
  os_name?: string;
  os_version?: string;
  device_model?: string;
  device_manufacturer?: string;
  app_version?: string;
  language?: string;
  country?: string;
  city?: string;
  region?: string;
  carrier?: string;
  library: string;
  price?: number;
  quantity?: number;
  revenue?: number;
  productId?: string;
  revenueType?: string;
}

/** Context fields Amplitude has columns for. */
function contextFields(ev: SegmentEvent): Partial<AmplitudeEvent> {
  const c = ev.context;
  const out: Partial<AmplitudeEvent> = {};
  const set = <K extends keyof AmplitudeEvent>(k: K, v: JsonValue | undefined) => {
    const s = str(v);
    if (s !== undefined) (out as Record<string, unknown>)[k] = s;
  };
  set('ip', at(c, 'ip'));
  set('os_name', at(c, 'os.name'));
  set('os_version', at(c, 'os.version'));
  set('device_model', at(c, 'device.model'));
  set('device_manufacturer', at(c, 'device.manufacturer'));
  set('app_version', at(c, 'app.version'));
  set('language', at(c, 'locale'));
  set('country', at(c, 'location.country'));
  set('city', at(c, 'location.city'));
  set('region', at(c, 'location.region'));
  set('carrier', at(c, 'network.carrier'));
  const platform = str(at(c, 'device.type'));
  if (platform) out.platform = platform;
  return out;
}

function revenueFields(props: JsonObject): Partial<AmplitudeEvent> {
  const out: Partial<AmplitudeEvent> = {};
  const revenue = num(props.revenue);
  if (revenue === undefined) return out;
  out.revenue = revenue;
  const price = num(props.price);
  const quantity = num(props.quantity);
  if (price !== undefined) out.price = price;
  if (quantity !== undefined) out.quantity = quantity;
  const productId = str(props.productId) ?? str(props.product_id);
  if (productId) out.productId = productId;
  const revenueType = str(props.revenueType) ?? str(props.revenue_type);
  if (revenueType) out.revenueType = revenueType;
  return out;
}

export function toAmplitudeEvent(ev: SegmentEvent, config: AmplitudeConfig): Mapped<AmplitudeEvent> {
  const userId = userIdOf(ev);
  const deviceId = anonymousIdOf(ev) ?? str(at(ev.context, 'device.id'));
  if (!userId && !deviceId)
    return { reject: 'Amplitude needs user_id or device_id: event has neither userId nor anonymousId' };
  const minLen = config.minIdLength ?? 5;
  for (const [name, id] of [
    ['user_id', userId],
    ['device_id', deviceId],
  ] as const) {
    if (id !== undefined && id.length < minLen) {
      return { reject: `${name} "${id}" is shorter than Amplitude's min_id_length ${minLen} (set minIdLength)` };
    }
  }
  const base: AmplitudeEvent = {
    event_type: '',
    ...(userId ? { user_id: userId } : {}),
    ...(deviceId ? { device_id: deviceId } : {}),
    time: eventTimeMs(ev),
    insert_id: ev.messageId,
    library: 'sluice',
    ...contextFields(ev),
  };
  switch (ev.type) {
    case 'track': {
      const props = ev.properties ?? {};
      return { ok: { ...base, event_type: ev.event, event_properties: props, ...revenueFields(props) } };
    }
    case 'identify':
      return { ok: { ...base, event_type: '$identify', user_properties: { $set: ev.traits ?? {} } } };
    case 'page':
    case 'screen': {
      const kind = ev.type === 'page' ? 'Page' : 'Screen';
      const props: JsonObject = { ...(ev.properties ?? {}) };
      if (ev.name) props.name = ev.name;
      if (ev.type === 'page' && ev.category) props.category = ev.category;
      const eventType = ev.name ? `Viewed ${ev.name} ${kind}` : `Loaded a ${kind}`;
      return { ok: { ...base, event_type: eventType, event_properties: props } };
    }
    case 'group':
      return {
        ok: {
          ...base,
          event_type: '$identify',
          groups: { [config.groupType]: ev.groupId },
          user_properties: { $set: { [config.groupType]: ev.groupId } },
        },
      };
    case 'alias':
      return unsupported(ev, 'Amplitude');
  }
}

function indicesIn(v: unknown): number[] {
  // {"time": [3, 17], "event_type": [4]} → [3, 4, 17]
  if (!isRecord(v)) return [];
  const out = new Set<number>();
  for (const list of Object.values(v)) {
    if (Array.isArray(list)) for (const i of list) if (typeof i === 'number') out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

const THROTTLE_BACKOFF_MS = 30_000;

export const amplitude: HttpDestinationDefinition<AmplitudeConfig> = {
  transport: 'http',
  type: 'amplitude',
  displayName: 'Amplitude',
  configSchema: amplitudeConfigSchema,
  maxBatchSize: (c) => c.batchSize,
  transform(events, config) {
    const { items, skipped, rejected } = collect(events, (ev) => toAmplitudeEvent(ev, config));
    const path = config.api === 'http' ? '/2/httpapi' : '/batch';
    const deliveries = chunk(items, config.batchSize).map((group) => ({
      messageIds: group.map((g) => g.messageId),
      payload: jsonRequest('POST', joinUrl(config.baseUrl, path), {
        api_key: config.apiKey,
        events: group.map((g) => g.item),
        ...(config.minIdLength !== undefined ? { options: { min_id_length: config.minIdLength } } : {}),
      }),
    }));
    return { deliveries, skipped, rejected };
  },
  classify(outcome, delivery): DeliveryVerdict {
    if (outcome.kind !== 'response') return defaultClassify(outcome);
    const { status, body, headers } = outcome.response;
    const parsed = parseJson(body);
    const info = isRecord(parsed) ? parsed : {};
    const error = typeof info.error === 'string' ? info.error : `HTTP ${status}`;
    if (status === 400) {
      // Nothing of the request was ingested; events named as invalid abort, the rest go again.
      const bad = new Set([
        ...indicesIn(info.events_with_invalid_fields),
        ...indicesIn(info.events_with_missing_fields),
      ]);
      if (bad.size === 0) {
        const missing = typeof info.missing_field === 'string' ? ` (missing field ${info.missing_field})` : '';
        return { kind: 'abort', reason: `Amplitude 400: ${error}${missing}` };
      }
      const events: Record<string, Exclude<EventVerdict, { kind: 'ok' }>> = {};
      delivery.messageIds.forEach((id, i) => {
        events[id] = bad.has(i)
          ? { kind: 'abort', reason: `Amplitude 400: ${error} (event ${i} has invalid or missing fields)` }
          : { kind: 'retry', reason: 'Amplitude rejected the request for other events in it', retryAfterMs: 0 };
      });
      return { kind: 'partial', events };
    }
    if (status === 413) {
      return { kind: 'abort', reason: 'Amplitude 413: payload too large; lower batchSize' };
    }
    if (status === 429) {
      const throttled = new Set(
        Array.isArray(info.throttled_events)
          ? info.throttled_events.filter((i): i is number => typeof i === 'number')
          : [],
      );
      const retryAfterMs = parseRetryAfter(headers['retry-after']) ?? THROTTLE_BACKOFF_MS;
      if (throttled.size === 0) return { kind: 'retry', reason: `Amplitude 429: ${error}`, retryAfterMs };
      const events: Record<string, Exclude<EventVerdict, { kind: 'ok' }>> = {};
      delivery.messageIds.forEach((id, i) => {
        events[id] = throttled.has(i)
          ? { kind: 'retry', reason: `Amplitude 429: ${error} (user or device throttled)`, retryAfterMs }
          : { kind: 'retry', reason: 'Amplitude rejected the request for throttled events in it', retryAfterMs: 0 };
      });
      return { kind: 'partial', events };
    }
    return defaultClassify(outcome);
  },
};
