import type { SegmentEvent } from './event';
import type { TransformResult } from './types';

export type Mapped<T> = { ok: T } | { skip: string } | { reject: string };

export interface Collected<T> {
  items: { messageId: string; event: SegmentEvent; item: T }[];
  skipped: TransformResult<never>['skipped'];
  rejected: TransformResult<never>['rejected'];
}

/** Maps each event, keeping event order, and sorts out the skipped and rejected ones. */
export function collect<T>(events: readonly SegmentEvent[], map: (ev: SegmentEvent) => Mapped<T>): Collected<T> {
  const out: Collected<T> = { items: [], skipped: [], rejected: [] };
  for (const ev of events) {
    let m: Mapped<T>;
    try {
      m = map(ev);
    } catch (err) {
      m = { reject: `transform failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    if ('ok' in m) out.items.push({ messageId: ev.messageId, event: ev, item: m.ok });
    else if ('skip' in m) out.skipped.push({ messageId: ev.messageId, reason: m.skip });
    else out.rejected.push({ messageId: ev.messageId, reason: m.reject });
  }
  return out;
}

export function unsupported(ev: { type: string }, destination: string): { skip: string } {
  return { skip: `${destination} does not support ${ev.type} calls` };
}

/**
 * Groups consecutive items with the same key into runs of at most `max`, so a
 * destination with several endpoints sends events in the order they came.
 */
export function runs<T>(items: readonly T[], keyOf: (item: T) => string, max: number): { key: string; items: T[] }[] {
  const out: { key: string; items: T[] }[] = [];
  for (const item of items) {
    const key = keyOf(item);
    const last = out[out.length - 1];
    if (last && last.key === key && last.items.length < max) last.items.push(item);
    else out.push({ key, items: [item] });
  }
  return out;
}
