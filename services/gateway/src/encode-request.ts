import { partitionKey } from '@sluice/events';
import type { OutRecord } from './batcher';
import { parsePayload, RequestError, RouteKind } from './payload';
import type { EventEncoder } from './server';

/** What encoding a request needs besides its body. */
export interface EncodeContext {
  route: RouteKind;
  receivedAt: number;
  ip: string | null;
  maxBatchEvents: number;
  maxEventBytes: number;
}

/**
 * Body → parsed, validated, enriched events (with the body's `writeKey`, if
 * any). With encodeEvents, the CPU-heavy part of a request: the same on the
 * HTTP thread and on an encoder thread (decision 0508). Throws RequestError
 * (400) naming the bad item.
 */
export function parseRequest(body: Buffer, ctx: EncodeContext) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new RequestError(400, `invalid JSON: ${(err as Error).message}`);
  }
  return parsePayload(parsed, ctx.route, { receivedAt: ctx.receivedAt, ip: ctx.ip }, ctx.maxBatchEvents);
}

/** Accepted events → records; 413 names the first event whose record is over the limit. */
export function encodeEvents(
  events: ReturnType<typeof parseRequest>['events'],
  sourceId: string,
  ctx: EncodeContext,
  encode: EventEncoder,
): OutRecord[] {
  const records: OutRecord[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    const value = encode(ev, sourceId, ctx.ip);
    if (value.length > ctx.maxEventBytes) {
      const where = ctx.route.kind === 'batch' ? `batch[${i}]: ` : '';
      throw new RequestError(413, `${where}event is larger than ${ctx.maxEventBytes} bytes (${value.length})`);
    }
    records[i] = { key: partitionKey(ev), value };
  }
  return records;
}
