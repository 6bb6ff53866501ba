/** One decoded record of a partition, with its Kafka offset. */
export interface BufferedRecord<T> {
  offset: number;
  value: T;
}

/**
 * The records of one input partition not yet committed to the lake, in offset
 * order. A flush takes the whole buffer: a contiguous range of the partition
 * that starts right after what was last committed (or where the consumer
 * resumed), so the batch's last offset is a valid Delta txn version.
 */
export class PartitionBuffer<T> {
  private records: BufferedRecord<T>[] = [];
  private firstAt: number | undefined;
  private gen = 0;

  /** Changes whenever the buffer restarts, so a flush in flight knows its records were dropped. */
  get generation(): number {
    return this.gen;
  }

  get size(): number {
    return this.records.length;
  }

  get lastOffset(): number | undefined {
    return this.records.length === 0 ? undefined : this.records[this.records.length - 1]!.offset;
  }

  /**
   * Appends a fetched batch. A batch that starts at or before the buffered
   * range means the consumer went back to its committed offset (a rebalance or
   * a seek): the buffer restarts from that batch, since everything before the
   * committed offset is already in the lake.
   */
  append(batch: readonly BufferedRecord<T>[], now: number): void {
    if (batch.length === 0) return;
    const last = this.lastOffset;
    if (last !== undefined && batch[0]!.offset <= last) this.clear();
    if (this.records.length === 0) this.firstAt = now;
    for (const r of batch) this.records.push(r);
  }

  /** Due once it holds maxEvents or its oldest record waited intervalMs. */
  due(now: number, maxEvents: number, intervalMs: number): boolean {
    if (this.records.length === 0) return false;
    return this.records.length >= maxEvents || now - (this.firstAt ?? now) >= intervalMs;
  }

  /** A copy of the whole buffer as a batch (kept until `release`, so a failed flush retries it). */
  snapshot(): BufferedRecord<T>[] {
    return this.records.slice();
  }

  /** Drops the first `count` records (they are committed), unless the buffer restarted since. */
  release(count: number, generation: number, now: number): void {
    if (generation !== this.gen) return;
    this.records = this.records.slice(count);
    this.firstAt = this.records.length > 0 ? now : undefined;
  }

  clear(): void {
    this.gen++;
    this.records = [];
    this.firstAt = undefined;
  }
}

/** Delta txn app id of one input partition. */
export function appIdFor(groupId: string, topic: string, partition: number): string {
  return `${groupId}:${topic}:${partition}`;
}
