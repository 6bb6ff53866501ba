import type { EventType, JsonObject, JsonValue, SegmentEvent } from './model';
import { isEventType } from './model';

/** The Avro record of schemas/avro/event-envelope.avsc, field for field. */
export interface EventEnvelope {
  messageId: string;
  type: string;
  sourceId: string;
  anonymousId: string | null;
  userId: string | null;
  event: string | null;
  name: string | null;
  groupId: string | null;
  previousId: string | null;
  originalTimestamp: number | null;
  sentAt: number | null;
  receivedAt: number;
  timestamp: number;
  requestIp: string | null;
  properties: string | null;
  traits: string | null;
  context: string | null;
  integrations: string | null;
  extras: string | null;
}

const TYPED_FIELDS = new Set([
  'type',
  'messageId',
  'anonymousId',
  'userId',
  'event',
  'name',
  'groupId',
  'previousId',
  'properties',
  'traits',
  'context',
  'integrations',
  'originalTimestamp',
  'sentAt',
  'receivedAt',
  'timestamp',
]);

function str(v: JsonValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function obj(v: JsonValue | undefined): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

function millis(v: JsonValue | undefined): number | null {
  if (typeof v !== 'string' && typeof v !== 'number') return null;
  const t = typeof v === 'number' ? v : Date.parse(v);
  return Number.isFinite(t) ? t : null;
}

// Events of one request or batch share their timestamps: formatting the same instant again is
// a measurable share of decoding (see docs/benchmarks.md), so the last few are remembered.
const isoCache = new Map<number, string>();

function iso(ms: number | null): string | null {
  if (ms === null) return null;
  let text = isoCache.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString();
    if (isoCache.size >= 64) isoCache.clear();
    isoCache.set(ms, text);
  }
  return text;
}

export interface EnvelopeMeta {
  sourceId: string;
  requestIp?: string | null;
}

/**
 * The event as its Avro record. `receivedAt` and `timestamp` must already be
 * set (the gateway or source stamps them).
 */
export function toEnvelope(event: SegmentEvent, meta: EnvelopeMeta): EventEnvelope {
  const receivedAt = millis(event.receivedAt);
  const timestamp = millis(event.timestamp);
  if (receivedAt === null || timestamp === null) {
    throw new Error(`event ${event.messageId}: receivedAt and timestamp must be set before encoding`);
  }
  const extras: JsonObject = {};
  let hasExtras = false;
  for (const [k, v] of Object.entries(event)) {
    if (!TYPED_FIELDS.has(k) && v !== undefined) {
      extras[k] = v;
      hasExtras = true;
    }
  }
  return {
    messageId: event.messageId,
    type: event.type,
    sourceId: meta.sourceId,
    anonymousId: str(event.anonymousId),
    userId: str(event.userId),
    event: str(event.event),
    name: str(event.name),
    groupId: str(event.groupId),
    previousId: str(event.previousId),
    originalTimestamp: millis(event.originalTimestamp),
    sentAt: millis(event.sentAt),
    receivedAt,
    timestamp,
    requestIp: meta.requestIp ?? null,
    properties: obj(event.properties),
    traits: obj(event.traits),
    context: obj(event.context),
    integrations: obj(event.integrations),
    extras: hasExtras ? JSON.stringify(extras) : null,
  };
}

function parseObject(text: string | null): JsonObject | undefined {
  return text === null ? undefined : (JSON.parse(text) as JsonObject);
}

export interface FromEnvelopeOptions {
  /**
   * Parse `properties`, `traits` and `context` (default true). Without them the event is only
   * fit for decisions that never read those (see fanOutReadsFreeFormFields in @sluice/processing).
   */
  freeForm?: boolean;
}

/** The Segment-spec event back from its Avro record. */
export function fromEnvelope(
  env: EventEnvelope,
  opts: FromEnvelopeOptions = {},
): SegmentEvent & { receivedAt: string; timestamp: string } {
  const type: EventType = isEventType(env.type) ? env.type : 'track';
  const out: SegmentEvent & { receivedAt: string; timestamp: string } = {
    ...(parseObject(env.extras) ?? {}),
    type,
    messageId: env.messageId,
    receivedAt: iso(env.receivedAt) as string,
    timestamp: iso(env.timestamp) as string,
  };
  if (env.anonymousId !== null) out.anonymousId = env.anonymousId;
  if (env.userId !== null) out.userId = env.userId;
  if (env.event !== null) out.event = env.event;
  if (env.name !== null) out.name = env.name;
  if (env.groupId !== null) out.groupId = env.groupId;
  if (env.previousId !== null) out.previousId = env.previousId;
  const originalTimestamp = iso(env.originalTimestamp);
  if (originalTimestamp !== null) out.originalTimestamp = originalTimestamp;
  const sentAt = iso(env.sentAt);
  if (sentAt !== null) out.sentAt = sentAt;
  if (opts.freeForm !== false) {
    const properties = parseObject(env.properties);
    if (properties) out.properties = properties;
    const traits = parseObject(env.traits);
    if (traits) out.traits = traits;
    const context = parseObject(env.context);
    if (context) out.context = context;
  }
  const integrations = parseObject(env.integrations);
  if (integrations) out.integrations = integrations;
  return out;
}

/**
 * `JSON.stringify(fromEnvelope(env))`, up to key order, without parsing and re-serialising the
 * free-form objects: they are already JSON text in the envelope.
 */
export function envelopeJson(env: EventEnvelope): string {
  // Field by field rather than over lists of pairs: this runs once per delivered event, and the
  // pairs were most of what it allocated.
  const type: EventType = isEventType(env.type) ? env.type : 'track';
  let out = '{';
  if (env.extras !== null && env.extras.length > 2) out += `${env.extras.slice(1, -1)},`;
  out += `"type":"${type}","messageId":${JSON.stringify(env.messageId)}`;
  out += `,"receivedAt":"${iso(env.receivedAt)}","timestamp":"${iso(env.timestamp)}"`;
  if (env.anonymousId !== null) out += `,"anonymousId":${JSON.stringify(env.anonymousId)}`;
  if (env.userId !== null) out += `,"userId":${JSON.stringify(env.userId)}`;
  if (env.event !== null) out += `,"event":${JSON.stringify(env.event)}`;
  if (env.name !== null) out += `,"name":${JSON.stringify(env.name)}`;
  if (env.groupId !== null) out += `,"groupId":${JSON.stringify(env.groupId)}`;
  if (env.previousId !== null) out += `,"previousId":${JSON.stringify(env.previousId)}`;
  if (env.originalTimestamp !== null) out += `,"originalTimestamp":"${iso(env.originalTimestamp)}"`;
  if (env.sentAt !== null) out += `,"sentAt":"${iso(env.sentAt)}"`;
  if (env.properties !== null) out += `,"properties":${env.properties}`;
  if (env.traits !== null) out += `,"traits":${env.traits}`;
  if (env.context !== null) out += `,"context":${env.context}`;
  if (env.integrations !== null) out += `,"integrations":${env.integrations}`;
  return `${out}}`;
}
