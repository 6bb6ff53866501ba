import { acceptEvent, RequestError } from '@sluice/gateway';
import type { AcceptedEvent, JsonValue } from '@sluice/events';

/** Why a record could not become an event (the dead letter's errorClass). */
export type RejectClass = 'InvalidJson' | 'InvalidEvent' | 'UndecodableAvro';

export type Converted = { ok: true; event: AcceptedEvent } | { ok: false; errorClass: RejectClass; reason: string };

/** Where a record came from: names a messageId that is the same every time the record is read. */
export interface RecordOrigin {
  sourceId: string;
  topic: string;
  partition: number;
  offset: string;
  /** Epoch ms the source read the record (becomes `receivedAt`). */
  receivedAt: number;
}

const OBJECT_FIELDS = ['properties', 'traits', 'context', 'integrations'] as const;
const TIME_FIELDS = ['originalTimestamp', 'timestamp', 'sentAt'] as const;

/** A stable messageId for a record without one, so a re-read after a crash yields the same event. */
export function originMessageId(o: RecordOrigin): string {
  return `kafka-${o.sourceId}-${o.topic}-${o.partition}-${o.offset}`;
}

function toJson(v: unknown): JsonValue | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x) => toJson(x) ?? null);
  if (typeof v === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const j = toJson(x);
      if (j !== undefined) out[k] = j;
    }
    return out;
  }
  return undefined;
}

/**
 * An Avro record (decoded) as a Segment-spec event: nullable unions come
 * unwrapped from the Confluent client; `properties`/`traits`/`context`/
 * `integrations` given as JSON text (as in Sluice's own EventEnvelope) are
 * parsed; epoch-millisecond times become ISO-8601; Sluice's `extras` JSON
 * is merged back.
 */
export function avroRecordToEvent(record: unknown): Record<string, JsonValue> | string {
  const json = toJson(record);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return 'Avro record is not a record';
  const ev: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(json)) if (v !== null) ev[k] = v;
  if (typeof ev.extras === 'string') {
    try {
      const extras = JSON.parse(ev.extras) as unknown;
      delete ev.extras;
      if (extras && typeof extras === 'object' && !Array.isArray(extras)) {
        for (const [k, v] of Object.entries(extras as Record<string, JsonValue>)) if (!(k in ev)) ev[k] = v;
      }
    } catch {
      return 'field "extras" is not JSON text';
    }
  }
  for (const f of OBJECT_FIELDS) {
    const v = ev[f];
    if (typeof v === 'string') {
      try {
        ev[f] = JSON.parse(v) as JsonValue;
      } catch {
        return `field "${f}" is a string but not JSON text`;
      }
    }
  }
  for (const f of [...TIME_FIELDS, 'receivedAt'] as const) {
    const v = ev[f];
    if (typeof v === 'number') ev[f] = new Date(v).toISOString();
  }
  // Sluice's own envelopes carry these; the source stamps them anew.
  delete ev.receivedAt;
  delete ev.sourceId;
  delete ev.requestIp;
  return ev;
}

/** Checks one event as the gateway does and stamps messageId, receivedAt and timestamp. */
export function acceptRecordEvent(raw: unknown, origin: RecordOrigin): Converted {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const ev = raw as Record<string, unknown>;
    if (ev.messageId === undefined || ev.messageId === null || ev.messageId === '')
      ev.messageId = originMessageId(origin);
  }
  try {
    const event = acceptEvent(raw, '', undefined, undefined, { receivedAt: origin.receivedAt, ip: null });
    return { ok: true, event };
  } catch (err) {
    if (err instanceof RequestError) return { ok: false, errorClass: 'InvalidEvent', reason: err.message };
    throw err;
  }
}

/** A JSON record's value → an accepted event, or why not. */
export function convertJson(value: Buffer | null, origin: RecordOrigin): Converted {
  if (value === null) return { ok: false, errorClass: 'InvalidJson', reason: 'record has no value (tombstone)' };
  let raw: unknown;
  try {
    raw = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, errorClass: 'InvalidJson', reason: `value is not JSON: ${(err as Error).message}` };
  }
  return acceptRecordEvent(raw, origin);
}
