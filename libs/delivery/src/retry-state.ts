/**
 * Retry bookkeeping that outlives a router instance (decision 0607): when an
 * event first fails, its first-attempt time and attempt count are written to a
 * compacted topic keyed by destination, partition and offset; when it is
 * finished the key is tombstoned. A restarted router, or another instance
 * taking the partition over, reads them back and continues the same window.
 */

/** What a later owner of a partition needs to continue an event's retry window. */
export interface RetryState {
  /** Guards against a re-created topic reusing the offset for another event. */
  messageId: string;
  firstAttemptAt: number;
  attempts: number;
}

/** Restored retry states of one destination partition, by offset. */
export type RestoredRetries = ReadonlyMap<number, RetryState>;

/** Where the engine reports its retry bookkeeping; implementations must not block or throw. */
export interface RetryStateSink {
  /** A retriable failure: the event will be tried again. */
  failed(partition: number, offset: number, state: RetryState): void;
  /** An event with recorded state was delivered or dead-lettered. */
  finished(partition: number, offset: number): void;
}

/** The engine's sink plus what the consumer needs around rebalances and stops. */
export interface RetryStateStore extends RetryStateSink {
  /** Reads the recorded states of these destination partitions (missing ones come back empty). */
  load(partitions: number[]): Promise<Map<number, Map<number, RetryState>>>;
  /** Resolves once every state reported so far was written (or the write failed and was logged). */
  flush(): Promise<void>;
}

export function retryStateKey(destinationId: string, partition: number, offset: number): string {
  return `${destinationId}/${partition}/${offset}`;
}

/** Destination ids cannot contain `/` (they name topics), so the last two fields are always partition and offset. */
export function parseRetryStateKey(key: string): { destinationId: string; partition: number; offset: number } | null {
  const parts = key.split('/');
  if (parts.length !== 3 || parts[0] === '') return null;
  const partition = Number(parts[1]);
  const offset = Number(parts[2]);
  if (!Number.isSafeInteger(partition) || partition < 0 || !Number.isSafeInteger(offset) || offset < 0) return null;
  return { destinationId: parts[0], partition, offset };
}

/** Destination partition p's states live in state-topic partition p mod the state topic's partition count. */
export function retryStatePartition(partition: number, statePartitions: number): number {
  return partition % statePartitions;
}

export function encodeRetryState(s: RetryState): Buffer {
  return Buffer.from(
    JSON.stringify({ v: 1, messageId: s.messageId, firstAttemptAt: s.firstAttemptAt, attempts: s.attempts }),
  );
}

/** A value that does not parse is ignored: the event's window then starts afresh, as without state. */
export function decodeRetryState(value: Buffer): RetryState | null {
  try {
    const o = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
    if (
      o.v === 1 &&
      typeof o.messageId === 'string' &&
      typeof o.firstAttemptAt === 'number' &&
      Number.isFinite(o.firstAttemptAt) &&
      typeof o.attempts === 'number' &&
      Number.isSafeInteger(o.attempts) &&
      o.attempts >= 0
    ) {
      return { messageId: o.messageId, firstAttemptAt: o.firstAttemptAt, attempts: o.attempts };
    }
  } catch {
    // fall through
  }
  return null;
}

/**
 * Folds state-topic records (in offset order within each partition) into the
 * live states of one destination's partitions: the last value of a key wins, a
 * tombstone removes it, other destinations' keys are skipped.
 */
export function foldRetryStates(
  records: Iterable<{ key: string | null; value: Buffer | null }>,
  destinationId: string,
  partitions: ReadonlySet<number>,
): Map<number, Map<number, RetryState>> {
  const out = new Map<number, Map<number, RetryState>>();
  for (const p of partitions) out.set(p, new Map());
  for (const r of records) {
    if (r.key === null) continue;
    const k = parseRetryStateKey(r.key);
    if (!k || k.destinationId !== destinationId || !partitions.has(k.partition)) continue;
    const states = out.get(k.partition) as Map<number, RetryState>;
    const state = r.value === null ? null : decodeRetryState(r.value);
    if (state === null) states.delete(k.offset);
    else states.set(k.offset, state);
  }
  return out;
}
