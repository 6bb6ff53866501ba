import { randomUUID } from 'node:crypto';
import type { AcceptedEvent, EventType, JsonObject, JsonValue } from '@sluice/events';
import { isEventType } from '@sluice/events';

/** A request the gateway turns away: the HTTP status and a message naming the problem. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Seconds for Retry-After (503, 429). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** The kind of call a route takes: one event of a fixed type, or a batch. */
export type RouteKind = { kind: 'single'; type: EventType } | { kind: 'batch' };

/** What the request tells about every event in it. */
export interface RequestMeta {
  /** Epoch milliseconds when the gateway received the request. */
  receivedAt: number;
  /** The client's address, for `context.ip` when the event has none. */
  ip: string | null;
}

export interface ParsedRequest {
  events: AcceptedEvent[];
  /** `writeKey` found in the body (browser SDKs put it there), if any. */
  bodyWriteKey: string | undefined;
}

const OBJECT_FIELDS = ['properties', 'traits', 'context', 'integrations'] as const;
const TIME_FIELDS = ['originalTimestamp', 'timestamp', 'sentAt'] as const;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Date.parse for ISO strings, or epoch millis; NaN when neither. */
function parseTime(v: JsonValue | undefined): number {
  if (typeof v === 'string') return Date.parse(v);
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return NaN;
}

function idValue(v: JsonValue | undefined): string | null {
  if (typeof v === 'string') return v.length > 0 ? v : null;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/**
 * `timestamp` as Segment and RudderStack compute it: the client's event time
 * shifted by the client's clock skew (receivedAt - sentAt) when sentAt is
 * known; else the client's time as given; else receivedAt.
 */
export function correctedTimestamp(receivedAt: number, sentAt: number, original: number): number {
  if (Number.isFinite(original)) {
    return Number.isFinite(sentAt) ? receivedAt - (sentAt - original) : original;
  }
  return receivedAt;
}

/**
 * Checks one call and stamps what the server adds (messageId, receivedAt,
 * timestamp, sentAt, context.ip). `where` prefixes messages: "" for a single
 * call, "batch[3]: " for an item. Mutates and returns `raw` (it is the
 * request's own parse).
 */
export function acceptEvent(
  raw: unknown,
  where: string,
  fixedType: EventType | undefined,
  batchSentAt: JsonValue | undefined,
  meta: RequestMeta,
): AcceptedEvent {
  if (!isObject(raw)) throw new RequestError(400, `${where}event must be a JSON object`);
  const ev = raw as JsonObject;
  let type: EventType;
  if (fixedType) {
    type = fixedType;
  } else {
    const t = ev.type;
    if (t === undefined || t === null || t === '') throw new RequestError(400, `${where}missing "type"`);
    if (!isEventType(t)) {
      throw new RequestError(
        400,
        `${where}unknown type ${JSON.stringify(t)} (expected track, identify, page, screen, group or alias)`,
      );
    }
    type = t;
  }
  ev.type = type;

  const userId = idValue(ev.userId);
  const anonymousId = idValue(ev.anonymousId);
  if (userId === null && anonymousId === null) {
    throw new RequestError(400, `${where}neither anonymousId nor userId is set`);
  }
  if (ev.userId !== undefined) ev.userId = userId;
  if (ev.anonymousId !== undefined) ev.anonymousId = anonymousId;

  if (type === 'track' && (typeof ev.event !== 'string' || ev.event.length === 0)) {
    throw new RequestError(400, `${where}track call without "event" (the event name)`);
  }
  if (type === 'group' && idValue(ev.groupId) === null) {
    throw new RequestError(400, `${where}group call without "groupId"`);
  }
  if (type === 'alias' && idValue(ev.previousId) === null) {
    throw new RequestError(400, `${where}alias call without "previousId"`);
  }
  for (const f of ['groupId', 'previousId'] as const) {
    if (ev[f] !== undefined && ev[f] !== null) ev[f] = idValue(ev[f]);
  }
  for (const f of ['event', 'name'] as const) {
    const v = ev[f];
    if (v !== undefined && v !== null && typeof v !== 'string') {
      throw new RequestError(400, `${where}"${f}" must be a string`);
    }
  }
  for (const f of OBJECT_FIELDS) {
    const v = ev[f];
    if (v !== undefined && v !== null && !isObject(v))
      throw new RequestError(400, `${where}"${f}" must be a JSON object`);
  }
  for (const f of TIME_FIELDS) {
    const v = ev[f];
    if (v !== undefined && v !== null && !Number.isFinite(parseTime(v))) {
      throw new RequestError(400, `${where}"${f}" is not a valid ISO-8601 date: ${JSON.stringify(v).slice(0, 64)}`);
    }
  }

  // A credential, not part of the event.
  delete ev.writeKey;

  const messageId = idValue(ev.messageId);
  ev.messageId = messageId ?? randomUUID();

  const sentAtValue = ev.sentAt ?? batchSentAt ?? null;
  const sentAt = parseTime(sentAtValue ?? undefined);
  const originalValue = ev.originalTimestamp ?? ev.timestamp ?? null;
  const original = parseTime(originalValue ?? undefined);
  if (originalValue !== null) ev.originalTimestamp = normalizeTime(originalValue, original);
  if (Number.isFinite(sentAt)) ev.sentAt = normalizeTime(sentAtValue as JsonValue, sentAt);
  else delete ev.sentAt;
  ev.receivedAt = new Date(meta.receivedAt).toISOString();
  ev.timestamp = new Date(correctedTimestamp(meta.receivedAt, sentAt, original)).toISOString();

  if (meta.ip) {
    if (!isObject(ev.context)) ev.context = {};
    const ctx = ev.context as JsonObject;
    if (ctx.ip === undefined || ctx.ip === null || ctx.ip === '') ctx.ip = meta.ip;
  }
  return ev as AcceptedEvent;
}

/** Times travel as ISO strings: keep a client's string, turn epoch millis into one. */
function normalizeTime(value: JsonValue, ms: number): string {
  return typeof value === 'string' ? value : new Date(ms).toISOString();
}

/**
 * Turns a request body (already JSON-parsed) into accepted events, or throws a
 * RequestError naming the problem. A batch is all or nothing: one bad item
 * rejects the request, and the message names the item by index.
 */
export function parsePayload(
  body: unknown,
  route: RouteKind,
  meta: RequestMeta,
  maxBatchEvents: number,
): ParsedRequest {
  if (!isObject(body)) throw new RequestError(400, 'request body must be a JSON object');
  const bodyWriteKey = typeof body.writeKey === 'string' && body.writeKey !== '' ? body.writeKey : undefined;
  if (route.kind === 'single') {
    return { events: [acceptEvent(body, '', route.type, undefined, meta)], bodyWriteKey };
  }
  const batch = body.batch;
  if (batch === undefined) throw new RequestError(400, 'missing "batch" (an array of events)');
  if (!Array.isArray(batch)) throw new RequestError(400, '"batch" must be an array of events');
  if (batch.length === 0) throw new RequestError(400, '"batch" is empty');
  if (batch.length > maxBatchEvents) {
    throw new RequestError(
      413,
      `"batch" has ${batch.length} events; at most ${maxBatchEvents} are accepted per request`,
    );
  }
  const sentAt = body.sentAt;
  if (sentAt !== undefined && sentAt !== null && !Number.isFinite(parseTime(sentAt))) {
    throw new RequestError(400, `"sentAt" is not a valid ISO-8601 date: ${JSON.stringify(sentAt).slice(0, 64)}`);
  }
  const events = batch.map((item, i) => acceptEvent(item, `batch[${i}]: `, undefined, sentAt ?? undefined, meta));
  return { events, bodyWriteKey };
}
