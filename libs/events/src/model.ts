/** A JSON value as it arrives from SDKs; the free-form parts of an event are these. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const EVENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * A call of the Segment spec (which RudderStack follows) as Sluice carries it
 * between stages. Times are ISO-8601 strings, as on the wire.
 */
export interface SegmentEvent {
  type: EventType;
  messageId: string;
  anonymousId?: string | null;
  userId?: string | null;
  /** track */
  event?: string | null;
  /** page, screen */
  name?: string | null;
  /** group */
  groupId?: string | null;
  /** alias */
  previousId?: string | null;
  properties?: JsonObject | null;
  traits?: JsonObject | null;
  context?: JsonObject | null;
  integrations?: JsonObject | null;
  originalTimestamp?: string | null;
  sentAt?: string | null;
  receivedAt?: string;
  timestamp?: string;
  /** Other top-level fields of the call (channel, category, version, ...), kept as they came. */
  [extra: string]: JsonValue | undefined;
}

/** What the gateway or a Kafka source knows about where an event came from. */
export interface AcceptedEvent extends SegmentEvent {
  receivedAt: string;
  timestamp: string;
}
