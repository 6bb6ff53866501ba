import type { SegmentEvent } from './model';

/**
 * The Kafka key that keeps one person's events in order: anonymousId when
 * present, else userId. SDKs keep one anonymousId across login, so a browser
 * session stays on one partition before and after identify. Events that carry
 * only a userId (server-side calls) are keyed by it.
 */
export function partitionKey(event: Pick<SegmentEvent, 'anonymousId' | 'userId'>): string {
  const anon = event.anonymousId;
  if (typeof anon === 'string' && anon.length > 0) return `a:${anon}`;
  const user = event.userId;
  if (typeof user === 'string' && user.length > 0) return `u:${user}`;
  throw new Error('an event needs an anonymousId or a userId to be partitioned');
}
