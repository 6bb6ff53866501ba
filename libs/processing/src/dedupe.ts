/**
 * Dedupe by (sourceId, messageId) over a time window, one table per input
 * partition (a partition's events are all handled by one processor instance,
 * so its table moves with the partition on a rebalance).
 *
 * Memory: a key is stored as a 64-bit hash plus an expiry in whole seconds,
 * 12 bytes per slot in typed arrays, open addressing with linear probing at a
 * load of at most 0.7: about 17–24 bytes per remembered id, so 5 million ids
 * take ~100 MB and nothing is kept per id on the JS heap.
 *
 * False positives: two different keys with the same 64-bit hash look like a
 * duplicate. With n ids in the window, one new event is wrongly dropped with
 * probability ≈ n / 2^64 (about 3·10^-13 at 5 million ids): negligible next to
 * the duplicates it removes. The hash is not cryptographic; someone who can
 * choose messageIds could craft a collision with an id of theirs, which only
 * drops their own event.
 *
 * State survives restarts through a changelog: `remember` returns an entry
 * the service produces to a compacted topic (key = partition's key hex, value
 * = expiry), and `apply` replays those entries into an empty index. Give that
 * topic `cleanup.policy=compact,delete` with retention a little above the
 * window so expired keys leave it without tombstones.
 */

export const DEFAULT_DEDUPE_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface DedupeOptions {
  /** How long an id is remembered. Default 24 h. */
  windowMs?: number;
  /** Upper bound of remembered ids per partition; past it the ids closest to expiry are evicted. Default 5,000,000. */
  maxEntriesPerPartition?: number;
  /** Initial slots per partition (rounded up to a power of two). Default 1024. */
  initialCapacity?: number;
}

export interface DedupeChangelogEntry {
  partition: number;
  /** 16 hex digits: the 64-bit hash of (sourceId, messageId). */
  key: string;
  /** Epoch ms at which the id is forgotten; null is a tombstone (forget now). */
  expiresAt: number | null;
}

export interface DedupeStats {
  partitions: number;
  entries: number;
  slots: number;
  bytes: number;
  evicted: number;
}

const EMPTY = 0;
const DELETED = 1;
const MAX_LOAD = 0.7;

// Bound once: a global lookup per call is slow inside vm contexts (jest) and costs nothing to avoid.
const { imul, max, min, ceil, floor } = Math;

// The last hash, as two signed 32-bit halves (no tuple allocated per event on the hot path).
let H1 = 0;
let H2 = 0;

function hashInto(sourceId: string, messageId: string): void {
  let h1 = 0x9e3779b9 ^ sourceId.length;
  let h2 = 0x85ebca6b ^ messageId.length;
  for (let i = 0; i < sourceId.length; i++) {
    const c = sourceId.charCodeAt(i);
    h1 = imul(h1 ^ c, 0x9e3779b1);
    h2 = imul(h2 ^ c, 0x5f356495);
  }
  h1 = imul(h1 ^ 0xff, 0x9e3779b1);
  h2 = imul(h2 ^ 0xff, 0x5f356495);
  for (let i = 0; i < messageId.length; i++) {
    const c = messageId.charCodeAt(i);
    h1 = imul(h1 ^ c, 0x9e3779b1);
    h2 = imul(h2 ^ c, 0x5f356495);
  }
  h1 = imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
  h1 ^= imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 = imul(h2 ^ (h2 >>> 16), 0x85ebca6b);
  h2 ^= imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  h1 = imul(h1 ^ (h1 >>> 15), 0x27d4eb2f);
  H1 = (h1 ^ (h1 >>> 13)) | 0;
  H2 = h2 | 0;
}

/** A 64-bit hash of (sourceId, messageId) as two unsigned 32-bit halves (two multiplicative lanes mixed at the end). */
export function hashKey(sourceId: string, messageId: string): [number, number] {
  hashInto(sourceId, messageId);
  return [H1 >>> 0, H2 >>> 0];
}

const HEX_BYTE: string[] = [];
for (let i = 0; i < 256; i++) HEX_BYTE.push((i < 16 ? '0' : '') + i.toString(16));

function hex(hi: number, lo: number): string {
  const b = HEX_BYTE;
  return (
    b[(hi >>> 24) & 255] +
    b[(hi >>> 16) & 255] +
    b[(hi >>> 8) & 255] +
    b[hi & 255] +
    b[(lo >>> 24) & 255] +
    b[(lo >>> 16) & 255] +
    b[(lo >>> 8) & 255] +
    b[lo & 255]
  );
}

function parseHex(key: string): [number, number] | undefined {
  if (!/^[0-9a-f]{16}$/i.test(key)) return undefined;
  return [parseInt(key.slice(0, 8), 16) | 0, parseInt(key.slice(8), 16) | 0];
}

/** Expiries are whole seconds since this epoch (2024-01-01), so they stay small integers until 2160. */
const EPOCH_MS = Date.UTC(2024, 0, 1);

/** Expiry in whole seconds since EPOCH_MS, rounded up (0 and 1 mark empty and deleted slots). */
function toSec(ms: number): number {
  return max(2, ceil((ms - EPOCH_MS) / 1000));
}

function nowSecOf(ms: number): number {
  return (ms - EPOCH_MS) / 1000;
}

function fromSec(sec: number): number {
  return sec * 1000 + EPOCH_MS;
}

class PartitionTable {
  hi: Int32Array;
  lo: Int32Array;
  exp: Uint32Array;
  mask: number;
  /** Slots not EMPTY (live, expired or deleted): what drives probing cost. */
  used = 0;
  evicted = 0;

  constructor(capacity: number) {
    this.hi = new Int32Array(capacity);
    this.lo = new Int32Array(capacity);
    this.exp = new Uint32Array(capacity);
    this.mask = capacity - 1;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  find(hi: number, lo: number): number {
    let i = lo & this.mask;
    for (;;) {
      const e = this.exp[i];
      if (e === EMPTY) return -1;
      if (e !== DELETED && this.hi[i] === hi && this.lo[i] === lo) return i;
      i = (i + 1) & this.mask;
    }
  }

  /** Inserts or updates; the caller made room. */
  put(hi: number, lo: number, expSec: number): void {
    let i = lo & this.mask;
    let reuse = -1;
    for (;;) {
      const e = this.exp[i];
      if (e === EMPTY) break;
      if (e === DELETED) {
        if (reuse < 0) reuse = i;
      } else if (this.hi[i] === hi && this.lo[i] === lo) {
        this.exp[i] = expSec;
        return;
      }
      i = (i + 1) & this.mask;
    }
    const slot = reuse >= 0 ? reuse : i;
    if (reuse < 0) this.used++;
    this.hi[slot] = hi;
    this.lo[slot] = lo;
    this.exp[slot] = expSec;
  }

  remove(i: number): void {
    this.exp[i] = DELETED;
  }

  liveCount(nowSec: number): number {
    let n = 0;
    for (let i = 0; i < this.exp.length; i++) if (this.exp[i] > nowSec) n++;
    return n;
  }
}

function nextPow2(n: number): number {
  let c = 1;
  while (c < n) c *= 2;
  return c;
}

export class DedupeIndex {
  readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly initialCapacity: number;
  private readonly tables = new Map<number, PartitionTable>();
  private evictedTotal = 0;

  constructor(opts: DedupeOptions = {}) {
    this.windowMs = opts.windowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
    this.maxEntries = max(16, opts.maxEntriesPerPartition ?? 5_000_000);
    this.initialCapacity = nextPow2(max(16, opts.initialCapacity ?? 1024));
  }

  /** True if (sourceId, messageId) was remembered in this partition and has not expired. */
  isDuplicate(partition: number, sourceId: string, messageId: string, nowMs: number): boolean {
    hashInto(sourceId, messageId);
    return this.holds(partition, H1, H2, nowMs);
  }

  /** Whether the hash (hi, lo) is remembered in this partition and has not expired. */
  private holds(partition: number, hi: number, lo: number, nowMs: number): boolean {
    const t = this.tables.get(partition);
    if (!t) return false;
    const i = t.find(hi, lo);
    return i >= 0 && t.exp[i] > nowSecOf(nowMs);
  }

  /** Remembers the id until nowMs + window; returns the changelog entry to make it durable. */
  remember(partition: number, sourceId: string, messageId: string, nowMs: number): DedupeChangelogEntry {
    hashInto(sourceId, messageId);
    return this.rememberHash(partition, H1, H2, nowMs);
  }

  private rememberHash(partition: number, hi: number, lo: number, nowMs: number): DedupeChangelogEntry {
    const expSec = toSec(nowMs + this.windowMs);
    this.insert(partition, hi, lo, expSec, nowMs);
    return { partition, key: hex(hi, lo), expiresAt: fromSec(expSec) };
  }

  /** isDuplicate, and remember if it is not; the entry is what to produce to the changelog. */
  check(
    partition: number,
    sourceId: string,
    messageId: string,
    nowMs: number,
  ): { duplicate: true } | { duplicate: false; entry: DedupeChangelogEntry } {
    // One hash for both the lookup and the insert: this runs once per event.
    hashInto(sourceId, messageId);
    const hi = H1;
    const lo = H2;
    if (this.holds(partition, hi, lo, nowMs)) return { duplicate: true };
    return { duplicate: false, entry: this.rememberHash(partition, hi, lo, nowMs) };
  }

  /** Undoes a `remember` whose output did not become durable (the batch will be read again). */
  forget(entry: DedupeChangelogEntry): void {
    const t = this.tables.get(entry.partition);
    const k = parseHex(entry.key);
    if (!t || !k) return;
    const i = t.find(k[0], k[1]);
    if (i >= 0) t.remove(i);
  }

  /** Replays a changelog entry (restore after a restart or when a partition is assigned). Expired entries are skipped. */
  apply(entry: DedupeChangelogEntry, nowMs: number): void {
    const k = parseHex(entry.key);
    if (!k) return;
    if (entry.expiresAt === null) {
      this.forget(entry);
      return;
    }
    if (entry.expiresAt <= nowMs) return;
    this.insert(entry.partition, k[0], k[1], toSec(entry.expiresAt), nowMs);
  }

  /** The live entries of a partition, e.g. to seed a fresh changelog topic. */
  *export(partition: number, nowMs: number): Generator<DedupeChangelogEntry> {
    const t = this.tables.get(partition);
    if (!t) return;
    const nowSec = nowSecOf(nowMs);
    for (let i = 0; i < t.capacity; i++) {
      const e = t.exp[i];
      if (e > nowSec) yield { partition, key: hex(t.hi[i], t.lo[i]), expiresAt: fromSec(e) };
    }
  }

  /** Frees a partition's table (the partition was revoked). */
  dropPartition(partition: number): void {
    this.tables.delete(partition);
  }

  partitions(): number[] {
    return [...this.tables.keys()];
  }

  /** Rebuilds tables whose expired and deleted slots make up most of them; returns how many entries were dropped. */
  sweep(nowMs: number): number {
    let dropped = 0;
    const nowSec = nowSecOf(nowMs);
    for (const [p, t] of this.tables) {
      const live = t.liveCount(nowSec);
      if (t.used - live > t.capacity * 0.25) {
        dropped += t.used - live;
        this.tables.set(p, this.rebuild(t, nowSec, live));
      }
    }
    return dropped;
  }

  stats(nowMs: number): DedupeStats {
    let entries = 0;
    let slots = 0;
    for (const t of this.tables.values()) {
      entries += t.liveCount(nowSecOf(nowMs));
      slots += t.capacity;
    }
    return { partitions: this.tables.size, entries, slots, bytes: slots * 12, evicted: this.evictedTotal };
  }

  private insert(partition: number, hi: number, lo: number, expSec: number, nowMs: number): void {
    let t = this.tables.get(partition);
    if (!t) {
      t = new PartitionTable(this.initialCapacity);
      this.tables.set(partition, t);
    }
    if (t.used + 1 > min(t.capacity * MAX_LOAD, this.maxEntries) && t.find(hi, lo) < 0) {
      const nowSec = nowSecOf(nowMs);
      t = this.rebuild(t, nowSec, t.liveCount(nowSec) + 1);
      this.tables.set(partition, t);
    }
    t.put(hi, lo, expSec);
  }

  /**
   * Copies the live entries into a table sized for `need` entries at half
   * load. Near the bound (above 90% of it), the entries closest to expiry
   * (the oldest) are evicted down to 80% of the bound.
   */
  private rebuild(old: PartitionTable, nowSec: number, need: number): PartitionTable {
    let cutoff = 0;
    let tieBudget = 0;
    if (need > this.maxEntries * 0.9) {
      const exps: number[] = [];
      for (let i = 0; i < old.capacity; i++) if (old.exp[i] > nowSec) exps.push(old.exp[i]);
      const sorted = Float64Array.from(exps).sort();
      const keep = floor(this.maxEntries * 0.8);
      const evict = max(0, sorted.length - keep);
      if (evict > 0) {
        cutoff = sorted[evict - 1];
        // Entries expiring before the cutoff second all go; at the cutoff second only as many as still needed.
        let below = 0;
        while (below < sorted.length && sorted[below] < cutoff) below++;
        tieBudget = evict - below;
      }
      need = keep + 1;
    }
    const maxCapacity = nextPow2(ceil(this.maxEntries / MAX_LOAD) + 1);
    const capacity = min(maxCapacity, max(this.initialCapacity, nextPow2(need * 2)));
    const next = new PartitionTable(capacity);
    next.evicted = old.evicted;
    for (let i = 0; i < old.capacity; i++) {
      const e = old.exp[i];
      if (e <= DELETED || e <= nowSec) continue;
      if (e < cutoff || (e === cutoff && tieBudget > 0)) {
        if (e === cutoff) tieBudget--;
        next.evicted++;
        this.evictedTotal++;
        continue;
      }
      next.put(old.hi[i], old.lo[i], e);
    }
    return next;
  }
}

/** First byte of a batch changelog record; older records (one id per record) carry the expiry as decimal text. */
const BATCH_FORMAT_V1 = 0x01;

/**
 * One changelog record for all the ids a batch remembered: a version byte, then per id its
 * expiry (float64, epoch ms) and its 64-bit hash. A record per id cost the processor a third
 * of its Kafka records; ids of one batch share a record, which time retention (not compaction)
 * removes once every id in it has expired.
 */
export function encodeChangelogBatch(entries: readonly DedupeChangelogEntry[]): Buffer {
  const buf = Buffer.allocUnsafe(1 + entries.length * 16);
  buf[0] = BATCH_FORMAT_V1;
  let off = 1;
  for (const e of entries) {
    if (e.expiresAt === null || e.key.length !== 16) continue;
    // Writing hex stops at the first character that is not a hex digit: such a key is skipped.
    if (buf.write(e.key, off + 8, 8, 'hex') !== 8) continue;
    buf.writeDoubleBE(e.expiresAt, off);
    off += 16;
  }
  return buf.subarray(0, off);
}

/**
 * The entries of a changelog record of either format: a batch record (encodeChangelogBatch), or
 * an older per-id record keyed by the id's hex hash with the expiry as text (null value = tombstone).
 */
export function decodeChangelogRecord(
  partition: number,
  key: Buffer | null,
  value: Buffer | null,
): DedupeChangelogEntry[] {
  if (value && value.length > 0 && value[0] === BATCH_FORMAT_V1) {
    const out: DedupeChangelogEntry[] = [];
    for (let off = 1; off + 16 <= value.length; off += 16) {
      out.push({ partition, key: value.toString('hex', off + 8, off + 16), expiresAt: value.readDoubleBE(off) });
    }
    return out;
  }
  if (!key) return [];
  return [{ partition, key: key.toString(), expiresAt: value ? Number(value.toString()) : null }];
}
