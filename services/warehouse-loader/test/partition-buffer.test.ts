import { appIdFor, PartitionBuffer } from '../src/partition-buffer';

const recs = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ offset: from + i, value: `v${from + i}` }));

describe('PartitionBuffer', () => {
  test('due by size or by the age of its oldest record', () => {
    const b = new PartitionBuffer<string>();
    expect(b.due(0, 10, 1000)).toBe(false);
    b.append(recs(0, 4), 100);
    expect(b.due(500, 10, 1000)).toBe(false);
    expect(b.due(1100, 10, 1000)).toBe(true);
    b.append(recs(5, 9), 200);
    expect(b.due(200, 10, 1000)).toBe(true);
  });

  test('release drops the flushed prefix and keeps what arrived during the flush', () => {
    const b = new PartitionBuffer<string>();
    b.append(recs(0, 4), 0);
    const snap = b.snapshot();
    const gen = b.generation;
    b.append(recs(5, 6), 10); // arrives while the flush is in flight
    b.release(snap.length, gen, 20);
    expect(b.snapshot().map((r) => r.offset)).toEqual([5, 6]);
    expect(b.lastOffset).toBe(6);
  });

  test('a batch at or before the buffered range restarts the buffer (consumer went back to its committed offset)', () => {
    const b = new PartitionBuffer<string>();
    b.append(recs(10, 19), 0);
    const gen = b.generation;
    b.append(recs(10, 12), 5);
    expect(b.snapshot().map((r) => r.offset)).toEqual([10, 11, 12]);
    // A flush of the old range must not drop records of the new one.
    b.release(10, gen, 6);
    expect(b.size).toBe(3);
  });

  test('gaps (transaction markers) are kept as one contiguous range', () => {
    const b = new PartitionBuffer<string>();
    b.append(recs(0, 2), 0);
    b.append(recs(4, 5), 0);
    expect(b.snapshot().map((r) => r.offset)).toEqual([0, 1, 2, 4, 5]);
  });

  test('app id per group, topic and partition', () => {
    expect(appIdFor('g', 'sluice.events.processed', 3)).toBe('g:sluice.events.processed:3');
  });
});
