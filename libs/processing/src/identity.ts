import { idOf, SluiceEvent } from './event';

/** Identifier kinds, named as in the warehouse's identity merge-rule tables. */
export type IdentifierType = 'anonymous_id' | 'user_id';

/** Two identifiers seen together: the input of identity stitching (`identity.edges`). */
export interface IdentityEdge {
  leftType: IdentifierType;
  leftValue: string;
  rightType: IdentifierType;
  rightValue: string;
  messageId: string;
  sourceId: string;
  /** ISO-8601: the event's timestamp, else its receivedAt, else the processing time. */
  observedAt: string;
}

function observedAt(event: SluiceEvent, nowMs: number): string {
  for (const v of [event.timestamp, event.originalTimestamp, event.receivedAt]) {
    if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return new Date(Date.parse(v)).toISOString();
  }
  return new Date(nowMs).toISOString();
}

/**
 * identify with an anonymousId and a userId links the two; alias links the
 * previousId (a former user id) to the userId. Other events, and identifies
 * or aliases missing one side or linking an id to itself, give no edge.
 */
export function identityEdges(event: SluiceEvent, sourceId: string, nowMs: number = Date.now()): IdentityEdge[] {
  const userId = idOf(event.userId);
  if (userId === undefined) return [];
  const messageId = idOf(event.messageId) ?? '';
  if (event.type === 'identify') {
    const anonymousId = idOf(event.anonymousId);
    if (anonymousId === undefined) return [];
    return [
      {
        leftType: 'anonymous_id',
        leftValue: anonymousId,
        rightType: 'user_id',
        rightValue: userId,
        messageId,
        sourceId,
        observedAt: observedAt(event, nowMs),
      },
    ];
  }
  if (event.type === 'alias') {
    const previousId = idOf(event.previousId);
    if (previousId === undefined || previousId === userId) return [];
    return [
      {
        leftType: 'user_id',
        leftValue: previousId,
        rightType: 'user_id',
        rightValue: userId,
        messageId,
        sourceId,
        observedAt: observedAt(event, nowMs),
      },
    ];
  }
  return [];
}
