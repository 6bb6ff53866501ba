import type { Deliverer, DeliveryItem, DeliveryOutcome } from '@sluice/delivery';
import type {
  ConfiguredDestination,
  Delivery,
  DeliveryVerdict,
  EventVerdict,
  FetchLike,
  KafkaRecordProducer,
  RedisExecutor,
  SegmentEvent,
} from '@sluice/destinations';

/** What a configured destination needs to send: by transport. */
export interface DestinationRuntime {
  /** HTTP destinations: request timeout and (tests) a fetch. */
  timeoutMs: number;
  fetch?: FetchLike;
  /** Kafka destinations. */
  producer?: KafkaRecordProducer;
  /** Redis destinations. */
  redis?: RedisExecutor;
  /** Events a destination does not take (dropped as delivered). */
  onSkipped?: (n: number, reason: string) => void;
  /** Closes the producer / client given above. */
  close?: () => Promise<void>;
}

const SEGMENT_TYPES = new Set(['track', 'identify', 'page', 'screen', 'group', 'alias']);

/** The payload as a Segment-spec event, or why it is not one. */
export function parseEvent(item: DeliveryItem): SegmentEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(item.payload);
  } catch (err) {
    return `payload is not JSON: ${(err as Error).message}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'payload is not a JSON object';
  const ev = value as Record<string, unknown>;
  if (typeof ev.type !== 'string' || !SEGMENT_TYPES.has(ev.type)) return `unknown event type ${String(ev.type)}`;
  if (typeof ev.messageId !== 'string' || ev.messageId === '') ev.messageId = item.messageId;
  return ev as unknown as SegmentEvent;
}

/** `HTTP 429: ...`, `Amplitude 400: ...` → the status, for the dead letter's lastStatus. */
export function statusOf(reason: string): number | undefined {
  const m = /^[^:]*?\b([1-5]\d\d)\b/.exec(reason);
  return m ? Number(m[1]) : undefined;
}

export function outcomeOf(verdict: EventVerdict): DeliveryOutcome {
  switch (verdict.kind) {
    case 'ok':
      return { kind: 'ok' };
    case 'retry': {
      const status = statusOf(verdict.reason);
      return {
        kind: 'retry',
        error: verdict.reason,
        ...(verdict.retryAfterMs !== undefined ? { retryAfterMs: verdict.retryAfterMs } : {}),
        ...(status !== undefined ? { status } : {}),
      };
    }
    case 'abort': {
      const status = statusOf(verdict.reason);
      return { kind: 'abort', error: verdict.reason, ...(status !== undefined ? { status } : {}) };
    }
  }
}

/** One outcome per messageId of the delivery. */
export function outcomesOfDelivery(
  verdict: DeliveryVerdict,
  messageIds: readonly string[],
): Map<string, DeliveryOutcome> {
  const out = new Map<string, DeliveryOutcome>();
  if (verdict.kind === 'partial') {
    for (const id of messageIds) {
      const v = verdict.events[id];
      out.set(id, v ? outcomeOf(v) : { kind: 'ok' });
    }
  } else {
    const o = outcomeOf(verdict);
    for (const id of messageIds) out.set(id, o);
  }
  return out;
}

/**
 * A `@sluice/destinations` destination as the router's Deliverer: parse the
 * payloads, transform, send each delivery, and map the verdicts onto one
 * outcome per item. Skipped events count as delivered; rejected events and
 * payloads that are not Segment events are aborted (dead-lettered).
 */
export class DestinationDeliverer implements Deliverer {
  readonly maxBatchSize: number;

  constructor(
    private readonly dest: ConfiguredDestination,
    private readonly runtime: DestinationRuntime,
  ) {
    this.maxBatchSize = Math.max(1, dest.maxBatchSize);
    if (dest.transport === 'kafka' && !runtime.producer) throw new Error(`${dest.type}: no Kafka producer given`);
    if (dest.transport === 'redis' && !runtime.redis) throw new Error(`${dest.type}: no Redis executor given`);
  }

  async deliver(items: DeliveryItem[]): Promise<DeliveryOutcome[]> {
    const outcomes: (DeliveryOutcome | undefined)[] = items.map(() => undefined);
    // messageId → item indexes (ids are unique in practice; tolerate repeats).
    const byId = new Map<string, number[]>();
    const events: SegmentEvent[] = [];
    items.forEach((item, i) => {
      const ev = parseEvent(item);
      if (typeof ev === 'string') {
        outcomes[i] = { kind: 'abort', error: ev };
        return;
      }
      events.push(ev);
      const list = byId.get(ev.messageId) ?? [];
      list.push(i);
      byId.set(ev.messageId, list);
    });
    const setAll = (messageId: string, o: DeliveryOutcome) => {
      for (const i of byId.get(messageId) ?? []) outcomes[i] = o;
    };

    if (events.length > 0) {
      let result;
      try {
        result = this.dest.transform(events);
      } catch (err) {
        // transform is documented never to throw; if it does, the batch is bad, not the vendor.
        const error = `transform failed: ${(err as Error).message}`;
        for (const ev of events) setAll(ev.messageId, { kind: 'abort', error });
        result = { deliveries: [], skipped: [], rejected: [] };
      }
      for (const s of result.skipped) {
        setAll(s.messageId, { kind: 'ok' });
        this.runtime.onSkipped?.(1, s.reason);
      }
      for (const r of result.rejected) setAll(r.messageId, { kind: 'abort', error: `rejected: ${r.reason}` });
      for (const d of result.deliveries) {
        const verdict = await this.send(d);
        for (const [id, o] of outcomesOfDelivery(verdict, d.messageIds)) setAll(id, o);
      }
    }
    return outcomes.map((o) => o ?? { kind: 'abort', error: 'the destination produced no delivery for this event' });
  }

  private async send(d: Delivery<unknown>): Promise<DeliveryVerdict> {
    try {
      switch (this.dest.transport) {
        case 'http':
          return await this.dest.send(d as Delivery<never>, {
            timeoutMs: this.runtime.timeoutMs,
            fetch: this.runtime.fetch,
          });
        case 'kafka':
          return await this.dest.send(d as Delivery<never>, this.runtime.producer!);
        case 'redis':
          return await this.dest.send(d as Delivery<never>, this.runtime.redis!);
      }
    } catch (err) {
      // send() classifies I/O errors itself; anything else is unexpected but may pass.
      return { kind: 'retry', reason: `send failed: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {
    await this.runtime.close?.();
  }
}
