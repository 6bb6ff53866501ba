import {
  decodeChangelogRecord,
  DedupeChangelogEntry,
  DedupeIndex,
  DEFAULT_DEDUPE_WINDOW_MS,
  encodeChangelogBatch,
  hashKey,
} from '../src';

const T0 = Date.UTC(2026, 10, 22, 0, 0, 0);
const HOUR = 3600_000;

describe('DedupeIndex', () => {
  it('drops a duplicate within the window (default 24 h) and lets it through after', () => {
    const d = new DedupeIndex();
    expect(d.windowMs).toBe(DEFAULT_DEDUPE_WINDOW_MS);
    expect(d.check(0, 'web', 'm1', T0).duplicate).toBe(false);
    expect(d.check(0, 'web', 'm1', T0 + 1).duplicate).toBe(true);
    expect(d.check(0, 'web', 'm1', T0 + 23 * HOUR).duplicate).toBe(true);
    expect(d.isDuplicate(0, 'web', 'm1', T0 + 24 * HOUR + 1000)).toBe(false);
    expect(d.check(0, 'web', 'm1', T0 + 25 * HOUR).duplicate).toBe(false);
  });

  it('keys by source and message id, per partition', () => {
    const d = new DedupeIndex();
    d.remember(0, 'web', 'm1', T0);
    expect(d.isDuplicate(0, 'app', 'm1', T0)).toBe(false);
    expect(d.isDuplicate(1, 'web', 'm1', T0)).toBe(false);
    // The separator keeps ("ab","c") and ("a","bc") apart.
    d.remember(0, 'ab', 'c', T0);
    expect(d.isDuplicate(0, 'a', 'bc', T0)).toBe(false);
    expect(hashKey('ab', 'c')).not.toEqual(hashKey('a', 'bc'));
  });

  it('forget undoes a remember whose output was not durable', () => {
    const d = new DedupeIndex();
    const r = d.check(3, 'web', 'm9', T0);
    expect(r.duplicate).toBe(false);
    if (!r.duplicate) d.forget(r.entry);
    expect(d.isDuplicate(3, 'web', 'm9', T0)).toBe(false);
  });

  it('round-trips through changelog entries (export/apply), skipping expired ones', () => {
    const a = new DedupeIndex({ windowMs: HOUR });
    const log: DedupeChangelogEntry[] = [];
    for (let i = 0; i < 1000; i++) log.push(a.remember(i % 3, 'web', `m-${i}`, T0 + i));
    const exported = [0, 1, 2].flatMap((p) => [...a.export(p, T0 + 2000)]);
    expect(exported).toHaveLength(1000);

    const fromLog = new DedupeIndex({ windowMs: HOUR });
    for (const e of log) fromLog.apply(e, T0 + 5000);
    const fromExport = new DedupeIndex({ windowMs: HOUR });
    for (const e of exported) fromExport.apply(e, T0 + 5000);
    for (const restored of [fromLog, fromExport]) {
      for (let i = 0; i < 1000; i++) expect(restored.isDuplicate(i % 3, 'web', `m-${i}`, T0 + 10_000)).toBe(true);
      expect(restored.isDuplicate(0, 'web', 'never', T0 + 10_000)).toBe(false);
    }
    // A tombstone forgets; entries already expired at restore time are not loaded.
    fromLog.apply({ ...log[0], expiresAt: null }, T0 + 5000);
    expect(fromLog.isDuplicate(0, 'web', 'm-0', T0 + 10_000)).toBe(false);
    const late = new DedupeIndex({ windowMs: HOUR });
    for (const e of log) late.apply(e, T0 + 2 * HOUR);
    expect(late.stats(T0 + 2 * HOUR).entries).toBe(0);
    expect(log[0].key).toMatch(/^[0-9a-f]{16}$/);
  });

  it('packs a batch of ids into one changelog record that restores them all, and still reads per-id records', () => {
    const a = new DedupeIndex({ windowMs: HOUR });
    const batch: DedupeChangelogEntry[] = [];
    for (let i = 0; i < 500; i++) batch.push(a.remember(4, 'web', `b-${i}`, T0));
    const value = encodeChangelogBatch(batch);
    expect(value.length).toBe(1 + 500 * 16);
    const decoded = decodeChangelogRecord(4, Buffer.from('b:1234'), value);
    expect(decoded).toEqual(batch);
    // Tombstones and keys that are not 16 hex digits have no place in a batch record.
    const mixed = [
      batch[0],
      { partition: 4, key: batch[1].key, expiresAt: null },
      { partition: 4, key: 'zz41be4ee0da1f2b', expiresAt: T0 },
      { partition: 4, key: 'abc', expiresAt: T0 },
      batch[2],
    ];
    expect(decodeChangelogRecord(4, null, encodeChangelogBatch(mixed))).toEqual([batch[0], batch[2]]);

    const restored = new DedupeIndex({ windowMs: HOUR });
    for (const e of decoded) restored.apply(e, T0 + 1000);
    for (let i = 0; i < 500; i++) expect(restored.isDuplicate(4, 'web', `b-${i}`, T0 + 2000)).toBe(true);
    expect(restored.isDuplicate(4, 'web', 'b-500', T0 + 2000)).toBe(false);

    // The older format: one id per record, expiry as text, null value = tombstone.
    const one = batch[0];
    expect(decodeChangelogRecord(4, Buffer.from(one.key), Buffer.from(String(one.expiresAt)))).toEqual([one]);
    expect(decodeChangelogRecord(4, Buffer.from(one.key), null)).toEqual([{ ...one, expiresAt: null }]);
    expect(decodeChangelogRecord(4, null, null)).toEqual([]);
  });

  it('stays within its memory bound, evicting the oldest ids first', () => {
    const max = 10_000;
    const d = new DedupeIndex({ maxEntriesPerPartition: max });
    for (let i = 0; i < 50_000; i++) d.remember(0, 'web', `m-${i}`, T0 + i * 1000);
    const now = T0 + 50_000 * 1000;
    const stats = d.stats(now);
    expect(stats.entries).toBeLessThanOrEqual(max);
    expect(stats.entries).toBeGreaterThanOrEqual(max * 0.8);
    expect(stats.evicted).toBe(50_000 - stats.entries);
    expect(stats.bytes).toBeLessThanOrEqual(12 * 16_384);
    // The newest are remembered, the oldest were evicted.
    expect(d.isDuplicate(0, 'web', 'm-49999', now)).toBe(true);
    expect(d.isDuplicate(0, 'web', 'm-45000', now)).toBe(true);
    expect(d.isDuplicate(0, 'web', 'm-0', now)).toBe(false);
  });

  it('holds a million ids in about 16-24 bytes each, without false positives among them', () => {
    const d = new DedupeIndex();
    const n = 1_000_000;
    for (let i = 0; i < n; i++) d.remember(7, 'web', `msg-${i}`, T0);
    const stats = d.stats(T0);
    expect(stats.entries).toBe(n);
    expect(stats.bytes / n).toBeLessThan(26);
    let falsePositives = 0;
    for (let i = 0; i < 200_000; i++) if (d.isDuplicate(7, 'web', `other-${i}`, T0)) falsePositives++;
    expect(falsePositives).toBe(0);
    for (let i = 0; i < n; i += 997) expect(d.isDuplicate(7, 'web', `msg-${i}`, T0)).toBe(true);
  });

  it('sweep reclaims expired entries; dropPartition frees a revoked partition', () => {
    const d = new DedupeIndex({ windowMs: 60_000 });
    for (let i = 0; i < 5000; i++) d.remember(1, 's', `m${i}`, T0);
    expect(d.sweep(T0 + 120_000)).toBe(5000);
    expect(d.stats(T0 + 120_000).entries).toBe(0);
    d.remember(2, 's', 'x', T0);
    d.dropPartition(2);
    expect(d.partitions()).toEqual([1]);
  });
});
