/**
 * The Segment-spec event as destinations see it: already processed (deduped,
 * consented, transformed). Free-form parts are JSON objects.
 *
 * This is the subset of the event model that destinations read; the shared
 * event model lib can replace it as long as it stays assignable.
 */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type EventType = 'track' | 'identify' | 'page' | 'screen' | 'group' | 'alias';

interface EventBase {
  messageId: string;
  userId?: string | null;
  anonymousId?: string | null;
  /** ISO-8601; when the event happened (skew-corrected by the gateway). */
  timestamp?: string;
  originalTimestamp?: string;
  sentAt?: string;
  receivedAt?: string;
  context?: JsonObject;
  integrations?: JsonObject;
}

export interface TrackEvent extends EventBase {
  type: 'track';
  event: string;
  properties?: JsonObject;
}
export interface IdentifyEvent extends EventBase {
  type: 'identify';
  traits?: JsonObject;
}
export interface PageEvent extends EventBase {
  type: 'page';
  name?: string;
  category?: string;
  properties?: JsonObject;
}
export interface ScreenEvent extends EventBase {
  type: 'screen';
  name?: string;
  properties?: JsonObject;
}
export interface GroupEvent extends EventBase {
  type: 'group';
  groupId: string;
  traits?: JsonObject;
}
export interface AliasEvent extends EventBase {
  type: 'alias';
  previousId: string;
}

export type SegmentEvent = TrackEvent | IdentifyEvent | PageEvent | ScreenEvent | GroupEvent | AliasEvent;

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Event time in epoch milliseconds: timestamp, else originalTimestamp, else receivedAt, else 0. */
export function eventTimeMs(ev: SegmentEvent): number {
  for (const t of [ev.timestamp, ev.originalTimestamp, ev.receivedAt]) {
    if (t) {
      const ms = Date.parse(t);
      if (Number.isFinite(ms)) return ms;
    }
  }
  return 0;
}

export function eventTimeIso(ev: SegmentEvent): string {
  return new Date(eventTimeMs(ev)).toISOString();
}

/** identify/group traits, else `context.traits` (Segment puts user traits there on other calls). */
export function traitsOf(ev: SegmentEvent): JsonObject {
  if ((ev.type === 'identify' || ev.type === 'group') && ev.traits) return ev.traits;
  const ctx = ev.context?.traits;
  return isJsonObject(ctx) ? ctx : {};
}

/** User traits carried in context (for calls other than identify). */
export function contextTraits(ev: SegmentEvent): JsonObject {
  const ctx = ev.context?.traits;
  return isJsonObject(ctx) ? ctx : {};
}

export function propertiesOf(ev: SegmentEvent): JsonObject {
  if (ev.type === 'track' || ev.type === 'page' || ev.type === 'screen') return ev.properties ?? {};
  return {};
}

export function str(v: JsonValue | undefined): string | undefined {
  if (typeof v === 'string') return v.length > 0 ? v : undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

export function num(v: JsonValue | undefined): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** A value at a dotted path inside a JSON object. */
export function at(obj: JsonObject | undefined, path: string): JsonValue | undefined {
  let cur: JsonValue | undefined = obj;
  for (const part of path.split('.')) {
    if (!isJsonObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** userId when set, else undefined. Empty strings count as absent. */
export function userIdOf(ev: SegmentEvent): string | undefined {
  return ev.userId ? ev.userId : undefined;
}
export function anonymousIdOf(ev: SegmentEvent): string | undefined {
  return ev.anonymousId ? ev.anonymousId : undefined;
}

/**
 * Whether an event's `integrations` object lets it reach the destination with
 * this display name: `All` defaults to true; `"Name": false` excludes; an
 * object or true includes.
 */
export function isEnabledFor(ev: SegmentEvent, displayName: string): boolean {
  const integrations = ev.integrations;
  if (!integrations) return true;
  const own = integrations[displayName];
  if (own !== undefined) return own !== false;
  const all = integrations.All;
  return all === undefined ? true : all !== false;
}

/** "Order Completed" → "order_completed"; "signUp" → "sign_up". */
export function snakeCase(s: string): string {
  return s
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}
