/**
 * A Segment-spec event as the pipeline carries it (RudderStack's format is
 * the same). Only the fields processing reads are typed; everything else is
 * carried as is.
 */
export interface SluiceEvent {
  type: string;
  messageId?: string;
  anonymousId?: string | null;
  userId?: string | null;
  /** Track event name. */
  event?: string;
  /** Page/screen name. */
  name?: string;
  previousId?: string | null;
  groupId?: string | null;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context?: Record<string, unknown>;
  integrations?: Record<string, unknown>;
  timestamp?: string;
  originalTimestamp?: string;
  sentAt?: string;
  receivedAt?: string;
  [key: string]: unknown;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A non-empty string id, or undefined (SDKs send null, "" and numbers). */
export function idOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** The name filters and tracking plans match on: `event` of track, `name` of page/screen. */
export function eventName(event: SluiceEvent): string | undefined {
  if (event.type === 'track') return typeof event.event === 'string' ? event.event : undefined;
  if (event.type === 'page' || event.type === 'screen') return typeof event.name === 'string' ? event.name : undefined;
  return undefined;
}

/** Identify traits: top-level `traits` (Segment) or `context.traits` (older RudderStack SDKs). */
export function identifyTraits(event: SluiceEvent): Record<string, unknown> {
  if (isRecord(event.traits)) return event.traits;
  const ctx = event.context;
  if (isRecord(ctx) && isRecord(ctx.traits)) return ctx.traits;
  return {};
}
